"""The audit's findings as items of the review component (templates/core/_review.html): photos side by side, the
class probabilities, the fixes a key away. No queries: the views hand in findings and example photos read
through the selectors."""

from django.urls import reverse


def _photo(image, caption: str, *, flagged: bool = False, actions: list | None = None) -> dict:
    return {"src": image.thumbnail_url, "href": reverse("datasets:photo", args=[image.dataset_id, image.pk]),
            "alt": f"{image}: {caption}", "caption": caption, "flagged": flagged, "actions": actions or []}


def _probabilities(finding) -> list[dict]:
    """The out-of-fold class probabilities stored with the finding (older findings: the given and suggested
    classes only), most probable first, the given and suggested labels marked."""
    rows = finding.detail.get("probabilities") or sorted([
        {"label": finding.suggested_label, "probability": finding.detail.get("suggested_probability", 0.0)},
        {"label": finding.given_label, "probability": round(1 - finding.score, 4)},
    ], key=lambda row: -row["probability"])
    marks = {finding.given_label: "labelled", finding.suggested_label: "suggested"}
    return [{"label": row["label"], "probability": row["probability"], "text": f"{row['probability']:.3f}",
             "mark": marks.get(row["label"], "")} for row in rows]


def label_review_items(findings, examples: dict, *, can_fix: bool) -> list[dict]:
    """Suspected label errors, most suspect first (as the selector orders them): the photo, beside a few other
    photos labelled as it is and a few of the suggested class (`examples`: label name -> Images)."""
    items = []
    for finding in findings:
        for image in finding.images.all():
            given, suggested = finding.given_label, finding.suggested_label
            actions = [
                {"key": "r", "label": f"Relabel as {suggested}", "url": reverse("audits:finding_relabel",
                                                                               args=[finding.pk])},
                {"key": "d", "label": "Dismiss", "style": "secondary",
                 "url": reverse("audits:finding_dismiss", args=[finding.pk])},
                {"key": "x", "label": "Exclude photo", "style": "secondary",
                 "url": reverse("audits:finding_image_exclude", args=[finding.pk, image.pk])},
                {"key": "", "label": "Delete photo", "style": "secondary",
                 "url": reverse("audits:finding_image_delete", args=[finding.pk, image.pk])},
            ] if can_fix else []
            items.append({
                "id": f"finding-{finding.pk}", "kind": "label",
                "title": f"{image}: labelled {given}, looks like {suggested}",
                "note": f"suspicion {finding.score:.3f} (1 − the out-of-fold probability of its label)",
                "groups": [
                    {"title": "This photo", "photos": [_photo(image, f"labelled {given}", flagged=True)]},
                    {"title": f"Other photos labelled {given}",
                     "photos": [_photo(other, given) for other in examples.get(given, []) if other.pk != image.pk]},
                    {"title": f"Photos labelled {suggested}",
                     "photos": [_photo(other, suggested) for other in examples.get(suggested, [])]},
                ],
                "probabilities": _probabilities(finding),
                "actions": actions,
            })
    return items


def group_review_items(findings, dataset, *, can_fix: bool) -> list[dict]:
    """Near-duplicate groups and leaks, most similar first: their photos side by side with label, split and
    dataset; a copy is excluded or deleted under its photo, the whole group dismissed a key away."""
    items = []
    for finding in findings:
        photos = []
        for image in finding.images.all():
            caption = f"{image} · {image.label.name} · {image.get_split_display()}"
            if image.dataset_id != dataset.pk:
                caption += f" · in {image.dataset.name}"
            actions = [
                {"label": "Exclude this copy", "url": reverse("audits:finding_image_exclude",
                                                              args=[finding.pk, image.pk])},
                {"label": "Delete this copy", "url": reverse("audits:finding_image_delete",
                                                             args=[finding.pk, image.pk])},
            ] if can_fix else []
            photos.append(_photo(image, caption, actions=actions))
        labels = sorted({image.label.name for image in finding.images.all()})
        items.append({
            "id": f"finding-{finding.pk}", "kind": finding.kind,
            "title": f"Similarity {finding.score:.3f}: {len(photos)} photos, "
                     + ("all labelled " + labels[0] if len(labels) == 1 else "labelled " + ", ".join(labels)),
            "note": "the same photo, or different objects that look alike? Compare them before fixing",
            "groups": [{"title": "", "photos": photos}],
            "probabilities": [],
            "actions": [{"key": "d", "label": "Dismiss", "style": "secondary",
                         "url": reverse("audits:finding_dismiss", args=[finding.pk])}] if can_fix else [],
        })
    return items
