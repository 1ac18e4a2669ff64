"""Grad-CAM: a heatmap at the photo's size whose peak lies on the object, for both recipes' model layouts."""

import io

import numpy as np
import pytest
from PIL import Image

from classifier.features import FeatureCache, extract
from classifier.gradcam import gradcam
from classifier.images import content_hash
from classifier.model_io import save_run
from classifier.predict import Predictor
from classifier.recipes import feature_spec
from classifier.workflow import train_and_evaluate
from tests.images import noisy_pixels
from tests.shared import MOBILENET_V2_LEGACY_FILE, shared_path

HEIGHT, WIDTH, SIDE = 200, 260, 64  # not square: the heatmap must come back at the photo's own size


def _photo(path, seed: int, square_at: tuple[int, int] | None):
    pixels = noisy_pixels((70, 80, 90), seed, HEIGHT, noise=20, width=WIDTH)
    if square_at is not None:
        top, left = square_at
        pixels[top:top + SIDE, left:left + SIDE] = (250, 250, 250)
    Image.fromarray(pixels).save(path)
    return path


def _train(tmp_path, recipe: str, spec, per_class: int):
    """A run telling photos with a bright square (anywhere) from plain ones; returns (run dir, squares by path)."""
    rng = np.random.default_rng(0)
    (tmp_path / "photos").mkdir()
    squares, items, labels = {}, [], []
    for i in range(2 * per_class):
        at = (int(rng.integers(0, HEIGHT - SIDE)), int(rng.integers(0, WIDTH - SIDE))) if i % 2 else None
        path = _photo(tmp_path / "photos" / f"{i}.png", i, at)
        squares[path] = at
        items.append((content_hash(path), path))
        labels.append(i % 2)
    cache = FeatureCache(tmp_path / "cache")
    extract(items, spec, cache)
    x, y = cache.load(spec, [h for h, _ in items]), np.array(labels)
    data = {"train": (x, y), "validation": (x[:0], y[:0]), "test": (x[::4], y[::4])}
    out = train_and_evaluate(recipe, data, class_names=["plain", "square"], spec=spec, fine_tuning="never")
    save_run(tmp_path / "run", head=out["head"], spec=spec, class_names=["plain", "square"], config=None,
             recipe=recipe)  # what Predictor reads (no export: it is not used here)
    return tmp_path / "run", squares, out


@pytest.mark.slow
def test_the_heatmap_has_the_photos_size_and_peaks_on_the_object(tmp_path):
    """Recommended recipe (the last block lives in the head) on the real ImageNet MobileNetV2."""
    shared_path("weights", MOBILENET_V2_LEGACY_FILE)
    run_dir, _, out = _train(tmp_path, "recommended", feature_spec("recommended", "mobilenet_v2"), per_class=8)
    assert out["report"]["accuracy"] == 1.0
    predictor = Predictor.from_run_dir(run_dir)
    for seed, (top, left) in enumerate([(10, 12), (120, 180)]):
        path = _photo(tmp_path / f"new{seed}.png", 1000 + seed, (top, left))
        result = gradcam(predictor, path)
        heatmap = result["heatmap"]
        assert result["label"] == "square" and result["class_index"] == 1
        assert heatmap.shape == (HEIGHT, WIDTH) and heatmap.dtype == np.float32
        assert heatmap.min() >= 0.0 and heatmap.max() == pytest.approx(1.0, abs=0.02)
        row, col = np.unravel_index(np.argmax(heatmap), heatmap.shape)
        assert top <= row < top + SIDE and left <= col < left + SIDE, (row, col, top, left)
        on_square = np.zeros(heatmap.shape, bool)
        on_square[top:top + SIDE, left:left + SIDE] = True
        assert heatmap[on_square].mean() > 2 * heatmap[~on_square].mean()  # the heat is on the square
        overlay = Image.open(io.BytesIO(result["overlay_png"]))
        assert overlay.format == "PNG" and overlay.size == (WIDTH, HEIGHT)


@pytest.mark.slow  # two backbones built and run (seconds each)
@pytest.mark.parametrize("backbone,pooling", [("vgg16", None), ("mobilenet_v2", "avg")])
def test_gradcam_works_on_the_article_heads_layouts_and_any_class(tmp_path, backbone, pooling):
    """Article recipe on the backbone's output maps (Flatten head), or on its pooled output (the activations are
    then taken before the backbone's own pooling); tiny random-init backbones."""
    from classifier.features import FeatureSpec

    spec = FeatureSpec(backbone, None, pooling, input_size=64)
    run_dir, squares, _ = _train(tmp_path, "article", spec, per_class=4)
    predictor = Predictor.from_run_dir(run_dir)
    path = next(p for p, at in squares.items() if at)
    data = path.read_bytes()
    default = gradcam(predictor, data)
    assert default["class_index"] == int(np.argmax(predictor.probabilities([data])[0]))
    for class_index in (0, 1):
        result = gradcam(predictor, data, class_index)
        assert result["class_index"] == class_index and result["label"] == ["plain", "square"][class_index]
        assert result["heatmap"].shape == (HEIGHT, WIDTH)
        assert 0.0 <= result["heatmap"].min() and result["heatmap"].max() <= 1.0
        assert result["probability"] == pytest.approx(predictor.probabilities([data])[0][class_index], abs=1e-4)
