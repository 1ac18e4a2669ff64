"""Forms only validate."""

from datetime import timedelta

from django import forms
from django.core.validators import URLValidator
from django.utils import timezone

from webapp.core import outbound


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
    # Not a URLField: it would strip spaces and rewrite the URL before the outbound rules see what was typed.
    webhook_url = forms.CharField(required=False, strip=False, max_length=500, label="Webhook URL",
                                  help_text="A JSON notice is POSTed here when your job ends (a public address; "
                                            "redirects are not followed). Empty: no webhook.")
    webhook_secret = forms.CharField(required=False, max_length=100, min_length=16, label="Webhook secret",
                                     help_text="Signs each body: header X-Menagerie-Signature: sha256=HMAC-SHA256"
                                               "(secret, body) in hex. Empty: one is made for you.")

    webhook_warning = ""  # set when the URL's name does not resolve now (it is checked again when sending)

    def clean_webhook_url(self):
        url = self.cleaned_data["webhook_url"]
        if not url:
            return ""
        if "://" not in url and url == url.strip():
            url = "https://" + url
        try:
            self.webhook_warning = outbound.url_check(url)
        except outbound.OutboundRefused as exc:
            raise forms.ValidationError(str(exc)) from None
        URLValidator(schemes=["http", "https"])(url)
        return url
