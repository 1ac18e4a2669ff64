import multiprocessing
import subprocess
import sys

import numpy as np
import pytest

from classifier.features import FeatureCache, extract, feature_model
from classifier.images import content_hash, load_image
from classifier.preprocessing import resize_image
from tests.classifier.conftest import COLORS, TINY_SPEC, items_of, make_image
from tests.shared import REPO_DIR


def test_features_match_the_model_on_the_same_pixels(class_folders, cache):
    items = items_of(class_folders / "red")[:5]
    report = extract(items, TINY_SPEC, cache, batch_size=2)
    assert (report.extracted, report.cached, report.skipped, report.cancelled) == (5, 0, [], False)
    model, _ = feature_model(TINY_SPEC)
    expected = model.predict(np.stack([resize_image(load_image(p), 32) for _, p in items]), verbose=0)
    np.testing.assert_allclose(cache.load(TINY_SPEC, [h for h, _ in items]), expected, rtol=1e-5, atol=1e-6)


def test_second_run_extracts_nothing_and_an_added_image_only_itself(class_folders, cache):
    items = items_of(class_folders / "blue")[:6]
    progress = []
    assert extract(items, TINY_SPEC, cache, batch_size=4).extracted == 6
    again = extract(items, TINY_SPEC, cache, batch_size=4, on_progress=lambda d, t: progress.append((d, t)))
    assert (again.extracted, again.cached) == (0, 6)
    assert progress == [(6, 6)]
    added = make_image(class_folders / "blue" / "new.png", COLORS["blue"], seed=999)
    more = extract(items + [(content_hash(added), added)],
                   TINY_SPEC, cache, batch_size=4)
    assert (more.extracted, more.cached, more.total) == (1, 6, 7)


def test_bad_files_are_skipped_and_reported_without_stopping_the_run(class_folders, cache, tmp_path):
    good = items_of(class_folders / "green")[:3]
    bad = {"empty.jpg": b"", "notes.png": b"not an image", "cut.jpg": (class_folders / "green" / "green0.jpg")
           .read_bytes()[:200]}
    bad_items = []
    for name, data in bad.items():
        (tmp_path / name).write_bytes(data)
        bad_items.append((content_hash(tmp_path / name), tmp_path / name))
    report = extract(bad_items[:1] + good + bad_items[1:], TINY_SPEC, cache, batch_size=2)
    assert report.extracted == 3 and report.total == 6
    assert sorted(s.path for s in report.skipped) == sorted(str(p) for _, p in bad_items)
    assert all(s.path in s.reason for s in report.skipped)
    assert cache.missing(TINY_SPEC, [h for h, _ in good]) == []


def test_cancel_keeps_the_finished_batches(class_folders, cache):
    items = items_of(class_folders / "red")[:8]
    progress = []
    report = extract(items, TINY_SPEC, cache, batch_size=3, on_progress=lambda d, t: progress.append(d),
                     should_cancel=lambda: len(progress) >= 2)  # after the first batch
    assert report.cancelled and report.extracted == 3
    assert len(cache.missing(TINY_SPEC, [h for h, _ in items])) == 5
    assert extract(items, TINY_SPEC, cache, batch_size=3).extracted == 5


KILLED_RUN = """
import os, signal, sys
from classifier.features import FeatureCache, extract
from tests.classifier.conftest import TINY_SPEC, items_of
items = items_of(__import__("pathlib").Path(sys.argv[1]))
def progress(done, total):
    if done >= 4:  # two batches written: die without any cleanup
        os.kill(os.getpid(), signal.SIGKILL)
extract(items, TINY_SPEC, FeatureCache(sys.argv[2]), batch_size=2, on_progress=progress)
"""


@pytest.mark.slow  # a process that loads TensorFlow, killed mid-run
def test_a_killed_run_resumes_where_it_stopped(class_folders, cache):
    folder = class_folders / "green"
    run = subprocess.run([sys.executable, "-c", KILLED_RUN, str(folder), str(cache.root)], cwd=REPO_DIR,
                         timeout=120, capture_output=True)
    assert run.returncode == -9, run.stderr.decode()[-2000:]
    items = items_of(folder)
    report = extract(items, TINY_SPEC, cache, batch_size=2)
    assert (report.cached, report.extracted) == (4, len(items) - 4)
    assert not list(cache.root.rglob("*.tmp"))


def _write_many(root: str, worker: int) -> None:
    from tests.classifier.conftest import TINY_SPEC as spec

    cache = FeatureCache(root)
    for i in range(200):
        cache.save(spec, "ab" + "0" * 62, np.full((512,), worker, dtype="float32"))


def test_concurrent_writers_never_leave_a_partial_file(tmp_path):
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_write_many, args=(str(tmp_path), w)) for w in range(3)]
    for w in writers:
        w.start()
    reader = FeatureCache(tmp_path)
    reads = 0
    while any(w.is_alive() for w in writers):
        if reader.has(TINY_SPEC, "ab" + "0" * 62):
            value = reader.load(TINY_SPEC, ["ab" + "0" * 62])[0]
            assert len(set(value.tolist())) == 1  # one writer's whole array, never a mix or a truncation
            reads += 1
    for w in writers:
        w.join()
        assert w.exitcode == 0
    assert reads > 0 or reader.has(TINY_SPEC, "ab" + "0" * 62)
