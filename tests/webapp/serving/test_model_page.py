"""Issue "Curation" item 5: each named model shows its unsure rate over time, from the recorded predictions."""

from datetime import timedelta

from django.utils import timezone

from webapp.experiments.models import Prediction
from webapp.serving import selectors, services


def _predictions(job, name, day, decisions):
    for decision in decisions:
        prediction = Prediction.objects.create(job=job, content_hash="x", status="succeeded", label="cat",
                                               decision=decision, model_name=name, model_version=1)
        Prediction.objects.filter(pk=prediction.pk).update(created_at=day)


def test_the_unsure_rate_per_day_counts_only_this_names_succeeded_predictions(birds, finished_job, other_job,
                                                                              client_for, ann):
    services.model_promote(named_model=birds, job=finished_job, user=ann)
    today = timezone.now()
    _predictions(finished_job, "birds", today - timedelta(days=2), ["unsure", "confident", "confident", "confident"])
    _predictions(finished_job, "birds", today, ["unsure", "unsure", "confident"])
    _predictions(finished_job, "birds", today - timedelta(days=200), ["unsure"])  # too old
    _predictions(finished_job, "", today, ["unsure"])  # asked for the job, not the name
    _predictions(other_job, "birds", today, ["unsure"])  # another team's model of the same name
    Prediction.objects.create(job=finished_job, content_hash="y", status="failed", model_name="birds")

    rows = selectors.unsure_rate_by_day(birds)
    assert [(r["predictions"], r["unsure"], r["rate"]) for r in rows] == [(4, 1, 0.25), (3, 2, 0.6667)]
    assert rows[0]["day"] < rows[1]["day"]

    html = client_for(ann).get(birds.get_absolute_url()).content.decode()
    assert 'id="unsure-data"' in html and "js/unsure_rate.js" in html and "67 %" in html


def test_a_model_without_predictions_says_so(birds, client_for, ann):
    html = client_for(ann).get(birds.get_absolute_url()).content.decode()
    assert "No prediction with this name" in html and "unsure_rate.js" not in html
