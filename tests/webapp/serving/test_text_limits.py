"""A named model's description and a promotion's note are capped at 10,000 characters, in the forms, the models
and the services; a refused one changes nothing."""

import pytest
from django.core.exceptions import ValidationError

from webapp.core.text import TEXT_MAX_LENGTH
from webapp.serving import services
from webapp.serving.forms import NamedModelForm, RollbackForm
from webapp.serving.models import ModelEvent, ModelVersion, NamedModel

TOO_LONG = "x" * (TEXT_MAX_LENGTH + 1)


def test_a_named_models_description_over_the_limit_is_refused_everywhere(lab, ann, dataset):
    form = NamedModelForm({"name": "birds", "evaluation_dataset": dataset.pk, "description": TOO_LONG}, user=ann)
    assert not form.is_valid() and "description" in form.errors
    with pytest.raises(ValidationError, match="description"):
        NamedModel(team=lab, name="birds", evaluation_dataset=dataset, description=TOO_LONG).full_clean()
    with pytest.raises(ValidationError, match="at most 10000 characters"):
        services.named_model_create(team=lab, name="birds", evaluation_dataset=dataset, user=ann,
                                    description=TOO_LONG)
    assert not NamedModel.objects.exists()


def test_a_promotion_note_over_the_limit_is_refused_and_nothing_goes_live(birds, finished_job, ann):
    assert not RollbackForm({"note": TOO_LONG}).is_valid()
    with pytest.raises(ValidationError, match="at most 10000 characters"):
        services.model_promote(named_model=birds, job=finished_job, user=ann, note=TOO_LONG)
    birds.refresh_from_db()
    assert birds.live_version is None and not ModelEvent.objects.exists() and not ModelVersion.objects.exists()
    services.model_promote(named_model=birds, job=finished_job, user=ann, note="x" * TEXT_MAX_LENGTH)
    assert ModelEvent.objects.get().note == "x" * TEXT_MAX_LENGTH
