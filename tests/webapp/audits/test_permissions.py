"""Issue "Curation" item 1 for the audit's actions: starting an audit and fixing or dismissing its findings are
curating (admins and members); a viewer sees the findings but gets 403; another team, staff without permission
and the "see every team" auditor get 404 (or 403 for the auditor, who only looks); anonymous goes to login."""

import pytest
from django.urls import reverse

from tests.webapp.roles import WHO, client_as, world  # noqa: F401  (world: fixture)
from webapp.audits.models import AuditFinding, DatasetAudit, FindingKind, finding_key
from webapp.datasets.models import Image

ALLOWED = {"admin": 302, "member": 302, "viewer": 403, "other_team": 404, "staff": 404, "auditor": 403,
           "anonymous": 302}
PAGE = {"admin": 200, "member": 200, "viewer": 200, "other_team": 404, "staff": 404, "auditor": 200,
        "anonymous": 302}


def _findings(dataset):
    images = list(dataset.images.order_by("id"))
    label = AuditFinding.objects.create(dataset=dataset, kind=FindingKind.LABEL, score=0.9, given_label="cat",
                                        suggested_label="dog", key=finding_key("label", [images[0].content_hash]))
    label.images.set([images[0]])
    pair = AuditFinding.objects.create(dataset=dataset, kind=FindingKind.DUPLICATE, score=0.97,
                                       key=finding_key("duplicate", [i.content_hash for i in images[1:3]]))
    pair.images.set(images[1:3])
    other_pair = AuditFinding.objects.create(dataset=dataset, kind=FindingKind.LEAK, score=0.95,
                                             key=finding_key("leak", [i.content_hash for i in images[3:5]]))
    other_pair.images.set(images[3:5])
    return label, pair, other_pair, images


@pytest.mark.parametrize("who", WHO)
def test_the_audit_page_is_for_the_team_and_fixes_for_its_curators(client, world, who):
    dataset = world["dataset"]
    label, pair, other_pair, images = _findings(dataset)
    client = client_as(client, world["users"][who])
    assert client.get(reverse("audits:dataset_audit", args=[dataset.pk])).status_code == PAGE[who]
    posts = [reverse("audits:finding_dismiss", args=[pair.pk]),
             reverse("audits:finding_image_exclude", args=[pair.pk, images[1].pk]),
             reverse("audits:finding_relabel", args=[label.pk]),
             reverse("audits:finding_image_delete", args=[other_pair.pk, images[3].pk]),
             reverse("audits:audit_start", args=[dataset.pk])]
    statuses = [client.post(url).status_code for url in posts]
    assert statuses == [ALLOWED[who]] * len(posts)
    if ALLOWED[who] == 302 and who != "anonymous":
        assert Image.objects.get(pk=images[1].pk).excluded and Image.objects.get(pk=images[0].pk).label.name == "dog"
        assert not Image.objects.filter(pk=images[3].pk).exists()
        assert DatasetAudit.objects.filter(dataset=dataset).count() == 1
    else:  # nothing changed
        assert not Image.objects.filter(excluded=True).exists() and Image.objects.count() == 12
        assert Image.objects.get(pk=images[0].pk).label.name == "cat"
        assert not AuditFinding.objects.filter(dismissed=True).exists() and not DatasetAudit.objects.exists()


@pytest.mark.parametrize("who", ["viewer", "member"])
def test_fix_buttons_are_shown_only_to_curators(client, world, who):
    _findings(world["dataset"])
    html = client_as(client, world["users"][who]).get(
        reverse("audits:dataset_audit", args=[world["dataset"].pk])).content.decode()
    assert ("Exclude" in html and "Dismiss" in html and "Relabel as dog" in html) == (who == "member")


@pytest.mark.parametrize("who", ["viewer", "member"])
def test_the_dataset_page_offers_training_only_to_those_who_may_train(client, world, who):
    html = client_as(client, world["users"][who]).get(world["dataset"].get_absolute_url()).content.decode()
    assert ("Train a classifier on it" in html) == (who == "member")
