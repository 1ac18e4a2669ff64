"""Fixtures for the job tests."""

import pytest

from tests.environment import REDIS_AVAILABLE, REDIS_TEST_URL


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

