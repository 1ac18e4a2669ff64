"""The web app's folder import and the CLI split the same folder the same way, file by file
(one rule: classifier.data.split_assign)."""

from classifier.data import discover, split_items
from tests.webapp.datasets.test_import_folder import make_folder
from webapp.datasets.models import Image
from webapp.datasets.services import dataset_import_folder


def test_web_import_and_cli_assign_the_same_split_to_each_file(team, tmp_path):
    # Sizes where the two old rules differed: 3 (old web: all train), 25 and 45 (half-way roundings).
    folder = make_folder(tmp_path / "photos", {"cats": 3, "dogs": 25, "owls": 45})
    fractions = (0.7, 0.1, 0.2)
    dataset_import_folder(path=folder, name="pets", team=team, fractions=fractions)
    web = dict(Image.objects.values_list("original_name", "split"))

    cli = {}
    for split, by_label in split_items(discover(folder)["all"], fractions).items():
        for paths in by_label.values():
            cli.update({str(p.relative_to(folder)): split for p in paths})
    assert len(web) == 73 and web == cli
    assert sorted(web.values()).count("test") == 1 + 5 + 9  # 0.6 -> 1 (minimum one), 5.0, 9.0
