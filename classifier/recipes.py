"""The two training recipes on cached features.

- `article`: the article's head (classifier.head defaults) on the backbone's 7x7 maps, kept exactly.
- `recommended`: features cached at the input of the backbone's last block; that block turns them into pooled
  features (with mid-level taps, Backbone.top_taps); a small search over linear heads (standardised features +
  L2-regularised multinomial logistic regression) scored by out-of-fold log loss; then, optionally, fine-tuning
  of the last block with the chosen head on the cached maps (flip augmentation, label smoothing, early stopping
  with best-epoch restore), kept only when it beats the linear head on held-out photos by more than chance (sign
  test), and tried only where it could (fine_tuning_can_pay: the linear head's out-of-fold errors on those photos
  leave room for a significant win). The trial costs more than the rest of the training (caltech_animals: 43 of
  67 s) and is rarely kept, so by default it is not run with the search: the result says it can pay
  (`fine_tuning_follow_up`), and the caller runs it as a follow-up on the same photos (FINE_TUNING "now", the
  decision reused) that proposes a new model only when it wins. Retrained on nearly the same photos, the last
  decision (views, C, fine-tuned) is refitted without a search (reusable_decision). Temperature and the unsure
  threshold are fitted on probabilities of photos the model did not train on (out-of-fold, or the fine-tuning
  hold-out).

  The backbone sees the photos near their own resolution (bench/scales.py, by cross-validation on the labelled
  photos): when they are a little larger than its input (median longer side up to 1.2x its side), the one view is
  at their own size (caltech_animals' 256 px photos: 97.4 % vs 96.3 % at 224 px, log loss 0.089 vs 0.109;
  animals3's: 99.1 vs 98.9 %); when they are small (at most 3/4 of its side), a second view at about their own
  size is extracted too, and the search also scores one linear head on both views' pooled features side by side;
  the saved model keeps the second view only when it wins (flowers' 128 px photos +1.8 points). Fine-tuning
  applies to the one-view head.
"""

import statistics
import time
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from classifier.features import FeatureSpec, PooledSpec, model_input, per_view, views
from classifier.oof import stratified_folds



@dataclass(frozen=True)
class Recipe:
    """A training recipe as plain data: what the web app, the CLI and the workers read about a recipe instead of
    comparing its name (the train function is classifier.workflow's, chosen by `fixed_head`)."""
    name: str
    label: str  # the job form's choice
    stage: str  # where its features are cached (FeatureSpec.stage)
    fixed_head: bool  # True: trains the head its settings describe (pooling, hidden sizes, epochs: progress counts
    #                   epochs); False: searches a linear head (and fine-tunes where it pays), ignoring them
    sized_by_photos: bool  # at the automatic input size, its views are sized by the labelled photos' longer sides


RECIPE_REGISTRY = {recipe.name: recipe for recipe in (
    Recipe("recommended", "Recommended: searched head on the last block, fine-tuned where it pays",
           stage="top_input", fixed_head=False, sized_by_photos=True),
    Recipe("article", "Article: the article's head on 7×7 maps (the settings below)",
           stage="output", fixed_head=True, sized_by_photos=False),
)}
RECIPES = tuple(RECIPE_REGISTRY)
DEFAULT_RECIPE = "recommended"


def get_recipe(name: str) -> Recipe:
    try:
        return RECIPE_REGISTRY[name]
    except KeyError:
        raise ValueError(f"recipe must be one of {RECIPES}, got {name!r}") from None

# Inverse L2 strength on standardised features (bench/quality.py); the smallest for two views side by side (flowers'
# chose the grid's low end in bench/scales.py).
SEARCH_C = (0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
FOLDS = 5
# A second view at the photos' own size, for photos at most SMALL_PHOTOS of the main input's side: rounded to
# VIEW_STEP, never below MIN_VIEW_SIZE. A second view is never larger than the input: a larger one costs more
# extraction than the article's whole job (bench/scales.py: 288 px is 1.7x the 224 px extraction); a smaller one
# costs at most ~half.
SMALL_PHOTOS = 0.75
VIEW_STEP = 32
MIN_VIEW_SIZE = 96
# The one view at the photos' own size (rounded to VIEW_STEP) when they are larger than the input by at most
# LARGE_PHOTOS: resampling 256 px photos to 224 loses detail the backbone uses, while a view larger than the photos
# gains nothing (caltech_animals, 256 px photos: 224 px 96.3 %, 256 px 97.4 %, 288 px 96.6 %). Bigger photos are
# resized to the input: extraction grows with the side squared (1.3x at 256 px, the most this allows).
LARGE_PHOTOS = 1.2


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


# When the fine-tuning trial runs: "follow-up" (the default) runs none here and says where it can pay, for the
# caller to run as a follow-up; "now" runs it here where it can pay (the follow-up itself, or a user who waits for
# it); "never". A reused decision that had kept fine-tuning tries it again in "follow-up" too: it won on these
# photos before.
FINE_TUNING = ("follow-up", "now", "never")

# A decision (views, C, whether fine-tuning won) is reused for labelled photos that changed a little: at most this
# share of them added, removed or relabelled (at least one photo), with the same classes. C is chosen on a grid
# ~3x apart where the out-of-fold log loss is smooth and U-shaped; a change of a few photos in a hundred moves
# its minimum by far less than one step, and each view or fine-tuning trial already had to win by more than chance.
REUSE_MAX_CHANGE = 0.02


def labelled_set(keys, labels) -> dict:
    """The labelled photos a decision was made on: {photo key (content hash): label}."""
    return {str(k): str(label) for k, label in zip(keys, labels)}


def changed_photos(before: dict, after: dict) -> int:
    """Photos added, removed or relabelled between two labelled sets (labelled_set)."""
    return len(before.keys() ^ after.keys()) + sum(before[k] != after[k] for k in before.keys() & after.keys())


def views_label(specs: list[FeatureSpec]) -> str:
    """The views a job extracts, as the trials name them: "224 px", "224+128 px"."""
    return "+".join(str(s.size) for s in specs) + " px"


def reusable_decision(stored: dict | None, photos: dict, class_names: list[str], views: str) -> dict | None:
    """The chosen settings of `stored` (as decision_record writes it) when they still hold for `photos`: the same
    classes and extracted views, and at most REUSE_MAX_CHANGE of the photos changed (at least one may); None
    otherwise (a new search)."""
    if not stored or not stored.get("chosen") or list(stored.get("classes", [])) != list(class_names) \
            or stored.get("views") != views:
        return None
    changed = changed_photos(stored.get("photos", {}), photos)
    return stored["chosen"] if changed <= max(1, REUSE_MAX_CHANGE * len(photos)) else None


def decision_record(chosen: dict, photos: dict, class_names: list[str], views: str) -> dict:
    """What a later training reads back to reuse this decision (reusable_decision)."""
    return {"classes": list(class_names), "views": views, "photos": photos,
            "chosen": {k: v for k, v in chosen.items() if k != "reused_from"}}


def fine_tuning_can_pay(errors: int, held_out: int, config: "FineTuneConfig") -> bool:
    """Whether fine-tuning could be kept at all, known before it runs: at best it fixes every held-out photo the
    linear head gets wrong (`errors`, out-of-fold) and breaks none: `errors` wins, no loss, a sign test p-value of
    0.5 ** errors, an accuracy gain of errors / held_out. If even that fails the test (fewer than 5 errors at
    p < 0.05), or falls short of min_gain, the trial cannot win and is not run."""
    return held_out > 0 and 0.5 ** errors < config.max_p_value and errors / held_out >= config.min_gain


def feature_spec(recipe: str, backbone: str, weights: str | None = "imagenet", precision: str = "float32",
                 input_size: int | None = None) -> FeatureSpec:
    """What a recipe extracts and caches: the article's 7x7 maps, or the maps at the last block's input."""
    return FeatureSpec(backbone, weights, None, precision, input_size, stage=get_recipe(recipe).stage)


def second_view_size(photo_sides: list[int], main_size: int) -> int | None:
    """The input size of a second view for photos whose median longer side is at most SMALL_PHOTOS of the main
    input size: that side rounded to VIEW_STEP (at least MIN_VIEW_SIZE); None for photos near the input's size or
    bigger (the main view already sees them whole)."""
    if not photo_sides:
        return None
    median = statistics.median(photo_sides)
    if median > SMALL_PHOTOS * main_size:
        return None
    return max(MIN_VIEW_SIZE, round(median / VIEW_STEP) * VIEW_STEP)


def own_size_view(photo_sides: list[int], main_size: int) -> int | None:
    """The input size of the one view for photos whose median longer side is a little larger than the input
    (rounded to VIEW_STEP, above main_size, at most LARGE_PHOTOS of it): their own size; None otherwise."""
    if not photo_sides:
        return None
    median = statistics.median(photo_sides)
    size = round(median / VIEW_STEP) * VIEW_STEP
    return size if main_size < size and median <= LARGE_PHOTOS * main_size else None


def feature_specs(recipe: str, backbone: str, weights: str | None = "imagenet", precision: str = "float32",
                  input_size: int | None = None, photo_sides: list[int] | None = None,
                  pooling: str | None = None) -> list[FeatureSpec]:
    """Every view a job of `recipe` extracts, the main one first: feature_spec's; for the recommended recipe at
    the automatic input size (input_size None), sized by the labelled photos' longer sides: at their own size
    when they are a little larger than the input (own_size_view), or with a second view at their own size when
    they are small (second_view_size). A chosen input size is kept as the only one. `pooling` applies to a
    recipe with a fixed head (a searched head reads the maps)."""
    main = feature_spec(recipe, backbone, weights, precision, input_size)
    if get_recipe(recipe).fixed_head:
        return [replace(main, pooling=pooling or None)]
    if not get_recipe(recipe).sized_by_photos or input_size is not None:
        return [main]
    own = own_size_view(photo_sides or [], main.size)
    if own is not None:
        return [replace(main, input_size=own)]
    second = second_view_size(photo_sides or [], main.size)
    return [main] if second is None else [main, replace(main, input_size=second)]


# --- the linear head ----------------------------------------------------------------------------------------


def fit_linear(x: np.ndarray, y, *, C: float, num_classes: int, seed: int = 0, previous=None):
    """StandardScaler + multinomial logistic regression (scikit-learn), as a Pipeline. `previous`: such a pipeline
    fitted on the same photos at another C, refitted in place from its solution (warm start: the same optimum in
    far fewer iterations than a fresh start).

    BLAS runs on one thread during the fit: its products are thin (photos x features x classes), where threaded
    BLAS only adds overhead (flowers' head search: 87 -> 35 s on 2 cores); fits use the cores side by side
    instead (search_linear)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    model = (make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=300, random_state=seed))
             if previous is None else previous.set_params(logisticregression__C=C,
                                                          logisticregression__warm_start=True))
    with threadpool_limits(limits=1, user_api="blas"):
        return model.fit(x, np.asarray(y, dtype=int))


def linear_probabilities(model, x: np.ndarray, num_classes: int) -> np.ndarray:
    """predict_proba with one column per class id, also when a class was absent from training (rows renormalised
    in float64: float32 features leave sums ~1e-7 off one, which scikit-learn's log_loss warns about)."""
    out = np.zeros((len(x), num_classes))
    out[:, model.classes_] = model.predict_proba(x)
    return out / out.sum(axis=1, keepdims=True)


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
                  on_trial: Callable[[int, int], None] | None = None,
                  grid=SEARCH_C) -> tuple[list[dict], dict | None]:
    """One trial per C, in ascending order: out-of-fold log loss and accuracy. The folds are fitted side by side
    (one thread per core); each fold's fit is warm-started from its fit at the previous C. The search stops once
    the log loss rises: it is smooth and U-shaped in C on held-out photos, and the larger C values past its
    minimum are the slowest fits (bench/quality.py, flowers: 191 s for the whole grid, ~90 s stopping, 24 s with
    the folds side by side on 2 cores). on_trial(done, grid size) after each C. Returns (trials, OOF
    probabilities by C); ([], None) if cancelled between C values."""
    from joblib import Parallel, cpu_count, delayed
    from sklearn.metrics import log_loss
    from threadpoolctl import threadpool_limits

    y = np.asarray(y, dtype=int)
    grid, labels = sorted(grid), list(range(num_classes))
    models, trials, oofs = [None] * len(folds), [], {}

    def fit_fold(i: int, C: float) -> np.ndarray:
        train_index, held_out = folds[i]
        models[i] = fit_linear(x[train_index], y[train_index], C=C, num_classes=num_classes, seed=seed,
                               previous=models[i])
        return linear_probabilities(models[i], x[held_out], num_classes)

    # BLAS limited here too: the fits' own limits, entered and left by several threads, then restore 1, not the
    # process's setting.
    with threadpool_limits(limits=1, user_api="blas"), \
            Parallel(n_jobs=min(len(folds), cpu_count()), prefer="threads") as parallel:
        for C in grid:
            if should_cancel and should_cancel():
                return [], None
            started = time.monotonic()
            oof = np.zeros((len(y), num_classes))
            for (_, held_out), probabilities in zip(folds, parallel(delayed(fit_fold)(i, C)
                                                                    for i in range(len(folds)))):
                oof[held_out] = probabilities
            trials.append({"head": "linear", "C": C, "cv_log_loss": float(log_loss(y, oof, labels=labels)),
                           "cv_accuracy": float((oof.argmax(1) == y).mean()),
                           "seconds": time.monotonic() - started})
            oofs[C] = oof
            if on_trial:
                on_trial(len(trials), len(grid))
            if len(trials) > 1 and trials[-1]["cv_log_loss"] > trials[-2]["cv_log_loss"]:
                break  # past the minimum
    return trials, oofs


# --- the Keras heads saved with a run -----------------------------------------------------------------------


def pooled_features(top_block, maps: np.ndarray) -> np.ndarray:
    return np.asarray(top_block.predict(maps, batch_size=128, verbose=0), dtype="float32") if len(maps) else \
        np.zeros((0, top_block.output.shape[-1]), "float32")


def cached_pooled_features(top_block, spec: FeatureSpec, maps: np.ndarray, cache=None,
                           hashes: list[str] | None = None) -> np.ndarray:
    """pooled_features of `maps` (photos `hashes`, in order); with a FeatureStore, those already pooled are read
    from it (PooledSpec) and the rest pooled and saved there: a retrain on cached maps pools only new photos
    (animals3: 6 of a 14.6 s retrain went to pooling its 2,295 photos again)."""
    if cache is None or hashes is None:
        return pooled_features(top_block, maps)
    pooled_spec = PooledSpec(spec, int(top_block.output.shape[-1]))
    missing = set(cache.missing(pooled_spec, list(hashes)))
    todo = [i for i, h in enumerate(hashes) if h in missing]
    done = [i for i, h in enumerate(hashes) if h not in missing]
    out = np.empty((len(hashes), pooled_spec.width), "float32")
    if done:
        out[done] = cache.load(pooled_spec, [hashes[i] for i in done])
    if todo:
        out[todo] = pooled_features(top_block, maps[todo])
        for i in todo:
            cache.save(pooled_spec, hashes[i], out[i])
    return out


def top_head(top_block, num_classes: int, kernel: np.ndarray, bias: np.ndarray, dropout: float = 0.0):
    """maps at the last block's input -> last block -> (dropout) -> softmax, the Dense set from a linear head.
    With a list of last blocks (one per view, each built for its view's size), the head takes a list of maps and
    the Dense reads their pooled features side by side, in the views' order."""
    import keras

    blocks = top_block if isinstance(top_block, (list, tuple)) else [top_block]
    maps = [keras.Input(block.input.shape[1:], name="features" if i == 0 else f"features_{i}")
            for i, block in enumerate(blocks)]
    pooled = [block(m) for block, m in zip(blocks, maps)]
    x = pooled[0] if len(pooled) == 1 else keras.layers.Concatenate(name="views")(pooled)
    if dropout:
        x = keras.layers.Dropout(dropout)(x)
    dense = keras.layers.Dense(num_classes, activation="softmax", name="probabilities")
    model = keras.Model(model_input(maps), dense(x), name="head")
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


def view_blocks(specs: list[FeatureSpec]) -> list:
    """One last block per view, built for the view's input size (the same weights)."""
    from classifier.backbones import load_top_block

    return [load_top_block(s.backbone, weights=s.weights, input_size=s.size, name_suffix=f"_{i}" if i else "")
            for i, s in enumerate(specs)]


def train_recommended(spec: FeatureSpec | list[FeatureSpec], maps, y, *, num_classes: int, seed: int = 0,
                      fine_tuning: str = "follow-up", finetune_config: FineTuneConfig | None = None,
                      on_epoch_end=None, should_cancel=None, on_progress=None, reuse: dict | None = None,
                      reused_from: str = "", cache=None, hashes: list[str] | None = None) -> dict:
    """The recommended recipe on the labelled photos (train + validation together). `spec` and `maps` are one
    view or lists of views (classifier.recipes.feature_specs; the first is the main one). on_progress(done,
    total, stage) counts the stage's own units: "search" (C values of the head search, each fitted on every
    cross-validation fold, per view set; "refit" for a reused decision's one C), then "fine-tune" (epochs, at most max_epochs; fine-tuning's epochs also
    go to on_epoch_end). Returns a dict with the head (Keras), `views` (how many of the views it takes: 1 or all),
    `calibration_probabilities`/`calibration_labels` (photos the head did not train on), the search's `trials`,
    the `chosen` settings, `history`, `best_epoch`, `timings`, `cancelled`.

    `reuse`: an earlier decision's `chosen` settings (reusable_decision) for nearly the same photos, named by
    `reused_from` ("job 12", "the cache"): its views and C are refitted without a search (out-of-fold at that C
    only, for calibration); with fine_tuning "follow-up", fine-tuning is tried again only if it had won.
    `fine_tuning` (FINE_TUNING) says whether the trial may run here; it runs only where it can pay
    (fine_tuning_can_pay), and the "fine-tune" stage is reported only when it runs. Where it can pay and is left
    to a follow-up, `fine_tuning_follow_up` is True. A trial that wins makes a new decision: its `chosen` names
    no `reused_from` (a later reuse counts changes from these photos).

    `cache` and `hashes` (the photos' content hashes, in the order of `y`): the pooled features are read from and
    saved to that FeatureStore (cached_pooled_features)."""
    if fine_tuning not in FINE_TUNING:
        raise ValueError(f"fine_tuning must be one of {FINE_TUNING}, got {fine_tuning!r}")
    specs = views(spec)
    maps = per_view(maps)
    y = np.asarray(y, dtype=int)
    timings = {}
    started = time.monotonic()
    blocks = view_blocks(specs)
    pooled = [cached_pooled_features(block, s, m, cache, hashes) for block, s, m in zip(blocks, specs, maps)]
    timings["pooling"] = time.monotonic() - started

    started = time.monotonic()
    folds = stratified_folds(y, FOLDS, seed)
    view_sets = [1] if len(specs) == 1 else [1, len(specs)]  # the main view alone, then all side by side
    search_grid = SEARCH_C
    if reuse is not None:  # the views and C it chose, refitted
        view_sets, search_grid = [reuse.get("view_count") or reuse["views"].count("+") + 1], (reuse["C"],)
    progress = on_progress or (lambda done, total, step: None)
    grid, stage = len(search_grid), "refit" if reuse is not None else "search"
    total = grid * len(view_sets)
    progress(0, total, stage)  # each stage counts its own units: C values tried, then epochs
    candidates, oofs = [], {}  # (trial, how many views it reads)
    for n, k in enumerate(view_sets):
        found, oof = search_linear(np.hstack(pooled[:k]), y, num_classes=num_classes, folds=folds, seed=seed,
                                   should_cancel=should_cancel, grid=search_grid,
                                   on_trial=lambda done, _, n=n: progress(n * grid + done, total, stage))
        if oof is None:
            return {"trials": [t for t, _ in candidates], "history": [], "best_epoch": 0, "timings": timings,
                    "cancelled": True}
        if len(found) < grid:  # stopped past the minimum: the values left are not tried
            progress((n + 1) * grid, total, stage)
        sizes = "+".join(str(s.size) for s in specs[:k])
        candidates += [({"views": f"{sizes} px"} | t | ({"reused_from": reused_from} if reuse else {}), k)
                       for t in found]
        oofs |= {(k, t["C"]): oof[t["C"]] for t in found}
    best, k = min(candidates, key=lambda c: c[0]["cv_log_loss"])
    trials = [t for t, _ in candidates]
    for t in trials:
        t["chosen"] = t is best
    linear = fit_linear(np.hstack(pooled[:k]), y, C=best["C"], num_classes=num_classes, seed=seed)
    kernel, bias = linear_weights(linear, num_classes)
    timings["search"] = time.monotonic() - started
    oof = oofs[(k, best["C"])]
    result = {"trials": trials, "history": [], "best_epoch": 0, "timings": timings, "cancelled": False,
              "fine_tuning_follow_up": False, "head": top_head(blocks[:k], num_classes, kernel, bias), "views": k,
              "calibration_probabilities": oof, "calibration_labels": y,
              "chosen": {"head": "linear", "C": best["C"], "views": best["views"], "view_count": k,
                         "fine_tuned": False} | ({"reused_from": reused_from} if reuse else {})}
    won_before = reuse is not None and reuse.get("fine_tuned")
    if fine_tuning == "never" or k > 1 or (reuse is not None and not won_before and fine_tuning != "now"):
        return result  # fine-tuning is of the one-view head; a reused decision tries it again only if it won
    maps, pooled = maps[0], pooled[0]
    # Fine-tuning, judged on the first fold's held-out photos against the linear head that never saw them.
    config = finetune_config or FineTuneConfig()
    train_index, held_out = folds[0]
    errors = int(np.sum(oof[held_out].argmax(1) != y[held_out]))
    if not fine_tuning_can_pay(errors, len(held_out), config):
        trials.append({"views": best["views"], "head": "fine-tune last block", "C": best["C"],
                       "skipped": f"cannot pay: the linear head gets {errors} of {len(held_out)} held-out photos "
                                  f"wrong; fixing all of them would give p = {0.5 ** errors:.3g}",
                       "linear_holdout_errors": errors, "best_p_value": 0.5 ** errors,
                       "max_p_value": config.max_p_value, "seconds": 0.0, "chosen": False})
        return result
    if fine_tuning == "follow-up" and not won_before:
        trials.append({"views": best["views"], "head": "fine-tune last block", "C": best["C"],
                       "skipped": f"left to a follow-up: the linear head gets {errors} of {len(held_out)} held-out "
                                  f"photos wrong, room for a significant gain",
                       "follow_up": True, "linear_holdout_errors": errors, "max_p_value": config.max_p_value,
                       "seconds": 0.0, "chosen": False})
        return result | {"fine_tuning_follow_up": True}
    started = time.monotonic()
    progress(0, config.max_epochs, "fine-tune")  # at most: early stopping usually ends it sooner
    fold_linear = fit_linear(pooled[train_index], y[train_index], C=best["C"], num_classes=num_classes, seed=seed)
    model, history, best_epoch, cancelled = fine_tune(
        view_blocks(specs[:1])[0], *linear_weights(fold_linear, num_classes), maps[train_index], y[train_index],
        maps[held_out], y[held_out],
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
    trials.append({"views": best["views"], "head": "fine-tune last block", "C": best["C"], "epochs": best_epoch,
                   "holdout_accuracy": tuned_accuracy, "linear_holdout_accuracy": linear_accuracy,
                   "p_value": p_value, "max_p_value": config.max_p_value, "seconds": timings["fine_tuning"],
                   "chosen": pays})
    if pays:
        result |= {"head": model, "calibration_probabilities": tuned, "calibration_labels": y[held_out],
                   "history": history, "best_epoch": best_epoch,
                   "chosen": {key: value for key, value in result["chosen"].items()
                              if won_before or key != "reused_from"}
                   | {"fine_tuned": True, "epochs": best_epoch}}
    return result
