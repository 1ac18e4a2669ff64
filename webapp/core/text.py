"""Limits on the free text users type (descriptions, notes), in the forms and the models alike."""

from django.core.validators import MaxLengthValidator

# A page or two of text. Without a cap a 9 MiB description was accepted and sent with every page listing it.
TEXT_MAX_LENGTH = 10_000


def text_max_length():
    """The validators of a model's TextField of user text (a new list each time, as Django wants)."""
    return [MaxLengthValidator(TEXT_MAX_LENGTH)]
