"""Train, calibrate, evaluate and save a run from cached features: the one sequence the CLI and the workers share.

Callers extract features (classifier.features) and pass arrays; everything returned is plain data."""

import time
from typing import Callable

import numpy as np

from classifier.calibration import (apply_temperature, cross_fitted_ece, expected_calibration_error, fit_temperature,
                                    reliability, unsure_threshold)
from classifier.features import FeatureSpec, model_input, per_view, views
from classifier.head import HeadConfig

TARGET_PRECISION = 0.95  # the confident answers should be right this often (chosen on held-out photos)


def _calibrate(probabilities: np.ndarray, y) -> dict:
    temperature = fit_temperature(probabilities, y)
    calibrated = apply_temperature(probabilities, temperature)
    before, after = cross_fitted_ece(probabilities, y)
    return {"temperature": temperature, "threshold": unsure_threshold(calibrated, y, TARGET_PRECISION),
            "target_precision": TARGET_PRECISION, "fitted_on": len(y),
            "ece_held_out_before": before, "ece_held_out_after": None if np.isnan(after) else after}


def _test_calibration(raw: np.ndarray, y, temperature: float, threshold: float) -> dict:
    """ECE and reliability before and after temperature scaling, and the unsure share, on the test photos."""
    calibrated = apply_temperature(raw, temperature)
    confident = calibrated.max(axis=1) >= threshold if len(y) else np.zeros(0, bool)
    right = calibrated.argmax(axis=1) == np.asarray(y) if len(y) else np.zeros(0, bool)
    return {
        "ece_before": expected_calibration_error(raw, y), "ece_after": expected_calibration_error(calibrated, y),
        "reliability_before": reliability(raw, y), "reliability_after": reliability(calibrated, y),
        "unsure_rate": float(1 - confident.mean()) if len(y) else 0.0,
        "confident_accuracy": float(right[confident].mean()) if confident.any() else None,
    }


def head_input(x, k: int):
    """Features of the first k views as a head of k views takes them (x: one array, or a list per view)."""
    return model_input(per_view(x)[:k])


def train_and_evaluate(recipe: str, data: dict, *, class_names: list[str], spec: FeatureSpec | list[FeatureSpec],
                       config: HeadConfig | None = None, test_ids: list | None = None, seed: int = 0,
                       fine_tuning: str = "follow-up", only_if_fine_tuned: bool = False, run_dir=None,
                       on_epoch_end: Callable[[int, dict], None] | None = None,
                       should_cancel: Callable[[], bool] | None = None,
                       on_progress: Callable[[int, int, str], None] | None = None,
                       on_evaluating: Callable[[int], bool] | None = None, reuse: dict | None = None,
                       reused_from: str = "", cache=None, hashes: dict | None = None) -> dict:
    """Train `recipe` on data {"train"|"validation"|"test": (x, y)} (features of `spec`; with several specs, the
    recommended recipe's views, x is a list with one array per view), calibrate, score the test split and, with
    run_dir, save the run (head.keras, model.json, history.json, report.json, model.keras). The saved run keeps
    the views its head takes (`views` in the result: the first 1 or all).

    on_progress(done, total, stage) reports the recommended recipe's stages in their own units ("search":
    trials, "fine-tune": epochs); the article's progress is its epochs (on_epoch_end).
    on_evaluating(test count) is called before scoring; returning False stops (the job was cancelled meanwhile).
    reuse/reused_from: the recommended recipe's earlier decision to refit without a search (train_recommended).
    cache/hashes: the feature store and each split's content hashes ({"train": [...], "validation": [...]}, in
    data's order): the recommended recipe's pooled features are cached there beside the maps.
    fine_tuning: when its fine-tuning trial runs (classifier.recipes.FINE_TUNING); `fine_tuning_follow_up` in the
    result says it can pay and was left to a follow-up. only_if_fine_tuned (a follow-up): a trial that does not win
    ends the run after training, with "kept" False: nothing is calibrated, scored or saved.
    Returns plain data {"cancelled", "kept", "report", "history", "best_epoch", "recipe", "search": {"trials",
    "chosen"}, "calibration": {"temperature", "threshold", ...}, "timings": {...}, "fine_tuning_follow_up"}, plus
    "head" (the Keras model) for callers that predict more."""
    from classifier.evaluate import scores
    from classifier.model_io import export_model, save_run
    from classifier.recipes import get_recipe, train_recommended
    from classifier.train import train

    num_classes = len(class_names)
    specs = views(spec)
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = (data[s] for s in ("train", "validation", "test"))
    out = {"recipe": recipe, "cancelled": False, "kept": True, "history": [], "best_epoch": 0, "search": None,
           "timings": {}, "views": 1, "fine_tuning_follow_up": False}
    started = time.monotonic()
    if get_recipe(recipe).fixed_head:
        config = config or HeadConfig()
        trained = train(x_train, y_train, x_val, y_val, num_classes=num_classes, config=config,
                        on_epoch_end=on_epoch_end, should_cancel=should_cancel, seed=seed)
        out |= {"cancelled": trained.cancelled, "history": trained.history, "best_epoch": trained.best_epoch}
        head = trained.model
        held_out = (np.asarray(head.predict(x_val, batch_size=256, verbose=0)) if len(y_val) else
                    np.zeros((0, num_classes)), y_val)
        out["timings"]["training"] = time.monotonic() - started
    else:
        x = [np.concatenate([t, v]) if len(y_val) else t for t, v in zip(per_view(x_train), per_view(x_val))]
        y = np.concatenate([y_train, y_val]) if len(y_val) else np.asarray(y_train)
        labelled = None if hashes is None else [*hashes["train"], *hashes.get("validation", [])]
        trained = train_recommended(specs, x, y, num_classes=num_classes, seed=seed, fine_tuning=fine_tuning,
                                    on_epoch_end=on_epoch_end, should_cancel=should_cancel,
                                    on_progress=on_progress, reuse=reuse, reused_from=reused_from,
                                    cache=cache, hashes=labelled)
        out |= {"cancelled": trained["cancelled"], "history": trained["history"],
                "best_epoch": trained["best_epoch"], "timings": trained["timings"],
                "search": {"trials": trained["trials"], "chosen": trained.get("chosen")},
                "fine_tuning_follow_up": trained.get("fine_tuning_follow_up", False)}
        if trained["cancelled"]:
            return out
        if only_if_fine_tuned and not trained["chosen"]["fine_tuned"]:
            return out | {"kept": False}
        head, out["views"] = trained["head"], trained["views"]
        held_out = (trained["calibration_probabilities"], trained["calibration_labels"])
        config = None
    if out["cancelled"] or (on_evaluating and not on_evaluating(len(y_test))):
        return out | {"cancelled": True}

    started = time.monotonic()
    calibration = _calibrate(*held_out) if len(held_out[1]) else {
        "temperature": 1.0, "threshold": 0.0, "target_precision": TARGET_PRECISION, "fitted_on": 0}
    raw = (np.asarray(head.predict(head_input(x_test, out["views"]), batch_size=256, verbose=0)) if len(y_test)
           else np.zeros((0, num_classes)))
    report = scores(apply_temperature(raw, calibration["temperature"]) if len(y_test) else raw, y_test,
                    class_names, test_ids)
    calibration |= _test_calibration(raw, y_test, calibration["temperature"], calibration["threshold"])
    report |= {"recipe": recipe, "calibration": calibration, "search": out["search"]}
    out |= {"report": report, "calibration": calibration, "head": head}
    out["timings"]["evaluation"] = time.monotonic() - started
    if run_dir is not None:
        save_run(run_dir, head=head, spec=specs[:out["views"]], class_names=class_names, config=config,
                 history=out["history"], report=report, best_epoch=out["best_epoch"], recipe=recipe,
                 calibration={"temperature": calibration["temperature"], "threshold": calibration["threshold"]},
                 search=out["search"])
        export_model(run_dir)
    return out
