"""One definition of "the photos a job trains on" (selectors.training_images) and one plan of the views a job
extracts (selectors.planned_views, stored by job_create in TrainingJob.feature_specs): the job form's estimate and
the job itself plan the same views and counts, and the job's run reads the views it stored. In-process (no
worker)."""

from dataclasses import replace

import pytest
from django.conf import settings

from classifier.settings import JobSettings
from tests.factories import COLOURS, FAST_JOB, add_image, make_dataset
from tests.images import jpeg_bytes
from webapp.core.storage import feature_store
from webapp.datasets.models import Split
from webapp.experiments import selectors, services
from webapp.experiments.models import JobStatus, TrainingJob
from workers import pipeline

SETTINGS = {"recipe": "recommended", "backbone": "mobilenet_v2", "weights": "none"}


@pytest.mark.django_db
def test_with_excluded_photos_the_estimate_plans_the_views_and_counts_the_job_does(ann, media_root):
    dataset = make_dataset("shapes", per_class=4)  # 48 px photos: a second, smaller view beside the main one
    for i in range(7):  # large photos of a fourth class, excluded: they would change the views and every count
        add_image(dataset, "purple", jpeg_bytes(COLOURS["red"], 500 + i, 256), Split.TRAIN, f"big-{i}.jpg")
    dataset.images.filter(label__name="purple").update(excluded=True)

    estimate = selectors.job_estimate(dataset=dataset, **SETTINGS)
    job = services.job_create(dataset=dataset, user=ann, **SETTINGS)
    assert services.job_claim(job_id=job.pk, worker="here")  # what the job's run plans, as its worker would
    pipeline._plan_extraction(job, job.specs, feature_store())
    job.refresh_from_db()

    assert estimate["total"] == job.job_images.count() == 12
    assert estimate["feature_specs"] == job.feature_specs
    assert [(s["input_size"], s["stage"]) for s in job.feature_specs] == [(224, "top_input"), (96, "top_input")]
    assert estimate["view_sizes"] == job.planned_sizes == [224, 96]  # the page's
    assert estimate["uncached"] == job.progress_total - job.images_cached == 12
    job_settings = JobSettings.from_job(recipe=job.recipe, backbone=job.backbone, weights=job.weights,
                                        pooling=job.pooling, precision=job.precision, input_size=job.input_size,
                                        head_config=job.head_config)
    assert estimate["memory"] == selectors.job_memory_estimate(
        job_settings=job_settings, specs=job.specs, image_count=job.job_images.count(),
        class_count=len(selectors.job_class_names(job)),
        photo_pixels=selectors.job_photo_sizes([job_image.image for job_image in job.job_images.all()])[1])


@pytest.mark.django_db
def test_a_job_stores_the_specs_it_planned_and_its_run_extracts_and_trains_on_those(ann, media_root):
    from classifier.features import FeatureCache
    from classifier.model_io import load_run

    dataset = make_dataset("shapes", per_class=4, size=24)
    job = services.job_create(dataset=dataset, user=ann, **FAST_JOB)
    planned = selectors.planned_views(images=selectors.training_images(dataset),
                                      job_settings=JobSettings.from_job(**FAST_JOB))
    assert job.feature_specs == [spec.to_dict() for spec in planned] and job.specs == planned
    assert job.planned_sizes == [32] and planned[0].pooling == "avg"
    # the run reads the stored plan, not the settings again: another size stored is the one extracted and trained
    stored = replace(job.specs[0], input_size=40)
    TrainingJob.objects.filter(pk=job.pk).update(feature_specs=[stored.to_dict()])
    job.refresh_from_db()
    assert services.job_claim(job_id=job.pk, worker="here")
    usable, skipped = pipeline._extract(job, "here")  # its chunks too (extract_chunks reads the job afresh)
    pipeline._train_and_evaluate(job, usable, skipped)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    cache = FeatureCache(settings.FEATURES_DIR)
    hashes = [job_image.content_hash for job_image in job.job_images.all()]
    assert not cache.missing(stored, hashes) and cache.missing(planned[0], hashes) == hashes
    assert [spec.to_dict() for spec in load_run(job.artifact_path)["views"]] == [stored.to_dict()]
