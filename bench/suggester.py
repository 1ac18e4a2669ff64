"""The Label page's suggester on a large pool with its features cached: how long a run takes after a label
(the issue's target: within 10 s on 5,000 photos, suggestions for 5,000 photos under 10 s), and the page's
endpoints on that many suggestions.

    .venv/bin/python bench/suggester.py [--images 5000] [--classes 10] [--labelled 10] [--repeat 3]

A throw-away installation in a temp folder (SQLite unless DATABASE_URL is set): one dataset of --images photo
rows (no files), --labelled per class labelled, the rest in the unlabelled pool, and their features already in
the feature cache (random clusters of 1,280 numbers, one per class: MobileNetV2's pooled size), so no TensorFlow
runs. Each repeat gives one more label (the page's service) and runs the suggester in this process, as a worker
would; prints its stages (seconds) and the endpoints' median time.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_DIR))

from big_dataset import install  # noqa: E402 - after the path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--labelled", type=int, default=10, help="labelled photos per class at the start")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import os

    os.environ["MENAGERIE_LABELLING_WEIGHTS"] = "none"  # the cache key of features nobody has to extract
    install()
    from django.conf import settings
    from django.contrib.auth.models import Group, User
    from django.test import Client
    from django.urls import reverse

    from classifier.features import FeatureCache
    from webapp.datasets.models import Dataset, Image, Label
    from webapp.labelling import selectors, services
    from webapp.labelling.models import SuggestionRun
    from workers.suggesting import _spec, run_suggestions

    team = Group.objects.create(name="bench")
    member = User.objects.create_user("member", password=None)
    member.groups.add(team)
    dataset = Dataset.objects.create(name="big", team=team)
    labels = [Label.objects.create(dataset=dataset, name=f"class{c:02d}") for c in range(args.classes)]
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 1, (args.classes, 1280)).astype("float32")
    truth = [i % args.classes for i in range(args.images)]
    Image.objects.bulk_create(
        (Image(dataset=dataset, label=labels[c] if i < args.labelled * args.classes else None, split="train",
               content_hash=f"{i:064x}", file=f"datasets/{dataset.pk}/images/{i:064x}.jpg", width=256, height=256)
         for i, c in enumerate(truth)), batch_size=2000)
    spec = _spec(SuggestionRun(dataset=dataset, backbone=settings.LABELLING_BACKBONE, weights="none"))
    cache = FeatureCache(settings.FEATURES_DIR)
    for i, c in enumerate(truth):
        cache.save(spec, f"{i:064x}", np.maximum(centres[c] + rng.normal(0, 1.5, 1280), 0))  # ReLU-like, noisy

    index = {pk: int(digest, 16) for pk, digest in Image.objects.filter(dataset=dataset).values_list("pk",
                                                                                                   "content_hash")}
    pool = list(Image.objects.unlabelled().filter(dataset=dataset).order_by("id").values_list("pk", flat=True))
    print(f"{args.images} photos, {args.classes} classes, {args.labelled * args.classes} labelled at the start; "
          f"features cached; {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}")
    print(f"{'run':>4} {'labels':>7} {'pool':>6} {'total s':>8}  stages (s)")
    runs = []
    for repeat in range(args.repeat):
        photo = pool[repeat]
        services.photos_label(dataset=dataset, image_ids=[photo], label=labels[truth[index[photo]]], user=member)
        run = SuggestionRun.objects.filter(dataset=dataset, status="queued").get()
        started = time.perf_counter()
        run_suggestions(run.pk, worker="bench")
        seconds = time.perf_counter() - started
        run.refresh_from_db()
        assert run.status == "succeeded", run.error_message
        runs.append(seconds)
        print(f"{repeat + 1:>4} {run.label_count:>7} {run.pool_count:>6} {seconds:8.2f}  {run.seconds}")
    right = sum(s.label_id == labels[truth[index[s.image_id]]].pk for s in run.suggestions.all())
    print(f"suggestions right (clusters, as a check): {right} of {run.pool_count}")

    client = Client(HTTP_HOST="localhost")
    client.force_login(member)
    pages = {
        "status": reverse("labelling:status", args=[dataset.pk]),
        "grid: what to label next": reverse("labelling:photos", args=[dataset.pk]) + "?view=next",
        "grid: suggested, by confidence": reverse("labelling:photos", args=[dataset.pk]) + "?view=suggested&page=20",
        "grid: suggested as one class": reverse("labelling:photos", args=[dataset.pk])
        + f"?view=suggested&label={labels[3].pk}",
        "expected error at 0.9": reverse("labelling:expected", args=[dataset.pk])
        + f"?run={run.pk}&min_confidence=0.9",
        "review (50 least sure)": reverse("labelling:review", args=[dataset.pk]),
    }
    print(f"{'endpoint':34} {'median ms':>10}")
    for name, url in pages.items():
        times = []
        for _ in range(5):
            start = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, (name, response.status_code)
        print(f"{name:34} {statistics.median(times):10.1f}")
    above = selectors.expected_error(run, 0.9)["count"]
    start = time.perf_counter()
    done = services.suggestions_accept(run=run, user=member, min_confidence=0.9)
    print(f"bulk accept of {len(done.changed)} photos at >= 0.9 (expected {above}), with history: "
          f"{time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
