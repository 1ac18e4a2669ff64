"""Image folders for the CLI: the article's train/validation/test layout, or one folder per class."""

import hashlib
from pathlib import Path

from classifier.images import is_image_file

SPLITS = ("train", "validation", "test")
DEFAULT_FRACTIONS = (0.85, 0.05, 0.10)


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


def _split_order(path: Path, content_hash: str | None) -> str:
    return content_hash or hashlib.sha256(path.read_bytes()).hexdigest()


def split_items(by_label: dict[str, list[Path]], fractions=DEFAULT_FRACTIONS,
                hashes: dict[Path, str] | None = None) -> dict[str, dict[str, list[Path]]]:
    """Stratified deterministic split: within each class, files ordered by content hash, then cut by fractions.

    Each non-empty fraction gets at least one image of a class that has enough images."""
    if abs(sum(fractions) - 1) > 1e-6 or len(fractions) != 3 or min(fractions) < 0:
        raise ValueError(f"split fractions must be three non-negative numbers summing to 1, got {fractions}")
    hashes = hashes or {}
    out = {s: {} for s in SPLITS}
    for label, paths in by_label.items():
        ordered = sorted(paths, key=lambda p: _split_order(p, hashes.get(p)))
        n = len(ordered)
        n_val = max(1, round(n * fractions[1])) if fractions[1] and n >= 3 else 0
        n_test = max(1, round(n * fractions[2])) if fractions[2] and n >= 3 else 0
        n_train = n - n_val - n_test
        out["train"][label] = ordered[:n_train]
        out["validation"][label] = ordered[n_train:n_train + n_val]
        out["test"][label] = ordered[n_train + n_val:]
    return out
