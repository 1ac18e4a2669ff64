"""A team with one user per role, and everyone outside it, for the permission tests of issue "Curation".

Import the fixture where needed: `from tests.webapp.roles import world  # noqa: F401`."""

import hashlib

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.files.base import ContentFile

from tests.images import jpeg_bytes
from webapp.accounts.models import Membership, Role
from webapp.datasets.models import Dataset, Image, Label, Split

WHO = ["admin", "member", "viewer", "other_team", "staff", "auditor", "anonymous"]


def photos_dataset(name: str, team: Group, *, classes=("cat", "dog", "emu"), per_class: int = 4,
                   seed: int = 0) -> Dataset:
    """per_class small grey photos per class: the first in test, the second in validation, the rest train."""
    dataset = Dataset.objects.create(name=name, team=team)
    for c, class_name in enumerate(classes):
        label = Label.objects.create(dataset=dataset, name=class_name)
        for i in range(per_class):
            data = jpeg_bytes((128, 128, 128), seed * 10_000 + c * 100 + i, size=24)
            split = Split.TEST if i == 0 else Split.VALIDATION if i == 1 else Split.TRAIN
            image = Image(dataset=dataset, label=label, split=split, content_hash=hashlib.sha256(data).hexdigest(),
                          width=24, height=24, original_name=f"{class_name}-{i}.jpg")
            image.file.save(f"{class_name}-{i}.jpg", ContentFile(data), save=False)
            image.save()
    return dataset


@pytest.fixture
def world(db, django_user_model, settings, tmp_path):
    """{"users": role -> user (None for anonymous), "lab": the team, "dataset": its dataset}. The member is in
    the Group only (as a user added in the Django admin is): no Membership row means member."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.ARTIFACTS_DIR = tmp_path / "artifacts"
    settings.FEATURES_DIR = tmp_path / "features"
    lab, other = Group.objects.create(name="lab"), Group.objects.create(name="other")
    make = django_user_model.objects.create_user
    users = {
        "admin": make("ada"), "member": make("mel"), "viewer": make("vic"), "other_team": make("bob"),
        "staff": make("sam", is_staff=True), "auditor": make("ida", is_staff=True), "anonymous": None,
    }
    for who in ("admin", "member", "viewer"):
        users[who].groups.add(lab)
    Membership.objects.create(user=users["admin"], team=lab, role=Role.ADMIN)
    Membership.objects.create(user=users["viewer"], team=lab, role=Role.VIEWER)
    users["other_team"].groups.add(other)
    users["auditor"].user_permissions.add(Permission.objects.get(codename="view_all_teams"))
    return {"users": users, "lab": lab, "other": other, "dataset": photos_dataset("pets", lab)}


def client_as(client, user):
    client.logout()
    if user is not None:
        client.force_login(user)
    return client
