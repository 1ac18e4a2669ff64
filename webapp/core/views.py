import re

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.db.models import Q
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.utils._os import safe_join

from webapp.accounts.permissions import sees_all_teams
from webapp.core import selectors

# datasets/<dataset id>/images|thumbs/<hash[:2]>/<hash><ext> (webapp.datasets.models.image_storage_name)
DATASET_FILE = re.compile(
    r"datasets/(?P<dataset_id>[0-9]{1,18})/(?:images|thumbs)/[0-9a-f]{2}/(?P<hash>[0-9a-f]{64})[^/]*"
)


def home(request):
    """The team's morning glance; its running and queued jobs and the workers are polled (home_status)."""
    overview = selectors.home_overview(request.user)
    return render(request, "core/home.html", overview | {"home_config": {"status_url": reverse("home_status")}})


@never_cache
def home_status(request):
    return JsonResponse(selectors.home_live(request.user))


@login_not_required
def health(request):
    """Liveness for load balancers and compose: the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"ok": True})


def media(request, path):
    """Uploaded photos and thumbnails, only for the team that owns them; never a public folder."""
    if not _media_visible_to(request.user, path):
        raise Http404
    try:
        full_path = safe_join(settings.MEDIA_ROOT, path)
    except SuspiciousFileOperation:  # the path leaves MEDIA_ROOT
        raise Http404
    try:
        response = FileResponse(open(full_path, "rb"))
    except (FileNotFoundError, IsADirectoryError):
        raise Http404
    response["Cache-Control"] = "private, max-age=3600"  # a team's photo: never kept by a shared cache
    return response


def _media_visible_to(user, path: str) -> bool:
    from webapp.datasets.models import Image
    from webapp.datasets.selectors import datasets_for_user
    from webapp.experiments.selectors import heatmaps_for_user, predictions_for_user

    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):  # one canonical spelling per file, so checks can't be dodged
        return False
    if parts[0] == "datasets":  # by the row that owns the file, never by the folder: a folder id can be reused
        owned = DATASET_FILE.fullmatch(path)
        return bool(owned) and Image.objects.filter(
            Q(file=path) | Q(thumbnail=path), dataset_id=int(owned["dataset_id"]), content_hash=owned["hash"],
            dataset__in=datasets_for_user(user),
        ).exists()
    if parts[0] == "predictions":
        return predictions_for_user(user).filter(file=path).exists()
    if parts[0] == "heatmaps":
        return heatmaps_for_user(user).filter(file=path).exists()
    return sees_all_teams(user)
