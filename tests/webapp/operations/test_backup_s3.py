"""Issue 26, item 6: an installation moves from the local folders to an S3 store and back through `backup` and
`restore` (README, "Moving to an S3 store"): a local installation (a dataset with photos and a thumbnail, a trained
model's folder, a prediction's photo, the feature cache) is backed up, restored into the S3 store (a real server:
SeaweedFS, tests/s3.py) where the files are in the bucket and the app serves them to their team, backed up from
there, and restored into fresh local folders: the same rows and the same files as at the start."""

import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.core.management import call_command

from tests.images import jpeg_bytes
from tests.s3 import BUCKET
from tests.shared import REPO_DIR
from tests.webapp.experiments.conftest import make_dataset, succeed_job
from tests.webapp.operations.test_backup import rows
from webapp.experiments import services
from webapp.experiments.models import Prediction
from webapp.operations.backup import EXCLUDED_MODELS

AREAS = ("media", "artifacts", "features")
SERVE = """
import hashlib
from django.test import Client
from django.test.utils import setup_test_environment
from django.urls import reverse
from django.contrib.auth.models import User
from django.contrib.auth.signals import user_logged_in
from webapp.datasets.models import Image
setup_test_environment()
user_logged_in.disconnect(dispatch_uid="update_last_login")  # looking changes no row: the rows are compared later
image = Image.objects.exclude(thumbnail="").get()
for user in ("ann", "bob"):
    client = Client()
    client.force_login(User.objects.get(username=user))
    for name in (image.file.name, image.thumbnail.name):
        response = client.get(reverse("media", args=[name]))
        body = b"".join(response.streaming_content) if response.status_code == 200 else b""
        print(user, name, response.status_code, hashlib.sha256(body).hexdigest())
"""


def run(args, data_dir: Path, **env) -> str:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(REPO_DIR), "MENAGERIE_DATA_DIR": str(data_dir),
           "DJANGO_SETTINGS_MODULE": "webapp.settings", "TF_CPP_MIN_LOG_LEVEL": "2", **env}
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=REPO_DIR, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result.stdout


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def folder_files(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): sha(p.read_bytes()) for p in root.rglob("*") if p.is_file()}


def bucket_files(server, area: str) -> dict:
    client = server.client()
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=f"{area}/")
    return {o["Key"][len(area) + 1:]: sha(client.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read())
            for page in pages for o in page.get("Contents", [])}


@pytest.fixture
def local_installation(db, media_root, django_user_model):
    """A team and its member, another team's member, a dataset with photos and a thumbnail, a job with a trained
    model's folder (two files), a prediction with its photo, and feature files: all in this test's local folders."""
    lab = Group.objects.create(name="lab")
    ann = django_user_model.objects.create_user("ann")
    ann.groups.add(lab)
    django_user_model.objects.create_user("bob").groups.add(Group.objects.create(name="other"))
    dataset = make_dataset("pets", lab, per_class=3)
    dataset.images.first().thumbnail.save("t.jpg", ContentFile(jpeg_bytes((1, 2, 3), 1, size=8)))
    job = succeed_job(services.job_create(dataset=dataset, user=ann, backbone="mobilenet_v2", weights="none",
                                          pooling="avg", input_size=32, head_config={"epochs": 3}))
    (Path(settings.ARTIFACTS_DIR) / job.artifact_dir / "run.json").write_text('{"classes": ["cat"]}')
    prediction = Prediction(job=job, content_hash="ab" * 32, original_name="cat.jpg", created_by=ann,
                            status="succeeded", label="cat", confidence=0.9)
    prediction.file.save("cat.jpg", ContentFile(jpeg_bytes((9, 9, 9), 2, size=16)))
    for spec in ("spec-a", "spec-b"):
        (Path(settings.FEATURES_DIR) / spec / "ab").mkdir(parents=True)
        (Path(settings.FEATURES_DIR) / spec / "ab" / f"{'ab' * 32}.npy").write_bytes(spec.encode() * 10)


@pytest.mark.slow  # four management commands in subprocesses
def test_an_installation_moves_from_local_folders_to_an_s3_store_and_back(local_installation, s3_bucket, settings,
                                                                          tmp_path):
    local = {area: folder_files(Path(getattr(settings, name))) for area, name in
             (("media", "MEDIA_ROOT"), ("artifacts", "ARTIFACTS_DIR"), ("features", "FEATURES_DIR"))}
    assert len(local["media"]) == 11 and len(local["artifacts"]) == 2 and len(local["features"]) == 2
    archive = tmp_path / "local.tar.gz"
    call_command("backup", str(archive), "--features", stdout=io.StringIO())

    # into the S3 store: the files are in the bucket, none on that installation's disk, and served to their team
    on_s3, store = tmp_path / "on-s3", s3_bucket.settings()
    assert "Restored the database and 15 files" in run(["restore", str(archive)], on_s3, **store)
    assert {area: bucket_files(s3_bucket, area) for area in AREAS} == local
    assert not any(p.is_file() for area in AREAS if (on_s3 / area).exists() for p in (on_s3 / area).rglob("*"))
    served = [line.split() for line in run(["shell", "-c", SERVE], on_s3, **store).splitlines()
              if line.startswith(("ann ", "bob "))]
    assert [(user, status) for user, _, status, _ in served] == [("ann", "200")] * 2 + [("bob", "404")] * 2
    assert all(digest == local["media"][name] for user, name, _, digest in served if user == "ann")

    # and back into fresh local folders: the same rows and files as at the start
    archive_from_s3 = tmp_path / "from-s3.tar"
    run(["backup", str(archive_from_s3), "--features"], on_s3, **store)
    back = tmp_path / "back"
    run(["restore", str(archive_from_s3)], back)
    assert {area: folder_files(back / area) for area in AREAS} == local
    dump = run(["dumpdata", "--natural-foreign", "--natural-primary", *[f"--exclude={m}" for m in EXCLUDED_MODELS]],
               back)
    buffer = io.StringIO()
    call_command("dumpdata", natural_foreign=True, natural_primary=True, exclude=EXCLUDED_MODELS, stdout=buffer)
    assert rows(dump) == rows(buffer.getvalue()) and len(json.loads(dump)) > 20
    assert os.stat(archive_from_s3).st_mode & 0o077 == 0
