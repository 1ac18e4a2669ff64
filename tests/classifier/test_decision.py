"""One ranking and threshold rule (classifier.decision) for predictions, batches and the API; the export bundle's
self-contained predict.py carries a copy that must answer the same."""

import numpy as np
import pytest

from classifier import bundle_predict
from classifier.decision import effective_threshold, rank

NAMES = ["ant", "bee", "cat", "dog", "eel"]


def test_the_edited_threshold_wins_over_the_chosen_one():
    assert effective_threshold(0.9, None) == 0.9
    assert effective_threshold(0.9, 0.5) == 0.5
    assert effective_threshold(0.9, 0.0) == 0.0  # an edit to 0 (never unsure) is an edit
    assert effective_threshold(None, None) is None


def test_rank_orders_the_classes_and_says_unsure_below_the_threshold():
    answer = rank(np.array([0.1, 0.6, 0.1, 0.2, 0.0], dtype="float32"), NAMES, 0.7, top_k=3)
    assert answer["label"] == "bee" and answer["decision"] == "unsure" and answer["threshold"] == 0.7
    assert [p["label"] for p in answer["probabilities"]] == ["bee", "dog", "ant"]  # ties keep the class order
    assert answer["confidence"] == pytest.approx(0.6)
    assert rank([0.1, 0.6, 0.1, 0.2, 0.0], NAMES, 0.6)["decision"] == "confident"  # at the threshold: confident
    assert rank([0.1, 0.6, 0.1, 0.2, 0.0], NAMES, None)["decision"] == "confident"


def test_the_bundle_predict_py_copy_answers_as_classifier_rank():
    rng = np.random.default_rng(0)
    for i in range(300):
        probabilities = rng.dirichlet(np.full(len(NAMES), 0.3)).astype("float32" if i % 2 else "float64")
        if i % 7 == 0:
            probabilities = np.round(probabilities, 1)  # ties
        confidence = float(probabilities.max())
        for threshold in (None, 0.0, confidence, np.nextafter(confidence, 1.0), rng.uniform()):
            for top_k in (None, 1, 3):
                assert bundle_predict.rank(probabilities, NAMES, threshold, top_k) == \
                    rank(probabilities, NAMES, threshold, top_k)
