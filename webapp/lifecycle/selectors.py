"""Reads on any kind of background work (webapp.lifecycle.registry.KINDS)."""

from django.apps import apps

from webapp.lifecycle.registry import KINDS


def work_status(*, kind: str, pk: int) -> str:
    """The run's status now ("missing" when its row is gone)."""
    status = apps.get_model(KINDS[kind].model).objects.filter(pk=pk).values_list("status", flat=True).first()
    return status or "missing"
