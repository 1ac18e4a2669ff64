"""Fault test (issue "Hardening" item 1): an import process killed with SIGKILL mid-import, a restart that makes
another team's dataset (SQLite may hand it the same id), then `media_orphans --delete`: no file without a row,
and no team can fetch another team's file."""

import io
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from PIL import Image as PILImage

from tests.processes import child_env, wait_for
from tests.shared import REPO_DIR
from webapp.datasets.models import Dataset, Image

pytestmark = pytest.mark.slow


def _noise_jpeg(seed: int, size: int = 192) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 255, (size, size, 3), dtype="uint8")
    out = io.BytesIO()
    PILImage.fromarray(pixels).save(out, format="JPEG", quality=90)
    return out.getvalue()


def _zip(path: Path, classes: dict[str, int], seed: int) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for class_name, count in classes.items():
            for i in range(count):
                seed += 1
                zf.writestr(f"{class_name}/{i:04d}.jpg", _noise_jpeg(seed))
    return path


def _import(zip_path: Path, name: str, team: str, media_root: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "import_dataset", str(zip_path), "--name", name, "--team", team, "--json"],
        cwd=REPO_DIR, env=child_env(MEDIA_ROOT=str(media_root)), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_a_killed_import_leaves_no_file_that_anyone_can_fetch(transactional_db, tmp_path, media_root):
    big = _zip(tmp_path / "big.zip", {"cats": 400, "dogs": 400}, seed=0)
    small = _zip(tmp_path / "small.zip", {"birds": 3}, seed=10_000)

    killed = _import(big, "pets", "Lab", media_root)
    wait_for(lambda: killed.poll() is not None or len(_files(media_root)) >= 40, timeout=120,
             message="the import to write some files")
    assert killed.poll() is None, "the import ended before it could be killed; make the zip bigger"
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=30)
    assert _files(media_root) and not Image.objects.exists()  # files on disk, no rows

    restarted = _import(small, "birds", "Other", media_root)  # another team's dataset after the restart
    out, err = restarted.communicate(timeout=120)
    assert restarted.returncode == 0, err.decode()[-2000:]
    cleanup = subprocess.run([sys.executable, "manage.py", "media_orphans", "--delete", "--stale-after", "0"],
                             cwd=REPO_DIR, env=child_env(MEDIA_ROOT=str(media_root)), capture_output=True,
                             text=True, timeout=120)
    assert cleanup.returncode == 0, cleanup.stderr[-2000:]

    owners = {}
    for image in Image.objects.select_related("dataset__team"):
        owners[image.file.name] = owners[image.thumbnail.name] = image.dataset.team.name
    assert _files(media_root) == sorted(owners) and len(owners) == 6  # no file without a row

    clients = {}
    for team_name in ("Lab", "Other"):
        user = User.objects.create_user(f"user-{team_name}")
        user.groups.add(Group.objects.get_or_create(name=team_name)[0])
        clients[team_name] = Client()
        clients[team_name].force_login(user)
    for name, owner in owners.items():
        for team_name, client in clients.items():
            assert client.get(f"/media/{name}").status_code == (200 if team_name == owner else 404), (name, team_name)
    assert list(Dataset.objects.values_list("name", flat=True)) == ["birds"]
