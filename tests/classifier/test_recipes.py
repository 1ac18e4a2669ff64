"""The recipes, the out-of-fold component, calibration and the unsure answer."""

import json

import numpy as np
import pytest

from classifier.calibration import apply_temperature, expected_calibration_error, fit_temperature, unsure_threshold
from classifier.features import FeatureCache, extract
from classifier.oof import out_of_fold, stratified_folds
from classifier.predict import Predictor
from classifier.recipes import feature_spec, fit_linear, linear_probabilities
from classifier.workflow import train_and_evaluate
from tests.classifier.conftest import COLORS, items_of, make_class_folders
from tests.shared import MOBILENET_V2_LEGACY_FILE, shared_path


def _blobs(n_per_class: int, seed: int = 0, spread: float = 0.5):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 3, (3, 16))
    y = np.repeat(np.arange(3), n_per_class)
    return (centers[y] + rng.normal(0, spread, (len(y), 16))).astype("float32"), y


def test_the_article_recipe_builds_the_articles_exact_head():
    x, y = _blobs(10)
    x = np.tile(x[:, None, None, :], (1, 7, 7, 1))  # 7x7 maps
    data = {"train": (x, y), "validation": (x[::3], y[::3]), "test": (x[::2], y[::2])}
    out = train_and_evaluate("article", data, class_names=list("abc"), spec=feature_spec("article", "vgg16", None))
    head = out["head"]
    kinds = [type(l).__name__ for l in head.layers[1:]]
    assert kinds == ["Flatten", "Dense", "LeakyReLU", "Dropout", "Dense", "LeakyReLU", "Dropout", "Dense"]
    assert [l.units for l in head.layers if type(l).__name__ == "Dense"] == [100, 50, 3]
    assert [l.negative_slope for l in head.layers if type(l).__name__ == "LeakyReLU"] == [0.3, 0.3]
    assert [l.rate for l in head.layers if type(l).__name__ == "Dropout"] == [0.5, 0.3]
    assert head.layers[-1].activation.__name__ == "softmax"
    assert type(head.optimizer).__name__ == "RMSprop"
    assert float(head.optimizer.learning_rate.numpy()) == pytest.approx(1e-4)
    assert len(out["history"]) == 7 and out["search"] is None
    assert out["report"]["recipe"] == "article"


def test_out_of_fold_predicts_each_photo_with_a_model_that_never_saw_it():
    x, y = _blobs(12)
    seen = []

    def fit_predict(x_train, y_train, x_held_out):
        seen.append({tuple(v) for v in x_train.round(4)} & {tuple(v) for v in x_held_out.round(4)})
        return linear_probabilities(fit_linear(x_train, y_train, C=1.0, num_classes=3), x_held_out, 3)

    oof = out_of_fold(x, y, fit_predict, num_classes=3, k=4)
    assert len(seen) == 4 and not any(seen)
    assert oof.shape == (36, 3) and np.allclose(oof.sum(axis=1), 1.0)
    assert (oof.argmax(1) == y).mean() > 0.9
    assert [len(h) for _, h in stratified_folds(y, 4)] == [9, 9, 9, 9]
    side_by_side = out_of_fold(x, y, fit_predict, num_classes=3, k=4, n_jobs=2)
    assert len(seen) == 8 and not any(seen)
    np.testing.assert_allclose(side_by_side, oof)


def test_temperature_scaling_lowers_the_ece_of_an_over_confident_model():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 600)
    right = rng.random(600) < 0.7  # 70 % right, but always ~99 % sure
    predicted = np.where(right, y, (y + 1) % 3)
    probabilities = np.full((600, 3), 0.005)
    probabilities[np.arange(600), predicted] = 0.99
    fit, check = slice(0, 300), slice(300, 600)
    temperature = fit_temperature(probabilities[fit], y[fit])
    before = expected_calibration_error(probabilities[check], y[check])
    after = expected_calibration_error(apply_temperature(probabilities[check], temperature), y[check])
    assert temperature > 1.5 and before > 0.25 and after < 0.06
    from classifier.calibration import cross_fitted_ece

    held_out_before, held_out_after = cross_fitted_ece(probabilities, y)  # each fold's T from the others
    assert held_out_before == pytest.approx(expected_calibration_error(probabilities, y)) and held_out_after < 0.06


def test_unsure_threshold_is_the_lowest_reaching_the_target_precision():
    probabilities = np.array([[0.95, 0.05], [0.9, 0.1], [0.8, 0.2], [0.7, 0.3], [0.6, 0.4]])
    y = np.array([0, 0, 0, 1, 0])  # the 0.7 answer is wrong
    assert unsure_threshold(probabilities, y, 0.8, unsure_right_share=0) == pytest.approx(0.6)  # 4 of 5 right
    assert unsure_threshold(probabilities, y, 0.9, unsure_right_share=0) == pytest.approx(0.8)  # 3 of 3 right
    # all right: the precision rule keeps everything; the floor marks the least sure half of the right answers
    assert unsure_threshold(probabilities[:3], y[:3], 0.9, unsure_right_share=0) == pytest.approx(0.8)
    assert unsure_threshold(probabilities[:3], y[:3], 0.9, unsure_right_share=0.5) == pytest.approx(0.9)


@pytest.fixture(scope="module")
def tiny_recommended(tmp_path_factory):
    root = tmp_path_factory.mktemp("recommended")
    data_dir = make_class_folders(root / "data", per_class=12)
    spec = feature_spec("recommended", "vgg16", None, input_size=32)
    cache = FeatureCache(root / "cache")
    items = items_of(data_dir)
    extract(items, spec, cache)
    x = cache.load(spec, [h for h, _ in items])
    y = np.array([sorted(COLORS).index(p.parent.name) for _, p in items])
    test = np.arange(len(y)) % 4 == 0
    data = {"train": (x[~test], y[~test]), "validation": (x[:0], y[:0]), "test": (x[test], y[test])}

    def run(out=None, **kwargs):
        return train_and_evaluate("recommended", data, class_names=sorted(COLORS), spec=spec, seed=3, run_dir=out,
                                  **kwargs)

    progress = []
    first = run(root / "run", on_progress=lambda *args: progress.append(args))
    return {"root": root, "run": run, "first": first, "data_dir": data_dir, "progress": progress}


def test_the_recommended_recipe_reports_each_stage_in_its_own_units(tiny_recommended):
    from classifier.recipes import SEARCH_C

    progress, grid = tiny_recommended["progress"], len(SEARCH_C)
    trials = [t for t in tiny_recommended["first"]["search"]["trials"] if t["head"] == "linear"]
    search = [(done, total) for done, total, stage in progress if stage == "search"]
    tuning = [(done, total) for done, total, stage in progress if stage == "fine-tune"]
    # C value i of the grid, from 0; a search that stopped past the minimum then jumps to the end
    assert search[:len(trials) + 1] == [(i, grid) for i in range(len(trials) + 1)] and search[-1] == (grid, grid)
    # the colours leave no held-out error to fix: the fine-tuning stage never starts (its epochs: the test below)
    assert "skipped" in tiny_recommended["first"]["search"]["trials"][-1] and tuning == []
    assert [stage for _, _, stage in progress] == ["search"] * len(search)


def test_the_head_search_stops_once_the_out_of_fold_loss_rises():
    from classifier.recipes import SEARCH_C, search_linear

    x, y = _blobs(40, spread=4.0)  # overlapping classes: strong regularisation wins, large C over-fits
    folds = stratified_folds(y, 5, 0)
    trials, oofs = search_linear(x, y, num_classes=3, folds=folds)
    losses = [t["cv_log_loss"] for t in trials]
    assert 2 <= len(trials) < len(SEARCH_C) and [t["C"] for t in trials] == sorted(SEARCH_C)[:len(trials)]
    assert losses[-1] > losses[-2] and all(a >= b for a, b in zip(losses[:-2], losses[1:-1]))  # down, then up once
    assert set(oofs) == {t["C"] for t in trials}


def test_the_head_search_fits_folds_side_by_side_as_one_fresh_fit_each_and_restores_blas_threads():
    from threadpoolctl import threadpool_info

    from classifier.recipes import search_linear

    x, y = _blobs(40, spread=4.0)
    folds = stratified_folds(y, 5, 0)
    blas_threads = [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]
    trials, oofs = search_linear(x, y, num_classes=3, folds=folds)
    for trial in trials:  # warm-started fits on threads give each photo its own fold's answer at that C
        fresh = out_of_fold(x, y, lambda xt, yt, xh, C=trial["C"]: linear_probabilities(
            fit_linear(xt, yt, C=C, num_classes=3), xh, 3), num_classes=3, folds=folds)
        np.testing.assert_allclose(oofs[trial["C"]], fresh, atol=5e-3)  # the optimiser's tolerance
        np.testing.assert_allclose(oofs[trial["C"]].sum(axis=1), 1.0, atol=1e-12)
    assert [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"] == blas_threads


def test_fine_tuning_is_kept_only_for_a_held_out_gain_beyond_chance():
    from classifier.recipes import fine_tuning_p_value

    def p(wins, losses, both=100):  # photos only fine-tuning got right, only the linear head did, both
        tuned = np.array([True] * wins + [False] * losses + [True] * both)
        linear = np.array([False] * wins + [True] * losses + [True] * both)
        return fine_tuning_p_value(tuned, linear)

    assert p(3, 0) == 0.125  # caltech's fold: 3 photos of 148 is chance
    assert p(10, 1) < 0.05 and p(10, 4) > 0.05
    assert p(0, 0) == 1.0 and p(0, 5) > 0.9


@pytest.mark.slow  # trains the recommended recipe a second time
def test_the_recommended_recipe_is_seeded_and_reproducible(tiny_recommended):
    first, again = tiny_recommended["first"], tiny_recommended["run"]()
    assert first["search"]["trials"][0]["head"] == "linear" and first["search"]["chosen"]["head"] == "linear"
    for a, b in zip(first["search"]["trials"], again["search"]["trials"]):
        assert {k: v for k, v in a.items() if k != "seconds"} == pytest.approx(
            {k: v for k, v in b.items() if k != "seconds"}, abs=1e-6)
    assert first["report"]["accuracy"] == again["report"]["accuracy"]
    assert first["calibration"]["temperature"] == pytest.approx(again["calibration"]["temperature"], abs=1e-6)
    assert first["report"]["accuracy"] >= 0.9
    meta = json.loads((tiny_recommended["root"] / "run" / "model.json").read_text())
    assert meta["recipe"] == "recommended" and set(meta["calibration"]) == {"temperature", "threshold"}


def test_the_predictor_answers_unsure_below_the_models_threshold(tiny_recommended):
    run_dir = tiny_recommended["root"] / "run"
    photo = sorted((tiny_recommended["data_dir"] / "red").iterdir())[0]
    predictor = Predictor.from_run_dir(run_dir)
    [confident] = predictor.predict([photo])
    assert confident["decision"] == "confident" and confident["label"] == "red"
    predictor.threshold = confident["confidence"] + 1e-6  # as if the run had been saved with a stricter one
    [unsure] = predictor.predict([photo], top_k=2)
    assert unsure["decision"] == "unsure" and unsure["label"] == "red" and len(unsure["probabilities"]) == 2
    assert unsure["confidence"] == pytest.approx(confident["confidence"], abs=1e-6)


@pytest.mark.slow
def test_recommended_scores_at_least_the_article_on_real_flowers(tmp_path):
    """Real photos (a small flowers subset, the hard set) with the real ImageNet MobileNetV2."""
    shared_path("weights", MOBILENET_V2_LEGACY_FILE)
    source = shared_path("datasets", "flowers")
    from classifier.data import split_items
    from classifier.images import content_hash

    by_label = {d.name: sorted(d.iterdir())[:24] for d in sorted(source.iterdir()) if d.is_dir()}
    hashes = {p: content_hash(p) for paths in by_label.values() for p in paths}
    splits = split_items(by_label, (0.6, 0.15, 0.25), hashes)
    class_names = sorted(by_label)
    accuracy = {}
    for recipe in ("article", "recommended"):
        spec, cache = feature_spec(recipe, "mobilenet_v2"), FeatureCache(tmp_path / "cache")
        rows = {s: [(hashes[p], class_names.index(label)) for label, ps in split.items() for p in ps]
                for s, split in splits.items()}
        extract([(hashes[p], p) for p in hashes], spec, cache)
        data = {s: (cache.load(spec, [h for h, _ in r]), np.array([c for _, c in r])) for s, r in rows.items()}
        accuracy[recipe] = train_and_evaluate(recipe, data, class_names=class_names, spec=spec)["report"]["accuracy"]
    assert accuracy["recommended"] >= accuracy["article"], accuracy


def test_fine_tuning_runs_only_where_fixing_every_linear_error_could_pass_the_test():
    from classifier.recipes import FineTuneConfig, fine_tuning_can_pay

    config = FineTuneConfig()  # p < 0.05 and a gain of at least 1 point
    assert not fine_tuning_can_pay(4, 148, config)  # caltech's fold: at best p = 0.5 ** 4 = 0.0625
    assert fine_tuning_can_pay(5, 148, config)  # 0.5 ** 5 = 0.031
    assert not fine_tuning_can_pay(9, 1000, config)  # significant, but under a 1-point gain
    assert fine_tuning_can_pay(10, 1000, config) and not fine_tuning_can_pay(0, 0, config)


def _maps_of(spec, y, separation: float, seed: int = 0):
    """Random maps at the last block's input with a class signal of `separation` standard deviations."""
    from classifier.recipes import view_blocks

    shape = view_blocks([spec])[0].input.shape[1:]
    rng = np.random.default_rng(seed)
    signal = rng.normal(0, 1, (3, *shape))
    return (rng.normal(0, 1, (len(y), *shape)) + separation * signal[y]).astype("float32")


@pytest.fixture(scope="module")
def tiny_maps():
    from classifier.recipes import FineTuneConfig

    spec = feature_spec("recommended", "vgg16", None, input_size=32)
    y = np.repeat(np.arange(3), 20)
    return {"spec": spec, "y": y, "config": FineTuneConfig(max_epochs=2, patience=1)}


@pytest.mark.parametrize("separation, runs", [(3.0, False), (0.0, True)])
def test_the_fine_tuning_trial_is_skipped_when_it_cannot_pay_and_runs_when_it_can(tiny_maps, separation, runs):
    from classifier.recipes import train_recommended

    spec, y = tiny_maps["spec"], tiny_maps["y"]
    progress = []
    out = train_recommended(spec, _maps_of(spec, y, separation), y, num_classes=3, fine_tuning="now",
                            finetune_config=tiny_maps["config"], on_progress=lambda *a: progress.append(a))
    trial = out["trials"][-1]
    assert trial["head"] == "fine-tune last block" and not out["fine_tuning_follow_up"]
    assert ("skipped" in trial) is not runs  # separable: no held-out error to fix; labels as noise: many
    assert ("fine-tune" in {stage for *_, stage in progress}) is runs and ("fine_tuning" in out["timings"]) is runs
    if not runs:
        assert trial["linear_holdout_errors"] < 5 and trial["chosen"] is False and not out["chosen"]["fine_tuned"]
        return
    most = tiny_maps["config"].max_epochs  # its own units: epochs, at most max_epochs, after the search
    tuning = [(done, total) for done, total, stage in progress if stage == "fine-tune"]
    assert tuning[0] == (0, most) and [d for d, _ in tuning] == list(range(len(tuning))) and len(tuning) >= 2
    assert [stage for *_, stage in progress][-len(tuning):] == ["fine-tune"] * len(tuning)


@pytest.mark.parametrize("separation", [3.0, 0.0])
def test_by_default_the_trial_is_left_to_a_follow_up_where_it_can_pay_and_never_run(tiny_maps, separation):
    """The job answers with the linear head at once; where the trial can pay it says so, for a follow-up."""
    from classifier.recipes import train_recommended

    spec, y = tiny_maps["spec"], tiny_maps["y"]
    progress = []
    out = train_recommended(spec, _maps_of(spec, y, separation), y, num_classes=3,
                            finetune_config=tiny_maps["config"], on_progress=lambda *a: progress.append(a))
    trial = out["trials"][-1]
    can_pay = separation == 0.0  # labels as noise leave many held-out errors; separable ones none
    assert out["fine_tuning_follow_up"] is can_pay and trial.get("follow_up", False) is can_pay
    assert "skipped" in trial and not out["chosen"]["fine_tuned"] and "fine_tuning" not in out["timings"]
    assert "fine-tune" not in {stage for *_, stage in progress}


def test_a_follow_up_refits_the_reused_decision_and_runs_only_the_trial(tiny_maps):
    from classifier.recipes import train_recommended

    spec, y = tiny_maps["spec"], tiny_maps["y"]
    progress = []
    out = train_recommended(spec, _maps_of(spec, y, 0.0), y, num_classes=3, fine_tuning="now",
                            finetune_config=tiny_maps["config"], on_progress=lambda *a: progress.append(a),
                            reuse={"head": "linear", "C": 0.03, "views": "32 px", "view_count": 1,
                                   "fine_tuned": False}, reused_from="job 7")
    assert [(t["head"], t["C"]) for t in out["trials"]] == [("linear", 0.03), ("fine-tune last block", 0.03)]
    assert "holdout_accuracy" in out["trials"][-1] and "fine_tuning" in out["timings"]
    assert [stage for *_, stage in progress][:2] == ["refit", "refit"] and progress[-1][2] == "fine-tune"
    assert out["chosen"]["fine_tuned"] is out["trials"][-1]["chosen"]
    assert ("reused_from" in out["chosen"]) is not out["chosen"]["fine_tuned"]  # a win is a new decision


def test_a_decision_is_reused_for_a_one_photo_change_but_not_a_big_one_or_other_classes():
    from classifier.recipes import changed_photos, decision_record, labelled_set, reusable_decision

    photos = labelled_set([f"h{i}" for i in range(60)], ["a", "b", "c"] * 20)
    stored = decision_record({"head": "linear", "C": 0.1, "views": "224 px", "view_count": 1, "fine_tuned": False,
                              "reused_from": "job 1"}, photos, ["a", "b", "c"], "224 px")
    one_less = {k: v for k, v in photos.items() if k != "h0"}
    relabelled = photos | {"h1": "a"}
    assert changed_photos(photos, one_less) == 1 and changed_photos(photos, relabelled) == 1
    assert reusable_decision(stored, one_less, ["a", "b", "c"], "224 px")["C"] == 0.1
    assert reusable_decision(stored, relabelled, ["a", "b", "c"], "224 px") is not None
    assert "reused_from" not in stored["chosen"]  # the record names no source: its reader says where it came from
    many = {k: v for k, v in photos.items() if k not in {"h0", "h1", "h2"}}  # 3 of 60: over 2 %
    assert reusable_decision(stored, many, ["a", "b", "c"], "224 px") is None
    assert reusable_decision(stored, photos, ["a", "b", "d"], "224 px") is None  # other classes
    assert reusable_decision(stored, photos, ["a", "b", "c"], "224+128 px") is None  # other views extracted
    assert reusable_decision(None, photos, ["a", "b", "c"], "224 px") is None


def test_a_reused_decision_refits_its_c_without_a_search(tiny_maps):
    from classifier.recipes import train_recommended

    spec, y = tiny_maps["spec"], tiny_maps["y"]
    progress = []
    out = train_recommended(spec, _maps_of(spec, y, 3.0), y, num_classes=3, finetune_config=tiny_maps["config"],
                            reuse={"head": "linear", "C": 0.03, "views": "32 px", "view_count": 1,
                                   "fine_tuned": False}, reused_from="job 7",
                            on_progress=lambda *a: progress.append(a))
    assert [(t["head"], t["C"], t["reused_from"]) for t in out["trials"]] == [("linear", 0.03, "job 7")]
    assert out["chosen"]["C"] == 0.03 and out["chosen"]["reused_from"] == "job 7"
    assert progress == [(0, 1, "refit"), (1, 1, "refit")]  # one C, no fine-tuning stage
    assert out["calibration_probabilities"].shape == (60, 3)  # out-of-fold at that C, for calibration


def test_a_follow_up_whose_trial_does_not_win_saves_nothing(tiny_maps, tmp_path):
    """only_if_fine_tuned (a follow-up job): a trial that loses ends the run after training, with no model saved;
    here the labels are noise, so fine-tuning cannot beat the linear head by more than chance."""
    from classifier.workflow import train_and_evaluate

    spec, y = tiny_maps["spec"], tiny_maps["y"]
    maps = _maps_of(spec, y, 0.0)
    data = {"train": (maps, y), "validation": (maps[:0], y[:0]), "test": (maps[:6], y[:6])}
    out = train_and_evaluate("recommended", data, class_names=["a", "b", "c"], spec=spec, fine_tuning="now",
                             only_if_fine_tuned=True, run_dir=tmp_path / "run",
                             reuse={"head": "linear", "C": 0.03, "views": "32 px", "view_count": 1,
                                    "fine_tuned": False}, reused_from="job 7")
    trial = out["search"]["trials"][-1]
    assert trial["head"] == "fine-tune last block" and "p_value" in trial and trial["chosen"] is False
    assert out["kept"] is False and "report" not in out and not (tmp_path / "run").exists()


def test_pooled_features_are_cached_beside_the_maps_so_a_retrain_pools_only_new_photos(tiny_maps, tmp_path):
    from classifier.features import FeatureCache, PooledSpec
    from classifier.recipes import train_recommended

    spec, y = tiny_maps["spec"], tiny_maps["y"]
    maps, cache = _maps_of(spec, y, 3.0), FeatureCache(tmp_path)
    hashes = [f"{i:04x}" for i in range(len(y))]
    first = train_recommended(spec, maps, y, num_classes=3, cache=cache, hashes=hashes)
    pooled_files = sorted((tmp_path / f"{spec.key}-pooled").rglob("*.npy"))
    assert len(pooled_files) == len(y)
    # The same photos again, their maps blanked: the pooled features come from the cache, so nothing changes.
    again = train_recommended(spec, np.zeros_like(maps), y, num_classes=3, cache=cache, hashes=hashes)
    np.testing.assert_array_equal(again["calibration_probabilities"], first["calibration_probabilities"])
    # One photo more: only it is pooled (its maps read), the others still come from the cache.
    more_y = np.append(y, 0)
    more = np.concatenate([np.zeros_like(maps), maps[:1]])
    train_recommended(spec, more, more_y, num_classes=3, cache=cache, hashes=[*hashes, "ffff"])
    assert len(list((tmp_path / f"{spec.key}-pooled").rglob("*.npy"))) == len(y) + 1
    pooled = PooledSpec(spec, len(cache.read(PooledSpec(spec, 0), hashes[0])))
    # pooled from the same maps as photo 0 (alone in its batch, hence float noise)
    np.testing.assert_allclose(cache.read(pooled, "ffff"), cache.read(pooled, hashes[0]), atol=1e-3)
