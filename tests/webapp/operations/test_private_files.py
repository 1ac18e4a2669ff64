"""The SQLite database (password hashes, sessions, webhook secrets) and backup archives are created 0600 under the
usual umask 022, like the secret key; a group or other user on the machine cannot read them."""

import os
import stat
import subprocess
import sys

import pytest
from django.contrib.auth.models import Group

from tests.shared import REPO_DIR
from webapp.operations.backup import backup_create

# A fresh process with umask 022 opens the default database in an empty data folder and writes to it (WAL mode:
# the -wal and -shm files appear), then lists each file's mode while the connection is still open.
OPEN_AND_WRITE = """
import os
os.umask(0o022)
import django
django.setup()
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("CREATE TABLE t (x integer)")
    cursor.execute("INSERT INTO t VALUES (1)")
folder = os.environ["MENAGERIE_DATA_DIR"]
for name in sorted(os.listdir(folder)):
    if name.startswith("db.sqlite3"):
        print(name, oct(os.stat(os.path.join(folder, name)).st_mode & 0o777))
"""


def test_the_default_sqlite_database_and_its_wal_files_are_created_0600(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(REPO_DIR), "DJANGO_SETTINGS_MODULE": "webapp.settings",
           "MENAGERIE_DATA_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", OPEN_AND_WRITE], cwd=REPO_DIR, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    modes = dict(line.split() for line in result.stdout.splitlines())
    assert {"db.sqlite3", "db.sqlite3-wal", "db.sqlite3-shm"} <= set(modes)
    assert set(modes.values()) == {"0o600"}, modes


@pytest.mark.django_db
def test_a_backup_archive_is_created_0600(tmp_path, media_root):
    Group.objects.create(name="lab")
    previous = os.umask(0o022)
    try:
        for name in ("backup.tar.gz", "backup.tar"):
            backup_create(out=tmp_path / name)
            assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name
    finally:
        os.umask(previous)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no partial file left
