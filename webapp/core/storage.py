"""Where Menagerie's files live: the one module that knows whether that is a folder on this machine or a bucket of
an S3-compatible store (settings.STORAGE_BACKEND, from MENAGERIE_STORAGE). Everything else asks it for a storage
(Django's storage API), for a local file to read, or to publish a folder it wrote.

Three areas, each a Django storage: "media" (photos, thumbnails, heatmaps, batch files, bundles: the default
storage), "features" (the bottleneck feature cache) and "artifacts" (trained models, jobs/<id>/...). With "local"
they are the folders MEDIA_ROOT, FEATURES_DIR and ARTIFACTS_DIR, read and written in place, as on one machine. With
"s3" they are key prefixes of one bucket, and each process keeps a bounded local copy of what it reads
(LOCAL_CACHE_DIR, least recently used out first past LOCAL_CACHE_BYTES): a worker on another machine needs only the
broker, the database and the store.
"""

import io
import os
import shutil
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import FileSystemStorage, Storage, default_storage
from django.utils.encoding import filepath_to_uri

from classifier.files import atomic_path, atomic_write

AREAS = ("media", "features", "artifacts")
_FOLDER_SETTING = {"media": "MEDIA_ROOT", "features": "FEATURES_DIR", "artifacts": "ARTIFACTS_DIR"}
DOWNLOAD_THREADS = 8  # small files over HTTP: latency-bound, so several at once
HEAD_CHECKS_MAX = 1000  # features checked one by one in the store at most; past that, one listing


def remote() -> bool:
    return settings.STORAGE_BACKEND == "s3"


def _s3_area_class():
    from botocore.config import Config
    from storages.backends.s3 import S3Storage

    class S3Area(S3Storage):
        """One area of the bucket (a key prefix), with the settings' credentials, timeouts and retries."""

        def __init__(self, location: str = "media", **overrides):
            options = dict(settings.S3_OPTIONS)
            connect, read, attempts = (options.pop(k) for k in ("connect_timeout", "read_timeout", "max_attempts"))
            options["client_config"] = Config(
                connect_timeout=connect, read_timeout=read, retries={"max_attempts": attempts, "mode": "standard"},
                s3={"addressing_style": options["addressing_style"]}, signature_version=options["signature_version"])
            super().__init__(location=location, **{**options, **overrides})

        def url(self, name, parameters=None, expire=None, http_method=None):
            """The app's own media view, as with the local folder, never a signed URL of the store: files are
            served through the app, checked row by row (webapp.operations.views.media says why)."""
            return urljoin(settings.MEDIA_URL, filepath_to_uri(name).lstrip("/"))

    return S3Area


def S3Area(location: str = "media", **overrides) -> Storage:  # noqa: N802  (STORAGES' BACKEND names it)
    return _s3_area_class()(location=location, **overrides)


_areas: dict[tuple, Storage] = {}
_areas_lock = threading.Lock()


def storage(area: str = "media") -> Storage:
    """The Django storage of an area. "media" is default_storage (what FileFields use)."""
    if area == "media":
        return default_storage
    if area not in AREAS:
        raise ValueError(f"unknown storage area {area!r}")
    key = (area, settings.STORAGE_BACKEND, str(getattr(settings, _FOLDER_SETTING[area])))
    with _areas_lock:  # settings may change (tests): one storage per (area, backend, folder)
        if key not in _areas:
            _areas[key] = (S3Area(location=area) if remote()
                           else FileSystemStorage(location=getattr(settings, _FOLDER_SETTING[area])))
        return _areas[key]


def folder(area: str) -> Path | None:
    """The area's folder on this machine, or None when it lives in the store."""
    return None if remote() else Path(getattr(settings, _FOLDER_SETTING[area]))


def location(area: str = "media") -> str:
    """Where an area lives, in words (a folder, or s3://bucket/area): for messages and cache keys."""
    root = folder(area)
    return str(root) if root is not None else f"s3://{settings.S3_OPTIONS['bucket_name']}/{area}"


# --- reading: a local file for a stored name ----------------------------------------------------------------------


class LocalCache:
    """This process's copies of stored files under root/<area>/<name>, at most `max_bytes` in all: past that the
    least recently used go first. A copy is written atomically (atomic_path), so a reader never sees half a file;
    another process sharing the folder may evict a file between two uses, and the next use fetches it again."""

    def __init__(self, root: Path, max_bytes: int):
        self.root, self.max_bytes = Path(root), max_bytes
        self._lock = threading.Lock()
        self._bytes: int | None = None  # measured on first use

    def path(self, area: str, name: str) -> Path:
        return self.root / area / name

    def fetch(self, area: str, name: str) -> Path:
        path = self.path(area, name)
        try:
            os.utime(path)  # recently used
            return path
        except FileNotFoundError:  # never fetched, or evicted or wiped since
            pass
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as dst:
                _download(area, name, dst)
            size = tmp.stat().st_size
        self._added(size, path)
        return path

    def keep(self, area: str, name: str, data: bytes) -> None:
        """A copy of bytes this process just stored (so that reading them back costs no download)."""
        path = self.path(area, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, data)
        self._added(len(data), path)

    def _added(self, size: int, path: Path) -> None:
        with self._lock:
            if self._bytes is None:
                self._bytes = sum(p.stat().st_size for p in self._files())
            else:
                self._bytes += size
            if self._bytes > self.max_bytes:
                self._trim(keep=path)

    def _files(self):
        return (p for area in AREAS for p in (self.root / area).rglob("*")
                if p.is_file() and not p.name.startswith("."))  # not a copy being written (atomic_path)

    def _trim(self, keep: Path) -> None:
        """Least recently used out until 90 % of the bound is left (so that trimming is not on every fetch); never
        `keep`, the copy just made for its caller."""
        files = []
        for p in self._files():
            try:
                st = p.stat()
            except FileNotFoundError:
                continue
            files.append((st.st_mtime, st.st_size, p))
        files.sort()
        total = sum(size for _, size, _ in files)
        for _, size, p in (f for f in files if f[2] != keep):
            if total <= 0.9 * self.max_bytes:
                break
            p.unlink(missing_ok=True)
            total -= size
        self._bytes = total

    def clear(self) -> None:
        with self._lock:
            for area in AREAS:  # not STAGING_DIR beside them: files of imports not yet committed
                shutil.rmtree(self.root / area, ignore_errors=True)
            self._bytes = None


_cache: LocalCache | None = None


def local_cache() -> LocalCache:
    global _cache
    if _cache is None or _cache.root != Path(settings.LOCAL_CACHE_DIR):
        _cache = LocalCache(Path(settings.LOCAL_CACHE_DIR), settings.LOCAL_CACHE_BYTES)
    return _cache


def _client_and_key(area: str, name: str):
    """The boto3 client (the storage's bucket's, made once: a client is thread-safe; its thread-local
    `connection` makes a session per thread) and the object key behind a stored name of an area in the store."""
    target = storage(area)
    with _areas_lock:  # threads asking at once for a storage's first bucket would each make a session
        client = target.bucket.meta.client
    return client, target.bucket_name, f"{target.location}/{name}"


def _download(area: str, name: str, dst) -> None:
    """Copy a stored file into the binary file `dst`. In the store: one GET (Storage.open's S3File makes a HEAD or
    two first and hands the body to s3transfer's threads: ~5x the CPU per photo, taken from extraction's core)."""
    if folder(area) is not None:
        with storage(area).open(name, "rb") as src:
            shutil.copyfileobj(src, dst, 1024 * 1024)
        return
    client, bucket, key = _client_and_key(area, name)
    shutil.copyfileobj(client.get_object(Bucket=bucket, Key=key)["Body"], dst, 1024 * 1024)


def _stored(area: str, name: str) -> bool:
    """Whether the store holds `name` (one HEAD through the shared client, fit for many threads at once)."""
    client, bucket, key = _client_and_key(area, name)
    try:
        client.head_object(Bucket=bucket, Key=key)
        return True
    except Exception as error:
        if _is_missing(error):
            return False
        raise


def local_file(name: str, area: str = "media") -> Path:
    """A file on this machine holding the stored file `name`: the file itself in a local area, else this
    process's cached copy (fetched now if missing). Raises FileNotFoundError when nothing is stored there."""
    root = folder(area)
    if root is not None:
        return Path(storage(area).path(name))
    try:
        return local_cache().fetch(area, name)
    except Exception as error:
        if _is_missing(error):
            raise FileNotFoundError(f"{area}/{name} is not in the store") from error
        raise


class StoredCopy(os.PathLike):
    """A stored file's local copy, fetched (again) each time it is opened and found gone: evicted past the cache's
    bound, by another process sharing the folder, or wiped. Hand it to what opens a path (open(), Path(), np.load,
    Pillow) in place of the path of a copy fetched earlier, which may be gone by the time it is read. Its str() is
    the stored name, for messages."""

    __slots__ = ("name", "area")

    def __init__(self, name: str, area: str = "media"):
        self.name, self.area = name, area

    def __fspath__(self) -> str:
        return str(local_file(self.name, self.area))

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"StoredCopy({self.name!r}, {self.area!r})"


def local_files(names: list[str], area: str = "media") -> dict[str, Path | None]:
    """local_file of many names at once (downloads run side by side); None for a name not stored."""

    def one(name):
        try:
            return local_file(name, area)
        except FileNotFoundError:
            return None

    if folder(area) is not None or len(names) < 2:
        return {name: one(name) for name in names}
    with ThreadPoolExecutor(DOWNLOAD_THREADS) as pool:
        return dict(zip(names, pool.map(one, names)))


def _is_missing(error: Exception) -> bool:
    code = getattr(error, "response", {}).get("Error", {}).get("Code") if hasattr(error, "response") else None
    return isinstance(error, FileNotFoundError) or code in {"404", "NoSuchKey", "NotFound"}


def local_folder(prefix: str, area: str = "artifacts") -> Path:
    """A folder on this machine with every file stored under `prefix/` (a trained model's folder)."""
    root = folder(area)
    if root is not None:
        if not (root / prefix).is_dir():
            raise FileNotFoundError(f"{root / prefix} is not there")
        return root / prefix
    names = names_under(prefix, area)
    if not names:
        raise FileNotFoundError(f"{area}/{prefix}/ holds no file in the store")
    local_files(names, area)
    return local_cache().path(area, prefix)


# --- writing -----------------------------------------------------------------------------------------------------


def write(name: str, data: bytes | io.IOBase, area: str = "media") -> str:
    """Store bytes (or a binary file) under exactly `name`, replacing what was there. Returns the name."""
    target = storage(area)
    content = ContentFile(data) if isinstance(data, bytes) else File(data)
    if folder(area) is None:
        saved = target._save(name, content)  # exactly this key, replaced in one step (save() would pick another)
    else:
        if target.exists(name):
            target.delete(name)  # FileSystemStorage would otherwise pick another name
        saved = target.save(name, content)
    if saved != name:
        raise RuntimeError(f"stored {saved!r} instead of {name!r}")
    return saved


def publish_folder(local: Path, prefix: str, area: str = "artifacts") -> None:
    """Store every file of a folder this process wrote under `prefix/` (nothing to do when `local` already is that
    folder of a local area)."""
    root = folder(area)
    local = Path(local)
    if root is not None and local.resolve() == (root / prefix).resolve():
        return
    files = [p for p in local.rglob("*") if p.is_file()]

    def one(path: Path):
        with open(path, "rb") as f:
            write(f"{prefix}/{path.relative_to(local).as_posix()}", f, area)

    with ThreadPoolExecutor(DOWNLOAD_THREADS) as pool:
        list(pool.map(one, files))


@contextmanager
def folder_to_publish(prefix: str, area: str = "artifacts"):
    """A folder on this machine to write `prefix/` into: the area's own folder when it is local, else a temp folder
    whose files are stored when the block ends without an error."""
    root = folder(area)
    if root is not None:
        (root / prefix).mkdir(parents=True, exist_ok=True)
        yield root / prefix
        return
    with tempfile.TemporaryDirectory(prefix="menagerie-publish-") as tmp:
        yield Path(tmp)
        publish_folder(Path(tmp), prefix, area)


STAGING_DIR = "staging"


def staging_root(area: str = "media") -> Path:
    """A folder on this machine for files written before the rows that own them commit (publish_staged then puts
    them in place; nothing ever serves this folder). In a local area it is <area folder>/staging, so that
    publishing is one rename on one file system; with the store it is LOCAL_CACHE_DIR/staging/<area>."""
    root = folder(area)
    return root / STAGING_DIR if root is not None else Path(settings.LOCAL_CACHE_DIR) / STAGING_DIR / area


def publish_staged(files: list[tuple[Path, str]], area: str = "media") -> None:
    """Put each staged local file under its stored name (replacing what was there): a rename in a local area, an
    upload (several at once) to the store, after which the local file goes."""
    root = folder(area)
    if root is not None:
        for path, name in files:
            final = Path(storage(area).path(name))
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, final)
        return

    def one(item):
        path, name = item
        with open(path, "rb") as f:
            write(name, f, area)
        path.unlink()

    with ThreadPoolExecutor(DOWNLOAD_THREADS) as pool:
        list(pool.map(one, files))


def delete_names(names: list[str], area: str = "media") -> None:
    """Delete these stored files (absent ones are no error); in a local area, folders left empty go too."""
    names = [name for name in names if name]
    root = folder(area)
    if root is not None:
        for name in names:
            path = Path(storage(area).path(name))
            path.unlink(missing_ok=True)
            for parent in path.parents:  # the emptied folders up to the area's own
                if parent == root or root not in parent.parents:
                    break
                try:
                    parent.rmdir()
                except OSError:
                    break
        return
    target = storage(area)
    for start in range(0, len(names), 1000):  # S3's DeleteObjects takes 1000 keys at most
        chunk = names[start:start + 1000]
        target.bucket.delete_objects(Delete={"Objects": [{"Key": f"{target.location}/{n}"} for n in chunk],
                                             "Quiet": True})
        for name in chunk:
            local_cache().path(area, name).unlink(missing_ok=True)


@dataclass(frozen=True)
class StoredFile:
    name: str  # relative to the area
    size: int  # bytes
    modified: float  # seconds since the epoch


def files_under(prefix: str = "", area: str = "media") -> list[StoredFile]:
    """Every stored file under `prefix/` (the whole area for ""), with its size and time of last change."""
    target, prefix = storage(area), prefix.strip("/")
    if folder(area) is not None:
        root = Path(target.path(""))
        found = []
        for parent, _, names in os.walk(root / prefix if prefix else root):
            for name in names:
                path = Path(parent) / name
                try:
                    st = path.lstat()
                except FileNotFoundError:  # removed while we walked
                    continue
                found.append(StoredFile(path.relative_to(root).as_posix(), st.st_size, st.st_mtime))
        return sorted(found, key=lambda f: f.name)
    key_prefix = f"{target.location}/{prefix}/" if prefix else f"{target.location}/"
    skip = len(target.location) + 1
    return [StoredFile(o.key[skip:], o.size, o.last_modified.timestamp())
            for o in target.bucket.objects.filter(Prefix=key_prefix)]


def names_under(prefix: str, area: str = "media") -> list[str]:
    """Every stored name under `prefix/` (recursively), relative to the area, sorted."""
    return sorted(f.name for f in files_under(prefix, area))


def delete_under(prefix: str, area: str = "media") -> None:
    """Delete every stored file under `prefix/` (a dataset's or a job's folder)."""
    prefix = prefix.strip("/")
    if not prefix:
        raise ValueError("refusing to delete a whole area")
    root = folder(area)
    if root is not None:
        shutil.rmtree(root / prefix, ignore_errors=True)
        return
    target = storage(area)
    target.bucket.objects.filter(Prefix=f"{target.location}/{prefix}/").delete()
    shutil.rmtree(local_cache().path(area, prefix), ignore_errors=True)


# --- the feature cache ----------------------------------------------------------------------------------------------


def feature_store():
    """The feature cache (a classifier.features.FeatureStore): the FEATURES_DIR folder, or the store's "features"
    area with this process's local copies."""
    from classifier.features import FeatureCache

    root = folder("features")
    return FeatureCache(root) if root is not None else _stored_features()


def _stored_features():
    import numpy as np

    from classifier.features import FeatureCache

    class StoredFeatures(FeatureCache):
        """Features in the store, shared by every worker on every machine; reads go through the local copy."""

        def __init__(self):
            super().__init__(local_cache().root / "features")

        @staticmethod
        def name(spec, content_hash: str) -> str:
            return f"{spec.key}/{content_hash[:2]}/{content_hash}.npy"

        def has(self, spec, content_hash):
            return FeatureCache.has(self, spec, content_hash) or _stored("features", self.name(spec, content_hash))

        def missing(self, spec, hashes):
            absent = [h for h in hashes if not FeatureCache.has(self, spec, h)]
            # up to a chunk's worth: one HEAD each, side by side (their cost does not grow with the store); more (a
            # job's planning): one listing of the spec's prefix
            if len(absent) <= HEAD_CHECKS_MAX:
                with ThreadPoolExecutor(DOWNLOAD_THREADS) as pool:
                    stored = list(pool.map(lambda h: _stored("features", self.name(spec, h)), absent))
                return [h for h, there in zip(absent, stored) if not there]
            stored = set(names_under(spec.key, "features"))
            return [h for h in absent if self.name(spec, h) not in stored]

        def save(self, spec, content_hash, feature):
            buffer = io.BytesIO()
            np.save(buffer, np.asarray(feature, dtype="float32"))
            data = buffer.getvalue()
            client, bucket, key = _client_and_key("features", self.name(spec, content_hash))
            client.put_object(Bucket=bucket, Key=key, Body=data)  # one PUT: write()'s s3transfer costs ~3x the CPU
            local_cache().keep("features", self.name(spec, content_hash), data)

        def load(self, spec, hashes):
            fetched = local_files([self.name(spec, h) for h in hashes if not FeatureCache.has(self, spec, h)],
                                  "features")  # side by side, before reading them one by one
            absent = [name for name, path in fetched.items() if path is None]
            if absent:
                raise KeyError(f"feature {absent[0]} not in the store")
            return super().load(spec, hashes)

        def read(self, spec, content_hash):
            try:  # fetched again if its copy went since load() fetched it
                return np.load(StoredCopy(self.name(spec, content_hash), "features"))
            except FileNotFoundError:
                raise KeyError(f"feature {self.name(spec, content_hash)} not in the store") from None

    return StoredFeatures()
