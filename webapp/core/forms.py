"""Form fields shared by the apps."""

from django import forms
from django.core.exceptions import ValidationError

from webapp.core.ids import parse_id


class IdsMultipleChoiceField(forms.ModelMultipleChoiceField):
    """A ModelMultipleChoiceField that refuses malformed ids before it queries: an `IN (...)` with an id past the
    database's integer range raises OverflowError (a 500) where a single `=` lookup finds nothing."""

    def clean(self, value):
        for pk in value or []:
            if parse_id(pk) is None:
                raise ValidationError(self.error_messages["invalid_pk_value"], code="invalid_pk_value",
                                      params={"pk": pk})
        return super().clean(value)
