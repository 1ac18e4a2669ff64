"""The suggester's run (workers/suggesting.py) called in this process on the test database, with no worker (as
tests/workers/test_runs_in_process.py does for the other kinds): cheap features (a random-init VGG16 at 32 px,
tests/labelling.py), real classifier.labelling, real rows."""

import pytest

from classifier.data import split_of_hash
from tests.labelling import CHEAP_SUGGESTER, add_pool_photo, pool_dataset
from webapp.datasets.models import Image, ImageChange, Label
from webapp.labelling import selectors, services
from webapp.labelling.models import Suggestion, SuggestionRun, SuggestionStatus
from workers.suggesting import run_suggestions

pytestmark = pytest.mark.usefixtures("media_root")
WORKER = "in-process@test"


@pytest.fixture(autouse=True)
def cheap_suggester(settings):
    for name, value in CHEAP_SUGGESTER.items():
        setattr(settings, name, value)


def _run(dataset, user=None) -> SuggestionRun:
    run = services.suggestion_request(dataset=dataset, user=user)
    assert run_suggestions(run.pk, worker=WORKER) == SuggestionStatus.SUCCEEDED, \
        SuggestionRun.objects.get(pk=run.pk).error_message
    return SuggestionRun.objects.get(pk=run.pk)


def test_with_too_few_labels_it_proposes_the_pools_most_typical_photos(db, ann, settings):
    settings.LABELLING_PROPOSALS = 5
    dataset, truth = pool_dataset(labelled_per_class=1, pool_per_class=6)
    run = _run(dataset, ann)
    assert not run.suggested and run.proposal == "cover" and not Suggestion.objects.exists()
    assert len(run.proposed) == 9 and set(run.proposed) <= set(truth)  # 3 per class (at most half the pool)
    # the typical photos of clusters of a pool of three colours: every colour is among them
    assert {truth[pk] for pk in run.proposed} == {"red", "green", "blue"}
    assert (run.label_count, run.pool_count, run.worker) == (3, 18, WORKER)
    assert not selectors.run_is_stale(dataset, run)
    assert run_suggestions(run.pk, worker="another@test") == "not claimed"  # a redelivered message does nothing


def test_suggestions_for_every_pool_photo_then_bulk_accept_labels_them_with_history(db, ann):
    dataset, truth = pool_dataset(labelled_per_class=3, pool_per_class=6)
    run = _run(dataset, ann)
    assert run.suggested and run.proposal and run.class_names == ["blue", "green", "red"]
    suggestions = {s.image_id: s for s in Suggestion.objects.filter(run=run).select_related("label")}
    assert set(suggestions) == set(truth)
    right = sum(s.label.name == truth[pk] for pk, s in suggestions.items())
    assert right >= 16, f"{right} of 18 suggestions right"
    assert all(0 < s.confidence <= 1 and len(s.probabilities) == 3 for s in suggestions.values())
    curve = run.error_curve
    assert [row[0] for row in curve[:3]] == [0.0, 0.01, 0.02] and len(curve) == 101
    assert curve[0][2] == 9  # every labelled photo is held out once (cross-validation), none is judged on its fit

    at_zero = selectors.expected_error(run, 0.0)
    assert at_zero["count"] == 18 and at_zero["heldout"] == 9 and 0 <= at_zero["error"] <= 1
    done = services.suggestions_accept(run=run, user=ann, min_confidence=0.0)
    assert sorted(done.changed) == sorted(truth) and not done.conflicts
    for image in Image.objects.filter(pk__in=list(truth)).select_related("label"):
        assert image.label.name == suggestions[image.pk].label.name
        assert image.split == split_of_hash(image.content_hash, dataset.fractions)
    history = ImageChange.objects.filter(image_id__in=list(truth), kind="label")
    assert history.count() == 18
    assert all(h.user == ann and h.old == "" and h.suggested == h.new and h.confidence for h in history)
    assert SuggestionRun.objects.filter(dataset=dataset, status=SuggestionStatus.QUEUED).count() == 1  # retrain


def test_a_newer_run_keeps_the_previous_runs_suggestions_only(db, ann):
    dataset, truth = pool_dataset(labelled_per_class=2, pool_per_class=3)
    first = _run(dataset, ann)
    label = Label.objects.get(dataset=dataset, name="red")
    services.photos_label(dataset=dataset, image_ids=[next(iter(truth))], label=label, user=ann)
    second = _run(dataset, ann)
    assert Suggestion.objects.filter(run=first).exists() and second.pool_count == 8
    third_id = services.suggestion_request(dataset=dataset).pk  # nothing changed: it reads the same state
    assert run_suggestions(third_id, worker=WORKER) == SuggestionStatus.SUCCEEDED
    assert not SuggestionRun.objects.filter(pk=first.pk).exists()  # with its suggestions
    assert not Suggestion.objects.filter(run=first).exists()
    assert Suggestion.objects.filter(run=second).exists() and Suggestion.objects.filter(run_id=third_id).exists()
    with pytest.raises(Exception, match="replaced by newer ones"):
        services.suggestions_accept(run=first, user=ann, min_confidence=0.5)


def test_a_run_reads_the_labels_given_before_it_starts_and_no_class_of_a_pool_photo(db, ann):
    dataset, truth = pool_dataset(labelled_per_class=2, pool_per_class=2)
    excluded = Image.objects.labelled().filter(dataset=dataset).first()
    Image.objects.filter(pk=excluded.pk).update(excluded=True)
    run = services.suggestion_request(dataset=dataset, user=ann)
    inputs = selectors.run_inputs(run)
    assert sorted(i.pk for i in inputs["pool"]) == sorted(truth) and all(i.label_id is None for i in inputs["pool"])
    assert len(inputs["labelled"]) == 5 and excluded.pk not in {i.pk for i, _ in inputs["labelled"]}
    assert [label.name for label in inputs["classes"]] == ["blue", "green", "red"]
    assert all(inputs["classes"][y].pk == i.label_id for i, y in inputs["labelled"])


def test_a_dataset_with_no_pool_left_gets_an_empty_run_and_unreadable_photos_fail_it(db, ann):
    dataset, _ = pool_dataset(labelled_per_class=2, pool_per_class=0)
    run = _run(dataset, ann)
    assert (run.pool_count, run.label_count, run.proposed, run.suggested) == (0, 6, [], False)

    add_pool_photo(dataset, b"\xff\xd8\xff\xe0 not really a jpeg", "broken.jpg")
    broken = services.suggestion_request(dataset=dataset, user=ann)
    assert run_suggestions(broken.pk, worker=WORKER) == SuggestionStatus.FAILED
    assert SuggestionRun.objects.get(pk=broken.pk).error_message == "None of the unlabelled photos could be read."


@pytest.mark.slow
def test_real_photos_with_imagenet_features_get_the_right_suggestions(db, ann, settings):
    """The suggester as shipped (MobileNetV2 ImageNet features, 224 px) on real photos of ../shared: three
    labelled photos per class are enough for most of a small pool."""
    from tests.factories import add_image
    from tests.labelling import add_pool_photo
    from tests.shared import MOBILENET_V2_LEGACY_FILE, shared_path
    from webapp.datasets.models import Dataset

    shared_path("weights", MOBILENET_V2_LEGACY_FILE)
    settings.LABELLING_BACKBONE, settings.LABELLING_WEIGHTS, settings.LABELLING_INPUT_SIZE = \
        "mobilenet_v2", "imagenet", None
    root = shared_path("datasets", "animals3")
    dataset = Dataset.objects.create(name="animals", team=ann.groups.get())
    truth = {}
    for name in ("cats", "dogs", "panda"):
        photos = sorted((root / name).iterdir())[:15]
        for path in photos[:3]:
            add_image(dataset, name, path.read_bytes(), "train", path.name)
        for path in photos[3:]:
            truth[add_pool_photo(dataset, path.read_bytes(), path.name).pk] = name
    run = _run(dataset, ann)
    assert run.suggested and run.proposal == "diverse_margin"
    right = sum(s.label.name == truth[s.image_id] for s in Suggestion.objects.filter(run=run).select_related("label"))
    assert right >= 0.85 * len(truth), f"{right} of {len(truth)} right"  # 32 of 36 when written
    assert selectors.expected_error(run, 0.0)["heldout"] == 9
