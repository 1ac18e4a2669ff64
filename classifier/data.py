"""Image folders (the article's train/validation/test layout, or one folder per class) and the one split rule
that the CLI and the web app's imports both use."""

import math
from collections.abc import Iterable
from pathlib import Path

from classifier.files import content_hash
from classifier.images import is_image_file

SPLITS = ("train", "validation", "test")
DEFAULT_FRACTIONS = (0.85, 0.05, 0.10)  # train, validation, test (the article's)


def _class_folders(folder: Path) -> dict[str, list[Path]]:
    return {d.name: sorted(p for p in d.rglob("*") if is_image_file(p))
            for d in sorted(folder.iterdir()) if d.is_dir() and not d.name.startswith(".")}


def discover(data_dir) -> dict[str, dict[str, list[Path]]]:
    """{split: {label: [paths]}}. With train/ (validation/, test/) subfolders those are the splits; otherwise
    every subfolder is a class and everything is returned under the single split "all"."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise FileNotFoundError(f"{data_dir}: not a folder")
    if (data_dir / "train").is_dir():
        return {s: _class_folders(data_dir / s) for s in SPLITS if (data_dir / s).is_dir()}
    classes = _class_folders(data_dir)
    if not classes:
        raise ValueError(f"{data_dir}: no class folders (expected train/ validation/ test/ or one folder per class)")
    return {"all": classes}


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
