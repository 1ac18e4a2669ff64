"""Training the head on cached features, with per-epoch reporting and cancellation."""

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from classifier.head import HeadConfig, build_head


@dataclass
class TrainResult:
    model: object
    history: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    cancelled: bool = False


def balanced_class_weight(y: np.ndarray, num_classes: int) -> dict[int, float]:
    """scikit-learn's "balanced" weights, n / (k * count_c), so each class weighs the same in the loss; classes
    absent from y get weight 1."""
    from sklearn.utils.class_weight import compute_class_weight

    present = np.unique(y)
    weights = dict(zip(present.tolist(), compute_class_weight("balanced", classes=present, y=y).tolist()))
    return {c: float(weights.get(c, 1.0)) for c in range(num_classes)}


def train(x_train, y_train, x_val, y_val, *, num_classes: int, config: HeadConfig | None = None,
          on_epoch_end: Callable[[int, dict], None] | None = None,
          should_cancel: Callable[[], bool] | None = None, seed: int = 0) -> TrainResult:
    """Fit a new head; y are integer class ids. Validation may be empty (val metrics are then None)."""
    import keras

    config = config or HeadConfig()
    keras.utils.set_random_seed(seed)
    model = build_head(x_train.shape[1:], num_classes, config)
    one_hot = lambda y: keras.utils.to_categorical(np.asarray(y), num_classes)  # noqa: E731
    has_val = len(y_val) > 0
    result = TrainResult(model=model)
    best = {"val_loss": np.inf, "weights": None}

    class Hooks(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.monotonic()

        def on_epoch_end(self, epoch, logs=None):
            metrics = {k: float(logs[k]) if k in logs else None
                       for k in ("loss", "accuracy", "val_loss", "val_accuracy")}
            metrics["seconds"] = time.monotonic() - self.started
            result.history.append(metrics)
            if metrics["val_loss"] is not None and metrics["val_loss"] < best["val_loss"]:
                best.update(val_loss=metrics["val_loss"], epoch=epoch + 1,
                            weights=model.get_weights() if config.keep_best else None)
            if on_epoch_end:
                on_epoch_end(epoch + 1, metrics)
            if should_cancel and should_cancel():
                result.cancelled = True
                self.model.stop_training = True

    model.fit(
        x_train, one_hot(y_train), batch_size=config.batch_size, epochs=config.epochs, verbose=0,
        validation_data=(x_val, one_hot(y_val)) if has_val else None,
        class_weight=balanced_class_weight(np.asarray(y_train), num_classes) if config.class_weight else None,
        callbacks=[Hooks()], shuffle=True,
    )
    result.best_epoch = len(result.history)
    if config.keep_best and best["weights"] is not None:
        model.set_weights(best["weights"])
        result.best_epoch = best["epoch"]
    return result
