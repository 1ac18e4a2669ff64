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
    """An empty Redis test database, so no message of an earlier run reaches this test's workers."""
    if REDIS_AVAILABLE:
        import redis

        redis.Redis.from_url(REDIS_TEST_URL).flushdb()
    yield
