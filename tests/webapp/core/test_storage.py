"""webapp.core.storage on both backends (issue 26): the same calls give the same results with the local folders and
with a real S3 server (SeaweedFS, tests/s3.py), and the S3 backend's local copies stay within their bound."""

from pathlib import Path

import numpy as np
import pytest

from classifier.features import FeatureSpec
from webapp.core import storage


@pytest.fixture(params=["local", "s3"])
def backend(request, media_root, settings):
    if request.param == "s3":
        request.getfixturevalue("s3_storage")
    return request.param


def test_write_read_list_and_delete_in_every_area(backend, tmp_path):
    for area in storage.AREAS:
        storage.write("a/one.bin", b"1" * 10, area)
        storage.write("a/b/two.bin", b"2" * 20, area)
        storage.write("a/one.bin", b"3" * 30, area)  # the same name again: replaced, not renamed
        assert storage.local_file("a/one.bin", area).read_bytes() == b"3" * 30
        assert storage.names_under("a", area) == ["a/b/two.bin", "a/one.bin"]
        assert {f.name: f.size for f in storage.files_under("a", area)} == {"a/b/two.bin": 20, "a/one.bin": 30}
        storage.delete_under("a", area)
        assert storage.names_under("a", area) == []
        with pytest.raises(FileNotFoundError):
            storage.local_file("a/one.bin", area).read_bytes()


def test_a_folder_published_comes_back_whole(backend, tmp_path):
    model = tmp_path / "run"
    (model / "sub").mkdir(parents=True)
    (model / "head.keras").write_bytes(b"weights")
    (model / "sub" / "run.json").write_text("{}")
    storage.publish_folder(model, "jobs/7")
    copy = storage.local_folder("jobs/7")
    assert (copy / "head.keras").read_bytes() == b"weights" and (copy / "sub" / "run.json").read_text() == "{}"
    assert (copy == model) is False
    with pytest.raises(FileNotFoundError):
        storage.local_folder("jobs/8")


def test_the_feature_store_round_trip(backend, monkeypatch):
    monkeypatch.setattr(storage, "HEAD_CHECKS_MAX", 16)  # 40 hashes: one listing; 16 or fewer: one HEAD each
    spec = FeatureSpec(backbone="vgg16", weights=None, pooling="avg", input_size=32)
    store = storage.feature_store()
    hashes = [f"{i:02x}" * 32 for i in range(40)]
    assert store.missing(spec, hashes) == hashes
    for i, h in enumerate(hashes[:30]):
        store.save(spec, h, np.full(spec.shape, i, dtype="float32"))
    assert store.missing(spec, hashes) == hashes[30:]
    assert store.has(spec, hashes[0]) and not store.has(spec, hashes[35])
    if backend == "s3":  # another process (an empty local copy) sees what this one stored
        storage.local_cache().clear()
        assert storage.feature_store().missing(spec, hashes) == hashes[30:]
        storage.local_cache().clear()
        assert storage.feature_store().missing(spec, hashes[25:35]) == hashes[30:35]
    loaded = storage.feature_store().load(spec, hashes[:30])
    assert [int(row.flat[0]) for row in loaded] == list(range(30))
    with pytest.raises(KeyError):
        store.load(spec, hashes[29:31])


def test_the_local_copies_stay_within_their_bound(s3_storage, settings, tmp_path):
    settings.LOCAL_CACHE_BYTES = 1000
    for i in range(10):
        storage.write(f"photos/{i}.jpg", bytes([i]) * 300)
    for i in range(10):
        storage.local_file(f"photos/{i}.jpg")
    copies = [p for p in (tmp_path / "local-cache").rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in copies) <= 1000
    assert (tmp_path / "local-cache" / "media" / "photos" / "9.jpg").exists()  # the latest stay
    assert not (tmp_path / "local-cache" / "media" / "photos" / "0.jpg").exists()  # the oldest went first
    assert storage.local_file("photos/0.jpg").read_bytes() == bytes([0]) * 300  # fetched again when needed


def test_copies_evicted_between_fetch_and_read_are_fetched_again(s3_storage, settings, tmp_path):
    """A bound smaller than one file: every fetch evicts every other copy (what a wipe, or another process sharing
    the folder, does mid-run). Photos handed out as StoredCopy and features read by the feature store still read."""
    from workers.pipeline import photo_paths

    settings.LOCAL_CACHE_BYTES = 1
    names = [f"photos/{i}.jpg" for i in range(5)]
    for i, name in enumerate(names):
        storage.write(name, bytes([i]) * 300)
    photos = photo_paths([(f"{i:064x}", name) for i, name in enumerate(names)])  # fetched side by side
    assert len(list((tmp_path / "local-cache" / "media" / "photos").iterdir())) <= 1
    assert [Path(path).read_bytes() for _, path in photos] == [bytes([i]) * 300 for i in range(5)]
    assert str(photos[0][1]) == "photos/0.jpg"  # messages name the stored file, not a copy

    spec = FeatureSpec(backbone="vgg16", weights=None, pooling="avg", input_size=32)
    hashes = [f"{i:02x}" * 32 for i in range(6)]
    for i, h in enumerate(hashes):
        storage.feature_store().save(spec, h, np.full(spec.shape, i, dtype="float32"))
    storage.local_cache().clear()
    loaded = storage.feature_store().load(spec, hashes)  # fetches all six, then reads each: five are gone again
    assert [int(row.flat[0]) for row in loaded] == list(range(6))
