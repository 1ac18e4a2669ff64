"""Every write to datasets: imports (zip, folder, uploaded photos), relabel/move/delete.

Import policy (docs/datasets-import.md): problems of the archive as a container (not a zip, too big, too many
entries, compression ratio, unsafe or absolute paths, symbolic links, nested archives, a layout we do not
understand, a class with no images) reject the whole archive and change nothing; problems of one file's content
(not an image, empty, truncated, unsupported format, too many pixels, too large) skip that file and are listed
in the result. Duplicates (same sha256 within the dataset) are skipped and counted.

Atomicity: rows are written in one transaction; files are written first to their final, hash-derived paths and
deleted again (with the folders the import created) when anything fails, so a rejected import leaves the
database and MEDIA_ROOT exactly as they were.
"""

import hashlib
import math
import os
import re
import shutil
import stat
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import QuerySet

from webapp.datasets.imaging import ImageRejected, image_check
from webapp.datasets.models import Dataset, Image, Label, Split, image_storage_name, thumbnail_storage_name

MiB = 1024 * 1024
DEFAULTS = {
    "DATASETS_MAX_ARCHIVE_BYTES": 2048 * MiB,  # the uploaded zip itself
    "DATASETS_MAX_IMAGE_BYTES": 25 * MiB,  # one photo (uploaded, or uncompressed inside a zip)
    "DATASETS_ZIP_MAX_ENTRIES": 100_000,
    "DATASETS_ZIP_MAX_TOTAL_BYTES": 8192 * MiB,  # sum of uncompressed sizes
    "DATASETS_ZIP_MAX_RATIO": 100,  # uncompressed / compressed, per entry (photos compress ~1:1)
    "DATASETS_SPLIT_FRACTIONS": (0.85, 0.05, 0.10),  # train, validation, test (the article's)
    "DATASETS_DEFAULT_TEAM": "Team",  # team of datasets made by `import_dataset` without --team
}
RATIO_CHECK_MIN_BYTES = 64 * 1024  # tiny entries may compress well without being a bomb
ARCHIVE_SUFFIXES = {".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".zst", ".lz", ".lzma", ".jar"}
JUNK_NAMES = {"__macosx", "thumbs.db", "desktop.ini"}  # plus any name starting with "."
SPLIT_FOLDERS = {"train": Split.TRAIN, "validation": Split.VALIDATION, "valid": Split.VALIDATION,
                 "val": Split.VALIDATION, "test": Split.TEST}
SPLIT_ORDER = [Split.TRAIN, Split.VALIDATION, Split.TEST]
EXPECTED_LAYOUTS = (
    "Expected one of these layouts (a single top folder around either is fine):\n"
    "  1. one folder per class: cats/001.jpg, dogs/002.jpg, ... (splits are assigned for you);\n"
    "  2. train/, validation/ and test/ folders, each with one folder per class: train/cats/001.jpg, "
    "validation/cats/007.jpg, test/dogs/042.jpg, ... (splits are kept)."
)


def limit(name: str):
    return getattr(settings, name, DEFAULTS[name])


class ImportRejected(ValidationError):
    """The whole import is refused and nothing was changed. `entries` lists (entry name, reason)."""

    def __init__(self, message: str, entries: Iterable[tuple[str, str]] = ()):
        self.entries = list(entries)
        self.summary = message
        if self.entries:
            shown = "; ".join(f"{name}: {reason}" for name, reason in self.entries[:20])
            more = f" (and {len(self.entries) - 20} more)" if len(self.entries) > 20 else ""
            message = f"{message} Offending entries: {shown}{more}."
        super().__init__(message)
        self.text = message


@dataclass
class ImportResult:
    dataset: Dataset
    added: dict = field(default_factory=lambda: defaultdict(lambda: dict.fromkeys(SPLIT_ORDER, 0)))
    duplicates: int = 0
    rejected: list = field(default_factory=list)  # [(entry name, reason)]
    ignored: int = 0  # system files such as __MACOSX/, .DS_Store, Thumbs.db

    @property
    def total_added(self) -> int:
        return sum(sum(per_split.values()) for per_split in self.added.values())

    def as_dict(self) -> dict:
        """JSON-ready (kept in the session for the result page, printed by the command)."""
        return {
            "dataset_id": self.dataset.pk,
            "dataset_name": self.dataset.name,
            "added": {name: {str(s): n for s, n in per.items()} for name, per in sorted(self.added.items())},
            "total_added": self.total_added,
            "duplicates": self.duplicates,
            "rejected": [list(item) for item in self.rejected],
            "ignored": self.ignored,
        }


# --- files -------------------------------------------------------------------------------------------------------


class _MediaWriter:
    """Writes files under MEDIA_ROOT and remembers them (and the folders it made) so `cleanup()` can undo it."""

    def __init__(self):
        self.root = Path(default_storage.path(""))
        self.files: list[Path] = []
        self.dirs: list[Path] = []

    def write(self, name: str, data: bytes) -> str:
        path = self.root / name
        missing = []
        parent = path.parent
        while not parent.exists():
            missing.append(parent)
            parent = parent.parent
        for folder in reversed(missing):
            folder.mkdir(exist_ok=True)
            self.dirs.append(folder)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)  # a crash never leaves a half-written photo under its final name
        self.files.append(path)
        return name

    def cleanup(self) -> None:
        for path in self.files:
            path.unlink(missing_ok=True)
        for folder in reversed(self.dirs):
            try:
                folder.rmdir()
            except OSError:  # not empty: someone else's files are there
                pass
        self.files, self.dirs = [], []


def _delete_files_on_commit(names: Iterable[str]) -> None:
    names = [name for name in names if name]

    def delete():
        for name in names:
            default_storage.delete(name)

    transaction.on_commit(delete)


# --- one photo ---------------------------------------------------------------------------------------------------


@dataclass
class _Stored:
    name: str  # entry / upload name, display only
    class_name: str
    split: str | None  # None: assigned from the content hash later
    content_hash: str
    file: str
    thumbnail: str
    width: int
    height: int


def _store_one(*, dataset: Dataset, data: bytes, name: str, class_name: str, split: str | None,
               known: set[str], writer: _MediaWriter, result: ImportResult) -> _Stored | None:
    """Hash, deduplicate, check and write one photo; None (and the result updated) when it is skipped."""
    content_hash = hashlib.sha256(data).hexdigest()
    if content_hash in known:
        result.duplicates += 1
        return None
    try:
        checked = image_check(data)
    except ImageRejected as exc:
        result.rejected.append((name, str(exc)))
        return None
    known.add(content_hash)
    file_name = writer.write(image_storage_name(dataset.pk, content_hash, checked.extension), data)
    thumb_name = writer.write(thumbnail_storage_name(dataset.pk, content_hash), checked.thumbnail)
    return _Stored(name, class_name, split, content_hash, file_name, thumb_name, checked.width, checked.height)


def splits_assign(hashes: Iterable[str], fractions: tuple[float, float, float] | None = None) -> dict[str, str]:
    """Stratify one class: order its images by content hash (deterministic, effectively random), the first
    round(n * test) go to test, the next round(n * validation) to validation, the rest to train."""
    _, validation, test = fractions or limit("DATASETS_SPLIT_FRACTIONS")
    ordered = sorted(set(hashes))
    n = len(ordered)
    n_test = min(n, math.floor(n * test + 0.5))
    n_validation = min(n - n_test, math.floor(n * validation + 0.5))
    return {
        h: Split.TEST if i < n_test else Split.VALIDATION if i < n_test + n_validation else Split.TRAIN
        for i, h in enumerate(ordered)
    }


def _rows_create(*, dataset: Dataset, stored: list[_Stored], fractions, user, result: ImportResult,
                 labels: dict[str, Label] | None = None) -> list[Image]:
    """Give unsplit photos their split (per class) and insert the rows; counts go into the result."""
    by_class = defaultdict(list)
    for item in stored:
        if item.split is None:
            by_class[item.class_name].append(item.content_hash)
    assigned = {}
    for hashes in by_class.values():
        assigned.update(splits_assign(hashes, fractions))
    labels = labels if labels is not None else {}
    rows = []
    for item in stored:
        if item.class_name not in labels:
            labels[item.class_name], _ = Label.objects.get_or_create(dataset=dataset, name=item.class_name)
        split = item.split or assigned[item.content_hash]
        rows.append(Image(
            dataset=dataset, label=labels[item.class_name], split=split, file=item.file, thumbnail=item.thumbnail,
            content_hash=item.content_hash, width=item.width, height=item.height,
            original_name=item.name[-255:], added_by=user,
        ))
        result.added[item.class_name][split] += 1
    return Image.objects.bulk_create(rows, batch_size=500)


def _known_hashes(dataset: Dataset) -> set[str]:
    if dataset.pk is None:
        return set()
    return set(Image.objects.filter(dataset=dataset).values_list("content_hash", flat=True))


def _dataset_for_import(*, dataset, name, team, description, user) -> Dataset:
    if dataset is not None:
        return dataset
    if not name or team is None:
        raise ValidationError("A new dataset needs a name and a team.")
    if Dataset.objects.filter(name=name).exists():
        raise ValidationError(f"A dataset named {name!r} already exists.")
    return Dataset.objects.create(name=name, team=team, description=description, created_by=user)


def _empty_classes(dataset: Dataset, class_names: Iterable[str]) -> list[str]:
    names = set(class_names)
    images = Image.objects.filter(dataset=dataset, label__name__in=names).order_by()
    with_images = set(images.values_list("label__name", flat=True).distinct())
    return sorted(names - with_images)


# --- layout ------------------------------------------------------------------------------------------------------


def _is_junk(parts: tuple[str, ...]) -> bool:
    return any(part.startswith(".") or part.lower() in JUNK_NAMES for part in parts)


@dataclass
class _Layout:
    kind: str  # "classes" or "splits"
    files: list  # [(original name, split or None, class name)]
    classes: set  # every class folder seen, even an empty one
    loose: list  # files outside any class folder (skipped)


def _layout(files: list[tuple[str, tuple[str, ...]]], dirs: list[tuple[str, ...]]) -> _Layout:
    """Recognise the layout from relative paths: `files` are (original name, parts), `dirs` extra folders."""
    all_parts = [parts for _, parts in files] + dirs
    # Strip single wrapping folders ("animals3/cats/x.jpg" -> "cats/x.jpg").
    strip = 0
    while True:
        tops = {parts[strip] for parts in all_parts if len(parts) > strip}
        deepest_files = [len(parts) - strip for _, parts in files]
        if (len(tops) == 1 and deepest_files and min(deepest_files) >= 3
                and next(iter(tops)).lower() not in SPLIT_FOLDERS):
            strip += 1
        else:
            break
    files = [(name, parts[strip:]) for name, parts in files]
    dirs = [parts[strip:] for parts in dirs if len(parts) > strip]
    tops = {parts[0] for _, parts in files if len(parts) > 1} | {parts[0] for parts in dirs}
    by_split = any(top.lower() in SPLIT_FOLDERS for top in tops)
    depth = 3 if by_split else 2
    problems, loose, layout_files, classes = [], [], [], set()
    if by_split:
        others = sorted(top for top in tops if top.lower() not in SPLIT_FOLDERS)
        problems += [(f"{top}/", "a folder beside train/validation/test") for top in others]
        if "train" not in {top.lower() for top in tops}:
            problems.append(("train/", "missing: the split layout needs a train/ folder"))
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
    return _Layout("splits" if by_split else "classes", layout_files, classes, loose)


# --- zip import --------------------------------------------------------------------------------------------------


def _unsafe_path(name: str) -> bool:
    normalized = name.replace("\\", "/")
    return (normalized.startswith("/") or bool(re.match(r"^[A-Za-z]:", normalized))
            or ".." in normalized.split("/") or "\x00" in normalized)


def _archive_size(archive) -> int:
    size = getattr(archive, "size", None)
    if size is None:
        position = archive.tell()
        size = archive.seek(0, os.SEEK_END)
        archive.seek(position)
    return size


def _zip_open(archive) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo], _Layout, int]:
    """Open and check the archive as a container, reading no entry yet. Raises ImportRejected."""
    max_bytes = limit("DATASETS_MAX_ARCHIVE_BYTES")
    if _archive_size(archive) > max_bytes:
        raise ImportRejected(f"The archive is larger than the limit of {max_bytes // MiB} MiB.")
    try:
        archive.seek(0)
        zf = zipfile.ZipFile(archive)
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        raise ImportRejected("This file is not a zip archive, or the archive is damaged.") from None
    max_entries = limit("DATASETS_ZIP_MAX_ENTRIES")
    if len(infos) > max_entries:
        raise ImportRejected(f"The archive has {len(infos):,} entries; the limit is {max_entries:,}.")
    problems, files, dirs, ignored, total = [], [], [], 0, 0
    max_ratio = limit("DATASETS_ZIP_MAX_RATIO")
    for info in infos:
        name = info.filename
        if _unsafe_path(name):
            problems.append((name, "unsafe path (absolute, a drive letter or '..')"))
            continue
        if stat.S_ISLNK(info.external_attr >> 16):
            problems.append((name, "symbolic link"))
            continue
        parts = tuple(part for part in PurePosixPath(name.replace("\\", "/")).parts if part not in ("", "."))
        if not parts:
            continue
        if _is_junk(parts):
            ignored += 0 if info.is_dir() else 1
            continue
        if info.is_dir():
            dirs.append(parts)
            continue
        if PurePosixPath(parts[-1]).suffix.lower() in ARCHIVE_SUFFIXES:
            problems.append((name, "nested archive (unpack it and zip the photos directly)"))
            continue
        total += info.file_size
        if info.file_size > RATIO_CHECK_MIN_BYTES and info.file_size > max_ratio * max(info.compress_size, 1):
            ratio = info.file_size / max(info.compress_size, 1)
            problems.append((name, f"compression ratio {ratio:,.0f}:1 is over the limit of {max_ratio}:1 (zip bomb?)"))
            continue
        files.append((info, parts))
    max_total = limit("DATASETS_ZIP_MAX_TOTAL_BYTES")
    if total > max_total:
        raise ImportRejected(
            f"The archive would unpack to {total // MiB:,} MiB; the limit is {max_total // MiB:,} MiB (zip bomb?).",
            problems,
        )
    if problems:
        raise ImportRejected("The archive was refused and nothing was imported.", problems)
    layout = _layout([(info.filename, parts) for info, parts in files], dirs)
    by_name = {info.filename: info for info, _ in files}
    return zf, [by_name[name] for name, _, _ in layout.files], layout, ignored


def _zip_read(zf: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> bytes:
    """The entry's bytes, never more than cap + 1 of them (declared sizes can lie). Raises ImageRejected."""
    if info.flag_bits & 0x1:
        raise ImageRejected("encrypted entry")
    if info.file_size > cap:
        raise ImageRejected(f"over the size limit of {cap // MiB} MiB per photo")
    try:
        with zf.open(info) as entry:
            data = entry.read(cap + 1)
    except (zipfile.BadZipFile, NotImplementedError, OSError, EOFError, ValueError) as exc:
        raise ImageRejected(f"damaged zip entry ({exc})") from None
    if len(data) > cap:
        raise ImageRejected(f"over the size limit of {cap // MiB} MiB per photo")
    return data


def dataset_import_zip(*, archive, user, dataset: Dataset | None = None, name: str = "", team: Group | None = None,
                       description: str = "", fractions: tuple[float, float, float] | None = None) -> ImportResult:
    """Import a zip of class folders into `dataset`, or into a new dataset (`name`, `team`) made in the same
    transaction. Raises ImportRejected (nothing changed) when the archive as a whole is refused."""
    zf, infos, layout, ignored = _zip_open(archive)
    cap = limit("DATASETS_MAX_IMAGE_BYTES")
    max_total = limit("DATASETS_ZIP_MAX_TOTAL_BYTES")
    splits = {info.filename: (split, class_name) for info, (_, split, class_name) in zip(infos, layout.files)}
    writer = _MediaWriter()
    try:
        with zf, transaction.atomic():
            dataset = _dataset_for_import(dataset=dataset, name=name, team=team, description=description, user=user)
            result = ImportResult(dataset=dataset, ignored=ignored)
            result.rejected += [(loose, "outside any class folder") for loose in layout.loose]
            known, stored, unpacked = _known_hashes(dataset), [], 0
            for info in infos:
                split, class_name = splits[info.filename]
                try:
                    data = _zip_read(zf, info, cap)
                except ImageRejected as exc:
                    result.rejected.append((info.filename, str(exc)))
                    continue
                unpacked += len(data)
                if unpacked > max_total:
                    raise ImportRejected(f"The archive unpacks to more than {max_total // MiB:,} MiB (zip bomb?).")
                item = _store_one(dataset=dataset, data=data, name=info.filename, class_name=class_name,
                                  split=split, known=known, writer=writer, result=result)
                if item:
                    stored.append(item)
            _rows_create(dataset=dataset, stored=stored, fractions=fractions, user=user, result=result)
            empty = _empty_classes(dataset, layout.classes)
            if empty:
                raise ImportRejected(
                    "Every class needs at least one valid photo; nothing was imported.",
                    [(f"{c}/", "class with no images") for c in empty]
                    + [r for r in result.rejected if any(f"/{c}/" in f"/{r[0]}" for c in empty)],
                )
    except BaseException:
        writer.cleanup()
        raise
    return result


# --- uploaded photos ---------------------------------------------------------------------------------------------


def images_add(*, dataset: Dataset, label: Label, split: str, files: Iterable, user) -> ImportResult:
    """Add uploaded photos (Django UploadedFile-like: .name, .size, .read()) to one class and split. A bad photo is
    skipped and listed; the others are added."""
    if label.dataset_id != dataset.pk:
        raise ValidationError("That class belongs to another dataset.")
    if split not in Split.values:
        raise ValidationError(f"Unknown split {split!r}.")
    cap = limit("DATASETS_MAX_IMAGE_BYTES")
    writer = _MediaWriter()
    try:
        with transaction.atomic():
            result = ImportResult(dataset=dataset)
            known, stored = _known_hashes(dataset), []
            for upload in files:
                name = os.path.basename(getattr(upload, "name", "") or "upload")
                if upload.size > cap:
                    result.rejected.append((name, f"over the size limit of {cap // MiB} MiB per photo"))
                    continue
                item = _store_one(dataset=dataset, data=upload.read(), name=name, class_name=label.name, split=split,
                                  known=known, writer=writer, result=result)
                if item:
                    stored.append(item)
            _rows_create(dataset=dataset, stored=stored, fractions=None, user=user, result=result,
                         labels={label.name: label})
    except BaseException:
        writer.cleanup()
        raise
    return result


def label_get_or_create(*, dataset: Dataset, name: str) -> Label:
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationError("A class name needs 1 to 100 characters.")
    return Label.objects.get_or_create(dataset=dataset, name=name)[0]


# --- server folder import (management command) -------------------------------------------------------------------


class _NoProgress:
    def __init__(self, total: int = 0, desc: str = ""):
        pass

    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _folder_scan(root: Path) -> tuple[_Layout, list[str], int]:
    files, dirs, symlinks, ignored = [], [], [], 0
    for folder, subdirs, names in os.walk(root):  # never follows symlinked folders
        rel = Path(folder).relative_to(root).parts
        if _is_junk(rel):
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
            if _is_junk(parts):
                ignored += 1
            elif (Path(folder) / name).is_symlink():
                symlinks.append("/".join(parts))
            else:
                files.append(("/".join(parts), parts))
    return _layout(files, dirs), symlinks, ignored


def dataset_import_folder(*, path: Path, user=None, dataset: Dataset | None = None, name: str = "",
                          team: Group | None = None, description: str = "",
                          fractions: tuple[float, float, float] | None = None, batch_size: int = 500,
                          progress: Callable = _NoProgress) -> ImportResult:
    """Import a server folder (same layouts as a zip), committing every `batch_size` photos so an interrupted
    import resumes where it stopped: run it again and photos already in the dataset are skipped. Splits are
    assigned over the whole folder, so a resumed import assigns exactly what an uninterrupted one would."""
    root = Path(path)
    if not root.is_dir():
        raise ImportRejected(f"{root} is not a folder.")
    layout, symlinks, ignored = _folder_scan(root)
    cap = limit("DATASETS_MAX_IMAGE_BYTES")
    with transaction.atomic():
        dataset = _dataset_for_import(dataset=dataset, name=name, team=team, description=description, user=user)
    result = ImportResult(dataset=dataset, ignored=ignored)
    result.rejected += [(loose, "outside any class folder") for loose in layout.loose]
    result.rejected += [(link, "symbolic link (not followed)") for link in symlinks]

    # Pass 1: hash everything (cheap) to deduplicate and to assign splits over the whole folder.
    hashes, by_class, first_seen = {}, defaultdict(list), set()
    bar = progress(total=len(layout.files), desc="hashing")
    for rel, split, class_name in layout.files:
        bar.update(1)
        file_path = root / rel
        if file_path.stat().st_size > cap:
            result.rejected.append((rel, f"over the size limit of {cap // MiB} MiB per photo"))
            continue
        digest = hashlib.sha256(file_path.read_bytes()).hexdigest()
        if digest in first_seen:
            result.duplicates += 1
            continue
        first_seen.add(digest)
        hashes[rel] = digest
        if split is None:
            by_class[class_name].append(digest)
    bar.close()
    assigned = {}
    for class_hashes in by_class.values():
        assigned.update(splits_assign(class_hashes, fractions))

    # Pass 2: check, write and insert in committed batches; photos already in the dataset are skipped.
    known = _known_hashes(dataset)
    todo = [(rel, split, class_name) for rel, split, class_name in layout.files if rel in hashes]
    result.duplicates += sum(1 for rel, _, _ in todo if hashes[rel] in known)
    todo = [item for item in todo if hashes[item[0]] not in known]
    labels = {label.name: label for label in dataset.labels.all()}
    bar = progress(total=len(todo), desc="importing")
    for start in range(0, len(todo), batch_size):
        writer = _MediaWriter()
        try:
            with transaction.atomic():
                stored = []
                for rel, split, class_name in todo[start:start + batch_size]:
                    item = _store_one(dataset=dataset, data=(root / rel).read_bytes(), name=rel,
                                      class_name=class_name, split=split or assigned[hashes[rel]], known=known,
                                      writer=writer, result=result)
                    if item:
                        stored.append(item)
                _rows_create(dataset=dataset, stored=stored, fractions=fractions, user=user, result=result,
                             labels=labels)
        except BaseException:
            writer.cleanup()
            raise
        bar.update(len(todo[start:start + batch_size]))
    bar.close()
    return result


# --- curation ----------------------------------------------------------------------------------------------------


def images_relabel(*, images: QuerySet, label: Label) -> int:
    """Move images to another class of the same dataset."""
    if images.exclude(dataset_id=label.dataset_id).exists():
        raise ValidationError(f"Class {label.name!r} belongs to dataset {label.dataset}; some images do not.")
    return images.update(label=label)


def images_move_to_split(*, images: QuerySet, split: str) -> int:
    if split not in Split.values:
        raise ValidationError(f"Unknown split {split!r}.")
    return images.update(split=split)


def images_delete(*, images: QuerySet) -> int:
    """Delete the rows, then (once committed) their photo and thumbnail files."""
    names = [name for pair in images.values_list("file", "thumbnail") for name in pair]
    count, _ = images.delete()
    _delete_files_on_commit(names)
    return count


def dataset_delete(*, dataset: Dataset) -> None:
    """Delete a dataset, its classes and images, then (once committed) its media folder. Raises
    django.db.models.ProtectedError while training jobs use it."""
    folder = Path(default_storage.path(dataset.storage_dir))
    dataset.delete()
    transaction.on_commit(lambda: shutil.rmtree(folder, ignore_errors=True))



def label_delete(*, label: Label) -> None:
    """Delete a class with its images and their files."""
    images_delete(images=label.images.all())
    label.delete()
