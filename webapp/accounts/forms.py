"""Forms only validate."""

from datetime import timedelta

from django import forms
from django.utils import timezone


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the token is for, e.g. 'nightly sorting script'.")
    expires_in_days = forms.IntegerField(label="Expires after (days)", required=False, min_value=1, max_value=3650,
                                         help_text="Empty: the token works until you revoke it.")

    def expires_at(self):
        days = self.cleaned_data.get("expires_in_days")
        return timezone.now() + timedelta(days=days) if days else None
