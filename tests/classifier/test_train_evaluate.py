import numpy as np
import pytest

from classifier.evaluate import evaluate, format_report, scores
from classifier.head import HeadConfig, build_head
from classifier.train import balanced_class_weight, train


def _blobs(n_per_class: int, seed: int = 0):
    """Three well separated clusters of 16-d 'features'."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 3, (3, 16))
    y = np.repeat(np.arange(3), n_per_class)
    return (centers[y] + rng.normal(0, 0.5, (len(y), 16))).astype("float32"), y


def test_default_head_is_the_articles():
    config = HeadConfig()
    assert (config.hidden, config.dropout, config.epochs, config.batch_size) == ((100, 50), (0.5, 0.3), 7, 50)
    model = build_head((7, 7, 512), 6, config)
    kinds = [type(l).__name__ for l in model.layers[1:]]
    assert kinds == ["Flatten", "Dense", "LeakyReLU", "Dropout", "Dense", "LeakyReLU", "Dropout", "Dense"]
    assert [l.units for l in model.layers if type(l).__name__ == "Dense"] == [100, 50, 6]
    assert [l.negative_slope for l in model.layers if type(l).__name__ == "LeakyReLU"] == [0.3, 0.3]
    assert [l.rate for l in model.layers if type(l).__name__ == "Dropout"] == [0.5, 0.3]
    assert type(model.optimizer).__name__ == "RMSprop"
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(1e-4)
    assert model.loss == "categorical_crossentropy"
    assert HeadConfig.from_dict(config.to_dict()) == config


def test_train_reports_each_epoch_and_learns():
    x, y = _blobs(30)
    seen = []
    config = HeadConfig(hidden=(32,), dropout=(0.1,), optimizer="adam", learning_rate=1e-2, epochs=5,
                        batch_size=16)
    result = train(x, y, x[::5], y[::5], num_classes=3, config=config,
                   on_epoch_end=lambda epoch, m: seen.append((epoch, m)))
    assert [e for e, _ in seen] == [1, 2, 3, 4, 5]
    assert set(seen[0][1]) == {"loss", "accuracy", "val_loss", "val_accuracy", "seconds"}
    assert result.history == [m for _, m in seen] and not result.cancelled
    assert evaluate(result.model, x, y, ["a", "b", "c"])["accuracy"] > 0.95


def test_train_stops_when_cancelled():
    x, y = _blobs(10)
    epochs = []
    result = train(x, y, x[:0], y[:0], num_classes=3, config=HeadConfig(epochs=20),
                   on_epoch_end=lambda e, m: epochs.append(e), should_cancel=lambda: len(epochs) >= 2)
    assert result.cancelled and len(result.history) == 2
    assert result.history[0]["val_loss"] is None  # no validation images


def test_keep_best_restores_the_lowest_val_loss_epoch():
    x, y = _blobs(20)
    x_val, y_val = x[::2], (y[::2] + 1) % 3  # validation labels disagree: val_loss grows as training fits
    config = HeadConfig(hidden=(16,), dropout=(0.0,), optimizer="adam", learning_rate=1e-2, epochs=5,
                        keep_best=True)
    result = train(x, y, x_val, y_val, num_classes=3, config=config)
    losses = [m["val_loss"] for m in result.history]
    assert result.best_epoch == int(np.argmin(losses)) + 1 < len(losses)
    restored = evaluate(result.model, x_val, y_val, ["a", "b", "c"])["loss"]
    assert restored == pytest.approx(min(losses), rel=1e-3)


def test_balanced_class_weight():
    assert balanced_class_weight(np.array([0, 0, 0, 1]), 2) == {0: pytest.approx(4 / 6), 1: pytest.approx(2.0)}


def test_scores_are_plain_data_with_class_names():
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    report = scores(probabilities, [0, 1, 1, 1], ["cat", "dog"], ids=["a", "b", "c", "d"])
    assert report["accuracy"] == pytest.approx(0.75)
    assert report["confusion"] == [[1, 0], [1, 2]]
    np.testing.assert_allclose(report["confusion_normalized"], [[1.0, 0.0], [1 / 3, 2 / 3]], rtol=1e-6)
    cat, dog = report["per_class"]
    assert (cat["label"], cat["support"]) == ("cat", 1)
    assert (cat["precision"], cat["recall"]) == pytest.approx((0.5, 1.0))
    assert (dog["precision"], dog["recall"], dog["f1"]) == pytest.approx((1.0, 2 / 3, 0.8))
    assert report["macro_f1"] == pytest.approx((2 / 3 + 0.8) / 2)
    assert report["misclassified"] == [{"id": "c", "true": "dog", "predicted": "cat", "confidence": pytest.approx(0.6)}]
    assert report["loss"] == pytest.approx(-np.mean(np.log([0.9, 0.8, 0.4, 0.7])))
    text = format_report(report)
    assert "cat" in text and "dog" in text and "confusion matrix" in text
