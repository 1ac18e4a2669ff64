"""A dataset audit end to end on real photos (../shared animals3, ImageNet MobileNetV2) with a real `train` worker:
planted label flips and altered copies are found, dismissals survive the next audit, a fix relabels."""

import io

import pytest
from django.contrib.auth.models import Group
from PIL import Image as PILImage

from tests.factories import add_image
from tests.processes import wait_for
from tests.shared import MOBILENET_V2_LEGACY_FILE, shared_path
from webapp.audits import selectors, services
from webapp.audits.models import AuditStatus, FindingKind

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("clean_broker")]


def _reencoded(path) -> bytes:
    """The same picture re-encoded at JPEG quality 60: other bytes (not refused as an exact copy)."""
    with PILImage.open(path) as im:
        out = io.BytesIO()
        im.convert("RGB").save(out, "JPEG", quality=60)
        return out.getvalue()


def _altered(path) -> bytes:
    """Resized to 3/4, 4 % cropped off each border, JPEG quality 60: other bytes, the same picture."""
    with PILImage.open(path) as im:
        im = im.convert("RGB")
        w, h = im.size
        im = im.crop((w // 25, h // 25, w - w // 25, h - h // 25)).resize((w * 3 // 4, h * 3 // 4))
        out = io.BytesIO()
        im.save(out, "JPEG", quality=60)
        return out.getvalue()


def _finished(audit, timeout=300):
    def done():
        audit.refresh_from_db()
        return audit.is_finished

    wait_for(done, timeout, interval=0.2, message=f"audit {audit.pk} to finish")
    assert audit.status == AuditStatus.SUCCEEDED, audit.error_message
    return audit


def test_audit_finds_flipped_labels_and_copies_across_splits_and_datasets(warm_workers, ann, client):
    from webapp.datasets.models import Dataset, Image

    shared_path("weights", MOBILENET_V2_LEGACY_FILE)
    animals = shared_path("datasets", "animals3")
    team = Group.objects.get_or_create(name="lab")[0]
    dataset = Dataset.objects.create(name="animals", team=team)
    evaluation = Dataset.objects.create(name="evaluation", team=team)
    flips = {"cats": "panda", "dogs": "cats", "panda": "dogs"}
    flipped, photos = {}, {}
    for label in ("cats", "dogs", "panda"):
        photos[label] = sorted((animals / label).iterdir())[:24]
        for i, path in enumerate(photos[label]):
            given = flips[label] if i == 23 and label in flips else label
            image = add_image(dataset, given, path.read_bytes(), "test" if i < 3 else "validation" if i < 5 else
                              "train", path.name)
            if given != label:
                flipped[image.pk] = label
    # Copies: a training photo re-encoded in the test split, another one altered in the evaluation-only dataset.
    split_copy = add_image(dataset, "panda", _reencoded(photos["panda"][10]), "test", "panda-copy.jpg")
    eval_copy = add_image(evaluation, "dogs", _altered(photos["dogs"][12]), "test", "dogs-copy.jpg")
    for path in sorted((animals / "dogs").iterdir())[30:34]:
        add_image(evaluation, "dogs", path.read_bytes(), "test", path.name)

    audit = _finished(services.audit_create(dataset=dataset, user=ann, backbone="mobilenet_v2"))
    assert audit.image_count == 72 + 1 + 5

    findings = selectors.findings_by_kind(dataset)
    top = {f.images.get().pk: f for f in findings[FindingKind.LABEL][:5]}
    found = [image_id for image_id in flipped if image_id in top]
    assert len(found) >= 2, [(f.images.get().original_name, f.score) for f in findings[FindingKind.LABEL]]
    for image_id in found:
        assert top[image_id].suggested_label == flipped[image_id]
    leaks = {frozenset(f.images.values_list("original_name", flat=True)) for f in findings[FindingKind.LEAK]}
    assert frozenset([photos["panda"][10].name, split_copy.original_name]) in leaks
    assert frozenset([photos["dogs"][12].name, eval_copy.original_name]) in leaks
    assert len(leaks) <= 3, leaks

    # Dismiss the in-dataset leak; fix a label error in one click; audit again.
    leak = next(f for f in findings[FindingKind.LEAK] if split_copy in f.images.all())
    client.force_login(ann)
    assert client.post(f"/findings/{leak.pk}/dismiss/").status_code == 302
    label_finding = top[found[0]]
    image = label_finding.images.get()
    assert client.post(f"/findings/{label_finding.pk}/relabel/").status_code == 302
    assert Image.objects.get(pk=image.pk).label.name == flipped[image.pk]

    again = _finished(services.audit_create(dataset=dataset, user=ann, backbone="mobilenet_v2"))
    assert again.pk != audit.pk
    findings = selectors.findings_by_kind(dataset)
    assert leak.pk not in [f.pk for f in findings[FindingKind.LEAK]]
    leak.refresh_from_db()
    assert leak.dismissed and leak.dismissed_by == ann and leak.audit_id == again.pk  # found again, still dismissed
    assert image.pk not in [f.images.get().pk for f in findings[FindingKind.LABEL]]
    page = client.get(f"/datasets/{dataset.pk}/audit/")
    assert page.status_code == 200 and b"1 dismissed finding" in page.content
