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


class NotificationForm(forms.Form):
    email = forms.BooleanField(required=False, label="E-mail me when my job ends",
                               help_text="Sent to your account's e-mail address.")
    webhook_url = forms.URLField(required=False, max_length=500, label="Webhook URL", assume_scheme="https",
                                 help_text="A JSON notice is POSTed here when your job ends. Empty: no webhook.")
    webhook_secret = forms.CharField(required=False, max_length=100, min_length=16, label="Webhook secret",
                                     help_text="Signs each body: header X-Menagerie-Signature: sha256=HMAC-SHA256"
                                               "(secret, body) in hex. Empty: one is made for you.")

    def clean_webhook_url(self):
        url = self.cleaned_data["webhook_url"]
        if url and not url.lower().startswith(("http://", "https://")):
            raise forms.ValidationError("The webhook URL must start with http:// or https://.")
        return url
