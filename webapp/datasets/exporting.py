"""A dataset as a zip of class folders with its splits, train/validation/test/<class>/<photo>: the split layout the
import and the CLI read back with every split kept (classifier.data), so the labels made in the app leave with
the team. The labelled photos in use only: excluded photos and the unlabelled pool stay behind.

The zip is written as it is sent (stored, not compressed: photos are compressed already), one photo in memory at
a time, whatever the dataset's size."""

import shutil
import zipfile
from collections.abc import Iterator
from pathlib import PurePosixPath

from webapp.datasets.models import Dataset, Image, Split

SPLIT_ORDER = [Split.TRAIN, Split.VALIDATION, Split.TEST]


class _Sink:
    """A write-only file for zipfile (no seek: it then writes each entry's sizes after its data); `take()` hands
    over what was written since the last call."""

    def __init__(self):
        self.chunks, self.position = [], 0

    def write(self, data) -> int:
        self.chunks.append(bytes(data))
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        out, self.chunks = b"".join(self.chunks), []
        return out


def export_entries(dataset: Dataset) -> list[tuple[str, Image]]:
    """(entry name, photo) of every labelled photo in use, by split, class and name. A photo keeps its file name
    (with its stored file's extension); two of one class and split with the same name are told apart by their
    content hash."""
    images = (Image.objects.labelled().filter(dataset=dataset, excluded=False).select_related("label")
              .order_by("label__name", "original_name", "id"))
    taken, entries = set(), []
    for image in images:
        stored = PurePosixPath(image.file.name)
        stem = PurePosixPath(PurePosixPath(image.original_name.replace("\\", "/")).name).stem.lstrip(".")
        name = f"{stem or image.content_hash[:16]}{stored.suffix}"
        folder = f"{image.split}/{image.label.name}"
        if (folder, name.lower()) in taken:
            name = f"{image.content_hash[:12]}-{name}"
        taken.add((folder, name.lower()))
        entries.append((f"{folder}/{name}", image))
    order = {split: i for i, split in enumerate(SPLIT_ORDER)}
    return sorted(entries, key=lambda entry: (order.get(entry[1].split, 0), entry[0]))


def dataset_zip_stream(dataset: Dataset) -> Iterator[bytes]:
    """The zip's bytes, photo by photo."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, image in export_entries(dataset):
            with image.file.open("rb") as source, archive.open(name, "w") as entry:
                shutil.copyfileobj(source, entry, 1024 * 1024)
            yield sink.take()
    yield sink.take()
