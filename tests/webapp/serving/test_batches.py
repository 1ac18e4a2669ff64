"""Batch predictions over HTTP and through their services, without a worker: bad zips are refused and change
nothing, other teams get 404, the API, cancel, the reaper, and what a finished batch stores (the CSV, its wrong and
unsure rows in the prediction review). The batch run by a real worker: tests/workers/test_batches.py."""

import codecs
import csv
import io
import zipfile
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.webapp.datasets.conftest import media_snapshot, photo_bytes, zip_bytes
from tests.webapp.serving.test_api_views import auth
from webapp.experiments.models import Prediction
from webapp.lifecycle.services import work_mark_cancelled, work_reap
from webapp.serving import batch_services, services
from webapp.serving.models import BatchPrediction, BatchStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def live_birds(birds, finished_job, ann):
    services.model_promote(named_model=birds, job=finished_job, user=ann)
    birds.refresh_from_db()
    return birds


def upload(entries: dict, *, compression=zipfile.ZIP_STORED, name="photos.zip") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, zip_bytes(entries, compression=compression).getvalue(),
                              content_type="application/zip")


def class_folders() -> dict:
    return {f"{label}/{i}.jpg": photo_bytes(10 * c + i) for c, label in enumerate(("cat", "dog")) for i in range(2)}


def new_url(name="birds"):
    return reverse("serving:batch_new", args=[name])


def test_a_zip_is_queued_from_the_model_page_and_its_page_shows_the_progress(client_for, ann, live_birds):
    client = client_for(ann)
    page = client.get(live_birds.get_absolute_url()).content.decode()
    assert 'id="batch-form"' in page and new_url() in page
    response = client.post(new_url(), {"archive": upload(class_folders() | {"loose.jpg": photo_bytes(99)})})
    batch = BatchPrediction.objects.get()
    assert response.status_code == 302 and response.url == batch.get_absolute_url()
    assert (batch.status, batch.progress_total, batch.version.number) == (BatchStatus.QUEUED, 5, 1)
    assert batch.archive_name == "photos.zip" and batch.archive.name.endswith("photos.zip")
    page = client.get(batch.get_absolute_url()).content.decode()
    assert 'id="batch-status"' in page and "0 / 5" in page and "Cancel batch" in page
    status = client.get(reverse("serving:batch_status", args=["birds", batch.pk])).json()
    assert (status["status"], status["progress"], status["csv_url"]) == ("queued", {"done": 0, "total": 5}, None)
    assert f"#{batch.pk}" in client.get(live_birds.get_absolute_url()).content.decode()


def bomb() -> dict:
    return {"cat/big.jpg": b"\0" * (2 * 1024 * 1024)}


@pytest.mark.parametrize("archive, message", [
    (SimpleUploadedFile("photos.zip", b"this is no zip"), "not a zip archive"),
    (upload({"readme.txt": b"hello", "notes/more.txt": b"x"}), "has no photos"),
    (upload({}), "has no photos"),
    (upload(bomb(), compression=zipfile.ZIP_DEFLATED), "zip bomb"),
    (upload({"../escape.jpg": photo_bytes(1), "cat/a.jpg": photo_bytes(2)}), "unsafe path"),
    (upload({"cat/a.jpg": photo_bytes(1), "cat/inner.zip": b"PK\x03\x04"}), "nested archive"),
    (upload({f"cat/{i}.jpg": photo_bytes(i) for i in range(4)}), "the limit is 3"),
])
def test_a_bad_zip_is_refused_with_a_clear_error_and_changes_nothing(settings, client_for, ann, live_birds,
                                                                     media_root, archive, message):
    settings.DATASETS_ZIP_MAX_ENTRIES = 3
    before = media_snapshot(media_root)
    client = client_for(ann)
    response = client.post(new_url(), {"archive": archive}, follow=True)
    assert message in response.content.decode()
    assert not BatchPrediction.objects.exists() and media_snapshot(media_root) == before


def test_a_zip_over_the_size_limit_is_refused_before_it_is_read(settings, client_for, ann, live_birds):
    settings.DATASETS_MAX_ARCHIVE_BYTES = 100
    response = client_for(ann).post(new_url(), {"archive": upload(class_folders())}, follow=True)
    assert "larger than the limit" in response.content.decode() and not BatchPrediction.objects.exists()


def test_a_model_without_a_live_version_and_an_empty_form_are_refused(client_for, ann, birds, dataset):
    with pytest.raises(ValidationError, match="no live version"):
        batch_services.batch_create(named_model=birds, user=ann, dataset=dataset)
    page = client_for(ann).get(birds.get_absolute_url()).content.decode()
    assert "Batches need a live version" in page and 'id="batch-form"' not in page


def test_one_of_zip_or_dataset_and_only_the_teams_datasets(client_for, ann, live_birds, other_dataset):
    client = client_for(ann)
    assert "one of the two" in client.post(new_url(), {}, follow=True).content.decode()
    both = client.post(new_url(), {"archive": upload(class_folders()), "dataset": live_birds.evaluation_dataset_id},
                       follow=True)
    assert "one of the two" in both.content.decode()
    foreign = client.post(new_url(), {"dataset": other_dataset.pk}, follow=True).content.decode()
    assert "Select a valid choice" in foreign
    with pytest.raises(ValidationError, match="team's datasets"):
        batch_services.batch_create(named_model=live_birds, user=ann, dataset=other_dataset)
    assert not BatchPrediction.objects.exists()


def test_a_dataset_batch_counts_the_photos_a_re_evaluation_scores(client_for, ann, live_birds, dataset):
    response = client_for(ann).post(new_url(), {"dataset": dataset.pk})
    batch = BatchPrediction.objects.get()
    assert response.status_code == 302 and batch.dataset == dataset and not batch.archive
    assert batch.progress_total == 3  # the model's own dataset: its test split (one photo per class)


def test_another_teams_batches_are_404(client, bob, ann, live_birds):
    batch = batch_services.batch_create(named_model=live_birds, user=ann,
                                        archive=upload(class_folders()))
    client.force_login(bob)
    args = ["birds", batch.pk]
    assert client.post(new_url(), {"archive": upload(class_folders())}).status_code == 404
    for name in ("batch_detail", "batch_status", "batch_csv"):
        assert client.get(reverse(f"serving:{name}", args=args)).status_code == 404
    assert client.post(reverse("serving:batch_cancel", args=args)).status_code == 404
    api = Client()
    assert api.post(reverse("serving:api_batch_create", args=["birds"]), {"archive": upload(class_folders())},
                    **auth(bob)).status_code == 404
    assert api.get(reverse("serving:api_batch_detail", args=args), **auth(bob)).status_code == 404
    assert BatchPrediction.objects.count() == 1
    batch.refresh_from_db()
    assert batch.status == BatchStatus.QUEUED


def test_the_api_starts_a_batch_and_reports_its_status(ann, live_birds):
    api = Client()
    response = api.post(reverse("serving:api_batch_create", args=["birds"]), {"archive": upload(class_folders())},
                        **auth(ann))
    body = response.json()
    assert response.status_code == 202 and body["status"] == "queued" and body["progress"]["total"] == 4
    detail = api.get(reverse("serving:api_batch_detail", args=["birds", body["id"]]), **auth(ann)).json()
    assert (detail["model"], detail["version"], detail["csv_url"]) == ("birds", 1, None)
    bad = api.post(reverse("serving:api_batch_create", args=["birds"]),
                   {"archive": SimpleUploadedFile("x.zip", b"nope")}, **auth(ann))
    assert bad.status_code == 400 and "not a zip" in str(bad.json()["fields"])
    assert api.get(reverse("serving:api_batch_detail", args=["birds", body["id"]])).status_code == 401


def test_cancel_a_queued_batch_and_the_reaper_fails_a_silent_one(client_for, ann, live_birds):
    queued = batch_services.batch_create(named_model=live_birds, user=ann, archive=upload(class_folders()))
    client_for(ann).post(reverse("serving:batch_cancel", args=["birds", queued.pk]))
    queued.refresh_from_db()
    assert queued.status == BatchStatus.CANCELLED and not queued.archive.storage.exists(queued.archive.name)
    running = batch_services.batch_create(named_model=live_birds, user=ann, archive=upload(class_folders()))
    assert batch_services.batch_claim(batch_id=running.pk, worker="w1")
    assert not batch_services.batch_claim(batch_id=running.pk, worker="w2")  # a redelivered message does nothing
    assert work_reap() == {}  # its heartbeat is fresh
    BatchPrediction.objects.filter(pk=running.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    assert work_reap() == {"batch": [running.pk]}
    running.refresh_from_db()
    assert running.status == BatchStatus.FAILED and "stopped responding" in running.error_message


def row(name, label, confidence, *, true="", decision="confident", error="", path=""):
    others = [c for c in ("cat", "dog", "panda") if c != label]
    rest = (1 - confidence) / 2
    return {"file": name, "true": true, "error": error, "content_hash": name.ljust(64, "0"), "path": path,
            "label": label if not error else "", "confidence": None if error else confidence,
            "decision": decision if not error else "",
            "probabilities": [] if error else [{"label": label, "probability": confidence}]
            + [{"label": c, "probability": rest} for c in others]}


def test_a_finished_batch_stores_its_csv_and_sends_wrong_and_unsure_photos_to_review(client_for, ann, live_birds,
                                                                                      tmp_path):
    batch = batch_services.batch_create(named_model=live_birds, user=ann, archive=upload(class_folders()))
    assert batch_services.batch_claim(batch_id=batch.pk)
    photos = {}
    for i in range(3):
        photos[i] = tmp_path / f"{i}.jpg"
        photos[i].write_bytes(photo_bytes(100 + i))
    rows = [
        row("cat/right.jpg", "cat", 0.9, true="cat", path=str(photos[0])),
        row("cat/=wrong.jpg", "dog", 0.8, true="cat", path=str(photos[1])),
        row("loose.jpg", "panda", 0.4, decision="unsure", path=str(photos[2])),
        row("dog/broken.jpg", "", 0, true="dog", error="damaged or truncated image"),
        row("狗/小狗.jpg", "", 0, true="狗", error="damaged or truncated image"),  # a spreadsheet must show it
    ]
    report = {"accuracy": 0.5, "loss": 0.7, "macro_f1": 0.4, "class_names": ["cat", "dog", "panda"],
              "per_class": [{"label": c, "precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 1}
                            for c in ("cat", "dog", "panda")],
              "confusion": [[1, 1, 0], [0, 0, 0], [0, 0, 0]],
              "confusion_normalized": [[0.5, 0.5, 0], [0, 0, 0], [0, 0, 0]]}
    assert batch_services.batch_succeed(batch_id=batch.pk, rows=rows, report=report)
    batch.refresh_from_db()
    assert (batch.status, batch.photo_count, batch.error_count, batch.unsure_count, batch.wrong_count) == (
        "succeeded", 5, 2, 1, 1)
    client = client_for(ann)
    response = client.get(reverse("serving:batch_csv", args=["birds", batch.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    content = b"".join(response.streaming_content)
    assert content.startswith(codecs.BOM_UTF8)  # how spreadsheets know the file is UTF-8
    lines = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    assert [(r["file"], r["decision"], r["true_class"]) for r in lines] == [
        ("cat/right.jpg", "cat", "cat"), ("cat/=wrong.jpg", "dog", "cat"),
        ("loose.jpg", "unsure", ""), ("dog/broken.jpg", "error", "dog"), ("狗/小狗.jpg", "error", "狗")]
    assert lines[0]["confidence"] == "0.9000" and (lines[0]["top2"], lines[0]["top3_probability"]) == ("dog", "0.0500")
    assert lines[3]["error"] == "damaged or truncated image" and lines[3]["top1"] == ""
    review = {p.original_name: p for p in Prediction.objects.filter(batch=batch)}
    assert set(review) == {"cat/=wrong.jpg", "loose.jpg"}
    wrong = review["cat/=wrong.jpg"]
    assert wrong.marked_wrong and wrong.expected_label == "cat" and (wrong.model_name, wrong.model_version) == (
        "birds", 1)
    assert not review["loose.jpg"].marked_wrong and review["loose.jpg"].decision == "unsure"
    page = client.get(reverse("review:list")).content.decode()
    assert f"batch {batch.pk}" in page and "(folder: cat)" in page
    cat = live_birds.evaluation_dataset.labels.get(name="cat")
    assert f'<option value="{cat.pk}" selected>cat</option>' in page  # the folder's class, ready to add
    batch_page = client.get(batch.get_absolute_url()).content.decode()
    assert 'id="batch-csv"' in batch_page and "predictions to review" in batch_page
    # the evaluation through the job page's partials: report rows, confusion chart data and table
    assert batch_page.count('<th scope="row">') == 6 and 'id="confusion-data"' in batch_page
    assert "data-filter-true" not in batch_page and "{#" not in batch_page and "comment" not in batch_page


def test_a_spreadsheet_never_runs_a_file_name_as_a_formula():
    text = batch_services.batch_csv([row("=HYPERLINK(1)", "cat", 0.9)])
    assert list(csv.reader(io.StringIO(text)))[1][0] == "'=HYPERLINK(1)"


@pytest.fixture
def roles(django_user_model, lab, ann, carl, bob, staff):
    """Who may start a batch of the lab's model: its admin (ann), member (carl) and viewer (predicting is looking);
    not another team, staff without permission or anonymous; an auditor sees every team but predicts nothing."""
    from django.contrib.auth.models import Permission

    from webapp.accounts.models import Membership, Role

    viewer = django_user_model.objects.create_user("vic")
    viewer.groups.add(lab)
    Membership.objects.create(user=viewer, team=lab, role=Role.VIEWER)
    auditor = django_user_model.objects.create_user("ida", is_staff=True)
    auditor.user_permissions.add(Permission.objects.get(codename="view_all_teams"))
    return {"admin": ann, "member": carl, "viewer": viewer, "other_team": bob, "staff": staff, "auditor": auditor,
            "anonymous": None}


@pytest.mark.parametrize("who, start, see", [
    ("admin", 302, 200), ("member", 302, 200), ("viewer", 302, 200), ("other_team", 404, 404), ("staff", 404, 404),
    ("auditor", 403, 200), ("anonymous", 302, 302),
])
def test_who_may_start_and_see_a_batch(client, roles, ann, live_birds, who, start, see):
    existing = batch_services.batch_create(named_model=live_birds, user=ann, archive=upload(class_folders()))
    client.logout()
    if roles[who]:
        client.force_login(roles[who])
    response = client.post(new_url(), {"archive": upload(class_folders())})
    assert response.status_code == start
    started = BatchPrediction.objects.exclude(pk=existing.pk)
    assert started.exists() == (who in ("admin", "member", "viewer"))
    if who == "anonymous":
        assert "/accounts/login/" in response.url
    assert client.get(existing.get_absolute_url()).status_code == see


def test_a_running_batch_stops_when_cancelled(client_for, ann, live_birds):
    from webapp.serving import batch_selectors

    batch = batch_services.batch_create(named_model=live_birds, user=ann, archive=upload(class_folders()))
    assert batch_services.batch_claim(batch_id=batch.pk)
    assert not batch_selectors.batch_cancel_requested(batch_id=batch.pk)
    client_for(ann).post(reverse("serving:batch_cancel", args=["birds", batch.pk]))
    batch.refresh_from_db()
    assert batch.status == BatchStatus.RUNNING and batch.cancel_requested  # the worker stops at its next check
    assert batch_selectors.batch_cancel_requested(batch_id=batch.pk)
    assert work_mark_cancelled(kind="batch", pk=batch.pk)
    assert not batch_services.batch_succeed(batch_id=batch.pk, rows=[], report={})  # a late result is dropped


def test_batches_run_on_the_train_queue_and_a_lost_worker_fails_its_batch_at_once(ann, live_birds):
    from celery.exceptions import WorkerLostError

    from workers.celery_app import app
    from workers.tasks import _run_process_lost, batch_run

    assert app.amqp.router.route({}, batch_run.name)["queue"].name == "train"  # long work, never before predictions
    batch = batch_services.batch_create(named_model=live_birds, user=ann, archive=upload(class_folders()))
    assert batch_services.batch_claim(batch_id=batch.pk, worker="w1")
    _run_process_lost(sender=batch_run, exception=WorkerLostError("killed"), args=[batch.pk])
    batch.refresh_from_db()
    assert batch.status == BatchStatus.FAILED and "stopped responding" in batch.error_message
