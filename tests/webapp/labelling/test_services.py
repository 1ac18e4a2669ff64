"""The Label page's writes on the database (no worker): labels given by hand, undone, set aside, new classes;
two people labelling at once; the suggester's runs requested once per dataset at a time."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from classifier.data import split_of_hash
from tests.labelling import pool_dataset
from webapp.datasets.models import Image, ImageChange, Label
from webapp.labelling import selectors, services
from webapp.labelling.models import Suggestion, SuggestionRun, SuggestionStatus


def _label(dataset, name):
    return Label.objects.get(dataset=dataset, name=name)


def test_a_label_given_by_hand_records_what_the_suggester_said_and_asks_for_a_new_run(db, ann):
    dataset, truth = pool_dataset(labelled_per_class=2, pool_per_class=2)
    photo = next(pk for pk, colour in truth.items() if colour == "red")
    run = SuggestionRun.objects.create(dataset=dataset, backbone="vgg16", status=SuggestionStatus.SUCCEEDED,
                                       suggested=True, class_names=["blue", "green", "red"])
    Suggestion.objects.create(run=run, image_id=photo, label=_label(dataset, "green"), confidence=0.61,
                              probabilities=[0.1, 0.61, 0.29])

    done = services.photos_label(dataset=dataset, image_ids=[photo], label=_label(dataset, "red"), user=ann)

    assert (done.changed, done.conflicts) == ([photo], [])
    image = Image.objects.get(pk=photo)
    assert image.label.name == "red" and image.split == split_of_hash(image.content_hash, dataset.fractions)
    change = ImageChange.objects.get(image=image)
    assert (change.kind, change.old, change.new, change.suggested, change.confidence, change.user) == \
        ("label", "", "red", "green", 0.61, ann)
    assert SuggestionRun.objects.filter(dataset=dataset, status=SuggestionStatus.QUEUED).count() == 1


def test_a_second_person_labelling_the_same_photo_changes_nothing_and_is_told(db, ann, carl):
    dataset, truth = pool_dataset(labelled_per_class=0, pool_per_class=2, classes=("red", "blue"))
    red, blue = (Label.objects.create(dataset=dataset, name=name) for name in ("red", "blue"))
    photos = sorted(truth)
    services.photos_label(dataset=dataset, image_ids=photos[:2], label=red, user=ann)
    # Carl's page still showed the first two as unlabelled
    done = services.photos_label(dataset=dataset, image_ids=photos[:3], label=blue, user=carl)
    assert (done.changed, done.conflicts) == ([photos[2]], photos[:2])
    assert list(Image.objects.filter(pk__in=photos[:2]).values_list("label__name", flat=True)) == ["red", "red"]
    # Carl's undo of a photo Ann labelled does nothing either; his own goes back to the pool
    undone = services.photos_unlabel(dataset=dataset, image_ids=photos[:3], label=blue, user=carl)
    assert (undone.changed, undone.conflicts) == ([photos[2]], photos[:2])
    assert Image.objects.get(pk=photos[2]).label is None
    assert ImageChange.objects.filter(image_id=photos[0]).count() == 1


def test_two_people_labelling_at_once_never_overwrite_each_other(transactional_db, ann, carl):
    dataset, truth = pool_dataset(labelled_per_class=0, pool_per_class=15, classes=("red", "blue"))
    red, blue = (Label.objects.create(dataset=dataset, name=name) for name in ("red", "blue"))
    photos, start, results = sorted(truth), threading.Barrier(2), {}

    def label(user, target, order):
        try:
            start.wait(10)
            for chunk in range(0, len(order), 3):  # a page at a time, as fast as the keys go
                done = services.photos_label(dataset=dataset, image_ids=order[chunk:chunk + 3], label=target,
                                             user=user)
                results.setdefault(user.username, []).extend(done.changed)
        finally:
            connection.close()

    threads = [threading.Thread(target=label, args=(ann, red, photos)),
               threading.Thread(target=label, args=(carl, blue, photos[::-1]))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    mine, theirs = set(results.get("ann", [])), set(results.get("carl", []))
    assert not mine & theirs and mine | theirs == set(photos)  # each photo labelled once, by one of them
    for image in Image.objects.filter(pk__in=photos).select_related("label"):
        history = list(ImageChange.objects.filter(image=image))
        assert len(history) == 1 and history[0].new == image.label.name
        assert history[0].user == (ann if image.pk in mine else carl)


def test_none_of_these_classes_sets_photos_aside_and_undo_brings_them_back(db, ann):
    dataset, truth = pool_dataset(labelled_per_class=2, pool_per_class=1)
    photos = sorted(truth)
    done = services.photos_set_aside(dataset=dataset, image_ids=photos[:2], user=ann)
    assert done.changed == photos[:2] and selectors.pool(dataset).count() == 1
    assert ImageChange.objects.filter(image_id=photos[0], kind="excluded", new="yes").exists()
    back = services.photos_bring_back(dataset=dataset, image_ids=photos[:2], user=ann)
    assert back.changed == photos[:2] and selectors.pool(dataset).count() == 3


def test_a_new_class_is_made_once_and_class_names_stay_folder_names(db, ann):
    dataset, truth = pool_dataset(labelled_per_class=2, pool_per_class=1)
    photos = sorted(truth)
    label, done = services.photos_label_new_class(dataset=dataset, image_ids=photos[:1], name=" cyan ", user=ann)
    assert label.name == "cyan" and done.changed == photos[:1]
    again, _ = services.photos_label_new_class(dataset=dataset, image_ids=photos[1:2], name="cyan", user=ann)
    assert again == label
    with pytest.raises(ValidationError, match="cannot contain"):
        services.photos_label_new_class(dataset=dataset, image_ids=photos[2:], name="a/b", user=ann)
    other, _ = pool_dataset("other", labelled_per_class=1, pool_per_class=0)
    with pytest.raises(ValidationError, match="another dataset"):
        services.photos_label(dataset=dataset, image_ids=photos[2:], label=_label(other, "red"), user=ann)


def test_one_queued_run_per_dataset_at_a_time(db, ann):
    dataset, _ = pool_dataset(labelled_per_class=2, pool_per_class=1)
    first = services.suggestion_request(dataset=dataset, user=ann)
    assert services.suggestion_request(dataset=dataset, user=ann) == first  # debounced: it reads labels later
    with pytest.raises(IntegrityError), transaction.atomic():
        SuggestionRun.objects.create(dataset=dataset, backbone="vgg16")  # the database refuses a second one
    SuggestionRun.objects.filter(pk=first.pk).update(status=SuggestionStatus.RUNNING)
    second = services.suggestion_request(dataset=dataset, user=ann)  # labels given while it runs: the next one
    assert second != first and second.status == SuggestionStatus.QUEUED


def test_a_run_is_out_of_date_once_the_photos_or_labels_change(db, ann):
    dataset, truth = pool_dataset(labelled_per_class=2, pool_per_class=1)
    assert selectors.run_is_stale(dataset, None)
    run = SuggestionRun.objects.create(dataset=dataset, backbone="vgg16", status=SuggestionStatus.SUCCEEDED,
                                       state=selectors.labelling_state(dataset))
    assert not selectors.run_is_stale(dataset, run)
    assert services.suggestion_request_if_stale(dataset=dataset) is None
    services.photos_label(dataset=dataset, image_ids=sorted(truth)[:1], label=_label(dataset, "red"), user=ann)
    assert selectors.run_is_stale(dataset, run)
