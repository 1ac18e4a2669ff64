"""The two training recipes on cached features.

- `article`: the article's head (classifier.head defaults) on the backbone's 7x7 maps, kept exactly.
- `recommended`: features cached at the input of the backbone's last block; that block turns them into pooled
  features (with mid-level taps, Backbone.top_taps); a small search over linear heads (standardised features +
  L2-regularised multinomial logistic regression) scored by out-of-fold log loss; then, optionally, fine-tuning
  of the last block with the chosen head on the cached maps (flip augmentation, label smoothing, early stopping
  with best-epoch restore), kept only when it beats the linear head on held-out photos by more than chance (sign
  test). Temperature and the unsure threshold are fitted on probabilities of photos the model did not train on
  (out-of-fold, or the fine-tuning hold-out).
"""

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from classifier.features import FeatureSpec
from classifier.oof import out_of_fold, stratified_folds

RECIPES = ("article", "recommended")
DEFAULT_RECIPE = "recommended"
SEARCH_C = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)  # inverse L2 strength on standardised features (bench/quality.py)
FOLDS = 5


@dataclass
class FineTuneConfig:
    max_epochs: int = 12
    patience: int = 3
    learning_rate: float = 1e-4
    label_smoothing: float = 0.1
    dropout: float = 0.2
    batch_size: int = 32
    min_gain: float = 0.01  # held-out accuracy it must add over the linear head to be kept
    max_p_value: float = 0.05  # ... and the sign test on the held-out photos where the two disagree must pass


def feature_spec(recipe: str, backbone: str, weights: str | None = "imagenet", precision: str = "float32",
                 input_size: int | None = None) -> FeatureSpec:
    """What a recipe extracts and caches: the article's 7x7 maps, or the maps at the last block's input."""
    if recipe == "article":
        return FeatureSpec(backbone, weights, None, precision, input_size)
    if recipe == "recommended":
        return FeatureSpec(backbone, weights, None, precision, input_size, stage="top_input")
    raise ValueError(f"recipe must be one of {RECIPES}, got {recipe!r}")


# --- the linear head ----------------------------------------------------------------------------------------


def fit_linear(x: np.ndarray, y, *, C: float, num_classes: int, seed: int = 0, warm_start: bool = False):
    """StandardScaler + multinomial logistic regression (scikit-learn), as a Pipeline."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=300, random_state=seed,
                                                               warm_start=warm_start))
    return model.fit(x, np.asarray(y, dtype=int))


def linear_probabilities(model, x: np.ndarray, num_classes: int) -> np.ndarray:
    """predict_proba with one column per class id, also when a class was absent from training."""
    out = np.zeros((len(x), num_classes))
    out[:, model.classes_] = model.predict_proba(x)
    return out


def linear_weights(model, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """The pipeline as one Dense layer on raw features: kernel (D, K) and bias (K,) of the softmax logits."""
    scaler, logistic = model[0], model[-1]
    coef, intercept = logistic.coef_, logistic.intercept_
    if coef.shape[0] == 1:  # binary: sklearn keeps one logit z; softmax of (-z/2, z/2) is the same sigmoid
        coef, intercept = np.vstack([-coef / 2, coef / 2]), np.array([-intercept[0] / 2, intercept[0] / 2])
    kernel = np.full((coef.shape[1], num_classes), 0.0)
    bias = np.full(num_classes, -30.0)  # a class never seen in training gets ~0 probability
    kernel[:, logistic.classes_] = (coef / scaler.scale_).T
    bias[logistic.classes_] = intercept - (coef / scaler.scale_) @ scaler.mean_
    return kernel.astype("float32"), bias.astype("float32")


def search_linear(x: np.ndarray, y, *, num_classes: int, folds: list, seed: int = 0,
                  should_cancel: Callable[[], bool] | None = None,
                  on_fold: Callable[[int, int], None] | None = None) -> tuple[list[dict], np.ndarray | None]:
    """One trial per C: out-of-fold log loss and accuracy. Each fold fits the C values in ascending order, each fit
    warm-started from the previous C's weights (the same optimum, far fewer iterations than a fresh start).
    on_fold(done, total) after each fold. Returns (trials, the best trial's OOF probabilities); ([], None) if
    cancelled between folds."""
    from sklearn.metrics import log_loss

    y = np.asarray(y, dtype=int)
    grid = sorted(SEARCH_C)
    oof = {C: np.zeros((len(y), num_classes)) for C in grid}
    seconds = dict.fromkeys(grid, 0.0)
    for i, (train_index, held_out) in enumerate(folds):
        if should_cancel and should_cancel():
            return [], None
        model = None
        for C in grid:
            started = time.monotonic()
            if model is None:
                model = fit_linear(x[train_index], y[train_index], C=C, num_classes=num_classes, seed=seed,
                                   warm_start=True)
            else:
                model[-1].set_params(C=C).fit(model[0].transform(x[train_index]), y[train_index])
            oof[C][held_out] = linear_probabilities(model, x[held_out], num_classes)
            seconds[C] += time.monotonic() - started
        if on_fold:
            on_fold(i + 1, len(folds))
    labels = list(range(num_classes))
    trials = [{"head": "linear", "C": C, "cv_log_loss": float(log_loss(y, oof[C], labels=labels)),
               "cv_accuracy": float((oof[C].argmax(1) == y).mean()), "seconds": seconds[C]} for C in grid]
    best = min(trials, key=lambda t: t["cv_log_loss"])
    for t in trials:
        t["chosen"] = t is best
    return trials, oof[best["C"]]


# --- the Keras heads saved with a run -----------------------------------------------------------------------


def pooled_features(top_block, maps: np.ndarray) -> np.ndarray:
    return np.asarray(top_block.predict(maps, batch_size=128, verbose=0), dtype="float32") if len(maps) else \
        np.zeros((0, top_block.output.shape[-1]), "float32")


def top_head(top_block, num_classes: int, kernel: np.ndarray, bias: np.ndarray, dropout: float = 0.0):
    """maps at the last block's input -> last block -> (dropout) -> softmax, the Dense set from a linear head."""
    import keras

    maps = keras.Input(top_block.input.shape[1:], name="features")
    x = top_block(maps)
    if dropout:
        x = keras.layers.Dropout(dropout)(x)
    dense = keras.layers.Dense(num_classes, activation="softmax", name="probabilities")
    model = keras.Model(maps, dense(x), name="head")
    dense.set_weights([kernel, bias])
    return model


def fine_tune(top_block, kernel, bias, maps_train, y_train, maps_val, y_val, *, num_classes: int,
              config: FineTuneConfig, seed: int = 0, on_epoch_end=None, should_cancel=None):
    """Train the last block + head on cached maps (random horizontal flips), early stopping on the held-out
    photos with the best epoch's weights restored. Returns (model, history, best_epoch, cancelled)."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    for layer in top_block.layers:  # BatchNorm stays in inference mode: its statistics come from ImageNet
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
    model = top_head(top_block, num_classes, kernel, bias, config.dropout)
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate),
                  loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
                  metrics=["accuracy"])
    one_hot = lambda y: keras.utils.to_categorical(np.asarray(y), num_classes)  # noqa: E731
    train_data = (tf.data.Dataset.from_tensor_slices((maps_train, one_hot(y_train)))
                  .shuffle(len(y_train), seed=seed)
                  .map(lambda m, t: (tf.image.random_flip_left_right(m, seed=seed), t))
                  .batch(config.batch_size))
    history, state = [], {"best": np.inf, "epoch": 0, "weights": model.get_weights(), "cancelled": False}

    class Hooks(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.monotonic()

        def on_epoch_end(self, epoch, logs=None):
            metrics = {k: float(logs[k]) for k in ("loss", "accuracy", "val_loss", "val_accuracy")}
            metrics["seconds"] = time.monotonic() - self.started
            history.append(metrics)
            if metrics["val_loss"] < state["best"]:
                state.update(best=metrics["val_loss"], epoch=epoch + 1, weights=model.get_weights())
            elif epoch + 1 - state["epoch"] >= config.patience:
                self.model.stop_training = True
            if on_epoch_end:
                on_epoch_end(epoch + 1, metrics)
            if should_cancel and should_cancel():
                state["cancelled"] = True
                self.model.stop_training = True

    model.fit(train_data, validation_data=(maps_val, one_hot(y_val)), epochs=config.max_epochs, verbose=0,
              callbacks=[Hooks()])
    model.set_weights(state["weights"])
    return model, history, state["epoch"], state["cancelled"]


def fine_tuning_p_value(tuned_right: np.ndarray, linear_right: np.ndarray) -> float:
    """One-sided sign test (exact binomial) on the held-out photos where exactly one of the two heads is right:
    how likely fine-tuning wins this often by chance. A gain of a few photos in a small fold is noise (caltech:
    3 of 148, then 2 photos worse on the test split), not a reason to give up the linear head trained on all."""
    from scipy.stats import binomtest

    wins = int(np.sum(tuned_right & ~linear_right))
    losses = int(np.sum(linear_right & ~tuned_right))
    return float(binomtest(wins, wins + losses, 0.5, alternative="greater").pvalue) if wins + losses else 1.0


def train_recommended(spec: FeatureSpec, maps: np.ndarray, y, *, num_classes: int, seed: int = 0,
                      fine_tuning: bool = True, finetune_config: FineTuneConfig | None = None,
                      on_epoch_end=None, should_cancel=None, on_progress=None) -> dict:
    """The recommended recipe on the labelled photos (train + validation together). on_progress(done, total,
    stage) counts the stage's own units: "search" (cross-validation folds of the head search, each fitting every
    C), then "fine-tune" (epochs, at
    most max_epochs; fine-tuning's epochs also go to on_epoch_end). Returns a dict with the
    head (Keras), `calibration_probabilities`/`calibration_labels` (photos the head did not train on), the
    search's `trials`, the `chosen` settings, `history`, `best_epoch`, `timings`, `cancelled`."""
    from classifier.backbones import load_top_block

    y = np.asarray(y, dtype=int)
    timings = {}
    started = time.monotonic()
    top_block = load_top_block(spec.backbone, weights=spec.weights, input_size=spec.size)
    pooled = pooled_features(top_block, maps)
    timings["pooling"] = time.monotonic() - started

    started = time.monotonic()
    folds = stratified_folds(y, FOLDS, seed)
    progress = on_progress or (lambda done, total, step: None)
    progress(0, len(folds), "search")  # each stage counts its own units: search folds, then epochs
    trials, oof = search_linear(pooled, y, num_classes=num_classes, folds=folds, seed=seed,
                                should_cancel=should_cancel,
                                on_fold=lambda done, total: progress(done, total, "search"))
    result = {"trials": trials, "history": [], "best_epoch": 0, "timings": timings, "cancelled": oof is None}
    if oof is None:
        return result
    best = next(t for t in trials if t["chosen"])
    linear = fit_linear(pooled, y, C=best["C"], num_classes=num_classes, seed=seed)
    kernel, bias = linear_weights(linear, num_classes)
    timings["search"] = time.monotonic() - started
    result |= {"head": top_head(top_block, num_classes, kernel, bias), "calibration_probabilities": oof,
               "calibration_labels": y, "chosen": {"head": "linear", "C": best["C"], "fine_tuned": False}}
    if not fine_tuning:
        return result

    # Fine-tuning, judged on the first fold's held-out photos against the linear head that never saw them.
    started = time.monotonic()
    config = finetune_config or FineTuneConfig()
    progress(0, config.max_epochs, "fine-tune")  # at most: early stopping usually ends it sooner
    train_index, held_out = folds[0]
    fold_linear = fit_linear(pooled[train_index], y[train_index], C=best["C"], num_classes=num_classes, seed=seed)
    model, history, best_epoch, cancelled = fine_tune(
        load_top_block(spec.backbone, weights=spec.weights, input_size=spec.size),
        *linear_weights(fold_linear, num_classes), maps[train_index], y[train_index], maps[held_out], y[held_out],
        num_classes=num_classes, config=config, seed=seed, should_cancel=should_cancel,
        on_epoch_end=lambda epoch, metrics: (progress(epoch, config.max_epochs, "fine-tune"),
                                             on_epoch_end and on_epoch_end(epoch, metrics)))
    timings["fine_tuning"] = time.monotonic() - started
    if cancelled:
        return result | {"cancelled": True}
    tuned = np.asarray(model.predict(maps[held_out], batch_size=128, verbose=0), dtype="float64")
    tuned_right, linear_right = tuned.argmax(1) == y[held_out], oof[held_out].argmax(1) == y[held_out]
    tuned_accuracy, linear_accuracy = float(tuned_right.mean()), float(linear_right.mean())
    p_value = fine_tuning_p_value(tuned_right, linear_right)
    pays = tuned_accuracy >= linear_accuracy + config.min_gain and p_value < config.max_p_value
    trials.append({"head": "fine-tune last block", "C": best["C"], "epochs": best_epoch,
                   "holdout_accuracy": tuned_accuracy, "linear_holdout_accuracy": linear_accuracy,
                   "p_value": p_value, "seconds": timings["fine_tuning"], "chosen": pays})
    if pays:
        result |= {"head": model, "calibration_probabilities": tuned, "calibration_labels": y[held_out],
                   "history": history, "best_epoch": best_epoch,
                   "chosen": {"head": "linear", "C": best["C"], "fine_tuned": True, "epochs": best_epoch}}
    return result
