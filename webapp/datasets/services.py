"""Every write to datasets: imports (zip, folder, uploaded photos), relabel/move/delete, orphaned media.

Import policy (docs/datasets-import.md): problems of the archive as a container (not a zip, too big, too many
entries, compression ratio, unsafe or absolute paths, symbolic links, nested archives, a layout we do not
understand, a class with no images) reject the whole archive and change nothing; problems of one file's content
(not an image, empty, truncated, unsupported format, too many pixels, too large) skip that file and are listed
in the result. Duplicates (same sha256 within the dataset) are skipped and counted. Limits: settings.DATASETS_*.

Atomicity: rows are written in one transaction (a folder import: one per batch); files are staged first and
moved to their final, hash-derived paths only after that transaction commits (importing/storage.py), so a
rejected import leaves the database and the media store exactly as they were, and a killed one leaves no file under
a dataset's folder that no row owns. The machinery lives in webapp/datasets/importing/.
"""

import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from classifier.data import split_assign, split_of_hash
from classifier.files import content_hash
from classifier.images import ImageError
from webapp.core import storage
from webapp.datasets.importing.archive import MiB, zip_open
from webapp.datasets.importing.bucket import (
    BucketSource, bucket_layout_check, bucket_list, bucket_to_folder, bucket_to_zip,
)
from webapp.datasets.importing.layout import EXPECTED_LAYOUTS, folder_scan  # noqa: F401  (EXPECTED_LAYOUTS: views)
from webapp.datasets.importing.orphans import Orphans, orphans_find, orphans_remove
from webapp.datasets.importing.result import ImportRejected, ImportResult
from webapp.datasets.importing.storage import StagedWriter, known_hashes, photo_store, rows_create
from webapp.datasets.models import Dataset, Image, ImageChange, Label, Split


def _delete_files_on_commit(names: Iterable[str]) -> None:
    names = [name for name in names if name]
    transaction.on_commit(lambda: storage.delete_names(names, "media"))


def _dataset_for_import(*, dataset, name, team, description, user, fractions=None) -> Dataset:
    """The dataset to import into, or a new one; a new one keeps the import's split fractions for the photos
    labelled in it later (Dataset.fractions)."""
    if dataset is not None:
        return dataset
    if not name or team is None:
        raise ValidationError("A new dataset needs a name and a team.")
    if Dataset.objects.filter(team=team, name=name).exists():
        raise ValidationError(f"A dataset named {name!r} already exists in team {team.name}.")
    dataset = Dataset(name=name, team=team, description=description, created_by=user,
                      split_fractions=list(fractions) if fractions else None)
    dataset.clean_fields(exclude=["team", "created_by"])  # the model's limits hold for the CLI and scripts too
    dataset.save()
    return dataset


def _empty_classes(dataset: Dataset, class_names: Iterable[str]) -> list[str]:
    names = set(class_names)
    images = dataset.images.filter(label__name__in=names).order_by()
    with_images = set(images.values_list("label__name", flat=True).distinct())
    return sorted(names - with_images)


# --- zip import --------------------------------------------------------------------------------------------------


def dataset_import_zip(*, archive, user, dataset: Dataset | None = None, name: str = "", team: Group | None = None,
                       description: str = "", fractions: tuple[float, float, float] | None = None,
                       unlabelled: bool = False) -> ImportResult:
    """Import a zip of class folders into `dataset`, or into a new dataset (`name`, `team`) made in the same
    transaction. Loose photos (no folder at all), or every photo with `unlabelled`, go to the unlabelled pool.
    Raises ImportRejected (nothing changed) when the archive as a whole is refused."""
    opened = zip_open(archive, unlabelled=unlabelled)
    layout, cap = opened.layout, settings.DATASETS_MAX_IMAGE_BYTES
    writer = StagedWriter()
    try:
        with transaction.atomic():
            dataset = _dataset_for_import(dataset=dataset, name=name, team=team, description=description, user=user,
                                          fractions=fractions)
            result = ImportResult(dataset=dataset, ignored=opened.ignored)
            result.rejected += [(loose, "outside any class folder") for loose in layout.loose]
            known, stored = known_hashes(dataset), []
            for info, (_, split, class_name) in zip(opened.infos, layout.files):
                try:
                    data = opened.read(info, cap)
                except ImageError as exc:
                    result.rejected.append((info.filename, exc.reason))
                    continue
                item = photo_store(dataset=dataset, data=data, name=info.filename, class_name=class_name,
                                   split=split, known=known, writer=writer, result=result)
                if item:
                    stored.append(item)
            rows_create(dataset=dataset, stored=stored, fractions=fractions, user=user, result=result)
            empty = _empty_classes(dataset, layout.classes)
            if empty:
                raise ImportRejected(
                    "Every class needs at least one valid photo; nothing was imported.",
                    [(f"{c}/", "class with no images") for c in empty]
                    + [r for r in result.rejected if any(f"/{c}/" in f"/{r[0]}" for c in empty)],
                )
    except BaseException:
        writer.discard()
        raise
    finally:
        opened.close()
    writer.publish()
    return result


# --- uploaded photos ---------------------------------------------------------------------------------------------


def images_add(*, dataset: Dataset, label: Label | None, split: str | None, files: Iterable, user) -> ImportResult:
    """Add uploaded photos (Django UploadedFile-like: .name, .size, .read()) to one class and split, or with no
    label to the unlabelled pool (split None: from each photo's content hash, as when it is labelled). A bad
    photo (empty, damaged, too large ...) is skipped and listed; the others are added."""
    if label is not None and label.dataset_id != dataset.pk:
        raise ValidationError("That class belongs to another dataset.")
    if split is not None and split not in Split.values:
        raise ValidationError(f"Unknown split {split!r}.")
    cap = settings.DATASETS_MAX_IMAGE_BYTES
    writer = StagedWriter()
    try:
        with transaction.atomic():
            result = ImportResult(dataset=dataset)
            known, stored = known_hashes(dataset), []
            for upload in files:
                name = Path(getattr(upload, "name", "") or "upload").name
                if upload.size > cap:
                    result.rejected.append((name, f"over the size limit of {cap // MiB} MiB per photo"))
                    continue
                item = photo_store(dataset=dataset, data=upload.read(), name=name,
                                   class_name=label.name if label else "", split=split, known=known, writer=writer,
                                   result=result)
                if item:
                    stored.append(item)
            rows_create(dataset=dataset, stored=stored, fractions=None, user=user, result=result,
                        labels={label.name: label} if label else {})
    except BaseException:
        writer.discard()
        raise
    writer.publish()
    return result


def label_get_or_create(*, dataset: Dataset, name: str) -> Label:
    """The dataset's class of that name, made if missing."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationError("A class name needs 1 to 100 characters.")
    if "/" in name or "\\" in name or name.startswith("."):  # it is a folder name in a downloaded zip
        raise ValidationError("A class name cannot contain / or \\, nor start with a dot.")
    return Label.objects.get_or_create(dataset=dataset, name=name)[0]


# --- server folder import (management command) -------------------------------------------------------------------


class _NoProgress:
    def __init__(self, total: int = 0, desc: str = ""):
        pass

    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def dataset_import_folder(*, path: Path, user=None, dataset: Dataset | None = None, name: str = "",
                          team: Group | None = None, description: str = "",
                          fractions: tuple[float, float, float] | None = None, batch_size: int = 500,
                          progress: Callable = _NoProgress, unlabelled: bool = False) -> ImportResult:
    """Import a server folder (same layouts as a zip; `unlabelled`: every photo to the unlabelled pool),
    committing every `batch_size` photos so an interrupted import resumes where it stopped: run it again and
    photos already in the dataset are skipped. Splits are assigned over the whole folder, so a resumed import
    assigns exactly what an uninterrupted one would."""
    root = Path(path)
    if not root.is_dir():
        raise ImportRejected(f"{root} is not a folder.")
    layout, symlinks, ignored = folder_scan(root, unlabelled=unlabelled)
    cap = settings.DATASETS_MAX_IMAGE_BYTES
    with transaction.atomic():
        dataset = _dataset_for_import(dataset=dataset, name=name, team=team, description=description, user=user,
                                      fractions=fractions)
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
        digest = content_hash(file_path)
        if digest in first_seen:
            result.duplicates += 1
            continue
        first_seen.add(digest)
        hashes[rel] = digest
        if split is None and class_name:  # pool photos: their own hash's split (rows_create)
            by_class[class_name].append(digest)
    bar.close()
    assigned = {}
    for class_hashes in by_class.values():
        assigned.update(split_assign(class_hashes, fractions or dataset.fractions))

    # Pass 2: check, write and insert in committed batches; photos already in the dataset are skipped.
    known = known_hashes(dataset)
    todo = [(rel, split, class_name) for rel, split, class_name in layout.files if rel in hashes]
    result.duplicates += sum(1 for rel, _, _ in todo if hashes[rel] in known)
    todo = [item for item in todo if hashes[item[0]] not in known]
    labels = {label.name: label for label in dataset.labels.all()}
    bar = progress(total=len(todo), desc="importing")
    for start in range(0, len(todo), batch_size):
        writer = StagedWriter()
        try:
            with transaction.atomic():
                stored = []
                for rel, split, class_name in todo[start:start + batch_size]:
                    item = photo_store(dataset=dataset, data=(root / rel).read_bytes(), name=rel,
                                       class_name=class_name, split=split or assigned.get(hashes[rel]), known=known,
                                       writer=writer, result=result)
                    if item:
                        stored.append(item)
                rows_create(dataset=dataset, stored=stored, fractions=fractions, user=user, result=result,
                            labels=labels)
        except BaseException:
            writer.discard()
            raise
        writer.publish()
        bar.update(len(todo[start:start + batch_size]))
    bar.close()
    return result


# --- a bucket (S3) as the source ---------------------------------------------------------------------------------

ZIP_ENTRY_OVERHEAD = 200  # bytes a stored zip adds per entry, besides the name (twice)


def dataset_import_bucket(*, source: BucketSource, user=None, dataset: Dataset | None = None, name: str = "",
                          team: Group | None = None, description: str = "",
                          fractions: tuple[float, float, float] | None = None, unlabelled: bool = False,
                          batch_size: int | None = None, progress: Callable = _NoProgress,
                          download_dir: Path | None = None) -> ImportResult:
    """Import the photos under an s3:// prefix (importing/bucket.py). The bucket is listed, its layout checked and
    its objects read before anything is written, so a bucket that cannot be read changes nothing.
    batch_size None (the web form): within a zip upload's limits, imported as the zip of the same photos would be
    (dataset_import_zip): all or nothing, in one transaction.
    A batch_size (the server command): the objects are downloaded into `download_dir` (default: a temporary
    folder; one kept between runs lets a resumed import download only what it misses) and imported as that folder
    would be (dataset_import_folder): committed every batch_size photos, and resumable.
    Either way, a new dataset that would hold not one photo is refused (and not kept)."""
    cap = settings.DATASETS_MAX_IMAGE_BYTES
    bounded = batch_size is None
    listing = bucket_list(source, max_objects=settings.DATASETS_ZIP_MAX_ENTRIES if bounded else None,
                          max_object_bytes=cap)
    bucket_layout_check(listing, source=source, unlabelled=unlabelled)
    common = dict(user=user, dataset=dataset, name=name, team=team, description=description, fractions=fractions,
                  unlabelled=unlabelled)
    if bounded:
        names = [item.name for item in listing.objects] + ["/".join(parts) + "/" for parts in listing.dirs]
        size = listing.total_bytes + sum(ZIP_ENTRY_OVERHEAD + 2 * len(name.encode()) for name in names)
        if size > settings.DATASETS_MAX_ARCHIVE_BYTES:
            raise ImportRejected(
                f"{source.url} holds {listing.total_bytes // MiB:,} MiB, more than an import from the web takes "
                f"({settings.DATASETS_MAX_ARCHIVE_BYTES // MiB:,} MiB): import it on the server with `manage.py "
                "import_dataset s3://...`.")
        with tempfile.TemporaryFile() as archive:
            skipped = bucket_to_zip(source, listing, archive, max_object_bytes=cap,
                                    max_total_bytes=settings.DATASETS_MAX_ARCHIVE_BYTES, progress=progress)
            result = dataset_import_zip(archive=archive, **common)
    else:
        with tempfile.TemporaryDirectory(prefix="menagerie-bucket-") as scratch:
            folder = Path(download_dir or scratch)
            skipped = bucket_to_folder(source, listing, folder, max_object_bytes=cap, progress=progress)
            result = dataset_import_folder(path=folder, batch_size=batch_size, progress=progress, **common)
    result.rejected += listing.skipped + skipped
    result.ignored += listing.ignored
    if dataset is None and not result.total_added:  # a new dataset, and not one usable photo: refused as a whole
        dataset_delete(dataset=result.dataset)
        raise ImportRejected(f"Not one photo under {source.url} could be imported; nothing was imported.",
                             result.rejected)
    return result


# --- curation ----------------------------------------------------------------------------------------------------
# Every change of a photo's class, split, exclusion or flag, and every deletion, is recorded as an ImageChange
# (who, when, old -> new) in the same transaction, in one bulk insert; photos already in the target state are
# left alone (and recorded nothing).


def _record_and_update(*, images: QuerySet, kind: str, old_field: str, new_text: str, user,
                       update: dict) -> int:
    """Record one ImageChange per photo whose `old_field` is not `new_text` already, then update those photos."""
    with transaction.atomic():
        changing = images.order_by().exclude(**update)
        # of=("self",): the old value may come through a nullable join (label), which PostgreSQL cannot lock
        rows = list(changing.select_for_update(of=("self",)).values_list("id", "dataset_id", "original_name",
                                                                         old_field))
        if not rows:
            return 0
        now = timezone.now()
        ImageChange.objects.bulk_create(
            [ImageChange(dataset_id=dataset_id, image_id=pk, image_name=name[:255], kind=kind,
                         old=_as_text(old)[:100], new=new_text[:100], user=_user_or_none(user), at=now)
             for pk, dataset_id, name, old in rows],
            batch_size=1000,
        )
        return changing.update(**update)


def _as_text(value) -> str:
    if value is None:  # no class: the unlabelled pool
        return ""
    return ("yes" if value else "no") if isinstance(value, bool) else str(value)


def _user_or_none(user):
    return user if user is not None and getattr(user, "pk", None) else None


def images_relabel(*, images: QuerySet, label: Label, user=None) -> int:
    """Move images to another class of the same dataset."""
    if images.exclude(dataset_id=label.dataset_id).exists():
        raise ValidationError(f"Class {label.name!r} belongs to dataset {label.dataset}; some images do not.")
    return _record_and_update(images=images, kind=ImageChange.Kind.LABEL, old_field="label__name",
                              new_text=label.name, user=user, update={"label": label})


def images_move_to_split(*, images: QuerySet, split: str, user=None) -> int:
    if split not in Split.values:
        raise ValidationError(f"Unknown split {split!r}.")
    return _record_and_update(images=images, kind=ImageChange.Kind.SPLIT, old_field="split",
                              new_text=split, user=user, update={"split": split})


def images_exclude(*, images: QuerySet, user=None) -> int:
    """Keep the photos in the dataset, but out of the jobs made from now on."""
    return _record_and_update(images=images, kind=ImageChange.Kind.EXCLUDED, old_field="excluded",
                              new_text="yes", user=user, update={"excluded": True})


def images_include(*, images: QuerySet, user=None) -> int:
    """Undo images_exclude."""
    return _record_and_update(images=images, kind=ImageChange.Kind.EXCLUDED, old_field="excluded",
                              new_text="no", user=user, update={"excluded": False})


def images_flag(*, images: QuerySet, user=None) -> int:
    """Mark photos for a second look (a person, or later the audit)."""
    return _record_and_update(images=images, kind=ImageChange.Kind.FLAGGED, old_field="flagged",
                              new_text="yes", user=user, update={"flagged": True})


def images_unflag(*, images: QuerySet, user=None) -> int:
    return _record_and_update(images=images, kind=ImageChange.Kind.FLAGGED, old_field="flagged",
                              new_text="no", user=user, update={"flagged": False})


# --- labelling the unlabelled pool (the Label page) ---------------------------------------------------------------
# Conditional writes: a photo gets a class only while it is still unlabelled, and goes back to the pool (undo)
# only while it still has the class that was given, so two people labelling at once never overwrite each other:
# the second one's write changes nothing for the photos the first one labelled, and is told which.


def images_label(*, images: QuerySet, label: Label, user=None,
                 suggested: dict[int, tuple[str, float]] | None = None) -> list[int]:
    """Give the unlabelled photos among `images` the class `label`, each with the split of its content hash and
    the dataset's fractions (classifier.data.split_of_hash: the same photo always lands in the same split,
    whoever labels it when). Each change is recorded (who, when, the class chosen, and `suggested`: image id ->
    (the class the suggester proposed, its confidence)). Returns the ids of the photos labelled now; the
    others had a class already (given by someone else meanwhile) and are left as they are."""
    suggested = suggested or {}
    with transaction.atomic():
        rows = list(images.order_by().filter(dataset_id=label.dataset_id, label__isnull=True)
                    .select_for_update(of=("self",)).values_list("id", "original_name", "content_hash"))
        fractions = Dataset.objects.get(pk=label.dataset_id).fractions
        by_split = defaultdict(list)
        for pk, _, digest in rows:
            by_split[split_of_hash(digest, fractions)].append(pk)
        for split, ids in by_split.items():  # the rows are locked (SELECT FOR UPDATE; SQLite: BEGIN IMMEDIATE)
            Image.objects.filter(pk__in=ids, label__isnull=True).update(label=label, split=split)
        now, who = timezone.now(), _user_or_none(user)
        ImageChange.objects.bulk_create(
            [ImageChange(dataset_id=label.dataset_id, image_id=pk, image_name=name[:255], kind=ImageChange.Kind.LABEL,
                         old="", new=label.name, suggested=suggested.get(pk, ("", None))[0][:100],
                         confidence=suggested.get(pk, ("", None))[1], user=who, at=now)
             for pk, name, _ in rows],
            batch_size=1000,
        )
    return [pk for pk, _, _ in rows]


def images_unlabel(*, images: QuerySet, label: Label, user=None) -> list[int]:
    """Undo images_label: the photos among `images` that still have `label` go back to the unlabelled pool
    (recorded); one relabelled by someone else meanwhile keeps its class. Returns the ids changed."""
    with transaction.atomic():
        rows = list(images.order_by().filter(label=label).select_for_update(of=("self",))
                    .values_list("id", "original_name"))
        ids = [pk for pk, _ in rows]
        Image.objects.filter(pk__in=ids, label=label).update(label=None)
        now, who = timezone.now(), _user_or_none(user)
        ImageChange.objects.bulk_create(
            [ImageChange(dataset_id=label.dataset_id, image_id=pk, image_name=name[:255],
                         kind=ImageChange.Kind.LABEL, old=label.name, new="", user=who, at=now) for pk, name in rows],
            batch_size=1000,
        )
    return ids


def images_delete(*, images: QuerySet, user=None) -> int:
    """Delete the rows (their history lines stay, recording the deletion), then (once committed) their photo and
    thumbnail files."""
    with transaction.atomic():
        rows = list(images.order_by().values_list("dataset_id", "original_name", "label__name", "file", "thumbnail"))
        now = timezone.now()
        ImageChange.objects.bulk_create(
            [ImageChange(dataset_id=dataset_id, image_name=name[:255], kind=ImageChange.Kind.DELETED,
                         old=(label_name or "")[:100], user=_user_or_none(user), at=now)
             for dataset_id, name, label_name, _, _ in rows],
            batch_size=1000,
        )
        count, _ = images.order_by().delete()
        _delete_files_on_commit(name for row in rows for name in row[3:])
    return count


def dataset_delete(*, dataset: Dataset) -> None:
    """Delete a dataset, its classes and images, then (once committed) its media folder. Raises
    django.db.models.ProtectedError while training jobs use it."""
    folder = dataset.storage_dir
    dataset.delete()
    transaction.on_commit(lambda: storage.delete_under(folder, "media"))


def label_delete(*, label: Label) -> None:
    """Delete a class with its images and their files."""
    images_delete(images=label.images.all())
    label.delete()



# --- media no row owns -------------------------------------------------------------------------------------------


def media_orphans_remove(*, delete: bool = False, stale_after: float = 3600) -> Orphans:
    """Find (and with `delete`, remove) files under the datasets' media folders that no row owns, and staging
    folders of imports that never finished (completing the moves of rows committed before a crash)."""
    orphans = orphans_find(stale_after=stale_after)
    if delete:
        orphans_remove(orphans=orphans)
    return orphans
