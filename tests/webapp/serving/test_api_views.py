"""Named models over HTTP: pages (promote, roll back), `GET /api/models/`, `POST /api/models/<name>/predict/`.
(A real prediction through a worker, and the bound on waiting requests under a burst: tests/workers/test_serving.py.)"""

import pytest
from django.test import Client
from django.urls import reverse

from tests.webapp.serving.test_prediction_views import photo
from webapp.accounts.models import ApiToken
from webapp.accounts.services import membership_change
from webapp.experiments.models import Prediction
from webapp.serving import services
from webapp.serving.api import api_model_predict

pytestmark = pytest.mark.django_db


def auth(user):
    return {"HTTP_AUTHORIZATION": f"Token {ApiToken.create_for(user=user, name='script')[1]}"}


def predict_url(name):
    return reverse("serving:api_model_predict", args=[name])


def test_promote_and_roll_back_from_the_model_page(client_for, ann, birds, finished_job):
    client = client_for(ann)
    for note in ("first", "second"):
        response = client.post(reverse("serving:model_promote", args=["birds"]), {"job": finished_job.pk,
                                                                                   "note": note})
        assert response.status_code == 302
    client.post(reverse("serving:model_rollback", args=["birds", 1]), {"note": "v2 is worse on crows"})
    birds.refresh_from_db()
    assert birds.live_version.number == 1
    page = client.get(reverse("serving:model_detail", args=["birds"])).content.decode()
    assert "v2 is worse on crows" in page and "rolled back to v1" in page and "<strong>live</strong>" in page


def test_another_teams_model_pages_are_404(client_for, bob, birds, finished_job):
    client = client_for(bob)
    assert client.get(reverse("serving:model_detail", args=["birds"])).status_code == 404
    assert client.post(reverse("serving:model_promote", args=["birds"]), {"job": finished_job.pk}).status_code == 404
    assert not birds.versions.exists()


def test_api_lists_the_teams_models(ann, bob, birds, finished_job):
    services.model_promote(named_model=birds, job=finished_job, user=ann)
    body = Client().get(reverse("serving:api_models"), **auth(ann)).json()
    assert body == {"models": [{"name": "birds", "team": "lab", "live_version": 1, "versions": [1],
                                "evaluation_dataset": "pets"}]}
    assert Client().get(reverse("serving:api_models"), **auth(bob)).json() == {"models": []}


def test_predict_by_name_records_the_name_and_the_version(ann, birds, finished_job):
    services.model_promote(named_model=birds, job=finished_job, user=ann)
    services.model_promote(named_model=birds, job=finished_job, user=ann)
    client = Client()
    client.post(predict_url("birds"), {"image": photo()}, **auth(ann))  # no worker here: it ends pending
    client.post(predict_url("birds"), {"image": photo(), "version": "1"}, **auth(ann))
    assert list(Prediction.objects.order_by("pk").values_list("model_name", "model_version", "job")) == [
        ("birds", 2, finished_job.pk), ("birds", 1, finished_job.pk)]


def test_predict_by_name_errors(ann, bob, birds, finished_job):
    client = Client()
    response = client.post(predict_url("birds"), {"image": photo()}, **auth(ann))
    assert response.status_code == 409 and "no live version" in response.json()["error"]
    services.model_promote(named_model=birds, job=finished_job, user=ann)
    response = client.post(predict_url("birds"), {"image": photo(), "version": "7"}, **auth(ann))
    assert response.status_code == 404 and "no version 7" in response.json()["error"]
    response = client.post(predict_url("birds"), {"image": photo()}, **auth(bob))  # another team's name
    assert response.status_code == 404 and "No model named 'birds'" in response.json()["error"]
    response = client.post(predict_url("crows"), {"image": photo()}, **auth(ann))
    assert response.status_code == 404 and "Available models: birds." in response.json()["error"]
    assert not Prediction.objects.exists()


def test_past_the_bound_on_waiting_requests_the_api_answers_503_with_retry_after(settings, ann, birds,
                                                                                 finished_job, rf):
    from webapp.serving.waiting import prediction_wait_slot

    settings.API_PREDICT_MAX_WAITING = 1
    services.model_promote(named_model=birds, job=finished_job, user=ann)
    request = rf.post(predict_url("birds"), {"image": photo()}, **auth(ann))
    with prediction_wait_slot():  # another request of this process is waiting
        response = api_model_predict(request, "birds")
    assert response.status_code == 503 and response["Retry-After"] == "1"
    assert "retry" in response.content.decode()
    assert not Prediction.objects.exists()


def test_a_name_in_several_of_the_users_teams_is_picked_by_team(client_for, ann, bob, other_team, other_dataset,
                                                                 birds, finished_job, other_job):
    """Names are unique per team only: ann, in both teams, must say which "birds"; bob, in one, need not."""
    services.model_promote(named_model=birds, job=finished_job, user=ann)
    other_birds = services.named_model_create(team=other_team, name="birds", evaluation_dataset=other_dataset,
                                              user=bob)
    services.model_promote(named_model=other_birds, job=other_job, user=bob)
    ann.groups.add(other_team)
    membership_change(team=other_team, user=ann, role="admin")
    client = Client()
    response = client.post(predict_url("birds"), {"image": photo()}, **auth(ann))
    assert response.status_code == 400
    assert response.json()["error"] == ("Several of your teams have a model named 'birds' (lab, other-lab): say "
                                        "which with team=<team>.")
    response = client.post(predict_url("birds"), {"image": photo(), "team": "no-such-team"}, **auth(ann))
    assert response.status_code == 404 and "in team 'no-such-team'" in response.json()["error"]
    assert not Prediction.objects.exists()
    client.post(predict_url("birds"), {"image": photo(), "team": "other-lab"}, **auth(ann))
    client.post(predict_url("birds"), {"image": photo(), "team": "lab"}, **auth(ann))
    client.post(predict_url("birds"), {"image": photo()}, **auth(bob))  # bob has one "birds": no team needed
    assert list(Prediction.objects.order_by("pk").values_list("job", flat=True)) == [other_job.pk, finished_job.pk,
                                                                                   other_job.pk]

    pages = client_for(ann)
    response = pages.get(reverse("serving:model_detail", args=["birds"]), follow=True)
    assert response.redirect_chain == [(reverse("serving:model_list"), 302)]
    assert "Several of your teams have a model named" in response.content.decode()
    listing = response.content.decode()
    assert birds.get_absolute_url() in listing and other_birds.get_absolute_url() in listing
    page = pages.get(other_birds.get_absolute_url()).content.decode()
    assert "Team other-lab" in page and f"job {other_job.pk}" in page and f"job {finished_job.pk}" not in page
    promote = reverse("serving:model_promote", args=["birds"])
    assert f'action="{promote}?team=other-lab"' in page
    assert pages.post(promote, {"job": finished_job.pk}).status_code == 400  # which birds? nothing changes
    assert birds.versions.count() == 1 and other_birds.versions.count() == 1


def test_the_predict_page_names_each_models_team(client_for, ann, bob, other_team, other_dataset, birds,
                                                 finished_job, other_job):
    services.model_promote(named_model=birds, job=finished_job, user=ann)
    other_birds = services.named_model_create(team=other_team, name="birds", evaluation_dataset=other_dataset,
                                              user=bob)
    services.model_promote(named_model=other_birds, job=other_job, user=bob)
    ann.groups.add(other_team)
    page = client_for(ann).get(reverse("experiments:predict")).content.decode()
    assert f'<option value="{birds.pk}" selected>birds (v1, lab)</option>' in page
    assert f'<option value="{other_birds.pk}">birds (v1, other-lab)</option>' in page
