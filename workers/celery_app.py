"""The Celery app, configured from Django settings (every CELERY_* setting).

Start workers with `celery -A workers worker -Q train` (long work) or `-Q predict` (short work).
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")

app = Celery("menagerie")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["workers"], related_name="tasks")
