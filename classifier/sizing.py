"""How much memory training a head takes, from its settings alone: plain arithmetic, no TensorFlow.

The web app refuses a job that cannot fit its workers before queueing it, and the job form shows the same figure.
It is an estimate of the big parts (float32 throughout), not a measurement: the head's weights with their
gradients and optimizer state, one batch's activations forward and backward, and the cached features of every
photo, which training loads into memory at once. The `recommended` recipe ignores the head settings: its features
are the maps at the backbone's last block's input (at the automatic input size, plus the most that sizing the views
by the photos may add: classifier.recipes.feature_specs), its head is linear, and fine-tuning uses FineTuneConfig's
batch.
"""

import math
from dataclasses import dataclass

from classifier.backbones import feature_shape, get_backbone

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
    if recipe == "recommended":
        from classifier.recipes import LARGE_PHOTOS, SMALL_PHOTOS, FineTuneConfig, own_size_view, second_view_size

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
    if footprint.recipe == "recommended":
        return "lower the input size (the recommended recipe keeps the maps at the backbone's last block)"
    if largest == "weights":
        return (f"the head's {footprint.parameters:,} parameters take most of it: lower the hidden layer sizes, "
                "or use global average pooling or a smaller input size (fewer features per photo)")
    if largest == "batch":
        return "one batch takes most of it: lower the batch size"
    return ("the photos' features take most of it: use global average pooling or a smaller input size "
            "(fewer features per photo)")
