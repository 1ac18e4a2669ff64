"""The site's plumbing views: the health probe, the private media files (each served only to the team of the row
that owns it), and handler500 (a full disk is a 507 saying so, a file store that does not answer a 503)."""

import errno
import re
import sys

from django.core.exceptions import SuspiciousFileOperation
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.db.models import Q
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.template import loader
from django.views import defaults

from webapp.accounts.permissions import sees_all_teams
from webapp.core import storage

# datasets/<dataset id>/images|thumbs/<hash[:2]>/<hash><ext> (webapp.datasets.models.image_storage_name)
DATASET_FILE = re.compile(
    r"datasets/(?P<dataset_id>[0-9]{1,18})/(?:images|thumbs)/[0-9a-f]{2}/(?P<hash>[0-9a-f]{64})[^/]*"
)


@login_not_required
def health(request):
    """Liveness for load balancers and compose: the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"ok": True})


def media(request, path):
    """Uploaded photos and thumbnails, only for the team that owns them; never a public folder.

    With an S3 store too, the bytes come through this view (from this process's bounded local copy of the stored
    file, fetched on first use), not by a redirect to a signed URL: the per-row check (_media_visible_to) stays the
    only way to a file (a signed URL is a bearer token that works for anyone it is passed to until it expires, even
    after the person lost access or the photo was deleted), the CSP keeps img-src 'self', and the store needs no
    address that browsers can reach (it may sit on a private network with the workers). The cost, the bytes passing
    through the web process, is small for thumbnails and photos, and repeated views are served from the local copy."""
    if not _media_visible_to(request.user, path):
        raise Http404
    try:
        response = FileResponse(open(storage.local_file(path, "media"), "rb"))
    except SuspiciousFileOperation:  # the path leaves the media folder
        raise Http404
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
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


def _in_chain(error: BaseException | None, test) -> bool:
    """Whether `test` holds for an error anywhere in the failure's chain (Django wraps some errors in others)."""
    seen = set()
    while error is not None and id(error) not in seen:
        if test(error):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def _out_of_space(error: BaseException) -> bool:
    return isinstance(error, OSError) and error.errno == errno.ENOSPC


def _store_unreachable(error: BaseException) -> bool:
    """The S3 store did not answer (no connection, a timeout, a dropped connection), not an answer it gave."""
    from botocore.exceptions import ConnectionError, HTTPClientError

    return isinstance(error, (ConnectionError, HTTPClientError))


def server_error(request):
    """handler500: a full temporary folder or storage (an upload spooled to disk, an import's staging) is a 507
    saying so, and a file store that does not answer (MENAGERIE_STORAGE=s3) a 503, rather than "something went
    wrong"; what failed was rolled back. Like Django's page, it needs no database. Django calls it while handling
    the exception, which sys.exc_info() therefore holds."""
    error = sys.exc_info()[1]
    if _in_chain(error, _out_of_space):
        return HttpResponse(loader.get_template("507.html").render(), status=507)
    if _in_chain(error, _store_unreachable):
        return HttpResponse(loader.get_template("503.html").render(), status=503, headers={"Retry-After": "30"})
    return defaults.server_error(request)
