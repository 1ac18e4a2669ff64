"""The Label page and its JSON endpoints: members label and accept, viewers only look (403 on every write),
another team gets 404; the grid's views; bulk accept of a shown run; the review of the least sure suggestions
(the shared review component)."""

import numpy as np
import pytest
from django.urls import reverse

from tests.images import jpeg_bytes
from tests.labelling import add_pool_photo, pool_dataset
from tests.webapp.roles import WHO, client_as, world  # noqa: F401  (world: fixture)
from webapp.datasets.models import Image, Label
from webapp.labelling import selectors, services
from webapp.labelling.models import SuggestionRun, SuggestionStatus

PAGE = {"admin": 200, "member": 200, "viewer": 200, "other_team": 404, "staff": 404, "auditor": 200,
        "anonymous": 302}
WRITE = {"admin": 200, "member": 200, "viewer": 403, "other_team": 404, "staff": 404, "auditor": 403,
         "anonymous": 302}
JSON = {"HTTP_ACCEPT": "application/json"}


def _finished_run(dataset, confidences: dict, *, error_curve=None) -> SuggestionRun:
    """A succeeded run (as the worker stores it) suggesting, for each photo id, the class named with its
    confidence: {image id: (class name, confidence)}."""
    classes = list(Label.objects.filter(dataset=dataset).order_by("name"))
    names = [label.name for label in classes]
    run = SuggestionRun.objects.create(dataset=dataset, backbone="vgg16", status=SuggestionStatus.RUNNING)
    rows = []
    for image_id, (name, confidence) in confidences.items():
        row = np.full(len(classes), (1 - confidence) / max(1, len(classes) - 1))
        row[names.index(name)] = confidence
        rows.append(row)
    services.suggestion_succeed(
        run_id=run.pk, state=selectors.labelling_state(dataset), classes=classes, label_count=6,
        pool_ids=list(confidences), probabilities=np.array(rows), proposal="diverse_margin",
        proposed=list(confidences)[::-1], seconds={},
        error_curve=error_curve or [[c / 100, round(0.2 - c / 1000, 4), 10] for c in range(101)])
    run.refresh_from_db()
    return run


@pytest.mark.parametrize("who", WHO)
def test_members_label_and_viewers_only_look(client, world, who):
    dataset = world["dataset"]
    photo = add_pool_photo(dataset, jpeg_bytes((1, 2, 3), 5), "pool.jpg")
    client = client_as(client, world["users"][who])
    page = client.get(reverse("labelling:label", args=[dataset.pk]))
    assert page.status_code == PAGE[who]
    if PAGE[who] == 200:
        assert page.context["config"]["can_label"] == (WRITE[who] == 200)
        assert ('id="label-csrf"' in page.content.decode()) == (WRITE[who] == 200)
        assert client.get(reverse("labelling:status", args=[dataset.pk])).json()["pool"] == 1
        assert client.get(reverse("labelling:photos", args=[dataset.pk]) + "?view=all").json()["total"] == 1
        assert client.get(reverse("labelling:review", args=[dataset.pk])).status_code == 200
    cat = Label.objects.get(dataset=dataset, name="cat")
    response = client.post(reverse("labelling:assign", args=[dataset.pk]), {"image": photo.pk, "label": cat.pk},
                           **JSON)
    assert response.status_code == WRITE[who]
    assert (Image.objects.get(pk=photo.pk).label == cat) == (WRITE[who] == 200)
    for name in ("aside", "undo", "accept", "refresh"):
        if WRITE[who] != 200:
            assert client.post(reverse(f"labelling:{name}", args=[dataset.pk]), {"image": photo.pk},
                               **JSON).status_code == WRITE[who]


def test_the_grid_shows_what_to_label_next_and_the_suggestions_by_confidence(client, ann):
    dataset, truth = pool_dataset(labelled_per_class=2, pool_per_class=2)
    client.force_login(ann)
    url = reverse("labelling:photos", args=[dataset.pk])
    first = client.get(url).json()  # no run yet: the pool as it came
    assert [p["id"] for p in first["photos"]] == sorted(truth) and not any(p["suggestion"] for p in first["photos"])
    confidences = {pk: (colour, 0.5 + 0.05 * i) for i, (pk, colour) in enumerate(sorted(truth.items()))}
    run = _finished_run(dataset, confidences)
    SuggestionRun.objects.filter(pk=run.pk).update(proposed=sorted(truth)[:1:-1])  # all but the first two

    proposed = client.get(url + "?view=next").json()
    assert [p["id"] for p in proposed["photos"]] == sorted(truth)[:1:-1] + sorted(truth)[:2]  # best first
    suggested = client.get(url + "?view=suggested").json()["photos"]
    assert [p["id"] for p in suggested] == sorted(truth)[::-1]  # highest confidence first
    assert suggested[0]["suggestion"] == {"label_id": Label.objects.get(dataset=dataset, name=truth[suggested[0][
        "id"]]).pk, "name": truth[suggested[0]["id"]], "confidence": 0.75}
    red = Label.objects.get(dataset=dataset, name="red")
    only_red = client.get(url + f"?view=suggested&label={red.pk}").json()["photos"]
    assert {p["suggestion"]["name"] for p in only_red} == {"red"} and len(only_red) == 2
    paged = client.get(url + "?view=all&page=2", **JSON)
    assert paged.json()["page"] == 1  # one page only: the last page is shown
    assert client.get(url + "?view=nonsense").status_code == 400


def test_bulk_accept_above_a_confidence_shows_the_expected_error_first(client, ann, carl):
    dataset, truth = pool_dataset(labelled_per_class=2, pool_per_class=2)
    client.force_login(ann)
    ids = sorted(truth)
    run = _finished_run(dataset, {pk: (truth[pk], 0.4 + 0.1 * i) for i, pk in enumerate(ids)})  # 0.4 .. 0.9
    expected = client.get(reverse("labelling:expected", args=[dataset.pk]),
                          {"run": run.pk, "min_confidence": "0.75"}).json()
    assert expected == {"count": 2, "error": 0.125, "heldout": 10}  # photos at 0.8, 0.9; the curve's 0.75 row

    services.photos_label(dataset=dataset, image_ids=[ids[-1]], label=Label.objects.get(
        dataset=dataset, name="red"), user=carl)  # Carl labelled the surest one meanwhile
    response = client.post(reverse("labelling:accept", args=[dataset.pk]), {"run": run.pk, "min_confidence": "0.75"},
                           **JSON)
    suggested = Label.objects.get(dataset=dataset, name=truth[ids[-2]]).pk
    assert response.json() == {"ok": True, "changed": [ids[-2]], "conflicts": [], "labels": {str(ids[-2]): suggested}}
    assert Image.objects.get(pk=ids[-2]).label.name == truth[ids[-2]]
    page = client.post(reverse("labelling:accept", args=[dataset.pk]), {"run": run.pk, "image": ids[:2]}, **JSON)
    assert page.json()["changed"] == ids[:2]
    gone = client.post(reverse("labelling:accept", args=[dataset.pk]), {"run": 999999, "min_confidence": "0.5"},
                       **JSON)
    assert gone.status_code == 400 and "reload the page" in gone.json()["error"]


def test_assign_new_class_undo_and_aside_answer_what_changed(client, ann):
    dataset, truth = pool_dataset(labelled_per_class=2, pool_per_class=1)
    client.force_login(ann)
    ids = sorted(truth)
    made = client.post(reverse("labelling:assign", args=[dataset.pk]), {"image": ids[:2], "new_label": "cyan"},
                       **JSON).json()
    assert made["changed"] == ids[:2] and made["label"]["name"] == "cyan"
    undone = client.post(reverse("labelling:undo", args=[dataset.pk]), {"image": ids[:2], "label": made["label"]["id"]},
                         **JSON).json()
    assert undone["changed"] == ids[:2]
    aside = client.post(reverse("labelling:aside", args=[dataset.pk]), {"image": ids[2]}, **JSON).json()
    assert aside["changed"] == [ids[2]]
    back = client.post(reverse("labelling:undo", args=[dataset.pk]), {"image": ids[2], "aside": "on"}, **JSON).json()
    assert back["changed"] == [ids[2]]
    bad = client.post(reverse("labelling:assign", args=[dataset.pk]), {"image": ids[:1]}, **JSON)
    assert bad.status_code == 400 and "Choose a class" in bad.json()["error"]
    refused = client.post(reverse("labelling:assign", args=[dataset.pk]), {"image": ids[:1], "new_label": "a/b"},
                          **JSON)
    assert refused.status_code == 409 and "cannot contain" in refused.json()["error"]


def test_the_page_asks_for_a_run_when_its_suggestions_are_out_of_date(client, ann):
    dataset, truth = pool_dataset(labelled_per_class=2, pool_per_class=1)
    client.force_login(ann)
    page = client.get(reverse("labelling:label", args=[dataset.pk]))
    assert page.context["status"]["stale"] and page.context["status"]["pool"] == 3
    run = client.post(reverse("labelling:refresh", args=[dataset.pk]), **JSON).json()["run"]
    assert run["status"] == "queued"
    assert client.post(reverse("labelling:refresh", args=[dataset.pk]), **JSON).json()["run"] is None


def test_the_review_lists_the_least_sure_suggestions_with_their_keys(client, ann):
    dataset, truth = pool_dataset(labelled_per_class=2, pool_per_class=1)
    client.force_login(ann)
    ids = sorted(truth)
    run = _finished_run(dataset, {pk: (truth[pk], 0.9 - 0.2 * i) for i, pk in enumerate(ids)})
    response = client.get(reverse("labelling:review", args=[dataset.pk]))
    items = response.context["items"]
    assert [item["title"].split(":")[0] for item in items] == [str(Image.objects.get(pk=pk)) for pk in ids[::-1]]
    assert truth[ids[-1]] == "blue"  # the least sure; the classes by name: 1 blue, 2 green, 3 red
    keys = [(a["key"], a["label"]) for a in items[0]["actions"]]
    assert keys == [("a", "Accept: blue"), ("2", "green"), ("3", "red"), ("0", "None of these classes")]
    html = response.content.decode()
    assert 'data-review-action="a"' in html and f'name="run" value="{run.pk}"' in html
    # without scripts: a plain form post, back to the review
    plain = client.post(reverse("labelling:accept", args=[dataset.pk]), {"run": run.pk, "image": ids[0]})
    assert plain.status_code == 302 and plain.url == reverse("labelling:review", args=[dataset.pk])
    assert Image.objects.get(pk=ids[0]).label.name == truth[ids[0]]
