"""Unlabelled photos never reach a training set, an evaluation, an audit or a batch: every path reads the one
selector of "photos a job trains on" (training_images) or the labelled ones only."""

from tests.factories import FAST_JOB, make_dataset
from tests.labelling import add_pool_photo
from tests.images import jpeg_bytes
from webapp.audits.selectors import audit_images
from webapp.audits.models import DatasetAudit
from webapp.experiments import selectors, services
from webapp.experiments.models import JobImage, JobStatus, TrainingJob


def test_pool_photos_are_left_out_of_jobs_evaluations_audits_and_dataset_changes(db, ann):
    dataset = make_dataset("shapes", per_class=4)
    pool = [add_pool_photo(dataset, jpeg_bytes((10, 10, 10), 77 + i), f"pool-{i}.jpg") for i in range(3)]
    pool_ids = {p.pk for p in pool}
    assert len(selectors.training_images(dataset)) == 12
    assert not pool_ids & {i.pk for i in selectors.training_images(dataset)}

    job = services.job_create(dataset=dataset, user=ann, **FAST_JOB)
    snapshot = set(JobImage.objects.filter(job=job).values_list("image_id", flat=True))
    assert len(snapshot) == 12 and not snapshot & pool_ids
    assert selectors.job_dataset_changes(job)["added"] == 0  # the pool is nothing a new job would use

    other = make_dataset("shapes-2", per_class=2, seed=3)
    add_pool_photo(other, jpeg_bytes((10, 10, 10), 99), "pool.jpg")
    assert all(i.label_id for i in selectors.scored_images(dataset=other, job=job))
    TrainingJob.objects.filter(pk=job.pk).update(status=JobStatus.SUCCEEDED, artifact_dir="job")
    job.refresh_from_db()
    evaluation = services.evaluation_create(job=job, dataset=other, user=ann)  # the pool is no unknown class
    assert len(selectors.evaluation_images(evaluation)) == 6
    audit = DatasetAudit.objects.create(dataset=dataset, backbone="vgg16")
    assert not pool_ids & {i.pk for i in audit_images(audit)}
