"""Download a dataset as a zip of class folders with its splits (train/validation/test/<class>/...): read back by
the import and by the CLI's layout rule, the same photos get the same classes and splits (labels made in the app
leave with the team). The unlabelled pool and excluded photos stay behind."""

import io
import zipfile

from django.urls import reverse

from classifier.data import folder_splits
from tests.labelling import add_pool_photo
from tests.webapp.datasets.conftest import photo_bytes, zip_bytes
from webapp.datasets.models import Image
from webapp.datasets.services import dataset_import_zip, images_exclude, images_label, label_get_or_create


def _labelled(dataset) -> set[tuple[str, str, str]]:
    return set(Image.objects.labelled().filter(dataset=dataset, excluded=False)
               .values_list("content_hash", "label__name", "split"))


def test_a_downloaded_dataset_imports_back_with_the_same_classes_and_splits(client, team, member, tmp_path):
    names = [f"{split}/{name}/{i}.jpg" for split, count in (("train", 3), ("validation", 1), ("test", 1))
             for name in ("cats", "dogs") for i in range(count)]
    entries = {name: photo_bytes(10_000 + n) for n, name in enumerate(names)}
    entries["train/cats/same.jpg"] = photo_bytes(20_001)
    entries["test/cats/same.jpg"] = photo_bytes(20_002)  # the same name in two splits
    dataset = dataset_import_zip(archive=zip_bytes(entries), user=member, name="pets", team=team).dataset
    pool = [add_pool_photo(dataset, photo_bytes(30_000 + i), "same.jpg") for i in range(3)]
    birds = label_get_or_create(dataset=dataset, name="birds")
    images_label(images=Image.objects.filter(pk__in=[p.pk for p in pool[:2]]), label=birds, user=member)
    images_exclude(images=Image.objects.filter(dataset=dataset, original_name="train/dogs/0.jpg"), user=member)
    expected = _labelled(dataset)
    assert len(expected) == 13  # 12 imported - 1 excluded + 2 labelled in the app; the third pool photo stays

    client.force_login(member)
    response = client.get(reverse("datasets:download", args=[dataset.pk]))
    assert response["Content-Type"] == "application/zip" and 'filename="pets.zip"' in response["Content-Disposition"]
    data = b"".join(response.streaming_content)
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert len(names) == 13 and all(name.split("/")[0] in ("train", "validation", "test") for name in names)
    assert len([n for n in names if n.endswith("/birds/same.jpg")]) == 1  # two of one name: told apart by hash

    back = dataset_import_zip(archive=io.BytesIO(data), user=member, name="pets-again", team=team)
    assert back.rejected == [] and _labelled(back.dataset) == expected

    folder = tmp_path / "unzipped"
    zipfile.ZipFile(io.BytesIO(data)).extractall(folder)
    splits, hashes = folder_splits(folder)
    assert {(hashes[path], label, split) for split, by_label in splits.items()
            for label, paths in by_label.items() for path in paths} == expected


def test_another_team_cannot_download_it(client, dataset, outsider):
    client.force_login(outsider)
    assert client.get(reverse("datasets:download", args=[dataset.pk])).status_code == 404
