"""Form fields shared by the apps."""

from django import forms
from django.core.exceptions import ValidationError

from webapp.core.ids import parse_id


class IdsMultipleChoiceField(forms.ModelMultipleChoiceField):
    """A ModelMultipleChoiceField that refuses malformed ids before it queries: an `IN (...)` with an id past the
    database's integer range raises OverflowError (a 500) where a single `=` lookup finds nothing. A refusal names
    every id not in the queryset, in one error (Django's field names only the first it meets)."""

    def clean(self, value):
        for pk in value or []:
            if parse_id(pk) is None:
                raise ValidationError(self.error_messages["invalid_pk_value"], code="invalid_pk_value",
                                      params={"pk": pk})
        return super().clean(value)

    def _check_values(self, value):
        ids = {parse_id(pk) for pk in value}
        found = self.queryset.filter(pk__in=ids)
        missing = sorted(ids - {obj.pk for obj in found})
        if missing:
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice",
                                  params={"value": ", ".join(f"#{pk}" for pk in missing)})
        return found
