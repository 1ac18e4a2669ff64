"""Fixtures for every web app test: each test's own media folder, two teams, their members and staff."""

import pytest
from django.contrib.auth.models import Group

PASSWORD = "pw-12345-menagerie"


@pytest.fixture(autouse=True)
def _media_in_tmp(media_root):
    return media_root


@pytest.fixture
def lab(db):
    return Group.objects.get_or_create(name="lab")[0]


@pytest.fixture
def other_team(db):
    return Group.objects.create(name="other-lab")


def _user(django_user_model, username, group=None, **extra):
    user = django_user_model.objects.create_user(username, password=PASSWORD, **extra)
    if group:
        user.groups.add(group)
    return user


@pytest.fixture
def ann(django_user_model, lab):
    return _user(django_user_model, "ann", lab)


@pytest.fixture
def carl(django_user_model, lab):
    """Ann's teammate."""
    return _user(django_user_model, "carl", lab)


@pytest.fixture
def bob(django_user_model, other_team):
    return _user(django_user_model, "bob", other_team)


@pytest.fixture
def staff(django_user_model):
    return _user(django_user_model, "sam", is_staff=True)


@pytest.fixture
def client_for(client):
    def log_in(user):
        client.force_login(user)
        return client
    return log_in
