"""Issue "Curation" item 1: roles in teams (admin, member, viewer), the one permission function, the team page."""

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group
from django.urls import reverse

from tests.webapp.roles import WHO, client_as, world  # noqa: F401  (world: fixture)
from webapp.accounts.models import Membership, Role
from webapp.accounts.permissions import Action, can, team_role

EXPECTED = {  # who -> the actions allowed on the team "lab"
    "admin": set(Action),
    "member": {Action.VIEW, Action.PREDICT, Action.CURATE, Action.TRAIN},
    "viewer": {Action.VIEW, Action.PREDICT},
    "other_team": set(), "staff": set(), "auditor": {Action.VIEW}, "anonymous": set(),
}


@pytest.mark.parametrize("who", WHO)
def test_one_function_answers_what_each_role_may_do(world, who):
    from django.contrib.auth.models import AnonymousUser

    user = world["users"][who] or AnonymousUser()
    allowed = {action for action in Action if can(user, action, world["lab"])}
    assert allowed == EXPECTED[who]


def test_promoting_is_for_admins_and_members_allowed_to(world):
    member, lab = world["users"]["member"], world["lab"]
    assert not can(member, Action.PROMOTE, lab)
    Membership.objects.create(user=member, team=lab, role=Role.MEMBER, can_promote=True)
    member = type(member).objects.get(pk=member.pk)  # roles are cached per user object (per request)
    assert can(member, Action.PROMOTE, lab) and not can(member, Action.MANAGE_MEMBERS, lab)


def test_a_superuser_may_do_everything_and_the_staff_flag_nothing(world, django_user_model):
    root = django_user_model.objects.create_superuser("root")
    assert all(can(root, action, world["lab"]) for action in Action)
    assert not any(can(world["users"]["staff"], action, world["lab"]) for action in Action)


def test_the_delete_permission_lets_a_member_delete_datasets(world):
    from django.contrib.auth.models import Permission

    member = world["users"]["member"]
    member.user_permissions.add(Permission.objects.get(codename="delete_dataset"))
    member = type(member).objects.get(pk=member.pk)
    assert can(member, Action.DELETE_DATASET, world["lab"])
    assert not can(member, Action.DELETE_DATASET, world["other"])  # only on the teams they are in


@pytest.mark.parametrize("who, status", [
    ("admin", 200), ("member", 200), ("viewer", 200), ("other_team", 404), ("staff", 404), ("auditor", 200),
    ("anonymous", 302),
])
def test_the_team_page_shows_members_and_roles_to_the_team(client, world, who, status):
    url = reverse("teams:detail", args=[world["lab"].pk])
    response = client_as(client, world["users"][who]).get(url)
    assert response.status_code == status
    if status == 200:
        html = response.content.decode()
        assert "ada" in html and "vic" in html and "bob" not in html
        assert ("Add a member" in html) == (who == "admin")


@pytest.mark.parametrize("who, status", [
    ("member", 403), ("viewer", 403), ("other_team", 404), ("staff", 404), ("auditor", 403), ("anonymous", 302),
])
def test_only_the_teams_admins_manage_members(client, world, who, status):
    client = client_as(client, world["users"][who])
    lab, bob, vic = world["lab"], world["users"]["other_team"], world["users"]["viewer"]
    assert client.post(reverse("teams:member_add", args=[lab.pk]), {"username": "bob", "role": "member"}
                       ).status_code == status
    assert client.post(reverse("teams:member_change", args=[lab.pk]), {"user": vic.pk, "role": "admin"}
                       ).status_code == status
    assert client.post(reverse("teams:member_remove", args=[lab.pk]), {"user": vic.pk}).status_code == status
    assert not bob.groups.filter(pk=lab.pk).exists()
    assert team_role(type(vic).objects.get(pk=vic.pk), lab) == "viewer"


def test_an_admin_adds_changes_and_removes_members(client, world):
    client = client_as(client, world["users"]["admin"])
    lab, bob = world["lab"], world["users"]["other_team"]
    response = client.post(reverse("teams:member_add", args=[lab.pk]), {"username": "bob", "role": "viewer"})
    assert response.status_code == 302
    fresh = type(bob).objects.get(pk=bob.pk)
    assert team_role(fresh, lab) == "viewer" and fresh.groups.filter(name="other").exists()
    client.post(reverse("teams:member_change", args=[lab.pk]), {"user": bob.pk, "role": "member", "can_promote": "on"})
    fresh = type(bob).objects.get(pk=bob.pk)
    assert team_role(fresh, lab) == "member" and can(fresh, Action.PROMOTE, lab)
    client.post(reverse("teams:member_remove", args=[lab.pk]), {"user": bob.pk})
    fresh = type(bob).objects.get(pk=bob.pk)
    assert team_role(fresh, lab) is None and not Membership.objects.filter(user=bob, team=lab).exists()
    response = client.post(reverse("teams:member_add", args=[lab.pk]), {"username": "nobody", "role": "member"},
                           follow=True)
    assert "no active user named" in response.content.decode()


def test_the_last_admin_can_be_neither_removed_nor_demoted(client, world):
    client = client_as(client, world["users"]["admin"])
    lab, ada, mel = world["lab"], world["users"]["admin"], world["users"]["member"]
    response = client.post(reverse("teams:member_remove", args=[lab.pk]), {"user": ada.pk}, follow=True)
    assert "at least one admin" in response.content.decode()
    client.post(reverse("teams:member_change", args=[lab.pk]), {"user": ada.pk, "role": "viewer"})
    assert team_role(type(ada).objects.get(pk=ada.pk), lab) == "admin"
    client.post(reverse("teams:member_change", args=[lab.pk]), {"user": mel.pk, "role": "admin"})
    client.post(reverse("teams:member_change", args=[lab.pk]), {"user": ada.pk, "role": "viewer"})
    assert team_role(type(ada).objects.get(pk=ada.pk), lab) == "viewer"  # another admin exists now


def test_existing_group_members_become_members_and_superusers_admins(db, django_user_model):
    from importlib import import_module

    migration = import_module("webapp.accounts.migrations.0003_memberships")
    team = Group.objects.create(name="Team")
    root = django_user_model.objects.create_superuser("root")
    ann = django_user_model.objects.create_user("ann")
    root.groups.add(team)
    ann.groups.add(team)
    migration.memberships_from_groups(django_apps, None)
    assert dict(Membership.objects.values_list("user__username", "role")) == {"root": "admin", "ann": "member"}


def test_createadmin_makes_the_default_teams_admin(db, monkeypatch, settings):
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    monkeypatch.setenv("MENAGERIE_ADMIN_PASSWORD", "a-long-and-unusual-password-42")
    call_command("createadmin", username="boss")
    boss = get_user_model().objects.get(username="boss")
    assert team_role(boss, Group.objects.get(name=settings.DATASETS_DEFAULT_TEAM)) == "admin"


@pytest.mark.parametrize("who, offered", [("admin", True), ("member", True), ("viewer", False),
                                          ("auditor", False)])
def test_new_datasets_go_only_into_teams_where_the_user_curates(client, world, who, offered):
    response = client_as(client, world["users"][who]).get(reverse("datasets:import"))
    assert (world["lab"] in response.context["form"].fields["team"].queryset) == offered


@pytest.mark.parametrize("who, offered", [("admin", True), ("member", True), ("viewer", False),
                                          ("auditor", False), ("other_team", False)])
def test_the_job_form_lists_only_datasets_the_user_may_train_on(client, world, who, offered):
    response = client_as(client, world["users"][who]).get(reverse("experiments:job_new"))
    assert (world["dataset"] in response.context["form"].fields["dataset"].queryset) == offered


def test_a_viewer_posting_their_teams_dataset_to_the_job_form_is_refused(client, world):
    from webapp.experiments.models import TrainingJob

    response = client_as(client, world["users"]["viewer"]).post(reverse("experiments:job_new"), {
        "dataset": world["dataset"].pk, "recipe": "recommended", "backbone": "mobilenet_v2", "weights": "none",
        "precision": "float32", "hidden": "8", "dropout": "0", "activation": "relu", "optimizer": "adam",
        "learning_rate": "0.001", "epochs": "1", "batch_size": "8"})
    assert response.status_code == 200 and "dataset" in response.context["form"].errors
    assert not TrainingJob.objects.exists()
