"""One definition of "the photos a job trains on" (selectors.training_images): the job form's estimate and the job
itself plan the same views and counts, in-process (no worker)."""

import pytest

from tests.factories import COLOURS, add_image, make_dataset
from tests.images import jpeg_bytes
from webapp.datasets.models import Split
from webapp.experiments import selectors, services
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
    specs = pipeline._plan_views(job)
    pipeline._plan_extraction(job, specs, pipeline._cache())
    job.refresh_from_db()

    assert estimate["total"] == job.job_images.count() == 12
    assert estimate["view_sizes"] == job.view_sizes == [224, 96]
    assert estimate["uncached"] == job.progress_total - job.images_cached == 12
    sides, pixels = selectors.job_photo_sizes([job_image.image for job_image in job.job_images.all()])
    assert estimate["memory"] == selectors.job_memory_estimate(
        backbone=job.backbone, pooling=job.pooling, input_size=job.input_size, head_config=job.head_config,
        image_count=job.job_images.count(), class_count=len(selectors.job_class_names(job)), recipe=job.recipe,
        photo_sides=sides, photo_pixels=pixels)
