"""Item 10 of "Hardening": `manage.py backup` then `manage.py restore` on a fresh data folder gives back every row
and every file, and a restored model predicts the same."""

import hashlib
import io
import json
import subprocess
import tarfile
import sys
from pathlib import Path

import numpy as np
import pytest
from django.contrib.auth.models import Group, Permission
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command

from tests.classifier.conftest import make_class_folders
from tests.classifier.test_cli_predict_export import run_cli
from tests.images import jpeg_bytes
from tests.shared import REPO_DIR
from tests.webapp.experiments.conftest import make_dataset, succeed_job
from webapp.accounts.models import ApiToken
from webapp.operations.backup import EXCLUDED_MODELS
from webapp.experiments import services
from webapp.experiments.models import Prediction

HEAD = {"epochs": 3, "batch_size": 8, "hidden": [16], "dropout": [0.1], "learning_rate": 1e-3}


def run(args, env_data_dir: Path, check=True) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(REPO_DIR), "MENAGERIE_DATA_DIR": str(env_data_dir),
           "DJANGO_SETTINGS_MODULE": "webapp.settings", "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run([sys.executable, *args], cwd=REPO_DIR, env=env, capture_output=True, text=True,
                            timeout=300)
    if check:
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result


def rows(dump: str) -> list:
    return sorted(json.dumps(row, sort_keys=True) for row in json.loads(dump))


def files(root: Path) -> dict:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def installation(real_password_hashing, db, settings, tmp_path, django_user_model):
    """Teams, users with a permission and a token, a dataset with photos and a thumbnail, a job with a model
    folder and metrics, and a prediction with its photo."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.ARTIFACTS_DIR = tmp_path / "artifacts"
    settings.FEATURES_DIR = tmp_path / "features"
    lab = Group.objects.create(name="lab")
    ann = django_user_model.objects.create_user("ann", password="pw-12345-menagerie")
    ann.groups.add(lab)
    ann.user_permissions.add(Permission.objects.get(codename="delete_dataset"))
    ApiToken.create_for(user=ann, name="laptop")
    dataset = make_dataset("pets", lab, per_class=3)
    image = dataset.images.first()
    image.thumbnail.save("t.jpg", ContentFile(jpeg_bytes((1, 2, 3), 1, size=8)))
    job = succeed_job(services.job_create(dataset=dataset, user=ann, backbone="mobilenet_v2", weights="none",
                                          pooling="avg", input_size=32, head_config=HEAD))
    prediction = Prediction(job=job, content_hash="ab" * 32, original_name="cat.jpg", created_by=ann,
                            status="succeeded", label="cat", confidence=0.9)
    prediction.file.save("cat.jpg", ContentFile(jpeg_bytes((9, 9, 9), 2, size=16)))
    (Path(settings.FEATURES_DIR) / "x").mkdir(parents=True)
    (Path(settings.FEATURES_DIR) / "x" / "f.npy").write_bytes(b"cached features")
    return {"job": job}


def real_model(job, settings, tmp_path) -> Path:
    """Photos, and the job's model folder replaced by a real model trained on them by the CLI."""
    photos = make_class_folders(tmp_path / "photos", per_class=4)
    run_cli("train", photos, "--out", Path(settings.ARTIFACTS_DIR) / job.artifact_dir, "--cache", tmp_path / "cache",
            "--backbone", "mobilenet_v2", "--weights", "none", "--input-size", "32", "--pooling", "avg", "--epochs",
            "2", "--hidden", "8", "--dropout", "0.1")
    return photos


@pytest.mark.slow
def test_backup_and_restore_on_a_fresh_data_folder_give_back_every_row_and_file(installation, settings, tmp_path):
    photos = real_model(installation["job"], settings, tmp_path)
    archive = tmp_path / "menagerie.tar.gz"
    call_command("backup", str(archive))
    restored = tmp_path / "restored"
    out = run(["manage.py", "restore", str(archive)], restored)
    assert "Restored the database" in out.stdout

    dump = run(["manage.py", "dumpdata", "--natural-foreign", "--natural-primary",
                *[f"--exclude={m}" for m in EXCLUDED_MODELS]], restored).stdout
    buffer = io.StringIO()
    call_command("dumpdata", natural_foreign=True, natural_primary=True, exclude=EXCLUDED_MODELS, stdout=buffer)
    assert rows(dump) == rows(buffer.getvalue()) and len(json.loads(dump)) > 20
    assert files(restored / "media") == files(Path(settings.MEDIA_ROOT))
    assert files(restored / "artifacts") == files(Path(settings.ARTIFACTS_DIR))
    assert not (restored / "features").exists() or not files(restored / "features")  # not asked for

    token_hash = ApiToken.objects.get().key_hash
    run_dir = installation["job"].artifact_dir
    photos = [str(p) for p in sorted(photos.rglob("*.*"))[:6]]
    from classifier.predict import Predictor

    before = Predictor.from_run_dir(Path(settings.ARTIFACTS_DIR) / run_dir).probabilities(photos)
    after = Predictor.from_run_dir(restored / "artifacts" / run_dir).probabilities(photos)
    assert len(after) == 6 and np.abs(before - after).max() <= 1e-6

    # The restored user logs in with the old password, and the token still works (hashes came back).
    check = run(["manage.py", "shell", "-c",
                 "from django.contrib.auth.models import User; from webapp.accounts.models import ApiToken;"
                 "print(User.objects.get(username='ann').check_password('pw-12345-menagerie'),"
                 f" ApiToken.objects.get().key_hash == '{token_hash}')"], restored)
    assert check.stdout.split()[-2:] == ["True", "True"]


def test_the_feature_cache_is_included_only_on_request_and_restore_refuses_a_database_in_use(installation,
                                                                                               settings, tmp_path):
    archive = tmp_path / "with-features.tar"
    call_command("backup", str(archive), "--features")
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "features/x/f.npy" in names and "database.json" in names and "manifest.json" in names
    assert any(name.startswith("media/datasets/") for name in names)
    assert not any(name.startswith("media/") and "secret" in name for name in names)
    with pytest.raises(CommandError, match="not empty"):
        call_command("restore", str(archive))  # this test database has users and datasets
