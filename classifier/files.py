"""File helpers shared by the CLI, the workers and the web app (standard library only): content hashing and
atomic writes."""

import hashlib
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CHUNK_BYTES = 1 << 20


def content_hash(source) -> str:
    """sha256 hex of bytes, of a file (path), or of an open binary file object (read to its end): an image's
    identity in the feature cache and in a dataset."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return hashlib.sha256(source).hexdigest()
    digest = hashlib.sha256()
    if hasattr(source, "read"):
        for chunk in iter(lambda: source.read(CHUNK_BYTES), b""):
            digest.update(chunk)
        return digest.hexdigest()
    with open(source, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


@contextmanager
def atomic_path(path, suffix: str = "") -> Iterator[Path]:
    """A unique temporary path beside `path` to write to; when the block succeeds it replaces `path` in one step
    (os.replace), so readers never see a half-written file. `suffix` for writers that want one (".keras")."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp{suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write(path, data: bytes | str) -> None:
    """Write bytes or text to `path` atomically (see atomic_path)."""
    with atomic_path(path) as tmp:
        if isinstance(data, str):
            tmp.write_text(data)
        else:
            tmp.write_bytes(data)
