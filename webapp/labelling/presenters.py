"""The suggestions as items of the review component (templates/core/_review.html): the photo beside labelled
photos of the suggested class, the class probabilities, and accept / another class / none of these a key away
(the classes numbered as on the Label page). No queries: the views hand in rows read through the selectors."""

from django.urls import reverse


def _photo(image, caption: str) -> dict:
    return {"src": image.thumbnail_url, "href": reverse("datasets:photo", args=[image.dataset_id, image.pk]),
            "alt": f"{image}: {caption}", "caption": caption, "flagged": False, "actions": []}


def _probabilities(run, suggestion) -> list[dict]:
    rows = sorted(zip(run.class_names, suggestion.probabilities), key=lambda row: -row[1])
    return [{"label": name, "probability": p, "text": f"{p:.3f}",
             "mark": "suggested" if name == suggestion.label.name else ""} for name, p in rows]


def suggestion_review_items(dataset, run, suggestions, examples: dict, *, classes: list[dict],
                            can_label: bool) -> list[dict]:
    """One item per suggestion (least confident first, as the selector orders them). `classes`: the dataset's
    classes by name ([{id, name}]), keyed 1-9 as on the Label page; `examples`: label id -> labelled photos."""
    assign, accept = reverse("labelling:assign", args=[dataset.pk]), reverse("labelling:accept", args=[dataset.pk])
    aside = reverse("labelling:aside", args=[dataset.pk])
    items = []
    for suggestion in suggestions:
        image, label = suggestion.image, suggestion.label
        actions = []
        if can_label:
            actions.append({"key": "a", "label": f"Accept: {label.name}", "url": accept,
                            "fields": [("run", run.pk), ("image", image.pk)]})
            actions += [{"key": str(number) if number <= 9 else "", "label": c["name"], "style": "secondary",
                         "url": assign, "fields": [("image", image.pk), ("label", c["id"])]}
                        for number, c in enumerate(classes, start=1) if c["id"] != label.pk]
            actions.append({"key": "0", "label": "None of these classes", "style": "secondary", "url": aside,
                            "fields": [("image", image.pk)]})
        items.append({
            "id": f"suggestion-{suggestion.pk}", "kind": "suggestion",
            "title": f"{image}: suggested {label.name}",
            "note": f"confidence {suggestion.confidence:.3f}",
            "groups": [{"title": "This photo", "photos": [_photo(image, f"suggested {label.name}")]},
                       {"title": f"Photos labelled {label.name}",
                        "photos": [_photo(other, label.name) for other in examples.get(label.pk, [])]}],
            "probabilities": _probabilities(run, suggestion),
            "actions": actions,
        })
    return items
