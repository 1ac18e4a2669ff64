"""Team pages: a team's members and roles. Everyone in the team sees the page; its admins change it."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from webapp.accounts import selectors, services
from webapp.accounts.permissions import Action, can, can_create_teams, powers, team_role
from webapp.accounts.team_forms import MemberAddForm, MemberChangeForm, TeamCreateForm
from webapp.core.ids import parse_id


def _get_team_for_user(user, pk):
    return get_object_or_404(selectors.teams_for_user(user), pk=pk)


def _check_manages(user, team) -> None:
    if not can(user, Action.MANAGE_MEMBERS, team):
        raise PermissionDenied("Only the team's admins manage its members.")


def team_list(request):
    teams = [{"team": team, "role": team_role(request.user, team)} for team in selectors.teams_for_user(request.user)]
    create_form = TeamCreateForm(initial={"admin_username": request.user.get_username()})
    return render(request, "accounts/team_list.html", {
        "teams": teams, "create_form": create_form if can_create_teams(request.user) else None})


@require_POST
def team_create(request):
    if not can_create_teams(request.user):
        raise PermissionDenied("Only superusers and users allowed to add groups create teams.")
    form = TeamCreateForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the team a name and its first admin.")
        return redirect("teams:list")
    try:
        team = services.team_create(**form.cleaned_data)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("teams:list")
    messages.success(request, f"Created team {team.name}; {form.cleaned_data['admin_username']} is its admin.")
    if selectors.teams_for_user(request.user).filter(pk=team.pk).exists():
        return redirect("teams:detail", pk=team.pk)
    return redirect("teams:list")  # made for someone else by a user who is not in it


def team_detail(request, pk):
    team = _get_team_for_user(request.user, pk)
    return render(request, "accounts/team_detail.html", {
        "team": team, "members": selectors.team_members(team), "powers": powers(request.user, team),
        "add_form": MemberAddForm(), "roles": MemberChangeForm.base_fields["role"].choices,
    })


@require_POST
def member_add(request, pk):
    team = _get_team_for_user(request.user, pk)
    _check_manages(request.user, team)
    form = MemberAddForm(request.POST)
    if form.is_valid():
        try:
            services.membership_add(team=team, **form.cleaned_data)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"Added {form.cleaned_data['username']} to {team.name}.")
    else:
        messages.error(request, "Give a user name and a role.")
    return redirect("teams:detail", pk=team.pk)


@require_POST
def member_change(request, pk):
    team = _get_team_for_user(request.user, pk)
    _check_manages(request.user, team)
    form = MemberChangeForm(request.POST)
    user = team.user_set.filter(pk=form.cleaned_data["user"]).first() if form.is_valid() else None
    if user is None:
        messages.error(request, "Choose a member and a role.")
        return redirect("teams:detail", pk=team.pk)
    try:
        services.membership_change(team=team, user=user, role=form.cleaned_data["role"],
                                   can_promote=form.cleaned_data["can_promote"])
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{user.get_username()} is now {form.cleaned_data['role']}.")
    return redirect("teams:detail", pk=team.pk)


@require_POST
def member_remove(request, pk):
    team = _get_team_for_user(request.user, pk)
    _check_manages(request.user, team)
    user_id = parse_id(request.POST.get("user"))
    user = team.user_set.filter(pk=user_id).first() if user_id else None
    if user is None:
        messages.error(request, "Choose a member to remove.")
        return redirect("teams:detail", pk=team.pk)
    try:
        services.membership_remove(team=team, user=user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Removed {user.get_username()} from {team.name}.")
    return redirect("teams:detail", pk=team.pk)
