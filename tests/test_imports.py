"""The import rules (.importlinter): the web app never imports the workers; classifier/ never imports django,
celery, webapp or workers. Checked statically on the source, so an import inside a function counts too."""

import subprocess
import sys
from pathlib import Path

from tests.shared import REPO_DIR


def test_the_import_contracts_hold():
    # In its own process: import-linter prints through a console bound to the sys.stderr it first saw, which an
    # earlier test's capture may have closed.
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint), "--no-cache", "--config", ".importlinter"], cwd=REPO_DIR,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
