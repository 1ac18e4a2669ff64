"""The recommended recipe's views sized by the photos: one at their own size for photos a little larger than the
input; a second view at their own size for small photos, chosen by the head search only when it pays, and one model
that the predictor, Grad-CAM and every bundle format run alike."""

import re

import numpy as np
import pytest

from classifier.features import FeatureCache, extract, load_views
from classifier.images import longer_sides
from classifier.recipes import feature_specs, own_size_view, second_view_size, train_recommended
from tests.classifier.conftest import COLORS, items_of, make_class_folders


def test_a_second_view_joins_only_small_photos_at_the_automatic_input_size():
    assert second_view_size([128] * 5, 224) == 128  # flowers: 128 px photos
    assert second_view_size([120, 130, 900], 224) == 128  # the median decides
    assert second_view_size([168], 224) == 160 and second_view_size([40], 224) == 96  # rounded, never below 96
    assert second_view_size([180], 224) is None and second_view_size([256], 224) is None  # near the input or bigger
    assert second_view_size([], 224) is None
    small = [100] * 4
    assert [s.size for s in feature_specs("recommended", "mobilenet_v2", None, photo_sides=small)] == [224, 96]
    assert [s.size for s in feature_specs("recommended", "mobilenet_v2", None, photo_sides=[400])] == [224]
    assert [s.size for s in feature_specs("recommended", "mobilenet_v2", None, input_size=160,
                                          photo_sides=small)] == [160]  # a chosen size is the only one
    assert len(feature_specs("article", "mobilenet_v2", None, photo_sides=small)) == 1


def test_photos_a_little_larger_than_the_input_are_seen_at_their_own_size_and_bigger_ones_at_the_input():
    assert own_size_view([256] * 5, 224) == 256  # caltech_animals, animals3: 256 px photos
    assert own_size_view([250, 260, 40], 224) == 256  # the median decides
    assert own_size_view([230], 224) is None  # rounds to the input's own side
    assert own_size_view([270], 224) is None and own_size_view([1024], 224) is None  # resized to the input
    assert own_size_view([], 224) is None
    photos = [256] * 4
    assert [s.size for s in feature_specs("recommended", "mobilenet_v2", None, photo_sides=photos)] == [256]
    assert [s.size for s in feature_specs("recommended", "mobilenet_v2", None, input_size=224,
                                          photo_sides=photos)] == [224]  # a chosen size is kept
    assert [s.size for s in feature_specs("article", "mobilenet_v2", None, photo_sides=photos)] == [224]


def _maps(specs, y, informative: int, seed: int = 0) -> list[np.ndarray]:
    """Random maps per view; the view `informative` also carries the class as a strong offset on a few channels."""
    rng = np.random.default_rng(seed)
    maps = [rng.normal(0, 1, (len(y), *s.shape)).astype("float32") for s in specs]
    maps[informative][..., :8] += 3.0 * (y[:, None, None, None] - 1)
    return maps


@pytest.mark.slow  # two head searches (seconds each); make test runs it
@pytest.mark.parametrize("informative, chosen", [(1, "224+96 px"), (0, "224 px")])
def test_the_search_keeps_the_second_view_only_when_it_lowers_the_out_of_fold_loss(informative, chosen):
    specs = feature_specs("recommended", "mobilenet_v2", None, photo_sides=[64] * 3)
    y = np.arange(60) % 3
    out = train_recommended(specs, _maps(specs, y, informative), y, num_classes=3, fine_tuning="never")
    assert {t["views"] for t in out["trials"]} == {"224 px", "224+96 px"}
    best = min(out["trials"], key=lambda t: t["cv_log_loss"])
    assert out["chosen"]["views"] == best["views"] == chosen and best["chosen"]
    assert out["views"] == len(chosen.split("+"))
    assert len(out["head"].inputs) == out["views"]  # the saved head takes what was chosen, nothing more


def _two_view_run(root, paths: list, y, class_names: list[str], weights: str | None, temperature: float = 2.0):
    """A run of two views, its head fitted by the recipe's linear head on both views' pooled features, saved and
    exported as the app saves runs. Returns (specs, cache, extraction report)."""
    from classifier.images import content_hash
    from classifier.model_io import export_model, save_run
    from classifier.recipes import fit_linear, linear_weights, pooled_features, top_head, view_blocks

    items = [(content_hash(p), p) for p in paths]
    specs = feature_specs("recommended", "mobilenet_v2", weights, photo_sides=longer_sides(paths))
    cache = FeatureCache(root / "cache")
    report = extract(items, specs, cache)
    blocks = view_blocks(specs)
    maps = load_views(cache, specs, [h for h, _ in items])
    pooled = np.hstack([pooled_features(block, m) for block, m in zip(blocks, maps)])
    k = len(class_names)
    head = top_head(blocks, k, *linear_weights(fit_linear(pooled, y, C=1.0, num_classes=k), k))
    save_run(root / "run", head=head, spec=specs, class_names=class_names, config=None, recipe="recommended",
             calibration={"temperature": temperature, "threshold": 0.0})
    export_model(root / "run")
    return specs, cache, report


@pytest.fixture(scope="module")
def two_views(tmp_path_factory):
    """Small generated photos (48 px: a 96 px view joins 224) through a random-init MobileNetV2."""
    root = tmp_path_factory.mktemp("views")
    items = items_of(make_class_folders(root / "data", per_class=6))
    y = np.array([sorted(COLORS).index(p.parent.name) for _, p in items])
    specs, cache, report = _two_view_run(root, [p for _, p in items], y, sorted(COLORS), None)
    return {"root": root, "specs": specs, "cache": cache, "items": items, "report": report, "y": y}


@pytest.mark.slow  # the two-view run (module fixture)
def test_extraction_reads_each_photo_once_and_caches_every_view(two_views):
    specs, cache, items = two_views["specs"], two_views["cache"], two_views["items"]
    assert [s.size for s in specs] == [224, 96]
    assert two_views["report"].extracted == len(items)  # progress and counts are per photo, not per view
    assert all(cache.has(s, h) for s in specs for h, _ in items)
    again = extract(items, specs, cache)
    assert again.cached == len(items) and again.extracted == 0


@pytest.mark.slow  # the two-view run (module fixture)
def test_the_predictor_and_grad_cam_run_the_saved_two_view_model(two_views):
    from PIL import Image

    from classifier.gradcam import gradcam
    from classifier.model_io import load_head, load_run
    from classifier.predict import Predictor

    run_dir, items = two_views["root"] / "run", two_views["items"]
    assert [s.size for s in load_run(run_dir)["views"]] == [224, 96]
    predictor = Predictor.from_run_dir(run_dir)
    assert predictor.sizes == [224, 96]
    paths = [p for _, p in items]
    got = predictor.probabilities(paths)
    on_cache = load_head(run_dir).predict(load_views(two_views["cache"], two_views["specs"], [h for h, _ in items]),
                                          verbose=0)
    np.testing.assert_allclose(got, on_cache, atol=1e-5)  # the photo path equals the cached features' path
    assert (got.argmax(1) == two_views["y"]).mean() == 1.0
    explained = gradcam(predictor, paths[0])
    assert explained["heatmap"].shape == Image.open(paths[0]).size[::-1]
    assert explained["probability"] == pytest.approx(float(got[0].max()), abs=1e-5)
    assert 0.0 <= explained["heatmap"].min() and explained["heatmap"].max() == pytest.approx(1.0, abs=1e-6)


@pytest.mark.slow  # the real ImageNet MobileNetV2 and every export conversion
def test_every_bundle_format_answers_as_the_app_for_two_views_of_real_flowers(tmp_path):
    """Mandatory in CI: flowers' 128 px photos (a 128 px view joins 224) through the real ImageNet MobileNetV2."""
    from classifier.bundle import export_bundle
    from classifier.predict import Predictor
    from tests.classifier.test_bundle import TOLERANCE, _answers_here, _unzip
    from tests.shared import MOBILENET_V2_LEGACY_FILE, shared_path

    shared_path("weights", MOBILENET_V2_LEGACY_FILE)
    source = shared_path("datasets", "flowers")
    labels = ["daisy", "dandelion", "rose"]
    paths = [p for label in labels for p in sorted((source / label).iterdir())[:8]]
    y = np.array([labels.index(p.parent.name) for p in paths])
    specs, _, _ = _two_view_run(tmp_path, paths, y, labels, "imagenet", temperature=1.0)
    assert [s.size for s in specs] == [224, 128]
    result = export_bundle(tmp_path / "run", tmp_path / "bundle.zip", photos=paths)
    assert not any(status.startswith("not included") for status in result["formats"].values()), result
    folder = _unzip(tmp_path / "bundle.zip", tmp_path / "unzipped")
    assert "input 224 + 128 px" in (folder / "MODEL_CARD.md").read_text()
    photos = [sorted((source / label).iterdir())[-i] for label in labels for i in (1, 2)]  # not trained on
    app = Predictor.from_run_dir(tmp_path / "run").probabilities(photos)
    for fmt, got in _answers_here(folder, photos).items():  # predict.py's code
        if fmt == "tflite-int8":  # approximate: int8 activations of this backbone's last block flip close calls
            np.testing.assert_allclose(got.sum(1), 1.0, atol=0.02)  # (one view alike: 13 % of 30 flowers photos)
            assert np.abs(got - app).mean() < 0.15 and (got.argmax(1) == app.argmax(1)).mean() >= 0.5
        else:
            assert list(got.argmax(1)) == list(app.argmax(1)), fmt
            np.testing.assert_allclose(got, app, atol=TOLERANCE[fmt] * 10, err_msg=fmt)


@pytest.mark.slow  # a whole CLI training with its search
def test_the_cli_extracts_both_views_of_small_photos_and_saves_the_ones_the_search_chose(tmp_path):
    import json

    from tests.classifier.test_cli_predict_export import run_cli

    data = make_class_folders(tmp_path / "data", per_class=8)
    output = run_cli("train", data, "--out", tmp_path / "run", "--cache", tmp_path / "cache", "--split",
                     "0.5,0.25,0.25", "--backbone", "mobilenet_v2", "--weights", "none", "--fine-tuning", "never",
                     "--precision", "float32")
    assert "views 224 px" in output and "views 224+96 px" in output  # both scored by the search
    meta = json.loads((tmp_path / "run" / "model.json").read_text())
    chosen = meta["chosen"]["views"]
    assert [v["input_size"] for v in meta["views"]] == [int(s) for s in chosen.removesuffix(" px").split("+")]
    photo = sorted((data / "red").iterdir())[0]
    answer = run_cli("predict", tmp_path / "run", photo)  # the label, or "unsure" below the fitted threshold
    assert f"{photo}: red" in answer or f"{photo}: unsure, best guess red" in answer, answer
    assert "accuracy" in run_cli("evaluate", tmp_path / "run", data, "--cache", tmp_path / "cache")


@pytest.mark.slow  # the two-view run (module fixture)
def test_the_cli_evaluates_and_predicts_with_a_two_view_run(two_views):
    from tests.classifier.test_cli_predict_export import run_cli

    root = two_views["root"]
    output = run_cli("evaluate", root / "run", root / "data", "--cache", root / "cache")
    assert re.search(r"accuracy\s+1\.000\s+18\n", output), output  # all 18 photos, through both views
    photo = sorted((root / "data" / "green").iterdir())[-1]
    assert f"{photo}: green" in run_cli("predict", root / "run", photo)


@pytest.mark.slow  # two CLI trainings, the second with a fine-tuning trial
def test_the_cli_leaves_a_trial_that_can_pay_to_a_second_train_that_reuses_the_search(tmp_path):
    """Labels as noise: the first train answers with the linear head and says fine-tuning could pay; the same
    command with --fine-tuning now reuses the cached decision (no search) and runs only the trial."""
    from tests.classifier.test_cli_predict_export import run_cli
    from tests.images import jpeg_bytes

    data = tmp_path / "data"
    for i in range(72):  # the same grey in every class: nothing to learn
        (data / "abc"[i % 3]).mkdir(parents=True, exist_ok=True)
        (data / "abc"[i % 3] / f"{i}.jpg").write_bytes(jpeg_bytes((120, 120, 120), 7070 + i))
    args = ["train", data, "--out", tmp_path / "run", "--cache", tmp_path / "cache", "--backbone", "vgg16",
            "--weights", "none", "--input-size", "32", "--precision", "float32"]
    first = run_cli(*args)
    assert "skipped left to a follow-up" in first and "fine-tuning the last block could pay here" in first
    assert "(fine-tuning)" not in first  # no epoch ran
    second = run_cli(*args, "--fine-tuning", "now")
    assert "reused the decision of the cache" in second and "epoch 1 (fine-tuning)" in second
    assert "p_value" in second and "could pay here" not in second
