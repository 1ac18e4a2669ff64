"""The classifier head on top of bottleneck features (the article's by default)."""

from dataclasses import asdict, dataclass, fields

ACTIVATIONS = ("leaky_relu", "relu", "gelu", "elu", "tanh")
OPTIMIZERS = ("rmsprop", "adam", "sgd")


@dataclass
class HeadConfig:
    hidden: tuple[int, ...] = (100, 50)
    dropout: tuple[float, ...] = (0.5, 0.3)
    activation: str = "leaky_relu"  # LeakyReLU with negative slope 0.3, as the article
    optimizer: str = "rmsprop"
    learning_rate: float = 1e-4
    epochs: int = 7
    batch_size: int = 50
    class_weight: str | None = None  # None or "balanced" (weights inversely proportional to class counts)
    keep_best: bool = False  # restore the weights of the epoch with the lowest val_loss

    def __post_init__(self):
        self.hidden = tuple(int(h) for h in self.hidden)
        self.dropout = tuple(float(d) for d in self.dropout)
        if len(self.dropout) != len(self.hidden):
            raise ValueError(f"need one dropout per hidden layer: hidden={self.hidden}, dropout={self.dropout}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {self.activation!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.class_weight not in (None, "balanced"):
            raise ValueError(f"class_weight must be None or 'balanced', got {self.class_weight!r}")

    def to_dict(self) -> dict:
        d = asdict(self)
        return d | {"hidden": list(self.hidden), "dropout": list(self.dropout)}

    @classmethod
    def from_dict(cls, d: dict) -> "HeadConfig":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


def _activation(name: str):
    import keras

    if name == "leaky_relu":
        return keras.layers.LeakyReLU(negative_slope=0.3)
    return keras.layers.Activation(name)


def build_head(input_shape, num_classes: int, config: HeadConfig):
    """Flatten -> (Dense, activation, Dropout) per hidden layer -> softmax, compiled for training."""
    import keras

    features = keras.Input(tuple(input_shape), name="features")
    x = keras.layers.Flatten()(features)
    for units, rate in zip(config.hidden, config.dropout):
        x = _activation(config.activation)(keras.layers.Dense(units)(x))
        x = keras.layers.Dropout(rate)(x)
    probabilities = keras.layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    model = keras.Model(features, probabilities, name="head")
    optimizer = {"rmsprop": keras.optimizers.RMSprop, "adam": keras.optimizers.Adam,
                 "sgd": keras.optimizers.SGD}[config.optimizer](learning_rate=config.learning_rate)
    model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
    return model
