"""Deleting a job: by its creator or whoever may delete the team's jobs, with its files (trained model,
heatmaps), never while it runs or while a version of it is live; its predictions stay in the log."""

from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.images import jpeg_bytes
from tests.webapp.experiments.conftest import FAST_HEAD, succeed_job
from webapp.accounts.services import membership_change
from webapp.experiments import services
from webapp.experiments.models import Heatmap, HeatmapStatus, JobStatus, Prediction, TrainingJob
from webapp.serving import services as serving


def _prediction(job, user) -> Prediction:
    upload = SimpleUploadedFile("cat.jpg", jpeg_bytes((120, 80, 40), 7), content_type="image/jpeg")
    prediction = services.prediction_create(job=job, upload=upload, user=user)
    services.prediction_succeed(prediction_id=prediction.pk, result={
        "label": "cat", "confidence": 0.9, "probabilities": [{"label": "cat", "probability": 0.9}]})
    heatmap = Heatmap.objects.create(job=job, prediction=prediction, status=HeatmapStatus.SUCCEEDED)
    heatmap.file.save("heatmap.png", ContentFile(b"png"))
    return prediction


def test_the_creator_deletes_a_job_with_its_files_and_its_predictions_stay_in_the_log(
        client_for, ann, finished_job, django_capture_on_commit_callbacks):
    prediction = _prediction(finished_job, ann)
    artifacts = finished_job.artifact_path
    heatmaps = Path(settings.MEDIA_ROOT) / f"heatmaps/job_{finished_job.pk}"
    assert artifacts.is_dir() and any(heatmaps.iterdir())
    client = client_for(ann)
    assert b"Delete job #" in client.get(finished_job.get_absolute_url()).content
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("experiments:job_delete", args=[finished_job.pk]))
    assert response.status_code == 302 and response.url == reverse("experiments:job_list")
    assert not TrainingJob.objects.filter(pk=finished_job.pk).exists()
    assert not artifacts.exists() and not heatmaps.exists()
    prediction.refresh_from_db()
    assert prediction.job is None and prediction.label == "cat" and prediction.file  # the photo stays too
    assert prediction.job_summary == f"#{finished_job.pk} mobilenet_v2 on pets"
    page = client.get(reverse("experiments:predict")).content.decode()
    assert f"#{finished_job.pk} mobilenet_v2 on pets (deleted)" in page
    review = client.get(reverse("review:list") + "?show=all").content.decode()
    assert f'id="prediction-{prediction.pk}"' in review and "(job deleted)" in review


def test_a_teammate_may_not_delete_someone_elses_job_but_an_admin_may(client_for, ann, carl, lab, finished_job):
    response = client_for(carl).post(reverse("experiments:job_delete", args=[finished_job.pk]))
    assert response.status_code == 403 and TrainingJob.objects.filter(pk=finished_job.pk).exists()
    assert b"Delete job #" not in client_for(carl).get(finished_job.get_absolute_url()).content
    membership_change(team=lab, user=carl, role="admin")
    response = client_for(carl).post(reverse("experiments:job_delete", args=[finished_job.pk]))
    assert response.status_code == 302 and not TrainingJob.objects.filter(pk=finished_job.pk).exists()


def test_another_teams_job_is_404_and_stays(client_for, bob, finished_job):
    assert client_for(bob).post(reverse("experiments:job_delete", args=[finished_job.pk])).status_code == 404
    assert TrainingJob.objects.filter(pk=finished_job.pk).exists()


def test_a_running_job_is_not_deleted(client_for, ann, dataset):
    job = services.job_create(dataset=dataset, user=ann, backbone="vgg16", weights="none")
    assert services.job_claim(job_id=job.pk, worker="test")
    response = client_for(ann).post(reverse("experiments:job_delete", args=[job.pk]), follow=True)
    assert "cancel it first" in response.content.decode()
    assert TrainingJob.objects.get(pk=job.pk).status == JobStatus.EXTRACTING


def test_the_live_version_s_job_is_refused_until_another_version_is_live(client_for, ann, lab, dataset,
                                                                          finished_job):
    membership_change(team=lab, user=ann, role="admin")
    birds = serving.named_model_create(team=lab, name="birds", evaluation_dataset=dataset, user=ann)
    first = serving.model_promote(named_model=birds, job=finished_job, user=ann)
    newer = succeed_job(services.job_create(dataset=dataset, user=ann, backbone="mobilenet_v2", weights="none",
                                            pooling="avg", input_size=32, head_config=FAST_HEAD))
    serving.model_promote(named_model=birds, job=newer, user=ann)
    serving.model_rollback(named_model=birds, version=first, user=ann)  # the first job is live again
    client = client_for(ann)
    response = client.post(reverse("experiments:job_delete", args=[finished_job.pk]), follow=True)
    assert "is the live version of model birds (v1)" in response.content.decode()
    assert TrainingJob.objects.filter(pk=finished_job.pk).exists()
    # the newer job is only an earlier-live version: it goes, with its version
    assert client.post(reverse("experiments:job_delete", args=[newer.pk])).status_code == 302
    assert list(birds.versions.values_list("number", flat=True)) == [1]
    birds.refresh_from_db()
    assert birds.live_version == first


def test_a_job_whose_version_answered_a_batch_is_kept_with_a_message(client_for, ann, lab, dataset, finished_job):
    from webapp.serving.batch_services import batch_create

    membership_change(team=lab, user=ann, role="admin")
    birds = serving.named_model_create(team=lab, name="birds", evaluation_dataset=dataset, user=ann)
    serving.model_promote(named_model=birds, job=finished_job, user=ann)
    birds.refresh_from_db()
    batch = batch_create(named_model=birds, user=ann, dataset=dataset)
    newer = succeed_job(services.job_create(dataset=dataset, user=ann, backbone="mobilenet_v2", weights="none",
                                            pooling="avg", input_size=32, head_config=FAST_HEAD))
    serving.model_promote(named_model=birds, job=newer, user=ann)  # the batch's version is no longer live
    response = client_for(ann).post(reverse("experiments:job_delete", args=[finished_job.pk]), follow=True)
    assert f"answered batch predictions (batch {batch.pk})" in response.content.decode()
    assert TrainingJob.objects.filter(pk=finished_job.pk).exists() and birds.versions.count() == 2


def test_a_prediction_left_waiting_by_a_deleted_job_fails_with_a_message(ann, finished_job):
    from workers.tasks import prediction_run

    upload = SimpleUploadedFile("cat.jpg", jpeg_bytes((120, 80, 40), 8), content_type="image/jpeg")
    waiting = services.prediction_create(job=finished_job, upload=upload, user=ann)
    services.job_delete(job=finished_job)
    assert prediction_run(waiting.pk) == {"status": "failed"}
    waiting.refresh_from_db()
    assert waiting.status == "failed" and waiting.error_message == "Its model's job was deleted."
