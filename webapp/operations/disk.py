"""Space used by the stores (dataset photos, prediction photos, heatmaps, feature cache, trained models) and by the
feature cache per dataset, on the local folders or the S3 store alike (webapp.core.storage). Listing many files
costs time: the figures are kept for a minute."""

from collections import defaultdict

from django.core.cache import cache

from webapp.core import storage
from webapp.datasets.models import Image
from webapp.operations.cleanup import feature_files

CACHE_SECONDS = 60
MEDIA_FOLDERS = {"datasets": "dataset_photos", "predictions": "prediction_photos", "heatmaps": "heatmaps"}


def _feature_bytes_by_hash() -> dict[str, int]:
    sizes = defaultdict(int)
    for digest, stored in feature_files():
        sizes[digest] += stored.size  # one file per backbone set-up
    return dict(sizes)


def disk_usage() -> dict:
    """Bytes per store: {"dataset_photos", "prediction_photos", "heatmaps", "features", "models", "total"}."""

    def measure():
        usage = dict.fromkeys(MEDIA_FOLDERS.values(), 0)
        for stored in storage.files_under("", "media"):  # one listing of the area
            top = stored.name.split("/", 1)[0]
            if top in MEDIA_FOLDERS:
                usage[MEDIA_FOLDERS[top]] += stored.size
        usage["features"] = sum(stored.size for stored in storage.files_under("", "features"))
        usage["models"] = sum(stored.size for stored in storage.files_under("", "artifacts"))
        return usage | {"total": sum(usage.values())}

    return cache.get_or_set(f"menagerie:disk:{storage.location('media')}", measure, CACHE_SECONDS)


def feature_bytes_by_dataset(dataset_ids: list[int]) -> dict[int, int]:
    """Feature-cache bytes of each dataset's photos (a photo in two datasets counts in both). One query."""
    sizes = cache.get_or_set(f"menagerie:features:{storage.location('features')}", _feature_bytes_by_hash,
                             CACHE_SECONDS)
    totals = dict.fromkeys(dataset_ids, 0)
    rows = Image.objects.filter(dataset_id__in=dataset_ids).values_list("dataset_id", "content_hash").distinct()
    for dataset_id, digest in rows.iterator():
        totals[dataset_id] += sizes.get(digest, 0)
    return totals
