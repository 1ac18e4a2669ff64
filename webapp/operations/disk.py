"""Disk use of the stores (dataset photos, prediction photos, heatmaps, feature cache, trained models) and of the
feature cache per dataset. Walking the folders costs time with many files: the figures are kept for a minute."""

import os
from collections import defaultdict
from pathlib import Path

from django.conf import settings
from django.core.cache import cache

from webapp.operations.cleanup import feature_files
from webapp.datasets.models import Image

CACHE_SECONDS = 60


def tree_size(root: Path) -> int:
    total = 0
    for folder, _, names in os.walk(root):
        for name in names:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except FileNotFoundError:  # removed while we walked
                pass
    return total


def _feature_bytes_by_hash() -> dict[str, int]:
    sizes = defaultdict(int)
    for digest, _, size in feature_files(Path(settings.FEATURES_DIR)):
        sizes[digest] += size  # one file per backbone set-up
    return dict(sizes)


def disk_usage() -> dict:
    """Bytes per store: {"dataset_photos", "prediction_photos", "heatmaps", "features", "models", "total"}."""

    def measure():
        media = Path(settings.MEDIA_ROOT)
        usage = {
            "dataset_photos": tree_size(media / "datasets"),
            "prediction_photos": tree_size(media / "predictions"),
            "heatmaps": tree_size(media / "heatmaps"),
            "features": tree_size(Path(settings.FEATURES_DIR)),
            "models": tree_size(Path(settings.ARTIFACTS_DIR)),
        }
        return usage | {"total": sum(usage.values())}

    return cache.get_or_set(f"menagerie:disk:{settings.MEDIA_ROOT}", measure, CACHE_SECONDS)


def feature_bytes_by_dataset(dataset_ids: list[int]) -> dict[int, int]:
    """Feature-cache bytes of each dataset's photos (a photo in two datasets counts in both). One query."""
    sizes = cache.get_or_set(f"menagerie:features:{settings.FEATURES_DIR}", _feature_bytes_by_hash, CACHE_SECONDS)
    totals = dict.fromkeys(dataset_ids, 0)
    rows = Image.objects.filter(dataset_id__in=dataset_ids).values_list("dataset_id", "content_hash").distinct()
    for dataset_id, digest in rows.iterator():
        totals[dataset_id] += sizes.get(digest, 0)
    return totals
