"""One archive of everything that is not rebuilt: the database as a portable JSON dump (Django's dumpdata, any
database engine) and the files its rows own (photos, thumbnails, prediction photos, trained models); the feature
cache only on request (a worker rebuilds it).

Consistent while the app runs: the dump and the list of owned files are read in one transaction (PostgreSQL:
REPEATABLE READ; SQLite: one transaction sees one snapshot). Files are written once and never changed in place, so
copying them after the transaction gives the files of that snapshot; one deleted meanwhile is reported missing.

Every area is read and written through webapp.core.storage, so an archive made on the local folders restores into an
S3 store and back (how to move an installation: README, "Moving to an S3 store").

Archive layout (a .tar, gzip-compressed when the name ends in .gz):
    manifest.json          format version, creation time, file list with sizes and sha256
    database.json          dumpdata of every app (natural keys; content types and permissions are made by migrate)
    media/...              the "media" area (MEDIA_ROOT, or the store's media/ prefix)
    artifacts/...          the "artifacts" area (trained models)
    features/...           the "features" area (with --features)
"""

import hashlib
import io
import json
import os
import tarfile
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from webapp.core import storage

FORMAT = 1
# Rebuilt by migrate (content types, permissions) or transient (sessions, login throttling attempts).
# Not data: rebuilt by Django, or live state. Workers report themselves (the registry), also while a restore runs.
EXCLUDED_MODELS = ["contenttypes", "auth.permission", "sessions", "axes", "workers_registry.worker"]
AREAS = ("media", "artifacts", "features")  # the archive's top folders: one per storage area
FETCH_CHUNK = 64  # files fetched from a store at once (side by side), then added to the archive


class BackupError(Exception):
    pass


def _owned_files() -> list[str]:
    """The archive names (<area>/<stored name>) of every file a row owns, read inside the caller's transaction."""
    from webapp.datasets.models import Image
    from webapp.experiments.models import Prediction, TrainingJob

    names = set()
    for file, thumbnail in Image.objects.values_list("file", "thumbnail").iterator():
        names.update(f"media/{name}" for name in (file, thumbnail) if name)
    names.update(f"media/{name}" for name in Prediction.objects.values_list("file", flat=True) if name)
    for artifact_dir in TrainingJob.objects.exclude(artifact_dir="").values_list("artifact_dir", flat=True):
        names.update(f"artifacts/{name}" for name in storage.names_under(artifact_dir, "artifacts"))
    return sorted(names)


def _dump_database() -> tuple[bytes, list[str]]:
    outermost = not connection.in_atomic_block  # only a transaction's first statement may set its isolation level
    with transaction.atomic():
        if connection.vendor == "postgresql" and outermost:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        out = io.StringIO()
        call_command("dumpdata", exclude=EXCLUDED_MODELS, natural_foreign=True, natural_primary=True,
                     indent=None, stdout=out)
        return out.getvalue().encode(), _owned_files()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _local_copies(names: list[str]):
    """(archive name, a file on this machine holding it, or None when it is gone), FETCH_CHUNK at a time (with a
    store: downloaded side by side into this process's bounded local copy)."""
    for start in range(0, len(names), FETCH_CHUNK):
        chunk = names[start:start + FETCH_CHUNK]
        by_area = {}
        for name in chunk:
            area, _, stored = name.partition("/")
            by_area.setdefault(area, []).append(stored)
        paths = {}
        for area, stored_names in by_area.items():
            paths |= {f"{area}/{stored}": path for stored, path in storage.local_files(stored_names, area).items()}
        yield from ((name, paths[name]) for name in chunk)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), int(timezone.now().timestamp()), 0o600
    tar.addfile(info, io.BytesIO(data))


def backup_create(*, out: Path, include_features: bool = False) -> dict:
    """Write the archive; returns its manifest (`missing`: files a row named that were gone when copied)."""
    database, files = _dump_database()
    if include_features:
        files += [f"features/{name}" for name in storage.names_under("", "features")]
    manifest = {"format": FORMAT, "created_at": timezone.now().isoformat(), "files": {}, "missing": []}
    tmp = out.with_name(f".{out.name}.partial")
    tmp.unlink(missing_ok=True)
    # 0600 from the start, whatever the umask: the archive holds password hashes, tokens' hashes, webhook secrets
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as raw, \
            tarfile.open(fileobj=raw, mode="w:gz" if out.name.endswith(".gz") else "w") as tar:
        _add_bytes(tar, "database.json", database)
        for name, path in _local_copies(files):
            try:
                if path is None:
                    raise FileNotFoundError(name)
                sha, size = _sha256(path), path.stat().st_size
                tar.add(path, arcname=name, recursive=False)
            except FileNotFoundError:
                manifest["missing"].append(name)
                continue
            manifest["files"][name] = {"size": size, "sha256": sha}
        manifest["database_sha256"] = hashlib.sha256(database).hexdigest()
        _add_bytes(tar, "manifest.json", json.dumps(manifest, indent=1).encode())
    tmp.replace(out)  # a half-written archive never carries the final name
    return manifest


def database_is_empty() -> bool:
    from django.contrib.auth.models import Group, User

    from webapp.datasets.models import Dataset

    return not (User.objects.exists() or Group.objects.exists() or Dataset.objects.exists())


def _restore_file(tar: tarfile.TarFile, member: tarfile.TarInfo, expected_sha256: str) -> None:
    """One archived file into its area (the local folder or the store), once its bytes match the manifest."""
    area, _, name = member.name.partition("/")
    if any(part in ("", ".", "..") for part in name.split("/")):  # no escape from the area
        raise BackupError(f"{member.name} is not a plain file name: the archive is damaged.")
    digest = hashlib.sha256()
    with tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024) as copy:
        source = tar.extractfile(member)
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
            copy.write(block)
        if digest.hexdigest() != expected_sha256:
            raise BackupError(f"{member.name} does not match the manifest: the archive is damaged.")
        copy.seek(0)
        storage.write(name, copy, area)


def backup_restore(*, archive: Path, force: bool = False) -> dict:
    """Bring an archive back: files into their areas (written through webapp.core.storage: the local folders or
    the S3 store, whichever this installation uses), then the rows. Refuses a database with users, teams or
    datasets unless `force` (which first empties it: every row is replaced by the archive's)."""
    call_command("migrate", verbosity=0)
    if not database_is_empty():
        if not force:
            raise BackupError("The database is not empty (it has users, teams or datasets). Restore into a fresh "
                              "data folder, or pass --force to replace everything in it.")
        call_command("flush", interactive=False, verbosity=0)
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
        if manifest.get("format") != FORMAT:
            raise BackupError(f"Unknown archive format {manifest.get('format')!r}.")
        database = tar.extractfile("database.json").read()
        if hashlib.sha256(database).hexdigest() != manifest["database_sha256"]:
            raise BackupError("database.json does not match the manifest: the archive is damaged.")
        for member in tar:
            if member.name.partition("/")[0] not in AREAS or not member.isfile() \
                    or member.name not in manifest["files"]:
                continue
            _restore_file(tar, member, manifest["files"][member.name]["sha256"])
    fixture = Path(settings.DATA_DIR) / f".restore-{timezone.now().timestamp():.0f}.json"
    fixture.write_bytes(database)
    try:
        with transaction.atomic():
            call_command("loaddata", str(fixture), verbosity=0)
    finally:
        fixture.unlink()
    return manifest
