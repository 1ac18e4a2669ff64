"""Issue "Curation" item 3: fix where you see. The job page's gallery has photos for every confusion cell (the
diagonal: the correctly classified ones) and relabel / exclude actions for those allowed; a relabel there changes
the label, records history, and the job page then says the dataset changed."""

import pytest
from django.urls import reverse

from tests.webapp.experiments.conftest import succeed_job
from tests.webapp.roles import client_as, world  # noqa: F401  (world: fixture)
from webapp.datasets.models import Image, ImageChange
from webapp.experiments import services
from webapp.experiments.models import Evaluation

HEAD = {"epochs": 2, "batch_size": 8, "hidden": [16], "dropout": [0.1], "learning_rate": 1e-3}


@pytest.fixture
def job(world):
    job = succeed_job(services.job_create(dataset=world["dataset"], user=world["users"]["member"],
                                          backbone="mobilenet_v2", weights="none", pooling="avg", input_size=32,
                                          head_config=HEAD, recipe="article"))
    evaluation = Evaluation.objects.get(job=job, is_job_test_split=True)
    tests = list(world["dataset"].images.filter(split="test").order_by("id"))
    evaluation.report = {  # cat right (barely), dog taken for an emu, emu taken for a cat
        "accuracy": 1 / 3, "loss": 0.9, "macro_f1": 0.3, "class_names": ["cat", "dog", "emu"],
        "per_class": [{"label": n, "precision": .5, "recall": .5, "f1": .5, "support": 1} for n in ("cat", "dog", "emu")],
        "confusion": [[1, 0, 0], [0, 0, 1], [1, 0, 0]],
        "confusion_normalized": [[1.0, 0, 0], [0, 0, 1.0], [1.0, 0, 0]],
        "misclassified": [{"id": tests[1].pk, "true": "dog", "predicted": "emu", "confidence": 0.6},
                          {"id": tests[2].pk, "true": "emu", "predicted": "cat", "confidence": 0.8}],
        "correct": [{"id": tests[0].pk, "true": "cat", "confidence": 0.41}],
    }
    evaluation.save()
    return job, tests


def test_every_cell_has_its_photos_the_diagonal_too(client, world, job):
    job, tests = job
    html = client_as(client, world["users"]["viewer"]).get(job.get_absolute_url()).content.decode()
    assert f'href="{reverse("datasets:photo", args=[world["dataset"].pk, tests[0].pk])}"' in html
    assert 'data-true="cat" data-predicted="cat" data-correct="1" hidden' in html
    assert 'data-filter-true="cat" data-filter-predicted="cat"' in html  # the diagonal cell is a button
    assert 'data-true="dog" data-predicted="emu">' in html
    assert "Relabel" not in html  # a viewer looks only


def test_relabel_from_the_gallery_records_history_and_the_job_page_says_the_dataset_changed(client, world, job):
    job, tests = job
    client = client_as(client, world["users"]["member"])
    page = client.get(job.get_absolute_url())
    html = page.content.decode()
    assert html.count(">Relabel</button>") == 3 and "Exclude from training" in html
    emu = world["dataset"].labels.get(name="emu")
    response = client.post(reverse("datasets:photos_action", args=[world["dataset"].pk]), {
        "action": "relabel", "scope": "selected", "image": tests[1].pk, "to_label": emu.pk,
        "next": page.context["gallery_next"]}, follow=True)
    assert response.redirect_chain[-1][0] == page.context["gallery_next"]
    assert Image.objects.get(pk=tests[1].pk).label == emu
    change = ImageChange.objects.get()
    assert (change.image_id, change.old, change.new, change.user) == (tests[1].pk, "dog", "emu",
                                                                      world["users"]["member"])
    html = response.content.decode()
    assert "The dataset changed since this job" in html and "1 relabelled" in html
    assert "now labelled emu" in html
    client.post(reverse("datasets:photos_action", args=[world["dataset"].pk]), {
        "action": "exclude", "scope": "selected", "image": tests[2].pk, "next": page.context["gallery_next"]})
    assert Image.objects.get(pk=tests[2].pk).excluded
    assert "1 excluded" in client.get(job.get_absolute_url()).content.decode()
