"""The dataset layout rule (classifier.data, shared with the CLI) as the imports use it: a layout that does not
fit refuses the import (ImportRejected). Photos in no class folder at all (the "unlabelled" layout), or every photo
when the caller asks for the unlabelled pool, go to the dataset's unlabelled pool (class name "")."""

from pathlib import Path

from classifier.data import EXPECTED_LAYOUTS, Layout, LayoutError, folder_entries, is_junk  # noqa: F401
from classifier.data import layout_detect as _detect
from webapp.datasets.importing.result import ImportRejected

POOL_LAYOUT = ("Photos with no class yet: loose photos (001.jpg, 002.jpg, ...) go to the dataset's unlabelled pool; "
               "tick \"unlabelled\" to put every photo there whatever its folders.")


def layout_detect(files: list[tuple[str, tuple[str, ...]]], dirs: list[tuple[str, ...]], *,
                  unlabelled: bool = False) -> Layout:
    """The layout of a dataset import (zip entries or a folder's files): (name, parts) and folders' parts.
    `unlabelled`: every photo goes to the unlabelled pool, whatever its folders (a zipped folder of photos would
    otherwise be one class named after the folder). Raises ImportRejected when the folders match no layout."""
    if unlabelled:
        return pool_layout(files)
    try:
        return _detect(files, dirs)
    except LayoutError as exc:
        raise _rejected(exc) from None


def pool_layout(files: list[tuple[str, tuple[str, ...]]]) -> Layout:
    """Every file, unlabelled (class name "")."""
    return Layout("unlabelled", sorted((name, None, "") for name, _ in files))


def _rejected(exc: LayoutError) -> ImportRejected:
    return ImportRejected(f"The archive's folders do not match a dataset layout. {EXPECTED_LAYOUTS}", exc.problems)


def layout_detect_optional(files: list[tuple[str, tuple[str, ...]]], dirs: list[tuple[str, ...]]) -> Layout:
    """For photos to predict (a batch): the dataset layout when the folders match one (class folders are then
    the photos' true classes; loose files stay unlabelled), else every file unlabelled (class name "")."""
    try:
        layout = _detect(files, dirs)
    except LayoutError:
        return pool_layout(files)
    loose = [(name, None, "") for name in layout.loose]
    return Layout(layout.kind, layout.files + loose, layout.classes, [])


def folder_scan(root: Path, *, unlabelled: bool = False) -> tuple[Layout, list[str], int]:
    """The layout of a server folder, the symbolic links skipped (never followed) and the system files ignored."""
    files, dirs, symlinks, ignored = folder_entries(root)
    return layout_detect(files, dirs, unlabelled=unlabelled), symlinks, ignored
