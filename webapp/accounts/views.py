"""The API tokens page: a user's tokens for scripts (the JSON API itself lives in webapp.serving.api)."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from webapp.accounts import selectors, services
from webapp.accounts.forms import ApiTokenForm, NotificationForm
from webapp.accounts.models import ApiToken, NotificationPreference


def _get_token_for_user(user, pk) -> ApiToken:
    return get_object_or_404(selectors.tokens_for_user(user), pk=pk)


def api_tokens(request):
    """The user's tokens; POST creates one and shows its key once."""
    form = ApiTokenForm(request.POST or None)
    context = {}
    if request.method == "POST" and form.is_valid():
        token, key = services.api_token_create(user=request.user, name=form.cleaned_data["name"],
                                               expires_at=form.expires_at())
        context = {"new_token": token, "new_key": key}
        form = ApiTokenForm()
    context |= {
        "form": form,
        "tokens": selectors.tokens_for_user(request.user),
        "api_url": request.build_absolute_uri(reverse("experiments:api_predict")),
        "jobs_url": request.build_absolute_uri(reverse("experiments:api_jobs")),
        "models_url": request.build_absolute_uri(reverse("serving:api_models")),
        "model_predict_url": request.build_absolute_uri(reverse("serving:api_model_predict", args=["NAME"])),
    }
    response = render(request, "accounts/api_tokens.html", context)
    response["Cache-Control"] = "no-store"  # a page showing a key must not be cached
    return response


@require_POST
def api_token_revoke(request, pk):
    token = _get_token_for_user(request.user, pk)
    services.api_token_revoke(token=token)
    messages.success(request, f"Token {token.name} revoked.")
    return redirect("accounts:api_tokens")


def notifications(request):
    """How the user hears that their job ended: e-mail, webhook (the browser tab tells them anyway)."""
    preference = NotificationPreference.objects.filter(user=request.user).first()
    initial = {"email": preference.email, "webhook_url": preference.webhook_url,
               "webhook_secret": preference.webhook_secret} if preference else {}
    form = NotificationForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.notification_preference_set(user=request.user, **form.cleaned_data)
        messages.success(request, "Notification settings saved.")
        if form.webhook_warning:
            messages.warning(request, form.webhook_warning)
        return redirect("accounts:notifications")
    response = render(request, "accounts/notifications.html", {"form": form, "preference": preference})
    response["Cache-Control"] = "no-store"  # shows the webhook secret
    return response
