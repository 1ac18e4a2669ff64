"""Forms only validate: they turn request data into the arguments of a service call."""

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator

from classifier.head import ACTIVATIONS, OPTIMIZERS, HeadConfig
from classifier.images import IMAGE_SUFFIXES
from classifier.recipes import DEFAULT_RECIPE, RECIPE_REGISTRY, get_recipe
from webapp.core.forms import IdsMultipleChoiceField
from webapp.experiments import selectors
from webapp.serving.selectors import named_models_for_user  # serving builds on experiments; this reads only

# The article's recipe (DESIGN.md): VGG16 bottleneck -> Dense 100 / 50, LeakyReLU, dropout 0.5 / 0.3, RMSprop 1e-4,
# 7 epochs, batch 50.
ARTICLE = HeadConfig()
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_PHOTOS_PER_REQUEST = 20
PHOTO_EXTENSIONS = tuple(sorted(IMAGE_SUFFIXES))


def _number_list(value: str, cast, what: str) -> list:
    items = [item.strip() for item in value.replace(";", ",").split(",") if item.strip()]
    if not items:
        raise ValidationError(f"Enter at least one {what}.")
    try:
        return [cast(item) for item in items]
    except ValueError:
        raise ValidationError(f"Enter {what}s separated by commas, e.g. {value_example(cast)}.")


def value_example(cast) -> str:
    return "100, 50" if cast is int else "0.5, 0.3"


# What only a recipe with a fixed head (the article's) uses: the recommended recipe searches its own head.
ARTICLE_ONLY_FIELDS = ("pooling", "hidden", "dropout", "activation", "optimizer", "learning_rate", "epochs",
                       "batch_size", "class_weight", "keep_best")


class JobForm(forms.Form):
    dataset = forms.ModelChoiceField(queryset=None, help_text="Only the datasets you may train on are listed.")
    recipe = forms.ChoiceField(
        choices=[(recipe.name, recipe.label) for recipe in RECIPE_REGISTRY.values()],
        initial=DEFAULT_RECIPE, required=False,
        help_text="Recommended chooses its head by cross-validation and ignores pooling and the head settings.",
    )
    backbone = forms.ChoiceField(help_text="Pretrained convolutional base whose bottleneck features are used.")
    weights = forms.ChoiceField(
        choices=[("imagenet", "ImageNet (pretrained)"), ("none", "None: random initialisation (for quick tests)")],
        initial="imagenet",
    )
    pooling = forms.ChoiceField(
        choices=[("", "None: keep the 7×7 feature maps (the article)"), ("avg", "Global average pooling")],
        required=False, initial="",
    )
    precision = forms.ChoiceField(choices=[("float32", "float32"), ("bfloat16", "bfloat16")], initial="float32")
    input_size = forms.IntegerField(
        label="Input size (pixels)", required=False, min_value=32, max_value=1024,
        help_text="Side of the square the photos are resized to. Empty: the backbone's own (224); with the "
                  "recommended recipe the photos' own size when they are a little larger (up to 1.2x), and "
                  "beside 224 when they are small (kept if it helps).",
    )
    hidden = forms.CharField(
        label="Hidden layer sizes", initial=", ".join(map(str, ARTICLE.hidden)),
        help_text="Units per dense layer, comma-separated.",
    )
    dropout = forms.CharField(
        label="Dropout rates", initial=", ".join(map(str, ARTICLE.dropout)),
        help_text="One rate per hidden layer, each in [0, 1).",
    )
    activation = forms.ChoiceField(choices=[(a, a) for a in ACTIVATIONS], initial=ARTICLE.activation)
    optimizer = forms.ChoiceField(choices=[(o, o) for o in OPTIMIZERS], initial=ARTICLE.optimizer)
    learning_rate = forms.FloatField(
        initial=ARTICLE.learning_rate, validators=[MinValueValidator(1e-7), MaxValueValidator(1.0)],
        widget=forms.NumberInput(attrs={"step": "any"}),
    )
    epochs = forms.IntegerField(initial=ARTICLE.epochs, min_value=1, max_value=500)
    batch_size = forms.IntegerField(initial=ARTICLE.batch_size, min_value=1, max_value=4096)
    class_weight = forms.ChoiceField(
        choices=[("", "None"), ("balanced", "Balanced (inverse class frequency)")], required=False, initial="",
    )
    keep_best = forms.BooleanField(
        required=False, label="Keep the best epoch", help_text="Restore the weights of the epoch with the lowest "
        "validation loss.",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        from webapp.accounts.permissions import Action
        from webapp.datasets.selectors import datasets_user_can
        from webapp.workers_registry.selectors import imagenet_weights

        # Only datasets the user may train on: a viewer's team's datasets are neither listed nor accepted.
        self.fields["dataset"].queryset = datasets_user_can(user, Action.TRAIN)
        self.weights_status = imagenet_weights()
        self.fields["backbone"].choices = selectors.backbone_choices(self.weights_status)
        self.fields["backbone"].initial = selectors.default_backbone(self.weights_status)
        self.fields["backbone"].help_text += (
            " ImageNet weights as the training workers report them." if self.weights_status["source"] == "workers"
            else f" No training worker has reported yet: ImageNet weights as found in this server's Keras cache "
                 f"({self.weights_status['folder']})."
        )

    @property
    def fixed_head_recipes(self) -> str:
        """The recipes whose head the settings describe (job_new.js shows those settings only for them)."""
        return " ".join(recipe.name for recipe in RECIPE_REGISTRY.values() if recipe.fixed_head)

    @property
    def shows_head_settings(self) -> bool:
        recipe = RECIPE_REGISTRY.get(self["recipe"].value() or DEFAULT_RECIPE)
        return bool(recipe and recipe.fixed_head)

    def clean_recipe(self):
        return self.cleaned_data["recipe"] or DEFAULT_RECIPE

    def clean_hidden(self):
        sizes = _number_list(self.cleaned_data["hidden"], int, "layer size")
        if any(not 1 <= size <= 8192 for size in sizes) or len(sizes) > 8:
            raise ValidationError("Use 1 to 8 layers of 1 to 8192 units each.")
        return sizes

    def clean_dropout(self):
        rates = _number_list(self.cleaned_data["dropout"], float, "rate")
        if any(not 0 <= rate < 1 for rate in rates):
            raise ValidationError("Each dropout rate must be at least 0 and below 1.")
        return rates

    def clean(self):
        data = super().clean()
        if data.get("recipe") and not get_recipe(data["recipe"]).fixed_head:  # its head settings are hidden on the
            # page and unused: never refuse them
            for name in ARTICLE_ONLY_FIELDS:
                self._errors.pop(name, None)
                data.pop(name, None)
        hidden, dropout = data.get("hidden"), data.get("dropout")
        if hidden is not None and dropout is not None and len(hidden) != len(dropout):
            self.add_error("dropout", f"Give one dropout rate per hidden layer ({len(hidden)}).")
        backbone = data.get("backbone")
        if backbone and data.get("weights"):
            missing = weights_missing(backbone, data["weights"], self.weights_status)
            if missing:
                self.add_error("backbone", missing)
        return data

    def head_config(self) -> dict:
        data = self.cleaned_data
        if not get_recipe(data["recipe"]).fixed_head:
            return {}  # the defaults, unused: the search chooses the head
        return HeadConfig(
            hidden=tuple(data["hidden"]), dropout=tuple(data["dropout"]), activation=data["activation"],
            optimizer=data["optimizer"], learning_rate=data["learning_rate"], epochs=data["epochs"],
            batch_size=data["batch_size"], class_weight=data["class_weight"] or None, keep_best=data["keep_best"],
        ).to_dict()

    def job_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "dataset": data["dataset"], "recipe": data["recipe"], "backbone": data["backbone"],
            "weights": data["weights"],
            "pooling": data.get("pooling", ""), "precision": data["precision"], "input_size": data["input_size"],
            "head_config": self.head_config(),
        }


def weights_missing(backbone: str, weights: str, status: dict) -> str:
    """Why a job with these weights cannot run now and what to do ("" when it can): the worker would fail it
    seconds after it is queued. `status`: workers_registry.selectors.imagenet_weights()."""
    from classifier.backbones import BACKBONES

    if weights != "imagenet" or backbone in status["available"]:
        return ""
    where = ("no training worker has them" if status["source"] == "workers"
             else "no training worker has reported yet and this server's Keras cache lacks them")
    ready = ", ".join(sorted(status["available"])) or "none"
    return (f"The ImageNet weights of {backbone} are missing ({where}): put {BACKBONES[backbone].imagenet_file} in "
            f"{status['folder']} on the training workers, or choose a backbone whose weights are there ({ready}), "
            f"or weights None.")


class EstimateForm(forms.Form):
    """The subset of the job form that decides the extraction work and the training memory (the live estimate).
    Head settings left out (or not valid yet) count as the article's."""

    dataset = forms.ModelChoiceField(queryset=None)
    recipe = forms.ChoiceField(choices=JobForm.base_fields["recipe"].choices, required=False)
    backbone = forms.ChoiceField()
    weights = forms.ChoiceField(choices=JobForm.base_fields["weights"].choices)
    pooling = forms.ChoiceField(choices=JobForm.base_fields["pooling"].choices, required=False)
    precision = forms.ChoiceField(choices=JobForm.base_fields["precision"].choices)
    input_size = forms.IntegerField(required=False, min_value=32, max_value=1024)
    hidden = forms.CharField(required=False)
    optimizer = forms.ChoiceField(choices=JobForm.base_fields["optimizer"].choices, required=False)
    batch_size = forms.IntegerField(required=False, min_value=1, max_value=4096)
    epochs = forms.IntegerField(required=False, min_value=1, max_value=500)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        from webapp.datasets.selectors import datasets_for_user

        self.fields["dataset"].queryset = datasets_for_user(user)
        self.fields["backbone"].choices = selectors.backbone_choices()

    def clean_hidden(self):
        value = self.cleaned_data["hidden"]
        try:
            return _number_list(value, int, "layer size") if value.strip() else None
        except ValidationError:
            return None

    def estimate_kwargs(self) -> dict:
        data = self.cleaned_data
        head = {"hidden": data["hidden"], "optimizer": data["optimizer"], "batch_size": data["batch_size"],
                "epochs": data["epochs"]}
        head = {name: value for name, value in head.items() if value}
        if "hidden" in head:
            head["dropout"] = [0.0] * len(head["hidden"])
        return {
            "dataset": data["dataset"], "recipe": data["recipe"] or DEFAULT_RECIPE, "backbone": data["backbone"],
            "weights": data["weights"], "pooling": data["pooling"], "precision": data["precision"],
            "input_size": data["input_size"], "head_config": head,
        }


class ReevaluateForm(forms.Form):
    dataset = forms.ModelChoiceField(
        queryset=None, label="Evaluate on",
        help_text="A dataset whose classes are among this job's (an evaluation-only one, for example). Every photo "
                  "of it is scored, whatever its split (excluded photos left out); on this job's own dataset, only "
                  "the test split.",
    )

    def __init__(self, *args, user, job, **kwargs):
        super().__init__(*args, **kwargs)
        from webapp.datasets.selectors import datasets_for_user

        # The job's own team's datasets only: its results are shown to that team (services.evaluation_create).
        self.fields["dataset"].queryset = datasets_for_user(user).filter(team_id=job.dataset.team_id)
        self.fields["dataset"].error_messages["invalid_choice"] = (
            f"Choose one of team {job.dataset.team}'s datasets: a job is evaluated on its own team's datasets only.")


class ThresholdForm(forms.Form):
    """A model's unsure threshold: a confidence in [0, 1]; empty goes back to the one chosen on validation."""

    threshold = forms.FloatField(required=False, min_value=0.0, max_value=1.0,
                                 widget=forms.NumberInput(attrs={"step": "0.001"}),
                                 help_text="Below this calibrated confidence the answer is \"unsure\"; empty: "
                                           "the threshold chosen on validation")


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """One or several photos, each size-checked and extension-checked (the worker decodes them for real)."""

    widget = MultipleFileInput(attrs={"accept": "image/*", "multiple": True})

    def clean(self, data, initial=None):
        files = data if isinstance(data, (list, tuple)) else [data] if data else []
        if not files:
            raise ValidationError("Choose at least one photo.")
        if len(files) > MAX_PHOTOS_PER_REQUEST:
            raise ValidationError(f"Upload at most {MAX_PHOTOS_PER_REQUEST} photos at a time.")
        return [validate_photo(super(PhotosField, self).clean(f, initial)) for f in files]


def validate_photo(upload):
    if upload.size > MAX_UPLOAD_BYTES:
        raise ValidationError(f"{upload.name} is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
    if upload.size == 0:
        raise ValidationError(f"{upload.name} is empty.")
    if not upload.name.lower().endswith(PHOTO_EXTENSIONS):
        raise ValidationError(f"{upload.name} is not a photo (use {', '.join(PHOTO_EXTENSIONS)}).")
    return upload


class PredictForm(forms.Form):
    """A named model (its live version answers) or a job that succeeded; the name wins when both are given."""

    model = forms.ModelChoiceField(queryset=None, required=False, label="Model",
                                   empty_label="— none: use the job below —")
    job = forms.ModelChoiceField(queryset=None, required=False, label="Job", empty_label="— none —",
                                 help_text="Any job that succeeded, named or not.")
    photos = PhotosField(label="Photos", help_text="JPEG, PNG, WebP, BMP or GIF; up to 10 MB each, 20 at a time.")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model"].queryset = named_models_for_user(user).exclude(live_version=None)
        self.fields["model"].label_from_instance = named_model_label
        self.fields["job"].queryset = selectors.succeeded_jobs_for_user(user)
        self.fields["job"].label_from_instance = job_label
        if not (self.initial.get("model") or self.initial.get("job")):  # the first live name, else the latest job
            first = self.fields["model"].queryset.first()
            self.initial["model"] = first.pk if first else None
            self.initial["job"] = None if first else selectors.latest_succeeded_job_id(user)

    def clean(self):
        data = super().clean()
        if not (data.get("model") or data.get("job")) and not self.has_error("model") and not self.has_error("job"):
            raise ValidationError("Pick a model by name, or a job.")
        return data

    def job_and_version(self):
        """(the job that predicts, the named model's live version or None)."""
        named_model = self.cleaned_data["model"]
        if named_model is None:
            return self.cleaned_data["job"], None
        return named_model.live_version.job, named_model.live_version


def heatmap_option() -> forms.Field:
    """heatmap=1: also ask the predict worker for the Grad-CAM overlay; the answer says where to poll for it."""
    return forms.TypedChoiceField(choices=[(v, v) for v in ("0", "1", "false", "true")], required=False,
                                  coerce=lambda value: value in ("1", "true"), empty_value=False)


class ApiPredictForm(forms.Form):
    """The JSON API's input: one image and the job to use (the view refuses a request without one: no default)."""

    image = forms.FileField()
    job = forms.ModelChoiceField(queryset=None, required=False)
    heatmap = heatmap_option()

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["job"].queryset = selectors.succeeded_jobs_for_user(user)

    def clean_image(self):
        return validate_photo(self.cleaned_data["image"])


class CompareForm(forms.Form):
    jobs = IdsMultipleChoiceField(queryset=None, error_messages={
        "invalid_choice": "Not among the jobs you can see (deleted, or another team's): %(value)s."})

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["jobs"].queryset = selectors.jobs_for_user(user)

    def clean_jobs(self):
        jobs = self.cleaned_data["jobs"]
        if len(jobs) < 2:
            raise ValidationError("Pick at least two jobs to compare.")
        if len(jobs) > 8:
            raise ValidationError("Compare at most eight jobs at once.")
        return jobs


def named_model_label(named_model) -> str:
    return f"{named_model.name} (v{named_model.live_version.number}, {named_model.team.name})"


def job_label(job) -> str:
    return f"#{job.pk} {job.backbone} on {job.dataset.name}"
