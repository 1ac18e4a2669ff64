"""The dataset layout rule (classifier.data, shared with the CLI) as the imports use it: a layout that does not
fit, or unlabelled photos (not supported yet), refuse the import (ImportRejected)."""

from pathlib import Path

from classifier.data import (EXPECTED_LAYOUTS, UNLABELLED_NOT_SUPPORTED, Layout, LayoutError, is_junk,  # noqa: F401
                             layout_scan)
from classifier.data import layout_detect as _detect
from webapp.datasets.importing.result import ImportRejected


def layout_detect(files: list[tuple[str, tuple[str, ...]]], dirs: list[tuple[str, ...]]) -> Layout:
    """The layout of a dataset import (zip entries or a folder's files): (name, parts) and folders' parts.
    Raises ImportRejected when the folders match no layout or hold unlabelled photos."""
    try:
        return _labelled(_detect(files, dirs))
    except LayoutError as exc:
        raise _rejected(exc) from None


def _rejected(exc: LayoutError) -> ImportRejected:
    return ImportRejected(f"The archive's folders do not match a dataset layout. {EXPECTED_LAYOUTS}", exc.problems)


def _labelled(layout: Layout) -> Layout:
    if layout.kind == "unlabelled":  # recognised, but a dataset cannot hold them yet
        raise ImportRejected(f"{UNLABELLED_NOT_SUPPORTED} {EXPECTED_LAYOUTS}")
    return layout


def layout_detect_optional(files: list[tuple[str, tuple[str, ...]]], dirs: list[tuple[str, ...]]) -> Layout:
    """For photos to predict (a batch): the dataset layout when the folders match one (class folders are then
    the photos' true classes; loose files stay unlabelled), else every file unlabelled (class name "")."""
    try:
        layout = _detect(files, dirs)
    except LayoutError:
        return Layout("unlabelled", sorted((name, None, "") for name, _ in files))
    loose = [(name, None, "") for name in layout.loose]
    return Layout(layout.kind, layout.files + loose, layout.classes, [])


def folder_scan(root: Path) -> tuple[Layout, list[str], int]:
    """The layout of a server folder, the symbolic links skipped (never followed) and the system files ignored."""
    try:
        layout, symlinks, ignored = layout_scan(root)
    except LayoutError as exc:
        raise _rejected(exc) from None
    return _labelled(layout), symlinks, ignored
