"""Files under the dataset media folders that no row owns, and staging folders of imports that never finished.

A staging folder is left alone while it is younger than `stale_after` seconds (an import may be writing to it).
In an older one, a file whose row exists but whose final file is missing was committed and never moved (the
process died between commit and move): it is moved into place; every other staged file is an orphan.
"""

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.db.models import Q

from webapp.datasets.importing.storage import STAGING_DIR
from webapp.datasets.models import Image

DATASETS_DIR = "datasets"


@dataclass
class Orphans:
    files: list[str] = field(default_factory=list)  # relative to MEDIA_ROOT: unowned files to delete
    stale_stages: list[str] = field(default_factory=list)  # staging folders to remove (after the moves)
    moves: list[tuple[str, str]] = field(default_factory=list)  # (staged file, final name) to complete


def _owned(dataset_id: int | None, names: list[str]) -> set[str]:
    owned = set()
    for start in range(0, len(names), 500):  # bounded IN lists
        chunk = names[start:start + 500]
        rows = Image.objects.filter(Q(file__in=chunk) | Q(thumbnail__in=chunk))
        if dataset_id is not None:
            rows = rows.filter(dataset_id=dataset_id)
        owned |= {name for pair in rows.values_list("file", "thumbnail") for name in pair}
    return owned


def _relative_files(folder: Path, root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in folder.rglob("*") if path.is_file() or path.is_symlink())


def orphans_find(*, media_root: Path, stale_after: float = 3600) -> Orphans:
    found = Orphans()
    datasets = media_root / DATASETS_DIR
    for folder in sorted(datasets.iterdir()) if datasets.is_dir() else []:
        names = _relative_files(folder, media_root) if folder.is_dir() else [str(folder.relative_to(media_root))]
        dataset_id = int(folder.name) if folder.name.isascii() and folder.name.isdigit() else None
        owned = _owned(dataset_id, names) if dataset_id is not None else set()
        found.files += [name for name in names if name not in owned]
    staging = media_root / STAGING_DIR
    now = time.time()
    for stage in sorted(staging.iterdir()) if staging.is_dir() else []:
        paths = [stage, *stage.rglob("*")] if stage.is_dir() else [stage]
        if now - max(p.lstat().st_mtime for p in paths) < stale_after:
            continue
        found.stale_stages.append(str(stage.relative_to(media_root)))
        staged = _relative_files(stage, stage) if stage.is_dir() else []
        owned = _owned(None, staged)
        found.moves += [(str((stage / name).relative_to(media_root)), name) for name in staged
                        if name in owned and not (media_root / name).exists()]
    return found


def orphans_remove(*, media_root: Path, orphans: Orphans) -> None:
    for staged, final in orphans.moves:
        (media_root / final).parent.mkdir(parents=True, exist_ok=True)
        os.replace(media_root / staged, media_root / final)
    for name in orphans.files:
        (media_root / name).unlink(missing_ok=True)
    for stage in orphans.stale_stages:
        path = media_root / stage
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    for top in (media_root / DATASETS_DIR, media_root / STAGING_DIR):  # folders left empty, deepest first
        folders = [top, *(p for p in top.rglob("*") if p.is_dir())] if top.is_dir() else []
        for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
            try:
                folder.rmdir()
            except OSError:
                pass
