"""Imports from a bucket (issue 26, item 4) against a real S3 server (SeaweedFS, tests/s3.py): the server command
(committed in batches, resumable) and the import page's bucket form (all or nothing, like a zip), with the
installation's keys (settings.S3_IMPORT_*) or keys typed for one import, which are never stored, logged or shown."""

import io
import json
import logging
import socket

import pytest
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.urls import reverse

from tests.images import jpeg_bytes
from tests.s3 import ACCESS_KEY, BUCKET, SECRET_KEY
from tests.webapp.datasets.conftest import db_snapshot, media_snapshot
from webapp.accounts.models import Membership
from webapp.datasets.importing.bucket import BucketSource, bucket_url_parse
from webapp.datasets.models import Dataset, Image
from webapp.datasets.services import ImportRejected, dataset_import_bucket

PREFIX = "incoming/pets/"
COLOURS = {"cats": (200, 60, 60), "dogs": (60, 200, 60), "emus": (60, 60, 200)}
WRONG_SECRET = "not-the-secret-4f1d9c"


def put_classes(s3, classes: dict[str, int], *, prefix: str = PREFIX, seed: int = 0) -> None:
    client = s3.client()
    for class_name, count in classes.items():
        for i in range(count):
            client.put_object(Bucket=BUCKET, Key=f"{prefix}{class_name}/{i:03d}.jpg",
                              Body=jpeg_bytes(COLOURS[class_name], seed + 100 * len(class_name) + i))


def put(s3, key: str, body: bytes) -> None:
    s3.client().put_object(Bucket=BUCKET, Key=key, Body=body)


def source(s3, prefix: str = PREFIX, **changes) -> BucketSource:
    fields = dict(bucket=BUCKET, prefix=prefix, endpoint_url=s3.endpoint_url, access_key_id=ACCESS_KEY,
                  secret_access_key=SECRET_KEY)
    return BucketSource(**{**fields, **changes})


@pytest.fixture
def import_keys(settings, s3_bucket):
    """The installation's keys and endpoint for imports: the test server."""
    settings.S3_IMPORT_ENDPOINT_URL = s3_bucket.endpoint_url
    settings.S3_IMPORT_ACCESS_KEY_ID = ACCESS_KEY
    settings.S3_IMPORT_SECRET_ACCESS_KEY = SECRET_KEY
    return s3_bucket


@pytest.fixture
def loopback_allowed(settings):
    """The test server is on 127.0.0.1, which the outbound policy refuses unless an installation opts in (as
    the webhook tests do)."""
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]


def run(*args) -> dict:
    out = io.StringIO()
    call_command("import_dataset", *args, "--json", stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue())


def splits(name: str) -> dict[str, str]:
    return dict(Image.objects.filter(dataset__name=name).values_list("content_hash", "split"))


# --- the server command ------------------------------------------------------------------------------------------


def test_the_command_imports_class_folders_from_a_bucket(import_keys, team):
    put_classes(import_keys, {"cats": 6, "dogs": 4})
    put(import_keys, f"{PREFIX}dogs/notes.txt", b"not a photo")
    put(import_keys, f"{PREFIX}.DS_Store", b"junk")
    put(import_keys, "elsewhere/cats/x.jpg", jpeg_bytes(COLOURS["cats"], 999))  # outside the prefix

    report = run(f"s3://{BUCKET}/{PREFIX}", "--name", "pets", "--team", team.name)

    dataset = Dataset.objects.get(name="pets", team=team)
    assert report["added"] == {"cats": {"train": 4, "validation": 1, "test": 1},
                               "dogs": {"train": 2, "validation": 1, "test": 1}}
    assert [name for name, _ in report["rejected"]] == ["dogs/notes.txt"] and report["ignored"] == 1
    assert dataset.images.count() == 10
    assert all(default_storage.exists(image.file.name) for image in dataset.images.all())  # written as any import


def test_the_command_takes_the_endpoint_on_its_command_line(s3_bucket, settings, team):
    settings.S3_IMPORT_ACCESS_KEY_ID, settings.S3_IMPORT_SECRET_ACCESS_KEY = ACCESS_KEY, SECRET_KEY
    put_classes(s3_bucket, {"cats": 2, "dogs": 2}, prefix="flat/")
    report = run(f"s3://{BUCKET}/flat", "--name", "flat", "--team", team.name,
                 "--endpoint-url", s3_bucket.endpoint_url)
    assert report["total_added"] == 4


class Interrupt(Exception):
    pass


def recording_progress(calls: list, *, interrupt_importing: bool = False):
    """A progress bar factory that records (desc, total) and can stop the import after its first committed batch,
    as Ctrl-C would."""

    def progress(total, desc):
        calls.append((desc, total))

        class Bar:
            def update(self, n=1):
                if interrupt_importing and desc == "importing":
                    raise Interrupt

            def close(self):
                pass

        return Bar()

    return progress


def test_an_interrupted_bucket_import_resumes_without_duplicates(import_keys, team, tmp_path):
    put_classes(import_keys, {"cats": 12, "dogs": 8})
    downloads, calls = tmp_path / "downloads", []
    with pytest.raises(Interrupt):
        dataset_import_bucket(source=source(import_keys), name="resumed", team=team, batch_size=5,
                              download_dir=downloads, progress=recording_progress(calls, interrupt_importing=True))
    assert Image.objects.filter(dataset__name="resumed").count() == 5  # the first batch was committed
    assert ("downloading", 20) in calls

    calls.clear()
    result = dataset_import_bucket(source=source(import_keys), dataset=Dataset.objects.get(name="resumed"),
                                   batch_size=5, download_dir=downloads, progress=recording_progress(calls))
    assert result.total_added == 15 and result.duplicates == 5
    assert ("downloading", 0) in calls  # the kept download folder had every object already
    assert Image.objects.filter(dataset__name="resumed").count() == 20
    assert Image.objects.filter(dataset__name="resumed").values("content_hash").distinct().count() == 20

    # The command resumes by name too (with a fresh download folder), and adds nothing twice.
    report = run(f"s3://{BUCKET}/{PREFIX}", "--name", "resumed", "--team", team.name)
    assert report["total_added"] == 0 and report["duplicates"] == 20

    run(f"s3://{BUCKET}/{PREFIX}", "--name", "straight", "--team", team.name)
    assert splits("resumed") == splits("straight")  # the same splits as an uninterrupted import


def test_the_command_reports_a_bucket_it_cannot_read_and_imports_nothing(import_keys, settings, team):
    settings.S3_IMPORT_SECRET_ACCESS_KEY = WRONG_SECRET
    put_classes(import_keys, {"cats": 2})
    with pytest.raises(CommandError, match="refused the credentials") as raised:
        run(f"s3://{BUCKET}/{PREFIX}", "--name", "pets", "--team", team.name)
    assert WRONG_SECRET not in str(raised.value)
    assert not Dataset.objects.exists()


# --- bad input: a clear error, and nothing changed ----------------------------------------------------------------


@pytest.mark.parametrize("case, message", [
    ("no such bucket", "There is no bucket 'no-such-bucket'"),
    ("wrong access key", "refused the credentials"),
    ("wrong secret", "refused the credentials"),
    ("empty prefix", "There is nothing to import under s3://menagerie/nothing/here/"),
    ("unreachable endpoint", "Could not reach 127.0.0.1"),
    ("no photos", "Every class needs at least one valid photo|Not one photo under s3://menagerie/text/"),
    ("deeper folders", "The folders under s3://menagerie/deep/ do not match a dataset layout"),
])
def test_a_bucket_that_cannot_be_imported_changes_nothing(s3_bucket, loopback_allowed, team, media_root, case,
                                                          message):
    put_classes(s3_bucket, {"cats": 2, "dogs": 1})
    put(s3_bucket, "text/cats/readme.txt", b"hello")
    put(s3_bucket, "text/dogs/list.csv", b"a,b")
    put(s3_bucket, "deep/cats/inner/a.jpg", jpeg_bytes(COLOURS["cats"], 1))
    put(s3_bucket, "deep/cats/b.jpg", jpeg_bytes(COLOURS["cats"], 2))
    chosen = {
        "no such bucket": source(s3_bucket, bucket="no-such-bucket"),
        "wrong access key": source(s3_bucket, access_key_id="nobody"),
        "wrong secret": source(s3_bucket, secret_access_key=WRONG_SECRET),
        "empty prefix": source(s3_bucket, prefix="nothing/here/"),
        "unreachable endpoint": source(s3_bucket, endpoint_url=f"http://127.0.0.1:{closed_port()}",
                                       user_endpoint=True),
        "no photos": source(s3_bucket, prefix="text/"),
        "deeper folders": source(s3_bucket, prefix="deep/"),
    }[case]
    before = (db_snapshot(), media_snapshot(media_root))
    for batch_size in (None, 500):  # the web form's import (all or nothing), the command's (in batches)
        with pytest.raises(ImportRejected, match=message) as raised:
            dataset_import_bucket(source=chosen, name="pets", team=team, batch_size=batch_size)
        assert WRONG_SECRET not in raised.value.text and SECRET_KEY not in raised.value.text
        assert (db_snapshot(), media_snapshot(media_root)) == before


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again: nothing listens there


def test_the_web_import_takes_at_most_what_a_zip_upload_would(s3_bucket, settings, team):
    put_classes(s3_bucket, {"cats": 3, "dogs": 2})
    settings.DATASETS_ZIP_MAX_ENTRIES = 4
    with pytest.raises(ImportRejected, match="more than 4 objects.*import_dataset s3://"):
        dataset_import_bucket(source=source(s3_bucket), name="pets", team=team)
    settings.DATASETS_ZIP_MAX_ENTRIES, settings.DATASETS_MAX_ARCHIVE_BYTES = 100, 2000
    with pytest.raises(ImportRejected, match="more than an import from the web takes"):
        dataset_import_bucket(source=source(s3_bucket), name="pets", team=team)
    assert not Dataset.objects.exists()


def test_the_endpoint_a_user_typed_is_checked_again_when_it_is_called(s3_bucket, team):
    """The form checks it when it is typed; a name may resolve elsewhere later, so the import checks it again."""
    put_classes(s3_bucket, {"cats": 2})
    with pytest.raises(ImportRejected, match="endpoint was refused.*127.0.0.1"):
        dataset_import_bucket(source=source(s3_bucket, user_endpoint=True), name="pets", team=team)
    assert not Dataset.objects.exists()


@pytest.mark.parametrize("url", ["https://bucket/x", "s3://", "s3://UPPER/x", "s3://b/x", "s3://ok-bucket/../x"])
def test_bucket_addresses_are_checked(url):
    with pytest.raises(ValidationError):
        bucket_url_parse(url)


def test_bucket_addresses_end_their_prefix_with_a_slash():
    assert bucket_url_parse("s3://my.bucket/some/prefix") == ("my.bucket", "some/prefix/")
    assert bucket_url_parse("s3://my-bucket/") == ("my-bucket", "")


# --- the web form --------------------------------------------------------------------------------------------------


def form_data(**changes) -> dict:
    fields = {"name": "pets", "url": f"s3://{BUCKET}/{PREFIX}", "endpoint_url": "", "region": "",
              "access_key_id": "", "secret_access_key": "", "validation_percent": 0, "test_percent": 25,
              "description": ""}
    return {**fields, **changes}


def post(client, team, **changes):
    return client.post(reverse("datasets:import_bucket"), form_data(team=team.pk, **changes), follow=True)


def test_the_bucket_form_imports_with_typed_keys_and_endpoint(client, member, team, s3_bucket, loopback_allowed):
    put_classes(s3_bucket, {"cats": 4, "dogs": 4, "emus": 4})
    client.force_login(member)
    assert reverse("datasets:import_bucket") in client.get(reverse("datasets:import")).content.decode()
    assert "Secret access key" in client.get(reverse("datasets:import_bucket")).content.decode()

    response = post(client, team, endpoint_url=s3_bucket.endpoint_url, access_key_id=ACCESS_KEY,
                    secret_access_key=SECRET_KEY)

    dataset = Dataset.objects.get(name="pets", team=team)
    assert response.redirect_chain[-1][0] == dataset.get_absolute_url()
    result = response.context["result"]
    assert result["total_added"] == 12
    assert result["added"]["emus"] == {"train": 3, "validation": 0, "test": 1}
    assert dataset.images.filter(added_by=member).count() == 12


def test_the_bucket_form_imports_with_the_installations_keys(client, member, team, import_keys):
    put_classes(import_keys, {"cats": 2, "dogs": 2})
    client.force_login(member)
    response = post(client, team)
    assert response.context["result"]["total_added"] == 4


def test_wrong_keys_are_a_clear_error_and_the_secret_is_never_kept_or_shown(client, member, team, s3_bucket,
                                                                           loopback_allowed, media_root, caplog):
    caplog.set_level(logging.DEBUG)  # botocore's request logs included
    put_classes(s3_bucket, {"cats": 2, "dogs": 2})
    client.force_login(member)
    before = (db_snapshot(), media_snapshot(media_root))

    response = post(client, team, endpoint_url=s3_bucket.endpoint_url, access_key_id=ACCESS_KEY,
                    secret_access_key=WRONG_SECRET)

    assert response.status_code == 400
    html = response.content.decode()
    assert "refused the credentials" in html and "nothing was imported" in html
    assert (db_snapshot(), media_snapshot(media_root)) == before
    assert WRONG_SECRET not in html and ACCESS_KEY not in html  # the key inputs come back empty
    assert WRONG_SECRET not in caplog.text
    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    sessions = " ".join(str(session.get_decoded()) for session in Session.objects.all())
    assert WRONG_SECRET not in dump.getvalue() and WRONG_SECRET not in sessions


@pytest.mark.parametrize("endpoint", ["{endpoint}", "http://localhost:{port}", "http://169.254.169.254"])
def test_an_endpoint_the_outbound_policy_refuses_imports_nothing(client, member, team, s3_bucket, endpoint):
    put_classes(s3_bucket, {"cats": 2, "dogs": 2})
    client.force_login(member)
    url = endpoint.format(endpoint=s3_bucket.endpoint_url, port=s3_bucket.s3)
    response = post(client, team, endpoint_url=url, access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY)
    errors = response.context["form"].errors
    assert "public addresses" in " ".join(errors["endpoint_url"])
    assert not Dataset.objects.exists()


def test_the_form_needs_both_keys_and_keys_with_a_typed_endpoint(client, member, team, s3_bucket, loopback_allowed,
                                                                 settings):
    client.force_login(member)
    settings.S3_IMPORT_ACCESS_KEY_ID = ""
    cases = [({"access_key_id": ACCESS_KEY}, "Type both keys"),
             ({"endpoint_url": s3_bucket.endpoint_url}, "type its keys too"),
             ({}, "no keys for buckets")]
    for changes, message in cases:
        response = post(client, team, **changes)
        assert message in " ".join(response.context["form"].non_field_errors())
    assert not Dataset.objects.exists()


def test_a_user_who_may_not_curate_cannot_import_from_a_bucket(client, team, import_keys, django_user_model):
    put_classes(import_keys, {"cats": 2, "dogs": 2})
    viewer = django_user_model.objects.create_user("viewer")
    viewer.groups.add(team)
    Membership.objects.create(user=viewer, team=team, role="viewer")
    client.force_login(viewer)
    response = post(client, team)
    assert "team" in response.context["form"].errors
    assert not Dataset.objects.exists()

    client.logout()
    response = client.post(reverse("datasets:import_bucket"), form_data(team=team.pk))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not Dataset.objects.exists()
