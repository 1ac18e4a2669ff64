"""A training job's settings, defined once: each setting's default, what it accepts and what it means. The command
line's `train` flags (classifier/cli.py), the job form and the estimate form, the job service's validation and the
job row's defaults (webapp/experiments) are all made from JobSettings.

Values are spelled as a job row stores them: weights "imagenet" or "none", pooling "" (the 7x7 maps) or "avg"; the
head's as classifier.head.HeadConfig (class_weight None or "balanced"). Each surface keeps its own spelling of
"nothing" (`--pooling none`, a form's empty choice) and maps it to these.
"""

from dataclasses import asdict, dataclass, field, fields, replace

from classifier.backbones import BACKBONES, DEFAULT_BACKBONE, PRECISIONS, weights_arg
from classifier.head import ACTIVATIONS, OPTIMIZERS, HeadConfig
from classifier.recipes import DEFAULT_RECIPE, RECIPE_REGISTRY, feature_specs

ARTICLE = HeadConfig()  # the article's head: the head settings' defaults
HEAD_SETTINGS = tuple(f.name for f in fields(HeadConfig))


class SettingError(ValueError):
    """A refused setting: `name` says which (a form shows the message next to that field), `about` which settings
    the rule reads (a form reports it only when those passed on their own)."""

    def __init__(self, name: str, message: str, about: tuple[str, ...] = ()):
        super().__init__(message)
        self.name, self.about = name, about or (name,)


@dataclass(frozen=True)
class Setting:
    """One setting as plain data, what every surface is made from."""
    name: str
    default: object
    help: str
    label: str
    type: type  # of the value, or of each value of a list
    choices: tuple = ()  # ((value, what people read), ...); empty: any value of `type` in [min, max]
    min: float | None = None
    max: float | None = None
    below_max: bool = False  # max itself is refused (a dropout rate is below 1)
    many: int = 0  # a list of 1 to `many` values (hidden sizes, dropout rates); 0: one value
    optional: bool = False  # None accepted (the input size: the automatic one)
    fixed_head_only: bool = False  # read only by a recipe with a fixed head (Recipe.fixed_head)

    @property
    def values(self) -> tuple:
        return tuple(value for value, _ in self.choices)

    def _range(self) -> str:
        return (f"at least {self.min:g} and below {self.max:g}" if self.below_max
                else f"from {self.min:g} to {self.max:g}")

    def _number(self, value):
        """One number of this setting's type, in its range."""
        what = "an integer" if self.type is int else "a number"
        try:
            if isinstance(value, bool) or not isinstance(value, (int, float, str)):
                raise ValueError
            number = self.type(value)
            if number != float(value):  # 2.5 is no integer
                raise ValueError
        except ValueError:
            raise SettingError(self.name, f"{self.label}: {value!r} is not {what}.") from None
        if not (self.min <= number and (number < self.max if self.below_max else number <= self.max)):
            which = f"{self.label}: each" if self.many else self.label
            raise SettingError(self.name, f"{which} must be {self._range()}, got {number}.")
        return number

    def check(self, value):
        """The value as JobSettings keeps it (a list as a tuple), or SettingError with a readable message."""
        if value is None and self.optional:
            return None
        if self.choices:
            if value not in self.values:
                raise SettingError(self.name, f"Unknown {self.label.lower()} {value!r}; choose one of "
                                              f"{', '.join(map(repr, self.values))}.")
            return value
        if self.type is bool:
            if not isinstance(value, bool):
                raise SettingError(self.name, f"{self.label}: {value!r} is not true or false.")
            return value
        if self.many:
            if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
                raise SettingError(self.name, f"{self.label}: a list of numbers, got {value!r}.")
            values = tuple(self._number(v) for v in value)
            if not 1 <= len(values) <= self.many:
                raise SettingError(self.name, f"{self.label}: give 1 to {self.many} values, got {len(values)}.")
            return values
        return self._number(value)

    def parse(self, text: str):
        """The value from text as people type it (a flag, a form field; a list comma-separated), checked."""
        if self.many:
            items = [item.strip() for item in text.replace(";", ",").split(",") if item.strip()]
            example = ", ".join(map(str, self.default))
            try:
                values = [self.type(item) for item in items]
            except ValueError:
                raise SettingError(self.name, f"{self.label}: enter numbers separated by commas, e.g. "
                                              f"{example}.") from None
            return self.check(values)
        return self.check(text if self.choices or self.type is str else self._number(text))


def _setting(default, help: str, **description):
    """A JobSettings field: its default, its help text and what it accepts (Setting's other fields)."""
    return field(default=default, metadata={"help": help, **description})


@dataclass(frozen=True)
class JobSettings:
    """Every setting of a training job, checked when made (SettingError). `JobSettings.setting(name)` describes
    one; `fields_of(...)` lists them."""
    recipe: str = _setting(
        DEFAULT_RECIPE, "Recommended chooses its head by cross-validation on the backbone's last block (a follow-up "
        "job fine-tunes it where that can pay) and ignores pooling and the head settings; article trains the "
        "article's head (the head settings) on the 7×7 maps.",
        choices=tuple((recipe.name, recipe.label) for recipe in RECIPE_REGISTRY.values()))
    backbone: str = _setting(
        DEFAULT_BACKBONE, "Pretrained convolutional base whose bottleneck features are used.",
        choices=tuple((name, backbone.constructor) for name, backbone in BACKBONES.items()))
    weights: str = _setting(
        "imagenet", "The backbone's weights: ImageNet's, or a seeded random initialisation (quick tests).",
        choices=(("imagenet", "ImageNet (pretrained)"), ("none", "None: random initialisation (for quick tests)")))
    pooling: str = _setting(
        "", "How the backbone's maps become features: kept whole (the article's 7×7 maps) or averaged.",
        choices=(("", "None: keep the 7×7 feature maps (the article)"), ("avg", "Global average pooling")),
        fixed_head_only=True)
    precision: str = _setting(
        "auto", "Precision the backbone runs and the features are cached in. auto: bfloat16 where the machine "
        "measured it clearly faster on the backbone (CPUs with AVX512-BF16 or AMX), float32 elsewhere; resolved once "
        "when the job is planned.", choices=tuple((p, p) for p in ("auto", *PRECISIONS)))
    input_size: int | None = _setting(
        None, "Side of the square the photos are resized to. Not given: the backbone's own (224); with the "
        "recommended recipe the photos' own size when they are a little larger (up to 1.2x), and beside 224 when "
        "they are small (kept if it helps).", label="Input size (pixels)", type=int, min=32, max=1024,
        optional=True)
    hidden: tuple[int, ...] = _setting(ARTICLE.hidden, "Units per dense layer, comma-separated.",
                                       label="Hidden layer sizes", type=int, min=1, max=8192, many=8,
                                       fixed_head_only=True)
    dropout: tuple[float, ...] = _setting(ARTICLE.dropout, "One rate per hidden layer, each in [0, 1).",
                                          label="Dropout rates", type=float, min=0, max=1, below_max=True,
                                          many=8, fixed_head_only=True)
    activation: str = _setting(ARTICLE.activation, "After each hidden layer (leaky_relu: slope 0.3, the "
                               "article's).", choices=tuple((a, a) for a in ACTIVATIONS), fixed_head_only=True)
    optimizer: str = _setting(ARTICLE.optimizer, "What trains the head.",
                              choices=tuple((o, o) for o in OPTIMIZERS), fixed_head_only=True)
    learning_rate: float = _setting(ARTICLE.learning_rate, "The optimizer's learning rate.", min=1e-7, max=1.0,
                                    fixed_head_only=True)
    epochs: int = _setting(ARTICLE.epochs, "Passes over the training photos.", min=1, max=500,
                           fixed_head_only=True)
    batch_size: int = _setting(ARTICLE.batch_size, "Photos per step of the head's training.", min=1, max=4096,
                               fixed_head_only=True)
    class_weight: str | None = _setting(
        ARTICLE.class_weight, "Weigh each class by its inverse frequency (classes of unequal sizes).",
        type=str, choices=((None, "None"), ("balanced", "Balanced (inverse class frequency)")),
        fixed_head_only=True)
    keep_best: bool = _setting(ARTICLE.keep_best, "Restore the weights of the epoch with the lowest validation "
                               "loss.", label="Keep the best epoch", fixed_head_only=True)

    def __post_init__(self):
        for f in fields(self):
            object.__setattr__(self, f.name, self.setting(f.name).check(getattr(self, f.name)))
        if len(self.dropout) != len(self.hidden):
            raise SettingError("dropout", f"Give one dropout rate per hidden layer ({len(self.hidden)}).",
                               about=("hidden", "dropout"))

    @classmethod
    def setting(cls, name: str) -> Setting:
        f = next(f for f in fields(cls) if f.name == name)
        description = dict(f.metadata)
        label = description.pop("label", name.replace("_", " ").capitalize())
        kind = description.pop("type", None) or type(f.default[0] if description.get("many") else f.default)
        return Setting(name=name, default=f.default, label=label, type=kind, **description)

    @classmethod
    def fields_of(cls, *, fixed_head_only: bool | None = None) -> tuple[str, ...]:
        """The settings' names, in order; only those a fixed head alone reads (True) or the others (False)."""
        return tuple(f.name for f in fields(cls)
                     if fixed_head_only is None or cls.setting(f.name).fixed_head_only == fixed_head_only)

    @classmethod
    def from_job(cls, *, head_config: dict | None = None, **columns) -> "JobSettings":
        """From a job's columns (recipe, backbone, weights, pooling, precision, input_size) and its head config
        (HeadConfig.to_dict(); settings it lacks are the defaults)."""
        head = {name: value for name, value in (head_config or {}).items() if name in HEAD_SETTINGS}
        return cls(**columns, **head)

    def columns(self) -> dict:
        """The settings a job row keeps in columns of their own (the head's go in head_config)."""
        return {name: value for name, value in asdict(self).items() if name not in HEAD_SETTINGS}

    def head_config(self) -> HeadConfig:
        return HeadConfig(**{name: getattr(self, name) for name in HEAD_SETTINGS})

    def with_precision(self, precision: str) -> "JobSettings":
        """These settings with precision `auto` resolved (classifier.precision) to float32 or bfloat16."""
        return replace(self, precision=precision)

    def feature_specs(self, photo_sides: list[int] | None = None) -> list:
        """The views a job with these settings extracts, the main one first (classifier.recipes.feature_specs;
        `photo_sides`: the labelled photos' longer sides)."""
        return feature_specs(self.recipe, self.backbone, weights_arg(self.weights), self.precision, self.input_size,
                             photo_sides=photo_sides, pooling=self.pooling or None)
