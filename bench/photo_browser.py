"""The dataset page's photo browser with 30,000 photos: response time and query count per page and filter, and
the photo view.

    .venv/bin/python bench/photo_browser.py [--images 30000] [--classes 10] [--repeat 7]

A throw-away installation in a temp folder (SQLite unless DATABASE_URL is set): one dataset with --images image
rows (bulk-created, no files) in --classes classes, a tenth flagged and a twentieth excluded, fetched --repeat
times through Django's whole request stack as a plain team member. Prints the median time and the number of SQL
queries per page (the target: <= 150 ms median, the same number of queries on every page).
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
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    install()
    from django.contrib.auth.models import Group, User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from webapp.datasets import services
    from webapp.datasets.models import Image

    team = Group.objects.create(name="bench")
    member = User.objects.create_user("member", password=None)
    member.groups.add(team)
    dataset, labels = big_dataset(team, images=args.images, classes=args.classes, curated=True)
    started = time.perf_counter()
    changed = services.images_relabel(images=Image.objects.filter(label=labels[1], split="train"), label=labels[2],
                                      user=member)
    relabel_ms = (time.perf_counter() - started) * 1000
    connection.cursor().execute("ANALYZE") if connection.vendor == "sqlite" else None
    client = Client(HTTP_HOST="localhost")
    client.force_login(member)
    detail = reverse("datasets:detail", args=[dataset.pk])
    last_page = -(-args.images // 60)
    middle = Image.objects.filter(dataset=dataset).order_by("id")[args.images // 2]
    pages = {
        "first page": detail,
        "middle page": f"{detail}?page={last_page // 2}",
        "last page": f"{detail}?page={last_page}",
        "class filter, sorted by name": f"{detail}?label={labels[3].pk}&sort=name",
        "class + split, page 5": f"{detail}?label={labels[3].pk}&split=validation&page=5",
        "flagged only": f"{detail}?flagged=yes",
        "excluded only, last added": f"{detail}?excluded=yes&sort=-added",
        "file name contains": f"{detail}?name=photo-123",
        "sorted by class, middle page": f"{detail}?sort=class&page={last_page // 2}",
        "photo view": reverse("datasets:photo", args=[dataset.pk, middle.pk]),
    }
    print(f"{args.images} photos, {args.classes} classes, {connection.vendor}; "
          f"relabel of {changed} photos with history: {relabel_ms:.0f} ms")
    print(f"{'page':34} {'median ms':>10} {'queries':>8}")
    for name, url in pages.items():
        times = []
        for _ in range(args.repeat):
            with CaptureQueriesContext(connection) as queries:
                start = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, (name, response.status_code)
        print(f"{name:34} {statistics.median(times):10.1f} {len(queries):8d}")


if __name__ == "__main__":
    main()
