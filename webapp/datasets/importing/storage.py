"""One photo at a time: hash, deduplicate, check, write its files to a staging area; then the rows, in one go.

Files never appear under their final names before the rows that own them are committed: an import writes to a local
staging folder, <staging root>/<random>/<final name> (webapp.core.storage.staging_root: MEDIA_ROOT/staging with the
local folder, so that each file is then moved into place with one rename; a folder of this machine's with an S3
store, whence it is uploaded), and the service publishes the files right after its transaction commits. A rejected
import discards its staging folder and has changed nothing; a killed one leaves only that folder, which
`manage.py media_orphans` removes (or completes, for rows committed before the kill).
"""

import shutil
import uuid
from collections import defaultdict
from dataclasses import dataclass

from classifier.data import split_assign, split_of_hash
from classifier.files import content_hash
from classifier.images import ImageError
from webapp.core import storage
from webapp.datasets.imaging import image_check
from webapp.datasets.importing.result import ImportResult
from webapp.datasets.models import Dataset, Image, Label, image_storage_name, thumbnail_storage_name


class StagedWriter:
    """Writes files under <staging root>/<random>/; `publish()` puts them under their final names, `discard()`
    drops them. Either leaves no staging folder behind."""

    def __init__(self):
        self.stage = storage.staging_root("media") / uuid.uuid4().hex
        self.names: list[str] = []

    def write(self, name: str, data: bytes) -> str:
        path = self.stage / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.names.append(name)
        return name

    def publish(self) -> None:
        """Call once the rows owning the files are committed."""
        storage.publish_staged([(self.stage / name, name) for name in self.names], "media")
        self.discard()

    def discard(self) -> None:
        shutil.rmtree(self.stage, ignore_errors=True)
        try:
            self.stage.parent.rmdir()  # only when no other import is staging
        except OSError:
            pass
        self.names = []


@dataclass
class Stored:
    name: str  # entry / upload name, display only
    class_name: str  # "": the unlabelled pool
    split: str | None  # None: assigned from the content hash later
    content_hash: str
    file: str
    thumbnail: str
    width: int
    height: int


def photo_store(*, dataset: Dataset, data: bytes, name: str, class_name: str, split: str | None,
                known: set[str], writer: StagedWriter, result: ImportResult) -> Stored | None:
    """Hash, deduplicate, check and stage one photo; None (and the result updated) when it is skipped."""
    digest = content_hash(data)
    if digest in known:
        result.duplicates += 1
        return None
    try:
        checked = image_check(data)
    except ImageError as exc:
        result.rejected.append((name, exc.reason))
        return None
    known.add(digest)
    file_name = writer.write(image_storage_name(dataset.pk, digest, checked.extension), data)
    thumb_name = writer.write(thumbnail_storage_name(dataset.pk, digest), checked.thumbnail)
    return Stored(name, class_name, split, digest, file_name, thumb_name, checked.width, checked.height)


def rows_create(*, dataset: Dataset, stored: list[Stored], fractions, user, result: ImportResult,
                labels: dict[str, Label] | None = None) -> list[Image]:
    """Give unsplit photos their split and insert the rows; counts go into the result. Labelled photos are split
    per class (classifier.data.split_assign); unlabelled ones (class "") go to the pool with the split of their
    content hash alone (split_of_hash), the one they keep when someone labels them in the app."""
    fractions = fractions or dataset.fractions
    by_class = defaultdict(list)
    for item in stored:
        if item.split is None and item.class_name:
            by_class[item.class_name].append(item.content_hash)
    assigned = {}
    for hashes in by_class.values():
        assigned.update(split_assign(hashes, fractions))
    labels = labels if labels is not None else {}
    rows = []
    for item in stored:
        if item.class_name and item.class_name not in labels:
            labels[item.class_name], _ = Label.objects.get_or_create(dataset=dataset, name=item.class_name)
        if item.class_name:
            split = item.split or assigned[item.content_hash]
            result.added[item.class_name][split] += 1
        else:
            split = item.split or split_of_hash(item.content_hash, fractions)
            result.unlabelled += 1
        rows.append(Image(
            dataset=dataset, label=labels.get(item.class_name), split=split, file=item.file,
            thumbnail=item.thumbnail, content_hash=item.content_hash, width=item.width, height=item.height,
            original_name=item.name[-255:], added_by=user,
        ))
    return Image.objects.bulk_create(rows, batch_size=500)


def known_hashes(dataset: Dataset) -> set[str]:
    if dataset.pk is None:
        return set()
    return set(Image.objects.filter(dataset=dataset).values_list("content_hash", flat=True))
