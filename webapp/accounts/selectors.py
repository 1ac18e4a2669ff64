"""Reads on accounts."""

from django.db.models import QuerySet

from webapp.accounts.models import ApiToken


def tokens_for_user(user) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user)
