"""A bucket (S3 API) as a photo source: the objects under s3://bucket/prefix/ listed and read with boto3, for the
imports in webapp/datasets/services.py (which write the photos as any import does).

Credentials are the installation's (settings.S3_IMPORT_*, with their own endpoint) or typed for one import; they
live in a BucketSource for that import only: never stored, never logged (the dataclass's repr leaves them out)
and never in a message (errors name the bucket and the endpoint's host, never a key). An endpoint that a user
typed goes through the webhooks' outbound-address policy (webapp/core/outbound.py) when it is checked and again
when it is called; over plain http the client is pinned to the address that was checked.
"""

import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
from django.conf import settings
from django.core.exceptions import ValidationError

from classifier.files import atomic_write
from webapp.core import outbound
from webapp.datasets.importing.archive import ARCHIVE_SUFFIXES, MiB
from webapp.datasets.importing.layout import EXPECTED_LAYOUTS, is_junk, layout_detect
from webapp.datasets.importing.result import ImportRejected

DEFAULT_REGION = "us-east-1"
CREDENTIAL_ERRORS = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "InvalidToken", "ExpiredToken",
                     "InvalidClientTokenId", "AuthorizationHeaderMalformed", "Forbidden", "403"}
CLIENT_CONFIG = dict(connect_timeout=5, read_timeout=30, retries={"max_attempts": 3, "mode": "standard"})


@dataclass(frozen=True)
class BucketSource:
    """Where to read: bucket, prefix ("" or ending in "/") and how to reach it. `endpoint_url` None: AWS.
    `user_endpoint`: the endpoint was typed by a user, so the outbound policy applies to it. Empty keys: boto3's
    own chain (environment, ~/.aws, instance role), for the server command only."""

    bucket: str
    prefix: str
    endpoint_url: str | None = None
    region: str = ""
    access_key_id: str = field(default="", repr=False)
    secret_access_key: str = field(default="", repr=False)
    user_endpoint: bool = False

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    @property
    def where(self) -> str:
        """The endpoint in words, for messages (its host only)."""
        return urlsplit(self.endpoint_url).hostname or "the endpoint" if self.endpoint_url else "AWS S3"


@dataclass
class BucketObject:
    key: str
    name: str  # relative to the prefix, "/"-separated: the entry name the imports list
    size: int


@dataclass
class BucketListing:
    objects: list[BucketObject]  # to read (photos or not: the import checks their content)
    dirs: list[tuple[str, ...]]  # folder markers ("cats/"), so an empty class folder counts as in a zip
    skipped: list[tuple[str, str]]  # (name, reason): not read at all (too large, an archive)
    ignored: int  # system files (.DS_Store, __MACOSX/ ...)

    @property
    def total_bytes(self) -> int:
        return sum(item.size for item in self.objects)


def bucket_url_parse(url: str) -> tuple[str, str]:
    """s3://bucket/some/prefix -> ("bucket", "some/prefix/"); ValidationError for anything else."""
    url = (url or "").strip()
    if not url.lower().startswith("s3://"):
        raise ValidationError("A bucket address starts with s3:// (s3://bucket/prefix/).")
    bucket, _, prefix = url[5:].partition("/")
    if not (3 <= len(bucket) <= 63) or not all(c.islower() or c.isdigit() or c in ".-_" for c in bucket) \
            or not bucket.isascii():
        raise ValidationError(f"{bucket!r} is not a bucket name (3 to 63 lower-case letters, digits, dots or "
                              "hyphens).")
    prefix = prefix.strip("/")
    if any(part in ("..", ".") for part in prefix.split("/")) or "\x00" in prefix:
        raise ValidationError("The prefix must not contain '.' or '..' folders.")
    return bucket, f"{prefix}/" if prefix else ""


def bucket_source_from_settings(url: str, *, endpoint_url: str | None = None, region: str = "") -> BucketSource:
    """The installation's keys (settings.S3_IMPORT_*, else boto3's chain) and endpoint; `endpoint_url` and
    `region`: another one named on the server's command line (trusted like the settings)."""
    bucket, prefix = bucket_url_parse(url)
    return BucketSource(bucket, prefix, endpoint_url=endpoint_url or settings.S3_IMPORT_ENDPOINT_URL or None,
                        region=region or settings.S3_IMPORT_REGION, access_key_id=settings.S3_IMPORT_ACCESS_KEY_ID,
                        secret_access_key=settings.S3_IMPORT_SECRET_ACCESS_KEY)


def bucket_source_typed(url: str, *, endpoint_url: str, access_key_id: str, secret_access_key: str,
                        region: str = "") -> BucketSource:
    """Keys a user typed, for this import only, with the endpoint they typed (AWS when none), which the outbound
    policy checks when it is called."""
    bucket, prefix = bucket_url_parse(url)
    return BucketSource(bucket, prefix, endpoint_url=endpoint_url or None, region=region,
                        access_key_id=access_key_id, secret_access_key=secret_access_key,
                        user_endpoint=bool(endpoint_url))


def _client(source: BucketSource):
    endpoint = source.endpoint_url or None
    if endpoint and source.user_endpoint:
        endpoint = _checked_endpoint(endpoint)
    config = Config(**CLIENT_CONFIG, s3={"addressing_style": "path" if endpoint else "auto"})
    keys = {}
    if source.access_key_id or source.secret_access_key:
        keys = {"aws_access_key_id": source.access_key_id, "aws_secret_access_key": source.secret_access_key}
    session = boto3.session.Session()  # its own: never the process-wide default session
    return session.client("s3", endpoint_url=endpoint, region_name=source.region or DEFAULT_REGION, config=config,
                          **keys)


def _checked_endpoint(url: str) -> str:
    """The user's endpoint after the outbound policy; over http, pinned to the checked address (over https the
    certificate must match the name, which an address it was re-resolved to cannot show)."""
    try:
        target, addresses = outbound.target_resolve(url)
    except outbound.OutboundRefused as exc:
        raise ImportRejected(f"The endpoint was refused: {exc}") from None
    except (OSError, UnicodeError):
        raise ImportRejected(f"The endpoint's host name {outbound.target_parse(url).host} does not resolve.") from None
    if target.path.rstrip("/"):
        raise ImportRejected("The endpoint is the server's address only (https://s3.example.com), with no path.")
    if target.scheme == "https":
        return f"https://{target.host}:{target.port}"
    address = addresses[0]
    host = f"[{address}]" if address.version == 6 else str(address)
    return f"http://{host}:{target.port}"


def _refusal(exc: Exception, source: BucketSource, doing: str) -> ImportRejected:
    """A boto3 failure in words, with no key, secret or request detail in it."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))[:64]
        if code in ("NoSuchBucket", "404") and doing == "list":
            return ImportRejected(f"There is no bucket {source.bucket!r} at {source.where}.")
        if code in CREDENTIAL_ERRORS:
            return ImportRejected(f"{source.where} refused the credentials for bucket {source.bucket!r} (unknown "
                                  "access key, wrong secret key, or no permission to list and read it).")
        return ImportRejected(f"{source.where} answered with an error ({code or 'unknown'}) while {doing}ing "
                              f"{source.url}.")
    if isinstance(exc, NoCredentialsError):
        return ImportRejected("No credentials for the bucket: set S3_IMPORT_ACCESS_KEY_ID and "
                              "S3_IMPORT_SECRET_ACCESS_KEY (or boto3's AWS_* environment, ~/.aws, an instance role).")
    return ImportRejected(f"Could not reach {source.where} ({type(exc).__name__}); nothing was imported.")


def bucket_list(source: BucketSource, *, max_objects: int | None = None, max_object_bytes: int) -> BucketListing:
    """The objects under the prefix, in key order. ImportRejected when the bucket cannot be listed, holds nothing
    under the prefix, has more than `max_objects`, or an unsafe key ('..')."""
    objects, dirs, skipped, unsafe, ignored = [], [], [], [], 0
    try:
        pages = _client(source).get_paginator("list_objects_v2").paginate(Bucket=source.bucket,
                                                                          Prefix=source.prefix)
        for page in pages:
            for item in page.get("Contents", []):
                name = item["Key"][len(source.prefix):]
                parts = tuple(part for part in name.split("/") if part not in ("", "."))
                if not parts:
                    continue
                if ".." in parts or "\x00" in name:
                    unsafe.append((name, "unsafe key ('..')"))
                elif is_junk(parts):
                    ignored += 0 if name.endswith("/") else 1
                elif name.endswith("/"):
                    dirs.append(parts)
                elif PurePosixPath(parts[-1]).suffix.lower() in ARCHIVE_SUFFIXES:
                    skipped.append((name, "an archive, not a photo (unpack it into the bucket)"))
                elif item["Size"] > max_object_bytes:
                    skipped.append((name, f"over the size limit of {max_object_bytes // MiB} MiB per photo"))
                else:
                    objects.append(BucketObject(item["Key"], "/".join(parts), item["Size"]))
                if max_objects is not None and len(objects) > max_objects:
                    raise ImportRejected(f"{source.url} holds more than {max_objects:,} objects, more than an import "
                                         "from the web takes: import it on the server with `manage.py "
                                         "import_dataset s3://...`.")
    except (BotoCoreError, ClientError) as exc:
        raise _refusal(exc, source, "list") from None
    if unsafe:
        raise ImportRejected("The bucket was refused and nothing was imported.", unsafe)
    if not objects:
        raise ImportRejected(f"There is nothing to import under {source.url} (check the bucket and the prefix).",
                             skipped)
    return BucketListing(objects, dirs, skipped, ignored)


def bucket_layout_check(listing: BucketListing, *, source: BucketSource, unlabelled: bool) -> None:
    """Refuse, before anything is read, a prefix whose folders match no dataset layout (what the import would
    find once the objects are read)."""
    files = [(item.name, tuple(item.name.split("/"))) for item in listing.objects]
    try:
        layout_detect(files, listing.dirs, unlabelled=unlabelled)
    except ImportRejected as exc:
        raise ImportRejected(f"The folders under {source.url} do not match a dataset layout. {EXPECTED_LAYOUTS}",
                             exc.entries) from None


def bucket_read(source: BucketSource, objects: list[BucketObject], *, write: Callable[[BucketObject, bytes], None],
                max_object_bytes: int, progress) -> list[tuple[str, str]]:
    """Read each object and hand it to `write`; returns (name, reason) for the objects skipped (gone since the
    listing, grown past the size limit). ImportRejected when the bucket stops answering or refuses a read."""
    skipped = []
    client = _client(source) if objects else None
    bar = progress(total=len(objects), desc="downloading")
    try:
        for item in objects:
            try:
                body = client.get_object(Bucket=source.bucket, Key=item.key)["Body"]
                with body:
                    data = body.read(max_object_bytes + 1)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                    skipped.append((item.name, "deleted from the bucket during the import"))
                    bar.update(1)
                    continue
                raise
            if len(data) > max_object_bytes:
                skipped.append((item.name, f"over the size limit of {max_object_bytes // MiB} MiB per photo"))
            else:
                write(item, data)
            bar.update(1)
    except (BotoCoreError, ClientError) as exc:
        raise _refusal(exc, source, "read") from None
    finally:
        bar.close()
    return skipped


def bucket_to_zip(source: BucketSource, listing: BucketListing, archive, *, max_object_bytes: int,
                  max_total_bytes: int, progress) -> list[tuple[str, str]]:
    """Read the listed objects into `archive` (a writable binary file) as a stored zip of the same names, for
    dataset_import_zip, stopping past `max_total_bytes` read (the listing's sizes may lie); returns the objects
    skipped (bucket_read)."""
    read = 0

    def write(item: BucketObject, data: bytes) -> None:
        nonlocal read
        read += len(data)
        if read > max_total_bytes:
            raise ImportRejected(f"{source.url} holds more than {max_total_bytes // MiB:,} MiB, more than an import "
                                 "from the web takes: import it on the server with `manage.py import_dataset`.")
        zf.writestr(item.name, data)

    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        for parts in listing.dirs:
            zf.writestr("/".join(parts) + "/", b"")
        return bucket_read(source, listing.objects, write=write, max_object_bytes=max_object_bytes,
                           progress=progress)


def bucket_to_folder(source: BucketSource, listing: BucketListing, folder: Path, *, max_object_bytes: int,
                     progress) -> list[tuple[str, str]]:
    """Download the listed objects into `folder` under the same names, for dataset_import_folder. A file already
    there with the object's size is kept (a resumed import reads only what it misses); each file appears whole
    (written beside under a hidden name, which the folder import ignores, then renamed)."""
    folder = Path(folder)
    for parts in listing.dirs:
        folder.joinpath(*parts).mkdir(parents=True, exist_ok=True)

    def write(item: BucketObject, data: bytes) -> None:
        path = folder.joinpath(*item.name.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, data)  # beside under a hidden name first, which the folder import ignores

    def missing(item: BucketObject) -> bool:
        path = folder.joinpath(*item.name.split("/"))
        return not (path.is_file() and path.stat().st_size == item.size)

    return bucket_read(source, [item for item in listing.objects if missing(item)], write=write,
                       max_object_bytes=max_object_bytes, progress=progress)
