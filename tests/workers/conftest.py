"""Fixtures for the job tests."""

import pytest
from django.contrib.auth.models import Group

from tests.environment import REDIS_AVAILABLE, REDIS_TEST_URL


@pytest.fixture
def user(django_user_model):
    user = django_user_model.objects.create_user("ann", password="pw-ann-12345")
    user.groups.add(Group.objects.get_or_create(name="lab")[0])
    return user


@pytest.fixture
def clean_broker():
    """No message of an earlier test or run in the Redis test database, so none reaches this test's workers.

    Kombu's exchange bindings (`_kombu.binding.*`) stay: a producer that declared its queues before would not
    declare them again, and its messages would go nowhere."""
    if not REDIS_AVAILABLE:  # the embedded broker: its queue folder
        from django.conf import settings

        for message in (settings.BROKER_DIR / "queue").glob("*"):
            message.unlink(missing_ok=True)
    else:
        import redis

        client = redis.Redis.from_url(REDIS_TEST_URL)
        for key in client.scan_iter():
            if not key.startswith(b"_kombu.binding."):
                client.delete(key)
    yield


def worker_env(**overrides) -> dict:
    """The child environment with a fast heartbeat (the reaper's threshold stays the default unless set)."""
    from tests.processes import child_env

    return child_env(MENAGERIE_JOB_HEARTBEAT_SECONDS="0.5", **overrides)
