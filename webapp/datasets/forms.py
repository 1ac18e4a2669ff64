"""Forms only validate; the views hand cleaned data to services."""

from django import forms
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.validators import RegexValidator

from webapp.accounts.permissions import Action, can, sees_all_teams, team_roles
from webapp.core import outbound
from webapp.core.ids import parse_id
from webapp.core.text import TEXT_MAX_LENGTH
from webapp.datasets.models import Dataset, Label, Split
from webapp.datasets.importing.archive import MiB
from webapp.datasets.importing.bucket import bucket_source_from_settings, bucket_source_typed, bucket_url_parse


class NewDatasetForm(forms.Form):
    """What every import into a new dataset asks: name, team (one the user may curate), splits."""

    name = forms.CharField(max_length=200)
    team = forms.ModelChoiceField(queryset=Group.objects.none(), help_text="Only this team's members will see it.")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=TEXT_MAX_LENGTH)
    unlabelled = forms.BooleanField(
        required=False, label="Photos without classes",
        help_text="Put every photo in the dataset's unlabelled pool, whatever its folders, and label them on the "
                  "Label page. (Loose photos in no folder at all go there anyway.)")
    validation_percent = forms.IntegerField(min_value=0, max_value=50, initial=5,
                                            help_text="For one-folder-per-class zips; kept splits are not changed.")
    test_percent = forms.IntegerField(
        min_value=0, max_value=100, initial=10,
        help_text="100 (with validation 0): an evaluation-only dataset, for re-evaluating trained jobs; not for "
                  "training.")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        if user.is_superuser:
            teams = Group.objects.all()
        else:  # a team's viewers look; members and admins add datasets
            teams = Group.objects.filter(pk__in=[team for team in team_roles(user) if can(user, Action.CURATE, team)])
        self.fields["team"].queryset = teams.order_by("name")
        # One team to choose from: chosen, and shown as text instead of a select that starts at "---------".
        only = list(teams[:2])
        self.single_team = only[0] if len(only) == 1 else None
        if self.single_team:
            self.fields["team"].initial = self.single_team.pk
            self.fields["team"].widget = forms.HiddenInput()
        default = settings.DATASETS_SPLIT_FRACTIONS
        self.fields["validation_percent"].initial = round(default[1] * 100)
        self.fields["test_percent"].initial = round(default[2] * 100)
        if not sees_all_teams(user) and not user.groups.exists():
            self.fields["team"].help_text = "You are in no team yet: ask an administrator to add you to one."

    def clean_name(self):
        return self.cleaned_data["name"].strip()

    def clean(self):
        data = super().clean()
        name, team = data.get("name"), data.get("team")
        if name and team and Dataset.objects.filter(team=team, name=name).exists():  # names are unique per team
            self.add_error("name", f"A dataset with this name already exists in team {team.name}.")
        validation, test = data.get("validation_percent"), data.get("test_percent")
        if validation is not None and test is not None and validation + test >= 100 and (test, validation) != (100, 0):
            raise forms.ValidationError("Validation and test together must leave photos for training (or make the "
                                        "test split 100% and validation 0% for an evaluation-only dataset).")
        return data

    def new_dataset_kwargs(self) -> dict:
        data = self.cleaned_data
        validation, test = data["validation_percent"] / 100, data["test_percent"] / 100
        return {"name": data["name"], "team": data["team"], "description": data["description"],
                "fractions": (1 - validation - test, validation, test), "unlabelled": data["unlabelled"]}


class DatasetImportForm(NewDatasetForm):
    archive = forms.FileField(help_text="A .zip of class folders (see the expected layouts below).")

    def clean_archive(self):
        archive = self.cleaned_data["archive"]
        max_bytes = settings.DATASETS_MAX_ARCHIVE_BYTES
        if archive.size > max_bytes:
            raise forms.ValidationError(f"The archive is larger than the limit of {max_bytes // MiB} MiB.")
        return archive

    def import_kwargs(self) -> dict:
        """The valid form as keyword arguments of services.dataset_import_zip."""
        return {"archive": self.cleaned_data["archive"], **self.new_dataset_kwargs()}


class BucketImportForm(NewDatasetForm):
    """An import from s3://bucket/prefix/, with the installation's keys or keys typed for this import only (never
    rendered back: password inputs; never stored: they go to the service and are dropped with the request)."""

    url = forms.CharField(max_length=1100, label="Bucket and prefix", help_text="s3://bucket/some/prefix/ with class "
                          "folders inside (see the expected layouts below).",
                          widget=forms.TextInput(attrs={"placeholder": "s3://bucket/prefix/"}))
    endpoint_url = forms.CharField(max_length=500, required=False, label="Endpoint URL",
                                   help_text="For a store other than AWS S3 (MinIO, SeaweedFS, ...): its address, "
                                             "e.g. https://s3.example.com. Needs your own keys.")
    region = forms.CharField(max_length=50, required=False, help_text="Default: us-east-1.",
                             validators=[RegexValidator(r"^[a-z0-9-]*$", "A region is like eu-west-1.")])
    access_key_id = forms.CharField(max_length=200, required=False, label="Access key ID",
                                    widget=forms.PasswordInput(attrs={"autocomplete": "off"}))
    secret_access_key = forms.CharField(max_length=200, required=False, label="Secret access key",
                                        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
                                        help_text="Used for this import only: never stored, logged or shown. Leave "
                                                  "both keys empty to use this installation's.")

    def clean_url(self):
        bucket_url_parse(self.cleaned_data["url"])  # ValidationError: a form error
        return self.cleaned_data["url"].strip()

    def clean_endpoint_url(self):
        url = self.cleaned_data["endpoint_url"].strip()
        if url:
            try:
                outbound.url_check(url)  # and again when it is called
            except outbound.OutboundRefused as exc:
                raise forms.ValidationError(str(exc)) from None
        return url

    def clean(self):
        data = super().clean()
        key_id, secret = data.get("access_key_id", ""), data.get("secret_access_key", "")
        if bool(key_id) != bool(secret):
            raise forms.ValidationError("Type both keys (access key ID and secret access key), or neither.")
        if not key_id and data.get("endpoint_url"):
            raise forms.ValidationError("With your own endpoint, type its keys too: this installation's keys are "
                                        "for its own endpoint only.")
        if not key_id and not settings.S3_IMPORT_ACCESS_KEY_ID:
            raise forms.ValidationError("This installation has no keys for buckets: type the bucket's access keys.")
        return data

    def import_kwargs(self) -> dict:
        """The valid form as keyword arguments of services.dataset_import_bucket."""
        data = self.cleaned_data
        if data["access_key_id"]:
            source = bucket_source_typed(data["url"], endpoint_url=data["endpoint_url"], region=data["region"],
                                         access_key_id=data["access_key_id"],
                                         secret_access_key=data["secret_access_key"])
        else:
            source = bucket_source_from_settings(data["url"], region=data["region"])
        return {"source": source, **self.new_dataset_kwargs()}


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
    unlabelled = forms.BooleanField(required=False, label="No class yet",
                                    help_text="Add them to the unlabelled pool, to label on the Label page (each "
                                              "photo's split then comes from its content).")
    split = forms.ChoiceField(choices=Split.choices, initial=Split.TRAIN)

    def __init__(self, *args, dataset: Dataset, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["label"].queryset = dataset.labels.order_by("name")
        self.dataset = dataset

    def clean(self):
        data = super().clean()
        label, new_label = data.get("label"), (data.get("new_label") or "").strip()
        if data.get("unlabelled"):
            if label or new_label:
                raise forms.ValidationError("Photos for the unlabelled pool have no class: leave the class empty.")
            return data
        if label and new_label:
            raise forms.ValidationError("Choose an existing class or type a new class name, not both.")
        if not label and not new_label:
            raise forms.ValidationError("Choose a class or type a new class name (or tick \"No class yet\").")
        if new_label and self.dataset.labels.filter(name=new_label).exists():
            data["label"] = self.dataset.labels.get(name=new_label)
        data["new_label"] = new_label
        return data


YES_NO_ANY = [("", "any"), ("yes", "yes"), ("no", "no")]


def _yes_no(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


class PhotoFilterForm(forms.Form):
    """The photo browser's filters and sort (GET on the dataset page; repeated in the bulk action's POST for
    "all matching")."""

    label = forms.ModelChoiceField(queryset=Label.objects.none(), required=False, label="Class",
                                   empty_label="any")
    split = forms.ChoiceField(choices=[("", "any"), *Split.choices], required=False)
    excluded = forms.ChoiceField(choices=YES_NO_ANY, required=False)
    flagged = forms.ChoiceField(choices=YES_NO_ANY, required=False)
    name = forms.CharField(max_length=100, required=False, label="File name contains")
    sort = forms.ChoiceField(choices=[("added", "first added"), ("-added", "last added"), ("name", "file name"),
                                      ("class", "class")], required=False)

    def __init__(self, *args, dataset: Dataset, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["label"].queryset = dataset.labels.order_by("name")
        self.dataset = dataset

    def filters(self) -> dict:
        """Keyword arguments of selectors.images_matching (call after is_valid())."""
        data = self.cleaned_data
        return {"label": data.get("label"), "split": data.get("split") or "",
                "excluded": _yes_no(data.get("excluded") or ""), "flagged": _yes_no(data.get("flagged") or ""),
                "name": (data.get("name") or "").strip(), "sort": data.get("sort") or "added"}

    def query_items(self) -> list[tuple[str, str]]:
        """The filters as (name, value) pairs, for page links and hidden fields (the empty ones left out)."""
        data = self.cleaned_data
        pairs = [(name, data.get(name)) for name in self.fields]
        return [(name, str(value.pk if isinstance(value, Label) else value)) for name, value in pairs if value]


class IdListField(forms.Field):
    """Several ids under one name (`image=3&image=7`); a malformed one is a form error, never a 500."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        ids = [parse_id(item) for item in (value or [])]
        if any(item is None for item in ids):
            raise forms.ValidationError("Malformed photo id.")
        return ids


PHOTO_ACTIONS = [
    ("relabel", "Relabel to class…"), ("move", "Move to split…"), ("exclude", "Exclude from training"),
    ("include", "Include in training"), ("flag", "Flag"), ("unflag", "Unflag"), ("delete", "Delete"),
]


class PhotoActionForm(forms.Form):
    """One bulk action on the chosen photos: the ticked ones (`image`), or every photo matching the filters sent
    along (`scope=matching`)."""

    action = forms.ChoiceField(choices=PHOTO_ACTIONS)
    scope = forms.ChoiceField(choices=[("selected", "the selected photos"), ("matching", "all matching photos")],
                              initial="selected", widget=forms.RadioSelect)
    image = IdListField(required=False)  # ids of this dataset's photos (the view keeps to the dataset)
    to_label = forms.ModelChoiceField(queryset=Label.objects.none(), required=False, label="Class")
    to_split = forms.ChoiceField(choices=[("", "—"), *Split.choices], required=False, label="Split")
    next = forms.CharField(required=False)

    def __init__(self, *args, dataset: Dataset, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_label"].queryset = dataset.labels.order_by("name")

    def clean(self):
        data = super().clean()
        action = data.get("action")
        if action == "relabel" and not data.get("to_label"):
            self.add_error("to_label", "Choose the class to move the photos to.")
        if action == "move" and not data.get("to_split"):
            self.add_error("to_split", "Choose the split to move the photos to.")
        if data.get("scope") == "selected" and not data.get("image"):
            raise forms.ValidationError("Select some photos first (or choose all matching photos).")
        return data
