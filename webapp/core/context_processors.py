"""Template context every page gets."""

from django.conf import settings


def polling(request):
    """The cap on the wait between two polls (static/js/poll.js reads it from <body data-poll-max-ms>)."""
    return {"poll_max_ms": settings.POLL_MAX_MS}
