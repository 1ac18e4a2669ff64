"""`python -m classifier audit` on real photos (../shared animals3, ImageNet MobileNetV2): flipped labels come out
on top, an altered copy in another dataset is a leak."""

import json

import pytest
from PIL import Image

from tests.classifier.test_cli_predict_export import run_cli
from tests.shared import MOBILENET_V2_LEGACY_FILE, shared_path

PER_CLASS = 30


@pytest.mark.slow  # real photos through the ImageNet MobileNetV2
def test_cli_audit_json_lists_the_flipped_photos_among_the_top_suspects(tmp_path):
    shared_path("weights", MOBILENET_V2_LEGACY_FILE)
    source = shared_path("datasets", "animals3")
    data = tmp_path / "data"
    flipped = []
    for label, wrong in (("cats", "panda"), ("dogs", "cats"), ("panda", "dogs")):
        (data / label).mkdir(parents=True, exist_ok=True)
        (data / wrong).mkdir(parents=True, exist_ok=True)
        photos = sorted((source / label).iterdir())[:PER_CLASS]
        for path in photos[:-1]:
            (data / label / path.name).symlink_to(path)
        (data / wrong / photos[-1].name).symlink_to(photos[-1])  # a cat filed under panda, ...
        flipped.append((str(data / wrong / photos[-1].name), wrong, label))
    # An evaluation set holding a resized, re-encoded copy of a training photo, and photos of its own.
    other = tmp_path / "evaluation"
    (other / "dogs").mkdir(parents=True)
    for path in sorted((source / "dogs").iterdir())[PER_CLASS:PER_CLASS + 4]:
        (other / "dogs" / path.name).symlink_to(path)
    original = sorted((source / "dogs").iterdir())[0]
    with Image.open(original) as im:
        im.convert("RGB").resize((im.width * 3 // 4, im.height * 3 // 4)).save(other / "dogs" / "copy.jpg", quality=60)
    out = tmp_path / "audit.json"
    printed = run_cli("audit", data, "--also", other, "--json", out, "--backbone", "mobilenet_v2", "--weights", "imagenet",
                      "--cache", tmp_path / "cache")
    result = json.loads(out.read_text())
    top = {issue["id"]: issue for issue in result["label_issues"][:5]}
    for path, given, true_label in flipped:
        assert path in top, (path, result["label_issues"][:5])
        assert (top[path]["given"], top[path]["suggested"]) == (given, true_label)
        assert path in printed
    assert result["classes"]["counts"] == {"cats": 30, "dogs": 30, "panda": 30}
    assert [leak["ids"] for leak in result["leaks"]] == [[str(data / "dogs" / original.name), str(other / "dogs" / "copy.jpg")]]
