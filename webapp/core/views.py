from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import render
from django.utils._os import safe_join


def home(request):
    return render(request, "core/home.html")


@login_not_required
def health(request):
    """Liveness for load balancers and compose: the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"ok": True})


def media(request, path):
    """Uploaded photos and thumbnails, for logged-in users only (so never served by a public static server)."""
    try:
        full_path = safe_join(settings.MEDIA_ROOT, path)
    except SuspiciousFileOperation:  # the path leaves MEDIA_ROOT
        raise Http404
    try:
        return FileResponse(open(full_path, "rb"))
    except (FileNotFoundError, IsADirectoryError):
        raise Http404
