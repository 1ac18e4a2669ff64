"""classifier.labelling on cheap synthetic embeddings: cover, suggestions with held-out expected error, what to
label next. (Real photos: bench/active_learning.py; the CLI: test_cli_suggest.py.)"""

import numpy as np
import pytest

from classifier import labelling
from classifier.labelling import (DEFAULT_STRATEGY, MIN_LABELS_PER_CLASS, STRATEGIES, Suggestions, can_suggest,
                                  cover, fit_head, head_probabilities, next_to_label, suggest)


def blobs(sizes, dim=32, spread=0.35, seed=0):
    """Non-negative embeddings (like pooled ReLU features) around one random centre per class."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 1, (len(sizes), dim))
    y = np.repeat(np.arange(len(sizes)), sizes)
    x = np.abs(centres[y] + rng.normal(0, spread, (len(y), dim))).astype("float32")
    return x, y


def first_per_class(y, n, seed=0):
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.choice(np.flatnonzero(y == c), n, replace=False) for c in np.unique(y)])


def test_can_suggest_once_every_class_has_the_minimum():
    assert MIN_LABELS_PER_CLASS == 2
    assert not can_suggest([], 3)
    assert not can_suggest([0, 0, 1, 1], 3)  # class 2 has none
    assert not can_suggest([0, 0, 1, 1, 2], 3)
    assert can_suggest([0, 0, 1, 1, 2, 2], 3)
    assert not can_suggest([0, 0, 0], 1)  # one class: nothing to choose between


def test_cover_picks_the_typical_photo_of_each_cluster_largest_first():
    x, y = blobs([40, 25, 15, 8], spread=0.05)
    picked = cover(x, 4)
    assert [int(y[i]) for i in picked] == [0, 1, 2, 3]
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    for i in picked:  # the member nearest the mean of the half of its cluster nearest the cluster's mean
        members = np.flatnonzero(y == y[i])
        similarity = unit[members] @ unit[members].mean(0)
        core = unit[members][similarity >= np.median(similarity)]
        distance = ((unit[members] - core.mean(0)) ** 2).sum(1)
        assert i == members[np.argmin(distance)]


def test_cover_takes_the_typical_photo_of_a_cluster_despite_strays():
    """A cluster's few strays (far from its other members) do not pull its typical photo off the bulk."""
    rng = np.random.default_rng(0)
    bulk = np.abs(np.array([1.0, 0.0, 0.0, 0.0]) + rng.normal(0, 0.05, (30, 4)))
    strays = np.abs(np.array([0.0, 1.0, 0.0, 0.0]) + rng.normal(0, 0.05, (12, 4)))
    x = np.vstack([bulk, strays]).astype("float32")
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    clusters = np.zeros(len(x), dtype=int)
    picked = labelling._typical(unit, clusters)[0]
    nearest_bulk_mean = int(np.argmax(unit @ unit[:30].mean(0)))
    assert picked == nearest_bulk_mean
    assert picked != int(np.argmax(unit @ unit.mean(0)))  # the plain mean, pulled by the strays, picks another
    assert cover(x[:3], 10) and sorted(cover(x[:3], 10)) == [0, 1, 2]
    assert cover(x, 0) == []


def test_suggestions_depend_on_the_labelled_photos_only():
    """The suggester never sees an unlabelled photo's label, and (inductive) what it suggests for one photo does
    not depend on which other unlabelled photos are there."""
    x, y = blobs([30, 30, 30], spread=0.5)
    labelled = first_per_class(y, 5)
    rest = np.setdiff1d(np.arange(len(y)), labelled)
    whole = suggest(x[labelled], y[labelled], x[rest], num_classes=3)
    alone = suggest(x[labelled], y[labelled], x[rest[::-1][:7]], num_classes=3)
    np.testing.assert_allclose(alone.probabilities, whole.probabilities[::-1][:7], atol=1e-6)
    assert whole.probabilities.shape == (len(rest), 3)
    np.testing.assert_allclose(whole.probabilities.sum(1), 1.0, atol=1e-6)
    assert (whole.labels == y[rest]).mean() > 0.8
    assert len(whole.heldout_confidence) == len(whole.heldout_correct) == len(labelled)


def test_expected_error_comes_from_held_out_predictions_not_the_fit():
    """Labels that are pure noise: the head fits them perfectly (many dimensions, few photos), yet the expected
    error of accepting everything is near chance, as it would be on new photos."""
    rng = np.random.default_rng(1)
    x = np.abs(rng.normal(size=(60, 256))).astype("float32")
    y = np.arange(60) % 3
    model = fit_head(x, y, num_classes=3)
    assert (head_probabilities(model, x, 3).argmax(1) == y).mean() == 1.0
    s = suggest(x, y, x[:5], num_classes=3)
    assert s.expected_error(0.0) > 0.45
    assert s.expected_error(1.01) is None


def test_expected_error_and_confidence_for_count_ties_together():
    s = Suggestions(probabilities=np.zeros((0, 2)), heldout_confidence=np.array([0.9, 0.9, 0.8, 0.6]),
                    heldout_correct=np.array([True, False, True, True]))
    assert s.expected_error(0.9) == 0.5
    assert s.expected_error(0.7) == pytest.approx(1 / 3)
    assert s.expected_error(0.95) is None
    assert s.confidence_for(0.0, level=None) is None  # 0.9 keeps both tied photos, one of them wrong
    assert s.confidence_for(0.3, level=None) == 0.6
    assert s.heldout_count(0.7) == 3


def test_bulk_acceptance_needs_enough_held_out_photos_to_be_sure():
    """3 right of 3 is an expected error of 0, but not a reason to accept everything at that confidence; 100
    right of 100 is."""
    few = Suggestions(probabilities=np.zeros((0, 2)), heldout_confidence=np.array([0.9, 0.8, 0.7]),
                      heldout_correct=np.ones(3, bool))
    assert few.expected_error(0.7) == 0.0 and few.error_bound(0.7) == pytest.approx(0.632, abs=1e-3)
    assert few.confidence_for(0.05) is None and few.confidence_for(0.05, level=None) == 0.7
    many = Suggestions(probabilities=np.zeros((0, 2)), heldout_confidence=np.linspace(0.99, 0.5, 110),
                       heldout_correct=np.arange(110) < 100)  # the 10 least confident are wrong
    assert many.error_bound(0.5) > many.expected_error(0.5) == pytest.approx(10 / 110)
    # 101 photos with 1 wrong: at most 4.6 %; 102 with 2 wrong: at most 6.0 %
    assert many.confidence_for(0.05) == pytest.approx(many.heldout_confidence[100])


def test_suggest_needs_labels_of_every_class():
    x, y = blobs([10, 10, 10])
    with pytest.raises(ValueError, match="at least 2"):
        suggest(x[[0, 1, 10, 11, 20]], y[[0, 1, 10, 11, 20]], x[2:5], num_classes=3)


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
@pytest.mark.parametrize("labels_per_class", [0, 1, 3])
def test_next_to_label_returns_distinct_unlabelled_indices(strategy, labels_per_class):
    x, y = blobs([30, 20, 10], spread=0.5)
    labelled = first_per_class(y, labels_per_class) if labels_per_class else np.array([], int)
    rest = np.setdiff1d(np.arange(len(y)), labelled)
    chosen = next_to_label(x[labelled], y[labelled], x[rest], 8, num_classes=3, strategy=strategy)
    assert len(chosen) == len(set(chosen)) == 8
    assert all(0 <= i < len(rest) for i in chosen)
    assert sorted(next_to_label(x[labelled], y[labelled], x[rest][:5], 8, num_classes=3,
                                strategy=strategy)) == [0, 1, 2, 3, 4]


def test_next_to_label_without_labels_covers_the_pool():
    x, y = blobs([40, 25, 15], spread=0.05)
    assert sorted(int(y[i]) for i in next_to_label(x[:0], y[:0], x, 3, num_classes=3)) == [0, 1, 2]
    with pytest.raises(ValueError, match="strategy"):
        next_to_label(x[:0], y[:0], x, 3, num_classes=3, strategy="nope")


def test_the_default_strategy_needs_fewer_labels_than_random():
    """Classes that overlap only near their boundaries: asking for the photos the head is torn between beats
    random photos at the same number of labels."""
    scores = {DEFAULT_STRATEGY: [], "random": []}
    for seed in range(3):
        x, y = blobs([150] * 4, dim=16, spread=0.3, seed=seed)
        test = np.arange(len(y)) % 3 == 0
        pool, x_test, y_test = np.flatnonzero(~test), x[test], y[test]
        for strategy in scores:
            labelled = list(pool[first_per_class(y[pool], 2, seed)])
            while len(labelled) < 40:
                rest = np.setdiff1d(pool, labelled)
                labelled += rest[next_to_label(x[labelled], y[labelled], x[rest], 8, num_classes=4,
                                               strategy=strategy, seed=seed)].tolist()
            model = fit_head(x[labelled], y[labelled], num_classes=4)
            scores[strategy].append((head_probabilities(model, x_test, 4).argmax(1) == y_test).mean())
    assert np.mean(scores[DEFAULT_STRATEGY]) > np.mean(scores["random"]) + 0.02, scores


def test_the_module_reads_pooled_features_of_the_labelling_backbone():
    spec = labelling.labelling_spec()
    assert (spec.backbone, spec.pooling, spec.size, spec.stage) == (labelling.LABELLING_BACKBONE, "avg", 224,
                                                                    "output")
