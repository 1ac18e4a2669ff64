"""Precision auto (issue 24 item 2): bfloat16 where it was measured clearly faster, float32 elsewhere; the CLI
measures once per backbone, input size and CPU and keeps the answer in its cache folder."""

import json

from classifier import precision
from classifier.cli import main
from tests.classifier.conftest import make_class_folders

FAST = {"float32": 7.4, "bfloat16": 13.9}  # a CPU with AVX512-BF16 (issue 24's figures, VGG16)
SLOW = {"float32": 7.4, "bfloat16": 3.1}  # an AVX2 CPU: bfloat16 emulated


def test_bfloat16_only_where_every_machine_measured_it_clearly_faster():
    assert precision.choose([FAST])[0] == "bfloat16"
    assert "1.88x faster" in precision.choose([FAST])[1]
    assert precision.choose([SLOW])[0] == "float32"
    assert precision.choose([FAST, SLOW])[0] == "float32"  # chunks are shared: one precision for all
    assert precision.choose([{"float32": 7.4, "bfloat16": 7.6}])[0] == "float32"  # a tie is noise
    assert precision.choose([])[0] == "float32"
    assert "no measurement" in precision.choose([])[1]


def test_a_precision_asked_for_is_kept_without_measuring(tmp_path):
    assert precision.resolve_cached("bfloat16", "vgg16", tmp_path) == ("bfloat16", "asked for")
    assert not (tmp_path / "precision.json").exists()


def test_auto_measures_once_then_uses_the_measurement_kept_in_the_cache_folder(tmp_path):
    chosen, why = precision.resolve_cached("auto", "vgg16", tmp_path, input_size=32)
    kept = json.loads((tmp_path / "precision.json").read_text())
    [(key, speeds)] = kept.items()
    assert key.startswith("vgg16 32px on ") and set(speeds) == {"float32", "bfloat16"}
    assert (chosen, why) == precision.choose([speeds])
    # what is kept decides next time (here: made to say bfloat16 is much faster), nothing is measured again
    (tmp_path / "precision.json").write_text(json.dumps({key: FAST}))
    assert precision.resolve_cached("auto", "vgg16", tmp_path, input_size=32)[0] == "bfloat16"
    assert json.loads((tmp_path / "precision.json").read_text()) == {key: FAST}


def test_the_cli_trains_in_the_precision_auto_resolves_to(tmp_path, capsys):
    data = make_class_folders(tmp_path / "data", per_class=4)
    key = f"vgg16 32px on {precision.cpu_id()}"
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "precision.json").write_text(json.dumps({key: FAST}))
    assert main(["train", str(data), "--out", str(tmp_path / "run"), "--cache", str(tmp_path / "cache"),
                 "--split", "0.5,0.25,0.25", "--recipe", "article", "--backbone", "vgg16", "--weights", "none",
                 "--input-size", "32", "--pooling", "avg", "--epochs", "1", "--hidden", "8", "--dropout", "0.1",
                 "--precision", "auto"]) == 0
    assert "precision bfloat16 (auto: bfloat16, 1.88x faster" in capsys.readouterr().out
    run = json.loads((tmp_path / "run" / "model.json").read_text())
    assert run["spec"]["precision"] == "bfloat16"
    assert [p.name for p in (tmp_path / "cache").iterdir() if p.is_dir()] == [
        p.name for p in (tmp_path / "cache").iterdir() if p.is_dir() and "-bfloat16-" in p.name]
