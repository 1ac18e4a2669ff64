"""Admin and dataset pages with 30,000 images: response time and query count.

    .venv/bin/python bench/admin_pages.py [--images 30000] [--classes 10] [--repeat 5]

A throw-away installation in a temp folder (SQLite unless DATABASE_URL is set): one dataset with --images image
rows (bulk-created, no files) in --classes classes, then each page fetched --repeat times through Django's whole
request stack as a superuser. Prints the median time and the number of SQL queries per page.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_DIR))

from big_dataset import big_dataset, install  # noqa: E402 - after the path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=30_000)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    install()
    from django.contrib.auth.models import Group, User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from webapp.datasets.models import Image

    team = Group.objects.create(name="bench")
    admin = User.objects.create_superuser("admin", password=None)
    dataset, labels = big_dataset(team, images=args.images, classes=args.classes)
    client = Client(HTTP_HOST="localhost")
    client.force_login(admin)
    pages = {
        "admin image changelist": reverse("admin:datasets_image_changelist"),
        "admin image changelist, filtered": reverse("admin:datasets_image_changelist")
        + f"?label__id__exact={labels[3].pk}&split__exact=test",
        "admin image changelist, search": reverse("admin:datasets_image_changelist") + "?q=class05",
        "admin dataset changelist": reverse("admin:datasets_dataset_changelist"),
        "dataset list page": reverse("datasets:list"),
        "dataset detail page": reverse("datasets:detail", args=[dataset.pk]),
    }
    print(f"{args.images} images, {args.classes} classes, {connection.vendor}")
    print(f"{'page':40} {'median ms':>10} {'queries':>8}")
    for name, url in pages.items():
        times = []
        for _ in range(args.repeat):
            with CaptureQueriesContext(connection) as queries:
                start = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, (name, response.status_code)
        print(f"{name:40} {statistics.median(times):10.1f} {len(queries):8d}")


if __name__ == "__main__":
    main()
