"""Forms of the team page (only validate)."""

from django import forms

from webapp.accounts.models import Role


class TeamCreateForm(forms.Form):
    name = forms.CharField(max_length=150, label="Team name")
    admin_username = forms.CharField(max_length=150, label="First admin",
                                     help_text="An existing user's name; they manage the team's members.")


class MemberAddForm(forms.Form):
    username = forms.CharField(max_length=150, help_text="An existing user's name.")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)


class MemberChangeForm(forms.Form):
    user = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=2**63 - 1)
    role = forms.ChoiceField(choices=Role.choices)
    can_promote = forms.BooleanField(required=False, label="May promote models")
