import subprocess
import sys

from tests.shared import REPO_DIR


def test_the_datasets_app_never_imports_tensorflow(tmp_path):
    code = (
        "import sys, django; django.setup(); "
        "import webapp.datasets.admin, webapp.datasets.views, webapp.datasets.services, webapp.urls; "
        "import webapp.datasets.management.commands.import_dataset; "
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'TF imported'"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_DIR, capture_output=True, text=True,
                            env={"DJANGO_SETTINGS_MODULE": "webapp.settings", "PATH": "/usr/bin:/bin",
                                 "HOME": str(REPO_DIR), "MENAGERIE_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
