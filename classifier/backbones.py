"""Backbone registry (plain data) and the one place that builds Keras backbones."""

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from classifier.files import content_hash

DEFAULT_BACKBONE = "vgg16"
PRECISIONS = ("float32", "bfloat16")
POOLINGS = (None, "avg")
STAGES = ("output", "top_input")  # the backbone's output, or the activations at the input of its last block
RANDOM_INIT_SEED = 0  # weights=None builds a seeded random init, so its features are reproducible and cacheable
_WEIGHTS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"


@dataclass(frozen=True)
class Backbone:
    name: str
    input_size: int
    channels: int
    feature_grid: int
    constructor: str  # keras.applications.<constructor>
    module: str  # keras.applications.<module>.preprocess_input
    imagenet_file: str  # file name Keras caches under $KERAS_HOME/models
    preprocess_mode: str  # what <module>.preprocess_input does: "caffe" (BGR, minus mean), "tf" ([-1, 1]), "none"
    download_path: str  # where Keras downloads imagenet_file from, relative to _WEIGHTS_URL
    # The last block, which the recommended recipe may fine-tune: features at its input are cached ("top_input").
    top_block: str  # the first layer of the last block
    top_channels: int  # channels at its input
    top_stride: int  # input size / grid at its input
    # Layers inside the last block whose average-pooled activations join its pooled output (mid-level features:
    # on blurred or unusual photos they carry what the last layer's ImageNet-specific features lose).
    top_taps: tuple[str, ...] = ()


BACKBONES = {
    b.name: b
    for b in (
        Backbone("vgg16", 224, 512, 7, "VGG16", "vgg16", "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
                 "caffe", "vgg16/", "block5_conv1", 512, 16),
        Backbone("resnet50", 224, 2048, 7, "ResNet50", "resnet50",
                 "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5", "caffe", "resnet/",
                 "conv5_block3_1_conv", 2048, 32),
        Backbone("mobilenet_v2", 224, 1280, 7, "MobileNetV2", "mobilenet_v2",
                 "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5", "tf", "mobilenet_v2/",
                 "block_13_expand", 96, 16, ("block_13_expand_relu",)),  # blocks 13-16 (docs/classifier-api.md)
        # EfficientNet rescales and normalises inside the model; its preprocess_input is the identity.
        Backbone("efficientnet_b0", 224, 1280, 7, "EfficientNetB0", "efficientnet", "efficientnetb0_notop.h5",
                 "none", "efficientnetb/", "block7a_expand_conv", 192, 32),
    )
}

# ImageNet mean in BGR order, as keras.applications.imagenet_utils' "caffe" mode subtracts it.
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


class WeightsMissingError(Exception):
    """The ImageNet weights file is not in Keras's cache and this machine cannot download it."""


def get_backbone(name: str) -> Backbone:
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}")
    return BACKBONES[name]


def feature_grid(backbone: str, input_size: int | None = None) -> int:
    """Side of the backbone's output map: every registered backbone downsamples by 32."""
    b = get_backbone(backbone)
    return b.feature_grid if input_size is None else -(-input_size // 32)


def feature_shape(backbone: str, pooling: str | None, input_size: int | None = None, stage: str = "output") -> tuple:
    """(grid, grid, C) feature maps for pooling None (the article's), (C,) for "avg"; at stage "top_input" the
    maps at the last block's input (pooling does not apply there)."""
    b = get_backbone(backbone)
    if stage == "top_input":
        grid = -(-(input_size or b.input_size) // b.top_stride)
        return (grid, grid, b.top_channels)
    if pooling == "avg":
        return (b.channels,)
    grid = feature_grid(backbone, input_size)
    return (grid, grid, b.channels)


def keras_models_dir() -> Path:
    """Keras's own cache folder for application weights ($KERAS_HOME/models, default ~/.keras/models)."""
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")).expanduser() / "models"


def imagenet_weights_path(backbone: str) -> Path:
    """The cached ImageNet weights file, or WeightsMissingError saying what to put where."""
    b = get_backbone(backbone)
    path = keras_models_dir() / b.imagenet_file
    if not path.is_file():
        raise WeightsMissingError(
            f"ImageNet weights for {backbone} are not cached: missing file {b.imagenet_file!r} in folder "
            f"{path.parent} (set KERAS_HOME to use another cache). Download it from "
            f"{_WEIGHTS_URL}{b.download_path}{b.imagenet_file} and put it there."
        )
    return path


def cached_backbones() -> list[str]:
    """Backbones whose ImageNet weights are in this machine's Keras cache, in registry order (file checks only)."""
    return [name for name, b in BACKBONES.items() if (keras_models_dir() / b.imagenet_file).is_file()]


def choose_backbone(available, *preferred: str) -> str:
    """The backbone to use when nobody names one (the web app's forms and audits, every CLI command): the first of
    `preferred`, then the article's DEFAULT_BACKBONE, then the registry's order, whose ImageNet weights are
    `available`; with none available, the first of them: its missing-weights error then says what to put where."""
    order = [*preferred, DEFAULT_BACKBONE, *BACKBONES]
    return next((name for name in order if name in available), order[0])


@lru_cache(maxsize=None)
def _file_sha256(path: str, mtime_ns: int, size: int) -> str:
    return content_hash(path)


def weights_arg(text: str | None) -> str | None:
    """Weights as written by people and stored in rows ("imagenet", "none", a file path) as the functions here take
    them: "none" (any case) or empty is None, a random-init backbone."""
    return None if not text or text.lower() == "none" else text


def weights_identity(backbone: str, weights: str | None) -> str:
    """Short id of the weights' content, for the feature cache key (hashed once per process and file)."""
    if weights is None:
        return f"random{RANDOM_INIT_SEED}"
    path = imagenet_weights_path(backbone) if weights == "imagenet" else Path(weights)
    stat = path.stat()
    prefix = "imagenet" if weights == "imagenet" else "file"
    return f"{prefix}.{_file_sha256(str(path.resolve()), stat.st_mtime_ns, stat.st_size)[:12]}"


def load_backbone(name: str, *, weights: str | None = "imagenet", pooling: str | None = None,
                  precision: str = "float32", input_size: int | None = None, fold_batchnorm: bool = True,
                  stage: str = "output"):
    """keras.Model mapping the backbone-preprocessed float tensor (N, S, S, 3) to features (stage "output") or
    to the activations at the input of its last block (stage "top_input", pooling ignored).

    For inference, BatchNorm is folded into the preceding convolution (same function, lets oneDNN fuse
    conv+bias+activation) and "bfloat16" casts every layer's weights and compute to bfloat16.
    """
    import keras

    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be None or 'avg', got {pooling!r}")
    b = get_backbone(name)
    size = input_size or b.input_size
    weights_file = imagenet_weights_path(name) if weights == "imagenet" else weights
    if weights is None:
        keras.utils.set_random_seed(RANDOM_INIT_SEED)
    constructor = getattr(keras.applications, b.constructor)
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {STAGES}, got {stage!r}")
    model = constructor(include_top=False, weights=None, input_shape=(size, size, 3),
                        pooling=pooling if stage == "output" else None)
    if weights_file is not None:
        model.load_weights(str(weights_file))
    if stage == "top_input":
        model = keras.Model(model.input, model.get_layer(b.top_block).input, name=f"{name}_trunk")
    if not fold_batchnorm and precision == "float32":
        return model
    from classifier.inference import optimise_for_inference

    return optimise_for_inference(model, fold_batchnorm=fold_batchnorm, dtype=precision)


def load_top_block(name: str, *, weights: str | None = "imagenet", input_size: int | None = None,
                   pooling: str | None = "avg", taps: bool = True, name_suffix: str = ""):
    """The backbone's last block, trainable (BatchNorm unfolded): maps at the "top_input" stage -> the features
    the whole backbone computes with this pooling; with "avg" (and `taps`), the average-pooled `top_taps` come
    first. Named "top_block" + name_suffix (a head with two views holds two)."""
    import keras

    b = get_backbone(name)
    size = input_size or b.input_size
    weights_file = imagenet_weights_path(name) if weights == "imagenet" else weights
    if weights is None:
        keras.utils.set_random_seed(RANDOM_INIT_SEED)
    constructor = getattr(keras.applications, b.constructor)
    model = constructor(include_top=False, weights=None, input_shape=(size, size, 3), pooling=pooling)
    if weights_file is not None:
        model.load_weights(str(weights_file))
    output = model.output
    if pooling == "avg" and taps and b.top_taps:
        pooled_taps = [keras.layers.GlobalAveragePooling2D(name=f"{tap}_pool")(model.get_layer(tap).output)
                       for tap in b.top_taps]
        output = keras.layers.Concatenate(name="pooled")([*pooled_taps, output])
    return keras.Model(model.get_layer(b.top_block).input, output, name=f"top_block{name_suffix}")


def preprocessing_layer(name: str):
    """The backbone's own `preprocess_input` as a built-in Keras layer (raw RGB 0-255 in).

    Built-in layers keep the exported model loadable with plain keras.saving.load_model; tests check this layer
    against keras.applications.<module>.preprocess_input.
    """
    import keras
    import numpy as np

    mode = get_backbone(name).preprocess_mode
    if mode == "none":
        return keras.layers.Identity(name="preprocess")
    # As fixed 1x1 convolutions rather than scalar arithmetic (Rescaling): tf2onnx's optimizer fails on a scalar
    # Add after the resize layers (ONNX export of the bundle).
    if mode == "tf":  # x / 127.5 - 1
        kernel, bias = np.eye(3, dtype="float32") / 127.5, np.full(3, -1.0, "float32")
    else:  # caffe: RGB -> BGR, minus the ImageNet mean (exact: weights are 0 and 1)
        kernel, bias = np.eye(3, dtype="float32")[:, ::-1], -np.array(_CAFFE_MEAN_BGR, dtype="float32")
    layer = keras.layers.Conv2D(3, 1, name="preprocess", trainable=False)
    layer.build((None, None, None, 3))
    layer.set_weights([kernel.reshape(1, 1, 3, 3), bias])
    return layer


def build_feature_model(name: str, *, weights: str | None = "imagenet", pooling: str | None = None,
                        precision: str = "float32", input_size: int | None = None, stage: str = "output"):
    """Raw RGB image batch (N, S, S, 3), uint8 or float 0-255 -> features: preprocessing + backbone."""
    import keras

    size = input_size or get_backbone(name).input_size
    backbone = load_backbone(name, weights=weights, pooling=pooling, precision=precision, input_size=size,
                             stage=stage)
    images = keras.Input((size, size, 3), name="image")
    x = keras.layers.Activation("linear", dtype="float32", name="to_float")(images)
    features = backbone(preprocessing_layer(name)(x))
    features = keras.layers.Activation("linear", dtype="float32", name="features")(features)
    suffix = "" if size == get_backbone(name).input_size else f"_{size}"  # a model of two views holds two
    return keras.Model(images, features, name=f"{name}_features{suffix}")
