"""How much memory training a head takes, from its settings alone: plain arithmetic, no TensorFlow.

The web app refuses a job that cannot fit its workers before queueing it, and the job form shows the same figure.
It is an estimate of the big parts (float32 throughout), not a measurement: the head's weights with their
gradients and optimizer state, one batch's activations forward and backward, and the cached features of every
photo, which training loads into memory at once. The `recommended` recipe ignores the head settings: its features
are the maps at the backbone's last block's input (at the automatic input size, plus the most that sizing the views
by the photos may add: classifier.recipes.feature_specs), its head is linear, and fine-tuning uses FineTuneConfig's
batch.

Extraction (extraction_footprint) is counted apart: the backbone's activations for one batch at that input size,
and the decoded, resized photos in the input pipeline. A job needs the larger of the two (extraction's memory is
free again when training starts); extraction_batch_size lowers the batch to what fits.
"""

import math
import os
from dataclasses import dataclass

from classifier.backbones import feature_shape, get_backbone
from classifier.recipes import LARGE_PHOTOS, SMALL_PHOTOS, FineTuneConfig, get_recipe, own_size_view, second_view_size

FLOAT_BYTES = 4
OPTIMIZER_SLOTS = {"sgd": 1, "rmsprop": 1, "adam": 2}  # per weight, besides the weight and its gradient


@dataclass(frozen=True)
class TrainingFootprint:
    recipe: str
    features_per_image: int
    parameters: int
    weights_bytes: int  # weights + gradients + optimizer state
    batch_bytes: int  # one batch's inputs and activations, kept for the backward pass
    features_bytes: int  # every photo's features, loaded for training

    @property
    def total_bytes(self) -> int:
        return self.weights_bytes + self.batch_bytes + self.features_bytes


def training_footprint(*, backbone: str, pooling: str | None, input_size: int | None, hidden, num_classes: int,
                       batch_size: int, optimizer: str, image_count: int,
                       recipe: str = "article") -> TrainingFootprint:
    loaded = 0  # features per photo loaded besides the input size's: a second or larger view's
    if not get_recipe(recipe).fixed_head:

        maps = lambda size: math.prod(feature_shape(backbone, None, size, stage="top_input"))  # noqa: E731
        features = maps(input_size)
        hidden, batch_size, optimizer = (), FineTuneConfig.batch_size, "adam"
        if input_size is None:  # the most the automatic views may add: one at the photos' own size instead of the
            main = get_backbone(backbone).input_size  # input's, or a second one beside it
            largest_own = own_size_view([int(LARGE_PHOTOS * main)], main) or main
            loaded = max(maps(largest_own) - features, maps(second_view_size([int(SMALL_PHOTOS * main)], main)))
    else:
        features = math.prod(feature_shape(backbone, pooling or None, input_size))
    widths = [features, *(int(h) for h in hidden), max(int(num_classes), 2)]
    parameters = sum((n_in + 1) * n_out for n_in, n_out in zip(widths, widths[1:]))
    slots = 2 + OPTIMIZER_SLOTS.get(optimizer, 2)
    return TrainingFootprint(
        recipe=recipe,
        features_per_image=features,
        parameters=parameters,
        weights_bytes=parameters * slots * FLOAT_BYTES,
        batch_bytes=2 * batch_size * sum(widths) * FLOAT_BYTES,
        features_bytes=image_count * (features + loaded) * FLOAT_BYTES,
    )


def too_big_advice(footprint: TrainingFootprint) -> str:
    """Which settings to lower, for the part that weighs most."""
    parts = {
        "weights": footprint.weights_bytes, "batch": footprint.batch_bytes, "features": footprint.features_bytes,
    }
    largest = max(parts, key=parts.get)
    if not get_recipe(footprint.recipe).fixed_head:
        return "lower the input size (the recommended recipe keeps the maps at the backbone's last block)"
    if largest == "weights":
        return (f"the head's {footprint.parameters:,} parameters take most of it: lower the hidden layer sizes, "
                "or use global average pooling or a smaller input size (fewer features per photo)")
    if largest == "batch":
        return "one batch takes most of it: lower the batch size"
    return ("the photos' features take most of it: use global average pooling or a smaller input size "
            "(fewer features per photo)")



# The most activations alive at once when one 224 px image runs through the whole backbone (Keras model built with
# weights=None; a layer's output lives until its last consumer has run), in floats; tests/classifier/test_sizing.py
# recounts them. At another input size they scale with the side squared (the early, high-resolution layers weigh
# most). TensorFlow holds more than the live outputs (oneDNN's reordered copies, activations run as separate ops:
# ResNet50's ReLU, EfficientNet's swish), by these factors: bench/memory.py measured 0.8x (MobileNetV2), 1.3x
# (VGG16), 2.0x (EfficientNetB0) and 2.4x (ResNet50) per photo of a batch at 320 px; each is rounded up.
PEAK_ACTIVATIONS_224 = {"vgg16": 6_422_528, "resnet50": 2_408_448, "mobilenet_v2": 2_430_048,
                        "efficientnet_b0": 2_430_048}
ACTIVATION_FACTOR = {"vgg16": 1.5, "resnet50": 2.75, "mobilenet_v2": 1.0, "efficientnet_b0": 2.25}
BACKBONE_PARAMETERS = {"vgg16": 14_714_688, "resnet50": 23_587_712, "mobilenet_v2": 2_257_984,
                       "efficientnet_b0": 4_049_571}
WEIGHT_COPIES = 3  # the loaded weights, the BatchNorm-folded model's and the compiled call's (measured ~2.5x)
MODEL_BYTES = 32 * 2**20  # the Keras models themselves
EXTRACTION_RUNTIME_BYTES = 128 * 2**20  # tracing the compiled calls, tf.data's own buffers (measured ~60 MB)
# Images in the input pipeline (classifier.features._decoded_batches): per view, the batch in use, its resized
# photos before stacking, and a margin (kept from the overlapped pipeline before it); and, per photo being decoded
# (one per decode thread and two waiting), the photo, its float copy, its SUPERSAMPLE x bilinear resize and its
# average.
BATCHES_IN_FLIGHT = 4
DECODES_WAITING = 2
SUPERSAMPLE = 4  # classifier.preprocessing.SUPERSAMPLE
TYPICAL_PHOTO_PIXELS = 12_000_000  # a phone photo, when the photos' own sizes are not known


@dataclass(frozen=True)
class ExtractionFootprint:
    batch_size: int
    activations_bytes: int  # the backbone's activations for one batch (the largest view's)
    images_bytes: int  # decoded and resized photos in the input pipeline
    weights_bytes: int  # the backbones' weights and models
    runtime_bytes: int  # TensorFlow's tracing and tf.data's buffers

    @property
    def total_bytes(self) -> int:
        return self.activations_bytes + self.images_bytes + self.weights_bytes + self.runtime_bytes


def usable_cores() -> int:
    """The cores this process may run on (its affinity: a container or taskset may allow fewer than the machine
    has)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, cores or 1)


def decode_threads() -> int:
    """Threads decoding photos at once in extraction (classifier.features._decoded_batches): one per usable core."""
    return usable_cores()


def _padded(size: int) -> int:
    return -(-size // 32) * 32  # every layer's grid side is at most this over its stride


def extraction_footprint(*, backbone: str, sizes: list[int], batch_size: int,
                         photo_pixels: int = TYPICAL_PHOTO_PIXELS, threads: int | None = None) -> ExtractionFootprint:
    """Estimated memory of extracting features at these input sizes (a job's views: each photo is decoded once
    and runs through one view's backbone at a time); `photo_pixels`: the largest photo's."""
    get_backbone(backbone)  # a clear error for an unknown name
    threads = threads or decode_threads()
    per_photo = ACTIVATION_FACTOR[backbone] * max(PEAK_ACTIVATIONS_224[backbone] * (_padded(s) / 224) ** 2
                                                  for s in sizes)
    view_pixels = sum(s * s for s in sizes)
    decoding = photo_pixels * 3 * (1 + FLOAT_BYTES) + sum((SUPERSAMPLE * s) ** 2 for s in sizes) * 3 * FLOAT_BYTES
    return ExtractionFootprint(
        batch_size=batch_size,
        activations_bytes=int(batch_size * per_photo * FLOAT_BYTES),
        images_bytes=(BATCHES_IN_FLIGHT * batch_size * view_pixels * 3 * FLOAT_BYTES
                      + (threads + DECODES_WAITING) * (decoding + view_pixels * 3 * FLOAT_BYTES)),
        weights_bytes=len(sizes) * (WEIGHT_COPIES * BACKBONE_PARAMETERS[backbone] * FLOAT_BYTES + MODEL_BYTES),
        runtime_bytes=EXTRACTION_RUNTIME_BYTES,
    )


def extraction_batch_size(*, backbone: str, sizes: list[int], limit_bytes: int, preferred: int,
                          photo_pixels: int = TYPICAL_PHOTO_PIXELS, threads: int | None = None) -> int | None:
    """The largest extraction batch, at most `preferred`, whose footprint fits `limit_bytes` (the footprint grows
    linearly with the batch); None when not even one photo at a time fits."""
    def total(batch: int) -> int:
        return extraction_footprint(backbone=backbone, sizes=sizes, batch_size=batch, photo_pixels=photo_pixels,
                                    threads=threads).total_bytes

    fixed, per_photo = total(0), total(1) - total(0)
    batch = min(max(1, preferred), (limit_bytes - fixed) // per_photo)
    return batch if batch >= 1 else None
