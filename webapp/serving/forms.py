from django import forms

from webapp.core.text import TEXT_MAX_LENGTH
from webapp.datasets.selectors import datasets_for_user
from webapp.experiments.forms import heatmap_option
from webapp.experiments.models import JobStatus
from webapp.experiments.selectors import jobs_for_user


class NamedModelForm(forms.Form):
    name = forms.SlugField(max_length=60, help_text="Letters, digits, - and _; what scripts call it")
    evaluation_dataset = forms.ModelChoiceField(
        queryset=None, help_text="Pinned: every version is scored on all of this dataset's photos, side by side (on its "
                                "test split only, for a version trained on it). An evaluation-only dataset fits.")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=TEXT_MAX_LENGTH)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["evaluation_dataset"].queryset = datasets_for_user(user)


class PromoteForm(forms.Form):
    job = forms.ModelChoiceField(queryset=None, help_text="A job of the team that succeeded")
    note = forms.CharField(required=False, max_length=1000, help_text="Why (shown in the history)")

    def __init__(self, *args, named_model, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["job"].queryset = jobs_for_user(user).filter(status=JobStatus.SUCCEEDED,
                                                                 dataset__team=named_model.team)


class RollbackForm(forms.Form):
    note = forms.CharField(required=False, max_length=1000)


class ModelPredictForm(forms.Form):
    """The named-model API's input: one image, optionally a version (default: the live one), heatmap=1, and the
    team when the user's teams have several models of that name."""

    image = forms.FileField()
    version = forms.IntegerField(required=False, min_value=1)
    heatmap = heatmap_option()

    def clean_image(self):
        from webapp.experiments.forms import validate_photo

        return validate_photo(self.cleaned_data["image"])



class BatchForm(forms.Form):
    """A batch prediction's input: a zip of photos, or one of the model's team's datasets."""

    archive = forms.FileField(required=False, label="Zip of photos",
                              help_text="Photos at any depth; with one folder per class (named like the model's "
                                        "classes) the batch is also evaluated")
    dataset = forms.ModelChoiceField(queryset=None, required=False, label="Or a dataset",
                                     help_text="Its photos a re-evaluation scores (the test split of the model's own "
                                               "dataset, every photo of another)")

    def __init__(self, *args, named_model, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["dataset"].queryset = named_model.team.datasets.order_by("name")

    def clean_archive(self):
        from django.conf import settings

        archive = self.cleaned_data["archive"]
        limit = settings.DATASETS_MAX_ARCHIVE_BYTES
        if archive and archive.size > limit:
            raise forms.ValidationError(f"The zip is larger than the limit of {limit // 1024 // 1024} MiB.")
        return archive

    def clean(self):
        cleaned = super().clean()
        if not self.errors and bool(cleaned.get("archive")) == bool(cleaned.get("dataset")):
            raise forms.ValidationError("Upload a zip of photos or pick a dataset (one of the two).")
        return cleaned
