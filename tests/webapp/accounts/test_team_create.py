"""Issue 27 item 2: a superuser (or a user granted "Can add group") creates a team on the Teams page, naming its
first admin."""

import re

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.urls import reverse

from tests.webapp.roles import WHO, client_as, world  # noqa: F401  (world: fixture)
from webapp.accounts.models import Membership
from webapp.accounts.permissions import Action, can, team_role
from webapp.accounts.services import team_create


def messages_shown(html: str) -> list[str]:
    return re.findall(r'<li class="message [^"]*">(.*?)</li>', html)


def test_a_superuser_creates_a_team_whose_named_user_is_its_admin(client, world, django_user_model):
    root = django_user_model.objects.create_superuser("root", password="x")
    client = client_as(client, root)
    assert "New team" in client.get(reverse("teams:list")).content.decode()
    response = client.post(reverse("teams:create"), {"name": "  Birders ", "admin_username": "bob"}, follow=True)
    team = Group.objects.get(name="Birders")
    assert response.redirect_chain[-1][0] == reverse("teams:detail", args=[team.pk])
    assert messages_shown(response.content.decode()) == ["Created team Birders; bob is its admin."]
    bob = django_user_model.objects.get(username="bob")
    assert team_role(bob, team) == "admin" and can(bob, Action.MANAGE_MEMBERS, team)
    assert list(team.user_set.all()) == [bob]  # only the named admin: the superuser sees every team anyway
    # the new admin manages the team from its page
    bob_client = client_as(client, bob)
    assert "Add a member" in bob_client.get(reverse("teams:detail", args=[team.pk])).content.decode()
    bob_client.post(reverse("teams:member_add", args=[team.pk]), {"username": "vic", "role": "viewer"})
    assert team.user_set.filter(username="vic").exists()


def test_the_add_group_permission_lets_a_user_create_teams(client, world, django_user_model):
    mel = world["users"]["member"]
    mel.user_permissions.add(Permission.objects.get(codename="add_group", content_type__app_label="auth"))
    client = client_as(client, mel)
    assert "New team" in client.get(reverse("teams:list")).content.decode()
    response = client.post(reverse("teams:create"), {"name": "Herons", "admin_username": "mel"})
    team = Group.objects.get(name="Herons")
    assert response["Location"] == reverse("teams:detail", args=[team.pk])
    assert team_role(django_user_model.objects.get(pk=mel.pk), team) == "admin"
    # a team made for someone else: its creator, outside it, goes back to the list (the team page would be a 404)
    response = client.post(reverse("teams:create"), {"name": "Owls", "admin_username": "bob"})
    assert response["Location"] == reverse("teams:list") and Group.objects.filter(name="Owls").exists()


@pytest.mark.parametrize("who", [w for w in WHO if w != "anonymous"])
def test_everyone_else_is_refused_with_403_and_sees_no_form(client, world, who):
    client = client_as(client, world["users"][who])
    assert "New team" not in client.get(reverse("teams:list")).content.decode()
    response = client.post(reverse("teams:create"), {"name": "Sneaky", "admin_username": world["users"][who].username})
    assert response.status_code == 403
    assert not Group.objects.filter(name="Sneaky").exists()


def test_anonymous_users_are_sent_to_log_in(client, world):
    response = client_as(client, None).post(reverse("teams:create"), {"name": "Sneaky", "admin_username": "ada"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert not Group.objects.filter(name="Sneaky").exists()


@pytest.mark.parametrize("name, admin, error", [
    ("LAB", "ada", "A team named 'LAB' exists already: choose another name."),  # "lab" exists (any case)
    ("Birders", "nobody", "There is no active user named 'nobody': create the user first."),
])
def test_a_taken_name_or_an_unknown_admin_is_refused_clearly_and_changes_nothing(
        client, world, django_user_model, name, admin, error):
    root = django_user_model.objects.create_superuser("root", password="x")
    groups, memberships = Group.objects.count(), Membership.objects.count()
    response = client_as(client, root).post(reverse("teams:create"), {"name": name, "admin_username": admin},
                                            follow=True)
    assert response.redirect_chain[-1][0] == reverse("teams:list")
    assert messages_shown(response.content.decode()) == [error.replace("'", "&#x27;")]
    assert (Group.objects.count(), Membership.objects.count()) == (groups, memberships)


def test_the_service_refuses_a_blank_name(world):
    with pytest.raises(ValidationError, match="Give the team a name"):
        team_create(name="   ", admin_username="ada")
    assert Group.objects.count() == 2
