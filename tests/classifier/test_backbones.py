import numpy as np
import pytest

from classifier.backbones import (BACKBONES, DEFAULT_BACKBONE, WeightsMissingError, build_feature_model,
                                  feature_shape, load_backbone, preprocessing_layer)
from classifier.features import FeatureSpec

# The big graphs take seconds to build: `make test-fast` builds the small ones only (`make test` all).
HEAVY = {"resnet50", "efficientnet_b0"}


def _by_weight(names):
    return [pytest.param(name, marks=pytest.mark.slow) if name in HEAVY else name for name in names]


def test_registry_is_plain_data_with_the_article_default():
    assert DEFAULT_BACKBONE == "vgg16"
    assert {n: b.channels for n, b in BACKBONES.items()} == {
        "vgg16": 512, "resnet50": 2048, "mobilenet_v2": 1280, "efficientnet_b0": 1280}
    assert all(b.input_size == 224 and b.feature_grid == 7 for b in BACKBONES.values())
    assert feature_shape("vgg16", None) == (7, 7, 512)
    assert feature_shape("resnet50", "avg") == (2048,)
    assert feature_shape("mobilenet_v2", None, input_size=64) == (2, 2, 1280)


@pytest.mark.parametrize("name", _by_weight(BACKBONES))
def test_random_init_backbones_give_the_registered_shapes(name):
    maps = load_backbone(name, weights=None, input_size=64)
    assert tuple(maps.output.shape[1:]) == feature_shape(name, None, input_size=64)
    pooled = load_backbone(name, weights=None, pooling="avg", input_size=64)
    assert tuple(pooled.output.shape[1:]) == feature_shape(name, "avg")


def test_random_init_is_seeded_so_features_are_reproducible():
    x = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    first = build_feature_model("vgg16", weights=None, pooling="avg", input_size=32).predict(x, verbose=0)
    second = build_feature_model("vgg16", weights=None, pooling="avg", input_size=32).predict(x, verbose=0)
    np.testing.assert_allclose(first, second, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", list(BACKBONES))
def test_preprocessing_layer_is_the_backbones_own_preprocess_input(name):
    import importlib

    import keras

    module = importlib.import_module(f"keras.applications.{BACKBONES[name].module}")
    x = np.random.default_rng(1).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
    expected = module.preprocess_input(x.copy())
    np.testing.assert_allclose(keras.ops.convert_to_numpy(preprocessing_layer(name)(x)), expected, atol=1e-4)


def test_missing_imagenet_weights_name_the_file_and_folder_without_downloading(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(WeightsMissingError) as error:
        load_backbone("vgg16", weights="imagenet")
    assert "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5" in str(error.value)
    assert str(tmp_path / "models") in str(error.value)
    assert not (tmp_path / "models").exists()  # nothing was downloaded (or attempted into the cache)


def test_imagenet_cache_key_is_derived_from_the_cached_file(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    weights = tmp_path / "models" / BACKBONES["vgg16"].imagenet_file
    weights.parent.mkdir()
    weights.write_bytes(b"first weights")
    first = FeatureSpec("vgg16").key
    weights.write_bytes(b"other weights!")
    assert FeatureSpec("vgg16").key != first
    assert FeatureSpec("vgg16", weights=None).key != FeatureSpec("vgg16", weights=None, pooling="avg").key
    assert FeatureSpec("vgg16", weights=None).key != FeatureSpec("vgg16", weights=None, precision="bfloat16").key
    assert FeatureSpec("vgg16", weights=None).key != FeatureSpec("vgg16", weights=None, input_size=160).key


def _randomise_batchnorm(model, seed=0):
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if type(layer).__name__ == "BatchNormalization":
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, gamma.shape), rng.normal(0, 0.2, beta.shape),
                               rng.normal(0, 0.2, mean.shape), rng.uniform(0.5, 2.0, var.shape)])


@pytest.mark.parametrize("name", _by_weight(["mobilenet_v2", "resnet50"]))
def test_folding_batchnorm_keeps_the_function(name):
    from classifier.inference import optimise_for_inference

    model = load_backbone(name, weights=None, input_size=64, fold_batchnorm=False)
    _randomise_batchnorm(model)  # a fresh init has identity BatchNorm, which would hide a wrong fold
    folded = optimise_for_inference(model)
    assert not [l for l in folded.layers if type(l).__name__ == "BatchNormalization"]
    x = np.random.default_rng(2).uniform(-1, 1, (2, 64, 64, 3)).astype("float32")
    expected = model.predict(x, verbose=0)
    np.testing.assert_allclose(folded.predict(x, verbose=0), expected, atol=1e-5 * np.abs(expected).max())


def test_bfloat16_backbone_computes_in_bfloat16_close_to_float32():
    x = np.random.default_rng(3).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    full = build_feature_model("vgg16", weights=None, input_size=32).predict(x, verbose=0)
    half_model = build_feature_model("vgg16", weights=None, input_size=32, precision="bfloat16")
    assert {w.dtype for w in half_model.get_layer("vgg16").weights} == {"bfloat16"}
    half = half_model.predict(x, verbose=0)
    assert half.dtype == np.float32
    np.testing.assert_allclose(half, full, atol=0.05 * np.abs(full).max())
