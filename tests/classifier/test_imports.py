import subprocess
import sys

from tests.shared import REPO_DIR

MODULES = ["classifier", "classifier.backbones", "classifier.images", "classifier.features", "classifier.head",
           "classifier.train", "classifier.evaluate", "classifier.model_io", "classifier.predict",
           "classifier.data", "classifier.cli", "classifier.inference", "classifier.preprocessing",
           "classifier.bundle", "classifier.labelling"]


def test_importing_the_core_loads_neither_tensorflow_nor_web_code():
    code = (f"import sys\nfor m in {MODULES!r}: __import__(m)\n"
            "heavy = sorted(m for m in ('tensorflow', 'keras', 'django', 'celery', 'webapp', 'workers') "
            "if m in sys.modules)\nassert not heavy, heavy\n")
    subprocess.run([sys.executable, "-c", code], cwd=REPO_DIR, check=True, timeout=60)


def test_cli_help_is_light():
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "classifier", "train", "--help"],
                         cwd=REPO_DIR, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    assert "--backbone" in out.stdout and "--split" in out.stdout
    assert "tensorflow" not in out.stderr
