"""Forms only validate; the views hand cleaned data to services. Photo ids are kept to the dataset by the
services (they filter on it)."""

from django import forms

from webapp.datasets.forms import IdListField
from webapp.datasets.models import Dataset, Label
from webapp.labelling.models import SuggestionRun, SuggestionStatus
from webapp.labelling.selectors import VIEWS


class _DatasetForm(forms.Form):
    def __init__(self, *args, dataset: Dataset, **kwargs):
        super().__init__(*args, **kwargs)
        self.dataset = dataset
        if "label" in self.fields:
            self.fields["label"].queryset = Label.objects.filter(dataset=dataset)
        if "run" in self.fields:
            self.fields["run"].queryset = SuggestionRun.objects.filter(dataset=dataset,
                                                                       status=SuggestionStatus.SUCCEEDED)


class AssignForm(_DatasetForm):
    """A class for the chosen pool photos: one of the dataset's (`label`) or a new one (`new_label`)."""

    image = IdListField()
    label = forms.ModelChoiceField(queryset=Label.objects.none(), required=False)
    new_label = forms.CharField(max_length=100, required=False, strip=True)

    def clean(self):
        data = super().clean()
        if bool(data.get("label")) == bool(data.get("new_label")):
            raise forms.ValidationError("Choose a class, or name a new one.")
        return data


class UndoForm(_DatasetForm):
    """Take back a label (`label`: the class given) or a "none of these classes" (`aside`)."""

    image = IdListField()
    label = forms.ModelChoiceField(queryset=Label.objects.none(), required=False)
    aside = forms.BooleanField(required=False)

    def clean(self):
        data = super().clean()
        if bool(data.get("label")) == bool(data.get("aside")):
            raise forms.ValidationError("Say what to undo: a class given, or photos set aside.")
        return data


class PhotosForm(_DatasetForm):
    image = IdListField()


class AcceptForm(_DatasetForm):
    """Accept the suggestions of `run` the page showed: for the photos sent (`image`), or every one at
    `min_confidence` or more."""

    run = forms.ModelChoiceField(queryset=SuggestionRun.objects.none(),
                                 error_messages={"invalid_choice": "These suggestions are gone: reload the page."})
    image = IdListField(required=False)
    min_confidence = forms.FloatField(required=False, min_value=0.0, max_value=1.0)

    def clean(self):
        data = super().clean()
        if not data.get("image") and data.get("min_confidence") is None:
            raise forms.ValidationError("Choose the photos, or a minimum confidence.")
        return data


class ExpectedForm(AcceptForm):
    """What accepting at a minimum confidence would do (GET)."""

    min_confidence = forms.FloatField(min_value=0.0, max_value=1.0)


class GridForm(_DatasetForm):
    view = forms.ChoiceField(choices=[(v, v) for v in VIEWS], required=False)
    label = forms.ModelChoiceField(queryset=Label.objects.none(), required=False)
    page = forms.IntegerField(min_value=1, required=False)
