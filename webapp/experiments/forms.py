"""Forms only validate: they turn request data into the arguments of a service call."""

from django import forms
from django.core.exceptions import ValidationError

from classifier.images import IMAGE_SUFFIXES
from classifier.recipes import DEFAULT_RECIPE, RECIPE_REGISTRY, get_recipe
from classifier.settings import JobSettings, Setting, SettingError
from webapp.core.forms import IdsMultipleChoiceField
from webapp.experiments import selectors
from webapp.serving.selectors import named_models_for_user  # serving builds on experiments; this reads only

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_PHOTOS_PER_REQUEST = 20
PHOTO_EXTENSIONS = tuple(sorted(IMAGE_SUFFIXES))
# What only a recipe with a fixed head (the article's) uses: the recommended recipe searches its own head.
ARTICLE_ONLY_FIELDS = JobSettings.fields_of(fixed_head_only=True)


def _form_value(value) -> str:
    """A setting's value as a form shows it: "nothing" is the empty choice, a list is comma-separated."""
    if value is None:
        return ""
    return ", ".join(map(str, value)) if isinstance(value, tuple) else value


class SettingListField(forms.CharField):
    """A list setting (hidden sizes, dropout rates) typed comma-separated, parsed and checked by its Setting."""

    def __init__(self, *, setting: Setting, **kwargs):
        self.setting = setting
        super().__init__(**kwargs)

    def to_python(self, value):
        text = super().to_python(value)
        if text in self.empty_values:
            return None
        try:
            return self.setting.parse(text)
        except SettingError as exc:
            raise ValidationError(str(exc)) from None


def setting_field(name: str, **overrides) -> forms.Field:
    """A form field made from JobSettings' setting: label, help text, initial value and what it accepts (its
    choices, or its range, as a number input's min and max)."""
    setting = JobSettings.setting(name)
    options = {"label": setting.label, "help_text": setting.help, "initial": _form_value(setting.default)}
    if setting.choices:
        field, options = forms.ChoiceField, options | {
            "choices": [(_form_value(value), label) for value, label in setting.choices],
            "required": not any(value in ("", None) for value in setting.values)}  # an empty choice is a choice
    elif setting.type is bool:
        field, options = forms.BooleanField, options | {"required": False}
    elif setting.many:
        field, options = SettingListField, options | {"setting": setting}
    else:
        field, options = forms.IntegerField if setting.type is int else forms.FloatField, options | {
            "min_value": setting.min, "max_value": setting.max, "required": not setting.optional}
    return field(**options | overrides)


def job_settings_from(data: dict, names) -> JobSettings:
    """JobSettings from a form's cleaned data: the settings among `names` it holds (the others their defaults),
    the empty choice read as "nothing" where a setting spells it None (class_weight). SettingError if refused."""
    values = {}
    for name in names:
        if name in data:
            nothing = None in JobSettings.setting(name).values
            values[name] = None if nothing and data[name] == "" else data[name]
    return JobSettings(**values)


class JobForm(forms.Form):
    dataset = forms.ModelChoiceField(queryset=None, help_text="Only the datasets you may train on are listed.")
    recipe = setting_field("recipe", required=False)  # left out: the default recipe
    backbone = setting_field("backbone")  # its choices say whose ImageNet weights are missing (__init__)
    weights = setting_field("weights")
    pooling = setting_field("pooling")
    precision = setting_field("precision")
    input_size = setting_field("input_size")
    hidden = setting_field("hidden")
    dropout = setting_field("dropout")
    activation = setting_field("activation")
    optimizer = setting_field("optimizer")
    learning_rate = setting_field("learning_rate")
    epochs = setting_field("epochs")
    batch_size = setting_field("batch_size")
    class_weight = setting_field("class_weight")
    keep_best = setting_field("keep_best")

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

    def clean(self):
        data = super().clean()
        if data.get("recipe") and not get_recipe(data["recipe"]).fixed_head:  # its head settings are hidden on the
            # page and unused: never refuse them
            for name in ARTICLE_ONLY_FIELDS:
                self._errors.pop(name, None)
                data.pop(name, None)
        try:  # the settings together (one dropout rate per hidden layer); a field refused on its own: its default
            self.job_settings = job_settings_from(data, JobSettings.fields_of())
        except SettingError as exc:
            if not any(name in self._errors for name in exc.about):
                self.add_error(exc.name, str(exc))
        backbone = data.get("backbone")
        if backbone and data.get("weights"):
            missing = weights_missing(backbone, data["weights"], self.weights_status)
            if missing:
                self.add_error("backbone", missing)
        return data

    def head_config(self) -> dict:
        if not get_recipe(self.job_settings.recipe).fixed_head:
            return {}  # the defaults, unused: the search chooses the head
        return self.job_settings.head_config().to_dict()

    def job_kwargs(self) -> dict:
        """job_create's arguments."""
        return {"dataset": self.cleaned_data["dataset"], **self.job_settings.columns(),
                "head_config": self.head_config()}


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

    HEAD = ("hidden", "optimizer", "batch_size", "epochs")
    dataset = forms.ModelChoiceField(queryset=None)
    recipe = setting_field("recipe", required=False)
    backbone = setting_field("backbone")
    weights = setting_field("weights")
    pooling = setting_field("pooling")
    precision = setting_field("precision")
    input_size = setting_field("input_size")
    hidden = setting_field("hidden", required=False)
    optimizer = setting_field("optimizer", required=False)
    batch_size = setting_field("batch_size", required=False)
    epochs = setting_field("epochs", required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        from webapp.datasets.selectors import datasets_for_user

        self.fields["dataset"].queryset = datasets_for_user(user)
        self.fields["backbone"].choices = selectors.backbone_choices()

    def clean(self):
        data = super().clean()
        for name in self.HEAD:  # not valid yet: the article's
            self._errors.pop(name, None)
            if data.get(name) in (None, ""):
                data.pop(name, None)
        return data

    def estimate_kwargs(self) -> dict:
        """job_estimate's arguments."""
        data = self.cleaned_data
        head = {name: data[name] for name in self.HEAD if name in data}
        if "hidden" in head:
            head["dropout"] = [0.0] * len(head["hidden"])
        return {"dataset": data["dataset"], "recipe": data["recipe"] or DEFAULT_RECIPE, "backbone": data["backbone"],
                "weights": data["weights"], "pooling": data["pooling"], "precision": data["precision"],
                "input_size": data["input_size"], "head_config": head}


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
