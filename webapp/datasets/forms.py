"""Forms only validate; the views hand cleaned data to services."""

from django import forms
from django.conf import settings
from django.contrib.auth.models import Group

from webapp.accounts.permissions import sees_all_teams
from webapp.datasets.models import Dataset, Label, Split
from webapp.datasets.importing.archive import MiB


class DatasetImportForm(forms.Form):
    name = forms.CharField(max_length=200)
    team = forms.ModelChoiceField(queryset=Group.objects.none(), help_text="Only this team's members will see it.")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    archive = forms.FileField(help_text="A .zip of class folders (see the expected layouts below).")
    validation_percent = forms.IntegerField(min_value=0, max_value=50, initial=5,
                                            help_text="For one-folder-per-class zips; kept splits are not changed.")
    test_percent = forms.IntegerField(min_value=0, max_value=50, initial=10)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        teams = Group.objects.all() if sees_all_teams(user) else user.groups.all()
        self.fields["team"].queryset = teams.order_by("name")
        default = settings.DATASETS_SPLIT_FRACTIONS
        self.fields["validation_percent"].initial = round(default[1] * 100)
        self.fields["test_percent"].initial = round(default[2] * 100)
        if not sees_all_teams(user) and not user.groups.exists():
            self.fields["team"].help_text = "You are in no team yet: ask an administrator to add you to one."

    def clean_name(self):
        return self.cleaned_data["name"].strip()

    def clean_archive(self):
        archive = self.cleaned_data["archive"]
        max_bytes = settings.DATASETS_MAX_ARCHIVE_BYTES
        if archive.size > max_bytes:
            raise forms.ValidationError(f"The archive is larger than the limit of {max_bytes // MiB} MiB.")
        return archive

    def clean(self):
        data = super().clean()
        name, team = data.get("name"), data.get("team")
        if name and team and Dataset.objects.filter(team=team, name=name).exists():  # names are unique per team
            self.add_error("name", f"A dataset with this name already exists in team {team.name}.")
        validation, test = data.get("validation_percent"), data.get("test_percent")
        if validation is not None and test is not None and validation + test >= 100:
            raise forms.ValidationError("Validation and test together must leave photos for training.")
        return data

    def import_kwargs(self) -> dict:
        """The valid form as keyword arguments of services.dataset_import_zip."""
        data = self.cleaned_data
        validation, test = data["validation_percent"] / 100, data["test_percent"] / 100
        return {"archive": data["archive"], "name": data["name"], "team": data["team"],
                "description": data["description"], "fractions": (1 - validation - test, validation, test)}


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*"}))
        kwargs.setdefault("allow_empty_file", True)  # an empty photo is skipped and listed by the service
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, (list, tuple)):
            return [single(item, initial) for item in data]
        return [single(data, initial)]


class ImagesUploadForm(forms.Form):
    photos = MultipleFileField(help_text="Select several photos at once. Bad or duplicate photos are skipped "
                               "and listed; the others are added.")
    label = forms.ModelChoiceField(queryset=Label.objects.none(), required=False, label="Class",
                                   empty_label="(new class)")
    new_label = forms.CharField(max_length=100, required=False, label="New class name")
    split = forms.ChoiceField(choices=Split.choices, initial=Split.TRAIN)

    def __init__(self, *args, dataset: Dataset, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["label"].queryset = dataset.labels.order_by("name")
        self.dataset = dataset

    def clean(self):
        data = super().clean()
        label, new_label = data.get("label"), (data.get("new_label") or "").strip()
        if label and new_label:
            raise forms.ValidationError("Choose an existing class or type a new class name, not both.")
        if not label and not new_label:
            raise forms.ValidationError("Choose a class or type a new class name.")
        if new_label and self.dataset.labels.filter(name=new_label).exists():
            data["label"] = self.dataset.labels.get(name=new_label)
        data["new_label"] = new_label
        return data
