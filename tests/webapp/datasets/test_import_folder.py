"""`manage.py import_dataset PATH --name NAME [--team TEAM]`: server folders, progress, resuming."""

import io
import json
import os

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from tests.webapp.datasets.conftest import photo_bytes, zip_bytes
from webapp.datasets.models import Dataset, Image
from webapp.datasets.services import dataset_import_folder


def make_folder(root, classes: dict[str, int], seed=0):
    n = seed
    for class_name, count in classes.items():
        (root / class_name).mkdir(parents=True)
        for i in range(count):
            n += 1
            (root / class_name / f"{i:03d}.jpg").write_bytes(photo_bytes(n))
    return root


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_dataset", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_command_imports_a_folder_prints_counts_and_a_progress_bar(db, tmp_path):
    folder = make_folder(tmp_path / "photos", {"cats": 20, "dogs": 10})
    (folder / "dogs" / "notes.txt").write_text("hello")
    (folder / "dogs" / "copy.jpg").write_bytes((folder / "dogs" / "000.jpg").read_bytes())
    out, err = run(str(folder), "--name", "pets", "--team", "Vision")

    dataset = Dataset.objects.get(name="pets")
    assert dataset.team.name == "Vision"
    assert Image.objects.filter(dataset=dataset, label__name="cats").count() == 20
    assert Image.objects.filter(dataset=dataset, label__name="dogs").count() == 10
    assert Image.objects.filter(dataset=dataset, label__name="cats", split="test").count() == 2
    assert "added 30 images" in out and "Skipped as duplicates: 1" in out
    assert "dogs/notes.txt: not an image" in out
    assert "importing" in err and "hashing" in err  # tqdm bars


def test_command_json_output_and_split_layout(db, tmp_path, settings):
    root = tmp_path / "split"
    make_folder(root / "train", {"cats": 4, "dogs": 4})
    make_folder(root / "test", {"cats": 1, "dogs": 2}, seed=100)
    out, _ = run(str(root), "--name", "s", "--json")
    report = json.loads(out)
    assert report["added"] == {"cats": {"train": 4, "validation": 0, "test": 1},
                               "dogs": {"train": 4, "validation": 0, "test": 2}}
    settings.DATASETS_DEFAULT_TEAM = "Lab"
    out, _ = run(str(root), "--name", "t", "--json")
    assert Dataset.objects.get(name="t").team.name == "Lab"


def test_command_imports_a_zip_file(db, tmp_path):
    path = tmp_path / "x.zip"
    path.write_bytes(zip_bytes({"cats/a.jpg": photo_bytes(1), "dogs/b.jpg": photo_bytes(2)}).getvalue())
    out, _ = run(str(path), "--name", "z", "--team", "Vision", "--json")
    assert json.loads(out)["total_added"] == 2


def test_command_reports_a_rejected_layout_as_an_error(db, tmp_path):
    (tmp_path / "deep" / "cats" / "inner").mkdir(parents=True)
    (tmp_path / "deep" / "cats" / "a.jpg").write_bytes(photo_bytes(1))
    (tmp_path / "deep" / "cats" / "inner" / "b.jpg").write_bytes(photo_bytes(2))  # not directly in a class
    with pytest.raises(CommandError, match="Expected one of these layouts"):
        run(str(tmp_path / "deep"), "--name", "bad")
    assert not Dataset.objects.exists()


def test_command_names_are_per_team_and_an_ambiguous_name_needs_the_team(db, tmp_path):
    folder = make_folder(tmp_path / "p", {"cats": 1})
    run(str(folder), "--name", "pets", "--team", "Vision")
    run(str(folder), "--name", "pets", "--team", "Other")  # another team's dataset of the same name
    assert sorted(Dataset.objects.values_list("team__name", flat=True)) == ["Other", "Vision"]
    assert all(d.images.count() == 1 for d in Dataset.objects.all())
    with pytest.raises(CommandError, match="Several teams have a dataset named 'pets'.*--team"):
        run(str(folder), "--name", "pets")


def test_symlinks_in_a_folder_are_not_followed(db, tmp_path):
    folder = make_folder(tmp_path / "p", {"cats": 2, "dogs": 1})
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(photo_bytes(99))
    os.symlink(secret, folder / "dogs" / "link.jpg")
    result = dataset_import_folder(path=folder, name="p", team=Group.objects.create(name="t"))
    assert result.total_added == 3 and result.rejected == [("dogs/link.jpg", "symbolic link (not followed)")]


class Interrupt(Exception):
    pass


def interrupt_after_first_batch(total, desc):
    class Bar:
        def update(self, n=1):
            if desc == "importing":
                raise Interrupt  # like Ctrl-C right after the first committed batch

        def close(self):
            pass

    return Bar()


def test_an_interrupted_import_resumes_and_assigns_the_same_splits(db, tmp_path):
    folder = make_folder(tmp_path / "p", {"cats": 25, "dogs": 15})
    team = Group.objects.create(name="t")
    with pytest.raises(Interrupt):
        dataset_import_folder(path=folder, name="resumed", team=team, batch_size=10,
                              progress=interrupt_after_first_batch)
    dataset = Dataset.objects.get(name="resumed")
    assert Image.objects.filter(dataset=dataset).count() == 10  # the first batch was committed

    result = dataset_import_folder(path=folder, dataset=dataset, batch_size=10)
    assert result.total_added == 30 and result.duplicates == 10
    assert Image.objects.filter(dataset=dataset).count() == 40

    dataset_import_folder(path=folder, name="straight", team=team)
    resumed = dict(Image.objects.filter(dataset=dataset).values_list("content_hash", "split"))
    straight = dict(Image.objects.filter(dataset__name="straight").values_list("content_hash", "split"))
    assert resumed == straight
