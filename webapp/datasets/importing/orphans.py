"""Files under the dataset media folders that no row owns, and staging folders of imports that never finished.

The dataset files are read through the storage API (webapp.core.storage: the local folder or the S3 store alike);
staging folders are on this machine (storage.staging_root). A staging folder is left alone while it is younger than
`stale_after` seconds (an import may be writing to it). In an older one, a file whose row exists but whose final
file is missing was committed and never published (the process died between commit and publish): it is published
now; every other staged file is an orphan.
"""

import shutil
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from django.db.models import Q

from webapp.core import storage
from webapp.datasets.models import Image

DATASETS_DIR = "datasets"


@dataclass
class Orphans:
    files: list[str] = field(default_factory=list)  # stored names (media area): unowned files to delete
    stale_stages: list[str] = field(default_factory=list)  # staging folders (local paths) to remove after the moves
    moves: list[tuple[str, str]] = field(default_factory=list)  # (staged local file, final name) to complete


def _owned(dataset_id: int | None, names: list[str]) -> set[str]:
    owned = set()
    for start in range(0, len(names), 500):  # bounded IN lists
        chunk = names[start:start + 500]
        rows = Image.objects.filter(Q(file__in=chunk) | Q(thumbnail__in=chunk))
        if dataset_id is not None:
            rows = rows.filter(dataset_id=dataset_id)
        owned |= {name for pair in rows.values_list("file", "thumbnail") for name in pair}
    return owned


def _relative_files(folder: Path) -> list[str]:
    return sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*")
                  if path.is_file() or path.is_symlink())


def orphans_find(*, stale_after: float = 3600) -> Orphans:
    found = Orphans()
    stored = storage.names_under(DATASETS_DIR, "media")
    by_folder = defaultdict(list)  # datasets/<id>/...: the rows of dataset <id> own them
    for name in stored:
        parts = name.split("/")
        by_folder[parts[1] if len(parts) > 2 else None].append(name)
    for folder, names in sorted(by_folder.items(), key=lambda item: item[0] or ""):
        dataset_id = int(folder) if folder and folder.isascii() and folder.isdigit() else None
        owned = _owned(dataset_id, names) if dataset_id is not None else set()
        found.files += [name for name in names if name not in owned]
    staging = storage.staging_root("media")
    stored, now = set(stored), time.time()
    for stage in sorted(staging.iterdir()) if staging.is_dir() else []:
        paths = [stage, *stage.rglob("*")] if stage.is_dir() else [stage]
        if now - max(p.lstat().st_mtime for p in paths) < stale_after:
            continue
        found.stale_stages.append(str(stage))
        staged = _relative_files(stage) if stage.is_dir() else []
        owned = _owned(None, staged)
        found.moves += [(str(stage / name), name) for name in staged if name in owned and name not in stored]
    return found


def orphans_remove(*, orphans: Orphans) -> None:
    storage.publish_staged([(Path(staged), final) for staged, final in orphans.moves], "media")
    storage.delete_names(orphans.files, "media")
    for stage in map(Path, orphans.stale_stages):
        shutil.rmtree(stage, ignore_errors=True) if stage.is_dir() else stage.unlink(missing_ok=True)
    try:
        storage.staging_root("media").rmdir()  # when no other import is staging
    except OSError:
        pass
