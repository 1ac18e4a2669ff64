"""What a dataset folder is (the one layout rule) and the one split rule, both used by the CLI and by the web
app's imports (a zip's entries or a server folder), so the same photos get the same classes and splits everywhere.

Layouts (a single wrapping folder around any of them is removed; system clutter is ignored):
- "classes": one folder per class (cats/001.jpg); splits are assigned from the photos' content (split_assign);
- "splits": train/, validation/ (or val/, valid/) and test/, each with one folder per class; splits are kept.
  A test/ folder alone is an evaluation-only set;
- "unlabelled": photos with no class folder at all (001.jpg, 002.jpg); recognised and reported, each caller
  says whether it takes them.
"""

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from classifier.files import content_hash
from classifier.images import is_image_file

SPLITS = ("train", "validation", "test")
DEFAULT_FRACTIONS = (0.85, 0.05, 0.10)  # train, validation, test (the article's)
SPLIT_FOLDERS = {"train": "train", "validation": "validation", "valid": "validation", "val": "validation",
                 "test": "test"}  # folder name (any case) -> split
JUNK_NAMES = {"__macosx", "thumbs.db", "desktop.ini"}  # plus any name starting with "."
MAX_CLASS_NAME = 100
PROBLEMS_SHOWN = 20
EXPECTED_LAYOUTS = (
    "Expected one of these layouts (a single top folder around either is fine):\n"
    "  1. one folder per class: cats/001.jpg, dogs/002.jpg, ... (splits are assigned for you);\n"
    "  2. train/, validation/ and test/ folders, each with one folder per class: train/cats/001.jpg, "
    "validation/cats/007.jpg, test/dogs/042.jpg, ... (splits are kept); a test/ folder alone makes an "
    "evaluation-only dataset (for re-evaluating trained jobs, not for training)."
)
UNLABELLED_NOT_SUPPORTED = ("These photos are in no class folder (unlabelled photos), which is not supported yet: "
                            "put each class's photos in a folder named after the class.")


class LayoutError(ValueError):
    """The folders match no layout. `problems` lists (entry name, reason)."""

    def __init__(self, message: str, problems: Iterable[tuple[str, str]] = ()):
        self.problems = list(problems)
        shown = "; ".join(f"{name}: {reason}" for name, reason in self.problems[:PROBLEMS_SHOWN])
        more = f" (and {len(self.problems) - PROBLEMS_SHOWN} more)" if len(self.problems) > PROBLEMS_SHOWN else ""
        super().__init__(f"{message} Offending entries: {shown}{more}." if shown else message)


@dataclass
class Layout:
    kind: str  # "classes", "splits" or "unlabelled"
    files: list = field(default_factory=list)  # [(name, split or None, class name)], class "" when unlabelled
    classes: set = field(default_factory=set)  # every class folder seen, even an empty one
    loose: list = field(default_factory=list)  # names of files outside any class folder beside class folders


def is_junk(parts: tuple[str, ...]) -> bool:
    return any(part.startswith(".") or part.lower() in JUNK_NAMES for part in parts)


def _strip_wrappers(files, dirs):
    """Strip single wrapping folders ("animals3/cats/x.jpg" -> "cats/x.jpg"); a folder holding photos directly
    is a class, never a wrapper."""
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
    """The layout of relative paths: `files` are (name, path parts), `dirs` the folders' parts (empty class
    folders count). Junk (is_junk) must be left out by the caller. Raises LayoutError when nothing fits."""
    files, dirs = _strip_wrappers(files, dirs)
    if files and not dirs and all(len(parts) == 1 for _, parts in files):
        return Layout("unlabelled", sorted((name, None, "") for name, _ in files))
    tops = {parts[0] for _, parts in files if len(parts) > 1} | {parts[0] for parts in dirs}
    by_split = any(top.lower() in SPLIT_FOLDERS for top in tops)
    depth = 3 if by_split else 2
    problems, loose, layout_files, classes = [], [], [], set()
    if by_split:
        others = sorted(top for top in tops if top.lower() not in SPLIT_FOLDERS)
        problems += [(f"{top}/", "a folder beside train/validation/test") for top in others]
        split_tops = {SPLIT_FOLDERS[top.lower()] for top in tops if top.lower() in SPLIT_FOLDERS}
        if "train" not in split_tops and split_tops != {"test"}:  # test/ alone: an evaluation-only set
            problems.append(("train/", "missing: the split layout needs a train/ folder (or only a test/ folder, "
                                       "for an evaluation-only dataset)"))
        classes |= {parts[1].strip() for parts in dirs if len(parts) >= 2}
    else:
        classes |= {parts[0].strip() for parts in dirs}
    classes.discard("")
    for name, parts in files:
        if len(parts) == 1:
            loose.append(name)
        elif len(parts) != depth:
            problems.append((name, "not directly inside a class folder"))
        else:
            split = SPLIT_FOLDERS.get(parts[0].lower()) if by_split else None
            class_name = parts[-2].strip()
            if not class_name or len(class_name) > MAX_CLASS_NAME:
                problems.append((name, f"class folder name is empty or longer than {MAX_CLASS_NAME} characters"))
                continue
            classes.add(class_name)
            layout_files.append((name, split, class_name))
    if problems or not classes:
        raise LayoutError(f"The folders do not match a dataset layout. {EXPECTED_LAYOUTS}", problems)
    order = {s: i for i, s in enumerate(SPLITS)}
    layout_files.sort(key=lambda item: (order.get(item[1], 0), item[2], item[0]))
    return Layout("splits" if by_split else "classes", layout_files, classes, sorted(loose))


def layout_scan(root, *, follow_symlinks: bool = False) -> tuple[Layout, list[str], int]:
    """(layout, symbolic links skipped, system files ignored) of a folder; names are relative to `root` with "/".
    follow_symlinks (your own folders, the CLI): links to files and folders are read like the real thing;
    otherwise (a server import) they are skipped, never followed."""
    files, dirs, symlinks, ignored = folder_entries(root, follow_symlinks=follow_symlinks)
    return layout_detect(files, dirs), symlinks, ignored


def folder_entries(root, *, follow_symlinks: bool = False) -> tuple[list, list, list[str], int]:
    """(files as (name, parts), folders' parts, symbolic links skipped, system files ignored) of a folder, as
    layout_detect takes them (layout_scan's walk, for callers that read every photo whatever its folders)."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: not a folder")
    files, dirs, symlinks, ignored = [], [], [], 0
    for folder, subdirs, names in os.walk(root, followlinks=follow_symlinks):
        rel = Path(folder).relative_to(root).parts
        if is_junk(rel):
            subdirs[:] = []
            continue
        for sub in list(subdirs):
            if not (Path(folder) / sub).is_symlink():
                continue
            if not follow_symlinks:
                symlinks.append("/".join(rel + (sub,)))
                subdirs.remove(sub)
            elif _is_within(os.path.realpath(folder), os.path.realpath(Path(folder) / sub)):
                subdirs.remove(sub)  # a link back up the tree: reading it would never end
        if rel:
            dirs.append(rel)
        for name in names:
            parts = rel + (name,)
            if is_junk(parts):
                ignored += 1
            elif not follow_symlinks and (Path(folder) / name).is_symlink():
                symlinks.append("/".join(parts))
            else:
                files.append(("/".join(parts), parts))
    return files, dirs, symlinks, ignored


def _is_within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def discover(data_dir) -> dict[str, dict[str, list[Path]]]:
    """{split: {label: [paths]}} of a folder by the layout rule (links followed, non-image files left out): a
    split layout gives its splits (those present, e.g. only "test" for an evaluation-only folder), class folders
    give everything under the single split "all" (split_items splits it). Raises LayoutError (a ValueError)
    when the folder matches no layout, or holds unlabelled photos (not supported yet)."""
    data_dir = Path(data_dir)
    layout, _, _ = layout_scan(data_dir, follow_symlinks=True)
    if layout.kind == "unlabelled":
        raise LayoutError(f"{data_dir}: {UNLABELLED_NOT_SUPPORTED}")
    found = {}
    for name, split, class_name in layout.files:
        path = data_dir / name
        if is_image_file(path):
            found.setdefault(split or "all", {}).setdefault(class_name, []).append(path)
    if not found:
        raise LayoutError(f"{data_dir}: no photos in the class folders. {EXPECTED_LAYOUTS}")
    return {s: {c: sorted(found[s][c]) for c in sorted(found[s])} for s in (*SPLITS, "all") if s in found}


def _check_fractions(fractions) -> None:
    if len(fractions) != 3 or abs(sum(fractions) - 1) > 1e-6 or min(fractions) < 0:
        raise ValueError(f"split fractions must be three non-negative numbers summing to 1, got {fractions}")


def split_sizes(n: int, fractions=DEFAULT_FRACTIONS) -> tuple[int, int, int]:
    """(train, validation, test) counts for a class of n images: n * fraction rounded half up; a class of 3 or
    more images gets at least one image in each split whose fraction is not 0; test is served first."""
    def share(fraction: float) -> int:
        count = math.floor(n * fraction + 0.5)
        return max(1, count) if fraction > 0 and n >= 3 else count

    n_test = min(n, share(fractions[2]))
    n_validation = min(n - n_test, share(fractions[1]))
    return n - n_test - n_validation, n_validation, n_test


def split_assign(hashes: Iterable[str], fractions=DEFAULT_FRACTIONS) -> dict[str, str]:
    """The split of each image of ONE class, by content hash: hashes in sorted order (deterministic, effectively
    random, independent of names and listing order); the first ones go to test, the next to validation, the rest
    to train (sizes from split_sizes). Equal hashes (duplicate files) get the same split."""
    _check_fractions(fractions)
    ordered = sorted(set(hashes))
    _, n_validation, n_test = split_sizes(len(ordered), fractions)
    return {h: "test" if i < n_test else "validation" if i < n_test + n_validation else "train"
            for i, h in enumerate(ordered)}


def split_of_hash(content_hash: str, fractions=DEFAULT_FRACTIONS) -> str:
    """The split of ONE photo from its content hash alone: the hash's first 64 bits as a number in [0, 1), below
    the test fraction -> test, below test + validation -> validation, else train. For photos labelled one at a
    time (split_assign orders a batch: photos labelled one by one would all land in train); over many photos the
    shares come out at the fractions, and the same photo always gets the same split."""
    _check_fractions(fractions)
    position = int(content_hash[:16], 16) / 2 ** 64
    _, validation, test = fractions
    return "test" if position < test else "validation" if position < test + validation else "train"


def split_items(by_label: dict[str, list[Path]], fractions=DEFAULT_FRACTIONS,
                hashes: dict[Path, str] | None = None) -> dict[str, dict[str, list[Path]]]:
    """{split: {label: [paths]}} by split_assign on each class (`hashes`: content hashes already known)."""
    _check_fractions(fractions)
    hashes = hashes or {}
    out = {s: {} for s in SPLITS}
    for label, paths in by_label.items():
        path_hashes = {p: hashes.get(p) or content_hash(p) for p in paths}
        assigned = split_assign(path_hashes.values(), fractions)
        for split in SPLITS:
            out[split][label] = sorted((p for p in paths if assigned[path_hashes[p]] == split),
                                       key=lambda p: (path_hashes[p], p))
    return out


def folder_splits(data_dir, fractions=DEFAULT_FRACTIONS) -> tuple[dict[str, dict[str, list[Path]]], dict[Path, str]]:
    """What the CLI trains on: ({split: {label: [paths]}}, {path: content hash}) of a dataset folder, its splits
    kept (a split layout) or assigned by split_items (class folders), as the web import assigns them."""
    found = discover(data_dir)
    hashes = {p: content_hash(p) for by_label in found.values() for paths in by_label.values() for p in paths}
    return (split_items(found["all"], fractions, hashes) if "all" in found else found), hashes
