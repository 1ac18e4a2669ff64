"""The CLI end to end on small generated datasets (both layouts), the Predictor and the standalone export."""

import contextlib
import io
import json
import subprocess
import sys

import numpy as np
import pytest

from classifier.cli import main
from classifier.images import ImageError, load_image
from classifier.predict import Predictor
from tests.classifier.conftest import COLORS, make_class_folders
from tests.shared import REPO_DIR

TINY = ["--recipe", "article", "--precision", "float32", "--backbone", "vgg16", "--weights", "none", "--input-size", "32", "--pooling", "avg",
        "--optimizer", "adam", "--lr", "3e-3", "--epochs", "15", "--hidden", "64", "--dropout", "0.1"]


def run_cli(*args) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main([str(a) for a in args]) == 0
    return out.getvalue()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A run trained on one folder per class (split 50/25/25), and the CLI's output."""
    root = tmp_path_factory.mktemp("cli")
    data = make_class_folders(root / "data", per_class=16)
    output = run_cli("train", data, "--out", root / "run", "--cache", root / "cache", "--split", "0.5,0.25,0.25",
                     *TINY)
    return {"root": root, "data": data, "run": root / "run", "cache": root / "cache", "output": output}


def test_train_on_class_folders_prints_epochs_report_and_writes_the_run(trained):
    output, run = trained["output"], trained["run"]
    assert "epoch 1/15: loss" in output and "epoch 15/15: loss" in output and "val_accuracy" in output
    assert "48 extracted, 0 cached, 0 skipped" in output
    assert "confusion matrix" in output and all(name in output for name in COLORS)
    assert {p.name for p in run.iterdir()} >= {"model.keras", "head.keras", "model.json", "history.json",
                                               "report.json", "features.json"}
    report = json.loads((run / "report.json").read_text())
    assert report["class_names"] == sorted(COLORS)
    assert sum(p["support"] for p in report["per_class"]) == 12  # 4 test images per class
    assert report["accuracy"] >= 0.9
    assert len(json.loads((run / "history.json").read_text())) == 15
    items = json.loads((run / "features.json").read_text())["items"]
    assert len(items) == 48 and {i["split"] for i in items} == {"train", "validation", "test"}
    meta = json.loads((run / "model.json").read_text())
    assert meta["spec"] == {"backbone": "vgg16", "weights": None, "pooling": "avg", "precision": "float32",
                            "input_size": 32, "stage": "output"}


def test_retraining_on_the_same_images_extracts_nothing(trained):
    output = run_cli("train", trained["data"], "--out", trained["root"] / "run2", "--cache", trained["cache"],
                     "--split", "0.5,0.25,0.25", *TINY)
    assert "0 extracted, 48 cached" in output


def test_train_on_the_articles_train_validation_test_layout(tmp_path):
    for split, n in (("train", 8), ("validation", 2), ("test", 3)):
        make_class_folders(tmp_path / "data" / split, per_class=n, seed=len(split))
    output = run_cli("train", tmp_path / "data", "--out", tmp_path / "run", "--cache", tmp_path / "cache", *TINY)
    assert "train 24, validation 6, test 9" in output
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert [p["support"] for p in report["per_class"]] == [3, 3, 3]


def test_evaluate_scores_the_saved_run_on_another_folder(trained):
    other = make_class_folders(trained["root"] / "other", per_class=4, seed=7)
    output = run_cli("evaluate", trained["run"], other, "--cache", trained["cache"])
    report = json.loads((trained["run"] / "evaluate-other.json").read_text())
    assert sum(p["support"] for p in report["per_class"]) == 12 and report["accuracy"] >= 0.9
    assert "confusion matrix" in output


def test_a_test_only_folder_is_evaluated_as_photos_of_its_classes_and_never_trained_on(trained, tmp_path, capsys):
    make_class_folders(tmp_path / "eval" / "test", per_class=2, seed=9)  # not a class named "test"
    output = run_cli("evaluate", trained["run"], tmp_path / "eval", "--cache", trained["cache"])
    assert "(6 images)" in output
    for folder, message in ((tmp_path / "eval", "evaluation-only folder (only test/): nothing to train on"),
                            (tmp_path / "eval" / "test" / "red", "unlabelled photos), which is not supported yet")):
        assert main(["train", str(folder), "--out", str(tmp_path / "run"), "--cache", str(trained["cache"]),
                     *TINY]) == 2
        assert message in capsys.readouterr().err


@pytest.mark.slow  # a fresh process loads TensorFlow
def test_predict_cli_prints_probabilities_and_the_decision(trained):
    image = trained["data"] / "green" / "green1.png"
    out = subprocess.run([sys.executable, "-m", "classifier", "predict", str(trained["run"]), str(image)],
                         cwd=REPO_DIR, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    first, *rest = out.stdout.strip().splitlines()
    assert first.startswith(f"{image}: green (")
    assert sorted(line.split()[0] for line in rest) == sorted(COLORS)


def test_predictor_sorts_probabilities_and_names_a_bad_image(trained):
    predictor = Predictor.from_run_dir(trained["run"])
    assert predictor.class_names == sorted(COLORS) and predictor.input_size == 32
    red = trained["data"] / "red" / "red3.png"
    [by_path, by_bytes] = predictor.predict([red, red.read_bytes()], top_k=2)
    # Same photo as a path and as bytes: same decision; probabilities equal up to float rounding (SIMD paths differ
    # between CPUs, e.g. AVX2 vs AVX-512).
    assert by_path["label"] == by_bytes["label"] == "red" and len(by_path["probabilities"]) == 2
    assert by_path["decision"] == by_bytes["decision"]
    assert [p["label"] for p in by_path["probabilities"]] == [p["label"] for p in by_bytes["probabilities"]]
    assert [p["probability"] for p in by_path["probabilities"]] == pytest.approx(
        [p["probability"] for p in by_bytes["probabilities"]], abs=1e-5)
    probabilities = [p["probability"] for p in predictor.predict([red])[0]["probabilities"]]
    assert probabilities == sorted(probabilities, reverse=True) and sum(probabilities) == pytest.approx(1, 1e-5)
    with pytest.raises(ImageError, match="image #2"):
        predictor.predict([red, b"not an image"])


FRESH_LOAD = """
import sys, numpy as np, keras
model = keras.saving.load_model(sys.argv[1])
assert not any(m.startswith("classifier") for m in sys.modules), "the export must not need project code"
photos = np.load(sys.argv[2], allow_pickle=True)  # decoded photos of different sizes: one at a time
np.save(sys.argv[3], np.concatenate([model.predict(p[None], verbose=0) for p in photos]))
"""


@pytest.mark.slow  # a fresh process loads TensorFlow
def test_exported_model_loads_in_a_fresh_process_and_matches_the_predictor(trained, tmp_path):
    paths = [trained["data"] / label / f"{label}{i}.{'png' if i % 2 else 'jpg'}" for label in COLORS
             for i in (0, 1)]
    photos = np.empty(len(paths), dtype=object)
    photos[:] = [load_image(p) for p in paths]
    assert photos[0].shape == (40, 48, 3)  # the model resizes by itself
    np.save(tmp_path / "images.npy", photos, allow_pickle=True)
    subprocess.run([sys.executable, "-c", FRESH_LOAD, str(trained["run"] / "model.keras"),
                    str(tmp_path / "images.npy"), str(tmp_path / "out.npy")], cwd=tmp_path, check=True,
                   timeout=120)
    expected = Predictor.from_run_dir(trained["run"]).probabilities(paths)
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), expected, atol=1e-5)


def test_train_without_cached_imagenet_weights_says_what_to_download(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    data = make_class_folders(tmp_path / "data", per_class=3)
    assert main(["train", str(data), "--out", str(tmp_path / "run"), "--cache", str(tmp_path / "cache")]) == 2
    error = capsys.readouterr().err
    assert "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5" in error and str(tmp_path / "keras" / "models") in error
    assert "Traceback" not in error


@pytest.mark.slow  # two recommended CLI trainings with their searches
def test_a_second_recommended_train_on_nearly_the_same_photos_reuses_the_cached_decision(tmp_path):
    data = make_class_folders(tmp_path / "data", per_class=12)
    tiny = ["--recipe", "recommended", "--backbone", "vgg16", "--weights", "none", "--input-size", "32",
            "--cache", tmp_path / "cache", "--split", "0.75,0,0.25"]
    first = run_cli("train", data, "--out", tmp_path / "run1", *tiny)
    assert "reused the decision" not in first and "trial views 32 px, head linear, C 0.0003" in first
    [decision] = (tmp_path / "cache" / "decisions").iterdir()
    assert len(json.loads(decision.read_text())["photos"]) == 27
    next(p for p in sorted((data / "red").iterdir())).unlink()  # one labelled or test photo excluded
    again = run_cli("train", data, "--out", tmp_path / "run2", *tiny)
    assert "0 extracted, 35 cached" in again
    assert "reused the decision of the cache" in again and again.count("head linear") == 1
    assert "reused_from the cache" in again  # the trials list says so too
    report = json.loads((tmp_path / "run2" / "report.json").read_text())
    assert report["search"]["chosen"]["reused_from"] == "the cache"
