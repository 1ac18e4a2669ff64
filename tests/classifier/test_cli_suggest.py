"""`python -m classifier suggest DATA_DIR UNLABELLED_DIR`: suggestions with confidence for loose photos and the
photos to label next, on tiny generated photos. Their features are put in the cache first (a noisy colour
embedding per photo), so the command extracts nothing and never loads a backbone: extraction has its own tests."""

import json
import shutil

import numpy as np
import pytest

from classifier.features import FeatureCache
from classifier.files import content_hash
from classifier.labelling import labelling_spec
from tests.classifier.conftest import COLORS, make_class_folders, make_image
from tests.classifier.test_cli_predict_export import run_cli

TINY = ["--backbone", "vgg16", "--weights", "none", "--input-size", "32"]
SPEC = labelling_spec(None, input_size=32, backbone="vgg16")


def cache_colour_features(cache: FeatureCache, folder) -> None:
    rng = np.random.default_rng(0)
    for path in sorted(folder.rglob("*.*")):
        colour = next((c for c, label in enumerate(COLORS) if path.name.startswith(label)), None)
        if colour is None:  # the copy of a labelled photo (same hash) and the hidden file (never read)
            continue
        feature = np.abs(rng.normal(0, 0.3, SPEC.shape))
        feature[colour * 10:(colour + 1) * 10] += 1.0
        cache.save(SPEC, content_hash(path), feature)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("suggest")
    data = make_class_folders(root / "data", per_class=4)
    loose = root / "loose"
    for c, (label, color) in enumerate(COLORS.items()):
        for i in range(3):
            make_image(loose / ("nested" if i == 2 else "") / f"{label}_{i}.jpg", color, 9000 + c * 100 + i)
    shutil.copy(data / "red" / "red0.jpg", loose / "already_labelled.jpg")
    (loose / ".hidden.jpg").write_bytes(b"not a photo")
    for folder in (data, loose):
        cache_colour_features(FeatureCache(root / "cache"), folder)
    return root, data, loose


def test_cli_suggest_writes_a_class_and_confidence_for_every_unlabelled_photo(folders):
    root, data, loose = folders
    out = root / "out.json"
    printed = run_cli("suggest", data, loose, "--json", out, "--next", 4, "--cache", root / "cache", *TINY)
    result = json.loads(out.read_text())
    assert result["class_names"] == sorted(COLORS) and result["labelled"] == 12
    by_name = {row["path"].rsplit("/", 1)[1]: row for row in result["suggestions"]}
    assert sorted(by_name) == sorted(f"{label}_{i}.jpg" for label in COLORS for i in range(3))  # not the copy
    for name, row in by_name.items():
        assert row["suggested"] == name.split("_")[0]
        assert 0 < row["confidence"] <= 1 and row["confidence"] == max(row["probabilities"].values())
    assert set(result["bulk_accept"]) >= {"min_confidence", "expected_error", "photos", "heldout_accuracy"}
    assert len(result["next"]) == len(set(result["next"])) == 4
    assert all(path in {row["path"] for row in result["suggestions"]} for path in result["next"])
    assert "1 unlabelled photos are also labelled: left out" in printed and "label next" in printed
    assert "0 extracted, 21 cached" in printed


def test_cli_suggest_with_too_few_labels_lists_photos_that_cover_the_pool(folders):
    root, data, loose = folders
    few = root / "few"
    for label in COLORS:  # one labelled photo per class: no suggestions yet
        (few / label).mkdir(parents=True)
        shutil.copy(data / label / f"{label}0.jpg", few / label)
    out = root / "few.json"
    printed = run_cli("suggest", few, loose, "--json", out, "--next", 3, "--cache", root / "cache", *TINY)
    result = json.loads(out.read_text())
    assert result["suggestions"] is None and "no suggestions" in printed
    assert result["strategy"] == "cover" and len(set(result["next"])) == 3
