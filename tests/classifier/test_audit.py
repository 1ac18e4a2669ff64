"""classifier.audit on synthetic embeddings: clusters per class with planted flips, copies and look-alikes; the
perceptual-hash check on real photos."""

import io
import tracemalloc

import numpy as np
from PIL import Image

from classifier.audit import (
    DUPLICATE_SIMILARITY,
    audit,
    class_findings,
    duplicates_and_leaks,
    evidence_probabilities,
    label_issues,
    near_duplicate_pairs,
    perceptual_hash,
    similar_pairs,
)
from tests.shared import shared_path


def _clusters(per_class=(40, 40, 40), dims=32, spread=2.0, seed=0):
    """Gaussian clusters around random centres: photos of one class have cosines around 0.7, copies near 1."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, (len(per_class), dims))
    x = np.vstack([c + rng.normal(0, spread, (n, dims)) for c, n in zip(centres, per_class)])
    y = np.repeat(np.arange(len(per_class)), per_class)
    return x.astype("float32"), y


def test_flipped_labels_are_the_top_suspects_with_the_true_class_suggested():
    x, y = _clusters()
    names = ["cat", "dog", "owl"]
    noisy = y.copy()
    flipped = [3, 50, 97]
    for i in flipped:
        noisy[i] = (y[i] + 1) % 3
    result = audit(x, [names[k] for k in noisy], [f"p{i}" for i in range(len(y))], ["train"] * len(y))
    top = result["label_issues"][:3]
    assert {issue["id"] for issue in top} == {f"p{i}" for i in flipped}
    for issue in top:
        i = int(issue["id"][1:])
        assert issue["given"] == names[noisy[i]] and issue["suggested"] == names[y[i]]
        assert 0.5 < issue["score"] <= 1
        shown = {row["label"]: row["probability"] for row in issue["probabilities"]}
        assert shown[issue["suggested"]] == issue["suggested_probability"] and issue["given"] in shown
    scores = [issue["score"] for issue in result["label_issues"]]
    assert scores == sorted(scores, reverse=True)


def test_clean_separable_labels_give_no_suspects():
    x, y = _clusters(spread=0.2)
    probabilities = np.eye(3)[y] * 0.98 + 0.01
    assert label_issues(probabilities, y, list(range(len(y))), ["a", "b", "c"]) == []


def test_near_copies_are_grouped_and_cross_split_or_dataset_pairs_are_leaks():
    x, y = _clusters()
    rng = np.random.default_rng(1)
    copies = x[[0, 45, 90]] + rng.normal(0, 0.02, (3, x.shape[1])).astype("float32")
    x = np.vstack([x, copies])
    n = len(y)
    ids = list(range(n + 3))
    splits = ["train"] * n + ["train", "test", "train"]
    datasets = ["a"] * n + ["a", "a", "b"]
    groups, leaks = duplicates_and_leaks(x, ids, splits, datasets)
    assert sorted(g["ids"] for g in groups) == [[0, n], [45, n + 1], [90, n + 2]]
    assert all(g["similarity"] >= DUPLICATE_SIMILARITY for g in groups)
    assert sorted(leak["ids"] for leak in leaks) == [[45, n + 1], [90, n + 2]]
    by_pair = {tuple(leak["ids"]): leak for leak in leaks}
    assert by_pair[(45, n + 1)]["splits"] == ["train", "test"]
    assert by_pair[(90, n + 2)]["datasets"] == ["a", "b"]


def test_perceptual_hashes_keep_altered_copies_and_drop_look_alikes(tmp_path):
    """Embeddings all alike (cosine 1): only the same picture, resized, 4 % cropped off each border and re-encoded,
    stays a pair."""
    photos = sorted(shared_path("datasets", "animals3", "cats").iterdir())[:3]
    with Image.open(photos[0]) as im:
        w, h = im.size
        altered = im.convert("RGB").crop((w // 25, h // 25, w - w // 25, h - h // 25)).resize((w * 2 // 3, h * 2 // 3))
    out = io.BytesIO()
    altered.save(out, "JPEG", quality=60)
    (tmp_path / "copy.jpg").write_bytes(out.getvalue())
    (tmp_path / "broken.jpg").write_bytes(b"not a photo")
    paths = [photos[0], photos[1], tmp_path / "copy.jpg", photos[2], tmp_path / "broken.jpg"]
    x = np.ones((len(paths), 8), "float32")
    assert [p[:2] for p in near_duplicate_pairs(x, paths)] == [(0, 2)]
    assert perceptual_hash(tmp_path / "broken.jpg") is None
    assert len(near_duplicate_pairs(x)) == 10  # without the files: the embeddings alone


def test_similar_pairs_in_blocks_match_the_full_matrix():
    x, _ = _clusters(per_class=(30, 30), spread=0.05)
    full = similar_pairs(x, 0.95, block=10_000)
    blocked = similar_pairs(x, 0.95, block=7)
    assert full and [p[:2] for p in blocked] == [p[:2] for p in full]
    assert np.allclose([p[2] for p in blocked], [p[2] for p in full], atol=1e-5)
    assert all(i < j for i, j, _ in full)


def test_similar_pairs_hold_one_tile_of_similarities_whatever_the_number_of_photos():
    # 20,000 photos: a block of rows against all of them would hold 2048 x 20,000 similarities (160 MB)
    x = np.random.default_rng(0).normal(size=(20_000, 4)).astype("float32")
    x[1] = x[0]
    tracemalloc.start()
    try:
        pairs = similar_pairs(x, 0.999999)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (0, 1) in [p[:2] for p in pairs]
    assert peak < 2048 * 2048 * 4 * 2 + x.nbytes * 2  # a tile (and its mask), the normalised copy


def test_small_and_look_alike_classes():
    rng = np.random.default_rng(2)
    x, y = _clusters(per_class=(40, 40, 40, 6))
    x[40:80] = x[:40].mean(0) + rng.normal(0, 2.0, (40, x.shape[1]))  # class 1 looks like class 0
    names = ["crab", "crayfish", "emu", "ibis"]
    result = audit(x, [names[k] for k in y], list(range(len(y))), ["train"] * len(y))
    assert result["classes"]["counts"] == {"crab": 40, "crayfish": 40, "emu": 40, "ibis": 6}
    assert result["classes"]["small"] == [{"label": "ibis", "count": 6}]
    assert result["classes"]["similar"][0]["labels"] == ["crab", "crayfish"]
    assert result["classes"]["similar"][0]["rate"] > 0.2


def test_only_audited_photos_are_judged_and_a_class_of_one_is_left_out():
    x, y = _clusters(per_class=(30, 30, 1))
    names = ["a", "b", "c"]
    audited = np.ones(len(y), bool)
    audited[:5] = False  # another dataset's photos: only for duplicate search
    result = audit(x, [names[k] for k in y], list(range(len(y))), ["train"] * len(y), audited=audited)
    assert result["classes"]["counts"] == {"a": 25, "b": 30, "c": 1}
    assert all(issue["id"] >= 5 for issue in result["label_issues"])
    assert all(issue["given"] != "c" for issue in result["label_issues"])


def test_cancel_between_folds():
    x, y = _clusters()
    assert audit(x, [str(k) for k in y], list(range(len(y))), ["train"] * len(y), should_cancel=lambda: True) is None


def test_class_findings_without_probabilities():
    found = class_findings(None, np.array([0, 0, 1]), ["a", "b"], min_size=2)
    assert found == {"counts": {"a": 2, "b": 1}, "small": [{"label": "b", "count": 1}], "similar": []}


def test_pooled_embeddings_are_cached_once_and_match_the_last_block_on_the_maps(tmp_path):
    """The first audit pools the last block's maps and caches the result; the next one needs no maps at all."""
    import shutil

    from classifier.audit import cached_embeddings, embeddings
    from classifier.features import FeatureCache, extract
    from classifier.recipes import feature_spec
    from tests.classifier.conftest import items_of, make_class_folders

    items = items_of(make_class_folders(tmp_path / "data", per_class=2))
    spec, cache = feature_spec("recommended", "mobilenet_v2", None, input_size=32), FeatureCache(tmp_path / "cache")
    assert not extract(items, spec, cache).skipped
    hashes = [h for h, _ in items]
    expected = embeddings(spec, cache.load(spec, hashes))
    first = cached_embeddings(spec, cache, hashes + hashes[:1])
    np.testing.assert_allclose(first[:-1], expected, rtol=1e-5, atol=1e-6)
    shutil.rmtree(cache.root / spec.key)  # the maps gone: the pooled ones answer
    np.testing.assert_array_equal(cached_embeddings(spec, cache, hashes), first[:-1])


def test_each_suspect_carries_its_top_classes_and_its_given_ones_probabilities():
    probabilities = np.array([[0.05, 0.6, 0.2, 0.15], [0.9, 0.04, 0.03, 0.03]])
    row = evidence_probabilities(probabilities[0], 0, ["a", "b", "c", "d"])
    assert row == [{"label": "b", "probability": 0.6}, {"label": "c", "probability": 0.2},
                   {"label": "d", "probability": 0.15}, {"label": "a", "probability": 0.05}]
    assert [r["label"] for r in evidence_probabilities(probabilities[1], 0, ["a", "b", "c", "d"])] == ["a", "b", "c"]
