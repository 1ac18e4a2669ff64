"""Which backbone a job, an audit or a CLI command uses when nobody names one: one rule
(classifier.backbones.choose_backbone), the one whose ImageNet weights are there, and the CLI says which."""

import json

from classifier.backbones import BACKBONES, cached_backbones, choose_backbone
from tests.classifier.conftest import make_class_folders
from tests.classifier.test_cli_predict_export import run_cli
from tests.shared import MOBILENET_V2_LEGACY_FILE, shared_path


def test_the_article_backbone_first_else_the_first_with_weights_else_the_one_whose_error_says_what_to_put_where():
    assert choose_backbone({"vgg16", "mobilenet_v2"}) == "vgg16"
    assert choose_backbone({"efficientnet_b0", "mobilenet_v2"}) == "mobilenet_v2"  # registry order
    assert choose_backbone(set()) == "vgg16"
    assert choose_backbone({"vgg16", "resnet50"}, "resnet50") == "resnet50"  # a preference (an audit's setting)
    assert choose_backbone({"mobilenet_v2"}, "resnet50") == "mobilenet_v2"
    assert choose_backbone(set(), "resnet50") == "resnet50"


def test_cached_backbones_are_those_whose_imagenet_file_is_in_the_keras_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert cached_backbones() == []
    (tmp_path / "models").mkdir()
    for name in ("efficientnet_b0", "resnet50"):
        (tmp_path / "models" / BACKBONES[name].imagenet_file).write_bytes(b"weights")
    assert cached_backbones() == ["resnet50", "efficientnet_b0"]


def test_cli_audit_and_train_pick_a_backbone_with_weights_and_say_which(tmp_path, monkeypatch):
    """Only MobileNetV2's ImageNet weights here (an offline install): no command falls back on VGG16's missing ones."""
    weights = shared_path("weights", MOBILENET_V2_LEGACY_FILE)
    (tmp_path / "keras" / "models").mkdir(parents=True)
    (tmp_path / "keras" / "models" / MOBILENET_V2_LEGACY_FILE).symlink_to(weights)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    data = make_class_folders(tmp_path / "data", per_class=6)
    said = "backbone mobilenet_v2 (the first whose ImageNet weights are in"

    printed = run_cli("audit", data, "--cache", tmp_path / "cache", "--input-size", "64")
    assert said in printed and "vgg16's are not" in printed
    printed = run_cli("train", data, "--out", tmp_path / "run", "--cache", tmp_path / "cache", "--recipe", "article",
                      "--pooling", "avg", "--input-size", "64", "--epochs", "1", "--split", "0.5,0.25,0.25")
    assert said in printed
    assert json.loads((tmp_path / "run" / "model.json").read_text())["spec"]["backbone"] == "mobilenet_v2"
