from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from webapp.home import selectors


def home(request):
    """The team's morning glance; its running and queued jobs and the workers are polled (home_status)."""
    overview = selectors.home_overview(request.user)
    return render(request, "home/home.html", overview | {"home_config": {"status_url": reverse("home_status")}})


@never_cache
def home_status(request):
    return JsonResponse(selectors.home_live(request.user))

