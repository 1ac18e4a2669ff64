"""The zip as a container: checked as a whole before any entry is read, then read entry by entry within budget.

Limits (settings.DATASETS_*): archive size, number of entries, total inflated size, and the inflation ratio, both
per entry (entries over 64 KiB) and for the archive as a whole, so many small, highly compressed entries cannot
add up to a bomb either. Totals count the bytes actually inflated as well as what the headers claim.
"""

import os
import re
import stat
import zipfile
from pathlib import PurePosixPath

from django.conf import settings

from classifier.images import ImageError
from webapp.datasets.importing.layout import Layout, is_junk, layout_detect, layout_detect_optional
from webapp.datasets.importing.result import ImportRejected

MiB = 1024 * 1024
RATIO_CHECK_MIN_BYTES = 64 * 1024  # one tiny entry may compress well without being a bomb...
RATIO_TOTAL_FLOOR_BYTES = 64 * MiB  # ...and a tiny archive may inflate this much in all
ARCHIVE_SUFFIXES = {".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".zst", ".lz", ".lzma", ".jar"}


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


class ZipArchive:
    """An opened, checked zip: `infos` are the photo entries in layout order, `layout` their classes and splits."""

    def __init__(self, zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], layout: Layout, ignored: int,
                 max_inflated: int):
        self.zf, self.infos, self.layout, self.ignored = zf, infos, layout, ignored
        self.max_inflated = max_inflated
        self.inflated = 0

    def read(self, info: zipfile.ZipInfo, cap: int) -> bytes:
        """The entry's bytes, never more than cap + 1 of them (declared sizes can lie). Raises ImageError for this
        entry, ImportRejected when the archive as a whole inflates past its budget."""
        if info.flag_bits & 0x1:
            raise ImageError("encrypted entry")
        if info.file_size > cap:
            raise ImageError(f"over the size limit of {cap // MiB} MiB per photo")
        try:
            with self.zf.open(info) as entry:
                data = entry.read(cap + 1)
        except (zipfile.BadZipFile, NotImplementedError, OSError, EOFError, ValueError) as exc:
            raise ImageError(f"damaged zip entry ({exc})") from None
        self.inflated += len(data)
        if self.inflated > self.max_inflated:
            raise ImportRejected(f"The archive unpacks to more than {self.max_inflated // MiB:,} MiB (zip bomb?).")
        if len(data) > cap:
            raise ImageError(f"over the size limit of {cap // MiB} MiB per photo")
        return data

    def close(self) -> None:
        self.zf.close()


def zip_open(archive, *, classes_optional: bool = False, unlabelled: bool = False) -> ZipArchive:
    """Open and check the archive as a container, reading no entry yet. Raises ImportRejected.
    classes_optional (photos to predict): folders that match no dataset layout leave the photos unlabelled
    instead of refusing the archive. unlabelled: every photo is unlabelled, whatever its folders."""
    max_bytes = settings.DATASETS_MAX_ARCHIVE_BYTES
    archive_bytes = _archive_size(archive)
    if archive_bytes > max_bytes:
        raise ImportRejected(f"The archive is larger than the limit of {max_bytes // MiB} MiB.")
    try:
        archive.seek(0)
        zf = zipfile.ZipFile(archive)
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        raise ImportRejected("This file is not a zip archive, or the archive is damaged.") from None
    max_entries = settings.DATASETS_ZIP_MAX_ENTRIES
    if len(infos) > max_entries:
        raise ImportRejected(f"The archive has {len(infos):,} entries; the limit is {max_entries:,}.")
    problems, files, dirs, ignored, total = [], [], [], 0, 0
    max_ratio = settings.DATASETS_ZIP_MAX_RATIO
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
        if is_junk(parts):
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
    max_inflated = min(settings.DATASETS_ZIP_MAX_TOTAL_BYTES,
                       max(max_ratio * archive_bytes, RATIO_TOTAL_FLOOR_BYTES))
    if total > max_inflated:
        raise ImportRejected(
            f"The archive would unpack to {total // MiB:,} MiB; the limit for this archive is "
            f"{max_inflated // MiB:,} MiB (zip bomb?).",
            problems,
        )
    if problems:
        raise ImportRejected("The archive was refused and nothing was imported.", problems)
    entries = [(info.filename, parts) for info, parts in files]
    layout = (layout_detect_optional(entries, dirs) if classes_optional
              else layout_detect(entries, dirs, unlabelled=unlabelled))
    by_name = {info.filename: info for info, _ in files}
    return ZipArchive(zf, [by_name[name] for name, _, _ in layout.files], layout, ignored, max_inflated)
