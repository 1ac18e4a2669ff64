"""The audit pages and one-click fixes: team members only (another team and anonymous get nothing), findings
stored by audit_succeed keep their dismissal, relabel and delete go through the dataset services."""

import re

import pytest
from django.contrib.auth.models import Group, User

from tests.factories import add_image
from tests.images import jpeg_bytes
from webapp.audits import services
from webapp.audits.models import AuditFinding, DatasetAudit, FindingKind
from webapp.datasets.models import Dataset, Image


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def setup(db):
    team, others = Group.objects.create(name="Vision"), Group.objects.create(name="Others")
    member, outsider = User.objects.create_user("member"), User.objects.create_user("outsider")
    member.groups.add(team)
    outsider.groups.add(others)
    dataset = Dataset.objects.create(name="pets <b>", team=team)
    images = [add_image(dataset, label, jpeg_bytes((200, 20 * i, 20), i), "train", f"{label}{i}.jpg")
              for i, label in enumerate(["cats", "cats", "dogs", "dogs"])]
    return {"member": member, "outsider": outsider, "dataset": dataset, "images": images}


def _store(dataset, images, status="running"):
    """A finished audit's rows as the worker writes them: images[1] is a dog labelled cat; 0 and 2 look alike."""
    audit = DatasetAudit.objects.create(dataset=dataset, backbone="mobilenet_v2", status=status)
    result = {"label_issues": [{"id": images[1].pk, "index": 1, "given": "cats", "suggested": "dogs", "score": 0.9,
                                "suggested_probability": 0.85}],
              "leaks": [], "duplicates": [{"ids": [images[0].pk, images[2].pk], "similarity": 0.97}],
              "classes": {"counts": {"cats": 2, "dogs": 2}, "small": [{"label": "cats", "count": 2}], "similar": []},
              "oof_accuracy": 0.75, "seconds": {}}
    assert services.audit_succeed(audit_id=audit.pk, result=result, images={i.pk: i for i in images},
                                  skipped_images=[])
    return audit


def test_findings_page_lists_findings_with_fixes_and_the_balance_chart_data(client, setup):
    _store(setup["dataset"], setup["images"])
    client.force_login(setup["member"])
    page = client.get(f"/datasets/{setup['dataset'].pk}/audit/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Relabel as dogs" in html and "Delete this copy" in html and "Too small" in html
    assert 'id="class-balance-data"' in html and "js/audit.js" in html and "<script>" not in html
    assert "pets &lt;b&gt;" in html


def test_another_team_and_anonymous_get_nothing(client, setup):
    _store(setup["dataset"], setup["images"])
    finding = AuditFinding.objects.get(kind=FindingKind.LABEL)
    urls = [f"/datasets/{setup['dataset'].pk}/audit/", f"/datasets/{setup['dataset'].pk}/audit/status/"]
    posts = [f"/datasets/{setup['dataset'].pk}/audit/start/", f"/findings/{finding.pk}/dismiss/",
             f"/findings/{finding.pk}/relabel/", f"/findings/{finding.pk}/images/{setup['images'][1].pk}/delete/"]
    for response in [client.get(url) for url in urls] + [client.post(url) for url in posts]:
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    client.force_login(setup["outsider"])
    for url in urls:
        assert client.get(url).status_code == 404
    for url in posts:
        assert client.post(url).status_code == 404
    finding.refresh_from_db()
    assert not finding.dismissed and Image.objects.count() == 4 and DatasetAudit.objects.count() == 1


def test_relabel_delete_and_a_dismissal_that_outlives_the_next_audit(client, setup):
    dataset, images = setup["dataset"], setup["images"]
    _store(dataset, images)
    client.force_login(setup["member"])
    label = AuditFinding.objects.get(kind=FindingKind.LABEL)
    assert client.post(f"/findings/{label.pk}/relabel/").status_code == 302
    assert Image.objects.get(pk=images[1].pk).label.name == "dogs"
    assert not AuditFinding.objects.filter(pk=label.pk).exists()

    duplicate = AuditFinding.objects.get(kind=FindingKind.DUPLICATE)
    assert client.post(f"/findings/{duplicate.pk}/dismiss/").status_code == 302
    _store(dataset, images)  # the next audit finds the same pair (and the label error, unfixed in this fake)
    duplicate.refresh_from_db()
    assert duplicate.dismissed and duplicate.dismissed_by == setup["member"]
    assert AuditFinding.objects.filter(kind=FindingKind.DUPLICATE).count() == 1
    page = client.get(f"/datasets/{dataset.pk}/audit/").content.decode()
    assert "Delete this copy" not in page and "1 dismissed finding" in page

    label = AuditFinding.objects.get(kind=FindingKind.LABEL)
    assert client.post(f"/findings/{label.pk}/images/{images[1].pk}/delete/").status_code == 302
    assert not Image.objects.filter(pk=images[1].pk).exists()
    assert not AuditFinding.objects.filter(pk=label.pk).exists()


def test_excluding_a_copy_goes_through_the_curation_service_and_resolves_the_pair(client, setup):
    from webapp.datasets.models import ImageChange

    dataset, images = setup["dataset"], setup["images"]
    _store(dataset, images)
    client.force_login(setup["member"])
    duplicate = AuditFinding.objects.get(kind=FindingKind.DUPLICATE)
    response = client.post(f"/findings/{duplicate.pk}/images/{images[2].pk}/exclude/")
    assert response.status_code == 302
    assert Image.objects.get(pk=images[2].pk).excluded
    change = ImageChange.objects.get(image=images[2])
    assert (change.kind, change.old, change.new, change.user) == ("excluded", "no", "yes", setup["member"])
    assert not AuditFinding.objects.filter(pk=duplicate.pk).exists()  # one photo left in use: nothing to fix
    # A photo outside the finding is refused and changes nothing.
    label = AuditFinding.objects.get(kind=FindingKind.LABEL)
    client.post(f"/findings/{label.pk}/images/{images[0].pk}/exclude/")
    assert not Image.objects.get(pk=images[0].pk).excluded and AuditFinding.objects.filter(pk=label.pk).exists()


def test_relabelling_from_the_audit_records_who_did_it(client, setup):
    from webapp.datasets.models import ImageChange

    _store(setup["dataset"], setup["images"])
    client.force_login(setup["member"])
    client.post(f"/findings/{AuditFinding.objects.get(kind=FindingKind.LABEL).pk}/relabel/")
    change = ImageChange.objects.get(image=setup["images"][1])
    assert (change.kind, change.old, change.new, change.user) == ("label", "cats", "dogs", setup["member"])


def test_a_new_audit_uses_a_backbone_the_workers_have_weights_for(setup, settings):
    """Offline with only MobileNetV2's weights, the audit follows the workers (not AUDIT_BACKBONE); a dataset's
    recent ImageNet job gives its backbone (its features are cached) when a worker has the weights."""
    from webapp.audits.selectors import audit_features
    from webapp.experiments.models import TrainingJob
    from webapp.workers_registry.services import worker_register

    settings.AUDIT_BACKBONE = "vgg16"
    dataset = setup["dataset"]
    assert audit_features(dataset)["backbone"] == "vgg16"  # no worker reports yet: the setting
    worker_register(name="train@box", host="box", pid=1, queues=["train"], backbones_with_weights=["mobilenet_v2"])
    assert audit_features(dataset) == {"backbone": "mobilenet_v2", "weights": "imagenet", "input_size": None}
    TrainingJob.objects.create(dataset=dataset, backbone="mobilenet_v2", input_size=160)
    TrainingJob.objects.create(dataset=dataset, backbone="resnet50", weights="none")  # random features: not used
    assert audit_features(dataset)["input_size"] == 160
    TrainingJob.objects.create(dataset=dataset, backbone="vgg16")  # no worker has its weights
    assert audit_features(dataset) == {"backbone": "mobilenet_v2", "weights": "imagenet", "input_size": None}
    audit = services.audit_create(dataset=dataset, user=setup["member"])
    assert (audit.backbone, audit.weights) == ("mobilenet_v2", "imagenet")


def test_the_dataset_page_counts_the_open_findings_of_the_last_audit(client, setup):
    client.force_login(setup["member"])
    url = f"/datasets/{setup['dataset'].pk}/"
    assert "No audit has run" in client.get(url).content.decode()
    _store(setup["dataset"], setup["images"])
    AuditFinding.objects.filter(kind=FindingKind.DUPLICATE).update(dismissed=True)
    html = client.get(url).content.decode()
    assert "1 suspected label error," in html and "0 near-duplicate groups" in html and "0 leaks" in html


# --- issue 27 item 12: the findings in the review component ---------------------------------------------------------


def _items(page: str) -> dict:
    """{item id: its html} of the review component's items."""
    return dict(re.findall(r'<li class="review-item" id="([\w-]+)".*?>(.*?)</li>\s*(?=<li class="review-item"|'
                           r'<li class="muted"|</ol>)', page, re.S))


def test_a_suspected_label_error_is_shown_beside_photos_of_both_classes_with_its_probabilities(client, setup):
    dataset, images = setup["dataset"], setup["images"]
    _store(dataset, images)
    finding = AuditFinding.objects.get(kind=FindingKind.LABEL)
    finding.detail["probabilities"] = [{"label": "dogs", "probability": 0.85}, {"label": "cats", "probability": 0.1},
                                       {"label": "owls", "probability": 0.05}]
    finding.save()
    client.force_login(setup["member"])
    page = client.get(f"/datasets/{dataset.pk}/audit/").content.decode()
    item = _items(page)[f"finding-{finding.pk}"]
    assert "cats1.jpg: labelled cats, looks like dogs" in item
    groups = re.findall(r'<p class="review-group-title">(.*?)</p>(.*?)</ul>', item, re.S)
    photos = {title: re.findall(r'alt="([^"]*?):', body) for title, body in groups}
    assert photos == {"This photo": ["cats1.jpg"], "Other photos labelled cats": ["cats0.jpg"],
                      "Photos labelled dogs": ["dogs2.jpg", "dogs3.jpg"]}
    rows = re.findall(r'<th scope="row">(\w+)(?: <span class="muted">\((\w+)\)</span>)?</th>\s*<td><meter min="0" '
                      r'max="1" value="([\d.]+)">', item)
    assert rows == [("dogs", "suggested", "0.8500"), ("cats", "labelled", "0.1000"), ("owls", "", "0.0500")]
    keys = re.findall(r'data-review-action="(\w)">.*?<button[^>]*>([^<]+)<kbd>', item, re.S)
    assert [(key, label.strip()) for key, label in keys] == [("r", "Relabel as dogs"), ("d", "Dismiss"),
                                                              ("x", "Exclude photo")]
    assert "js/review.js" in page and 'id="label-count">1<' in page


def test_findings_stored_before_the_probabilities_show_the_given_and_suggested_ones(client, setup):
    _store(setup["dataset"], setup["images"])
    AuditFinding.objects.filter(kind=FindingKind.LABEL).update(detail={"suggested_probability": 0.85})
    client.force_login(setup["member"])
    page = client.get(f"/datasets/{setup['dataset'].pk}/audit/").content.decode()
    assert re.findall(r'<meter min="0" max="1" value="([\d.]+)">', page) == ["0.8500", "0.1000"]


def test_a_viewer_sees_the_evidence_without_the_fixes(client, setup):
    viewer = User.objects.create_user("viewer")
    from webapp.accounts.models import Membership

    Membership.objects.create(user=viewer, team=setup["dataset"].team, role="viewer")
    viewer.groups.add(setup["dataset"].team)
    _store(setup["dataset"], setup["images"])
    client.force_login(viewer)
    page = client.get(f"/datasets/{setup['dataset'].pk}/audit/").content.decode()
    assert "Photos labelled dogs" in page and "data-review-action" not in page and "Delete this copy" not in page


def test_the_review_keys_post_in_the_background_and_get_json(client, setup):
    dataset, images = setup["dataset"], setup["images"]
    _store(dataset, images)
    client.force_login(setup["member"])
    duplicate = AuditFinding.objects.get(kind=FindingKind.DUPLICATE)
    response = client.post(f"/findings/{duplicate.pk}/dismiss/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200 and response.json()["ok"]
    duplicate.refresh_from_db()
    assert duplicate.dismissed
    label = AuditFinding.objects.get(kind=FindingKind.LABEL)
    refused = client.post(f"/findings/{label.pk}/images/{images[0].pk}/exclude/", HTTP_ACCEPT="application/json")
    assert refused.status_code == 409 and not Image.objects.get(pk=images[0].pk).excluded
    assert refused.json()["error"] == "That photo is not part of this finding."  # the component says it in the item
    page = client.get(f"/datasets/{dataset.pk}/audit/").content.decode()
    assert "not part of this finding" not in page  # a JSON answer leaves no message for the next page
