"""The import rules (.importlinter): the web app never imports the workers; classifier/ never imports django,
celery, webapp or workers. Checked statically on the source, so an import inside a function counts too."""

from tests.shared import REPO_DIR


def test_the_import_contracts_hold(monkeypatch, capsys):
    from importlinter.cli import lint_imports

    monkeypatch.chdir(REPO_DIR)
    monkeypatch.syspath_prepend(str(REPO_DIR))
    code = lint_imports(config_filename=str(REPO_DIR / ".importlinter"), no_cache=True)
    assert code == 0, capsys.readouterr().out
