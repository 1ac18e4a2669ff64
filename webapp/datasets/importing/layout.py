"""Which files are photos of which class (and split): the same rules for a zip's entries and a server folder."""

import os
from dataclasses import dataclass
from pathlib import Path

from webapp.datasets.importing.result import SPLIT_ORDER, ImportRejected
from webapp.datasets.models import Split

JUNK_NAMES = {"__macosx", "thumbs.db", "desktop.ini"}  # plus any name starting with "."
SPLIT_FOLDERS = {"train": Split.TRAIN, "validation": Split.VALIDATION, "valid": Split.VALIDATION,
                 "val": Split.VALIDATION, "test": Split.TEST}
EXPECTED_LAYOUTS = (
    "Expected one of these layouts (a single top folder around either is fine):\n"
    "  1. one folder per class: cats/001.jpg, dogs/002.jpg, ... (splits are assigned for you);\n"
    "  2. train/, validation/ and test/ folders, each with one folder per class: train/cats/001.jpg, "
    "validation/cats/007.jpg, test/dogs/042.jpg, ... (splits are kept); a test/ folder alone makes an "
    "evaluation-only dataset (for re-evaluating trained jobs, not for training)."
)


def is_junk(parts: tuple[str, ...]) -> bool:
    return any(part.startswith(".") or part.lower() in JUNK_NAMES for part in parts)


@dataclass
class Layout:
    kind: str  # "classes" or "splits"
    files: list  # [(original name, split or None, class name)]
    classes: set  # every class folder seen, even an empty one
    loose: list  # files outside any class folder (skipped)


def _strip_wrappers(files, dirs):
    """Strip single wrapping folders ("animals3/cats/x.jpg" -> "cats/x.jpg")."""
    all_parts = [parts for _, parts in files] + dirs
    strip = 0
    while True:
        tops = {parts[strip] for parts in all_parts if len(parts) > strip}
        deepest_files = [len(parts) - strip for _, parts in files]
        if (len(tops) == 1 and deepest_files and min(deepest_files) >= 3
                and next(iter(tops)).lower() not in SPLIT_FOLDERS):
            strip += 1
        else:
            break
    return [(name, parts[strip:]) for name, parts in files], [parts[strip:] for parts in dirs if len(parts) > strip]


def layout_detect(files: list[tuple[str, tuple[str, ...]]], dirs: list[tuple[str, ...]]) -> Layout:
    """Recognise the layout from relative paths: `files` are (original name, parts), `dirs` extra folders.
    Raises ImportRejected when the folders match no layout."""
    files, dirs = _strip_wrappers(files, dirs)
    tops = {parts[0] for _, parts in files if len(parts) > 1} | {parts[0] for parts in dirs}
    by_split = any(top.lower() in SPLIT_FOLDERS for top in tops)
    depth = 3 if by_split else 2
    problems, loose, layout_files, classes = [], [], [], set()
    if by_split:
        others = sorted(top for top in tops if top.lower() not in SPLIT_FOLDERS)
        problems += [(f"{top}/", "a folder beside train/validation/test") for top in others]
        split_tops = {SPLIT_FOLDERS[top.lower()] for top in tops if top.lower() in SPLIT_FOLDERS}
        if Split.TRAIN not in split_tops and split_tops != {Split.TEST}:  # test/ alone: an evaluation-only set
            problems.append(("train/", "missing: the split layout needs a train/ folder (or only a test/ folder, "
                                       "for an evaluation-only dataset)"))
        classes |= {parts[1] for parts in dirs if len(parts) >= 2}
    else:
        classes |= {parts[0] for parts in dirs}
    for name, parts in files:
        if len(parts) == 1:
            loose.append(name)
        elif len(parts) != depth:
            problems.append((name, "not directly inside a class folder"))
        else:
            split = SPLIT_FOLDERS.get(parts[0].lower()) if by_split else None
            class_name = parts[-2].strip()
            if not class_name or len(class_name) > 100:
                problems.append((name, "class folder name is empty or longer than 100 characters"))
                continue
            classes.add(class_name)
            layout_files.append((name, split, class_name))
    if problems or not classes:
        raise ImportRejected(f"The archive's folders do not match a dataset layout. {EXPECTED_LAYOUTS}", problems)
    order = {s: i for i, s in enumerate(SPLIT_ORDER)}
    layout_files.sort(key=lambda item: (order.get(item[1], 0), item[2], item[0]))
    return Layout("splits" if by_split else "classes", layout_files, classes, loose)


def layout_detect_optional(files: list[tuple[str, tuple[str, ...]]], dirs: list[tuple[str, ...]]) -> Layout:
    """For photos to predict (a batch): the dataset layout when the folders match one (class folders are then
    the photos' true classes; loose files stay unlabelled), else every file unlabelled (class name "")."""
    try:
        layout = layout_detect(files, dirs)
    except ImportRejected:
        return Layout("flat", sorted((name, None, "") for name, _ in files), set(), [])
    loose = [(name, None, "") for name in sorted(layout.loose)]
    return Layout(layout.kind, layout.files + loose, layout.classes, [])


def folder_scan(root: Path) -> tuple[Layout, list[str], int]:
    """The layout of a server folder, the symbolic links skipped (never followed) and the system files ignored."""
    files, dirs, symlinks, ignored = [], [], [], 0
    for folder, subdirs, names in os.walk(root):  # never follows symlinked folders
        rel = Path(folder).relative_to(root).parts
        if is_junk(rel):
            subdirs[:] = []
            continue
        for sub in list(subdirs):
            if (Path(folder) / sub).is_symlink():
                symlinks.append("/".join(rel + (sub,)))
                subdirs.remove(sub)
        if rel:
            dirs.append(rel)
        for name in names:
            parts = rel + (name,)
            if is_junk(parts):
                ignored += 1
            elif (Path(folder) / name).is_symlink():
                symlinks.append("/".join(parts))
            else:
                files.append(("/".join(parts), parts))
    return layout_detect(files, dirs), symlinks, ignored
