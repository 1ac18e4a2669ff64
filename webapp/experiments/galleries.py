"""The job page's gallery, as plain data: every cell of the confusion matrix has photos. Off the diagonal, the
mistakes (most confident first); on it, the correctly classified photos (least confident first: the ones the
model barely got right). No queries: the caller passes the Image rows by id."""

MAX_MISTAKES = 200
CORRECT_PER_CLASS = 24


def gallery_items(report: dict) -> list[dict]:
    """[{id, true, predicted, confidence, correct}] from an evaluation report (classifier.evaluate): the most
    confident mistakes, then per class its least confident correct photos (reports made before the diagonal was
    recorded have none)."""
    mistakes = sorted(report.get("misclassified", []), key=lambda item: item.get("confidence") or 0, reverse=True)
    items = [dict(item, correct=False) for item in mistakes[:MAX_MISTAKES]]
    shown: dict[str, int] = {}
    for item in report.get("correct", []):  # already least confident first
        if shown.get(item["true"], 0) < CORRECT_PER_CLASS:
            shown[item["true"]] = shown.get(item["true"], 0) + 1
            items.append(dict(item, predicted=item["true"], correct=True))
    return items


def gallery_ids(items: list[dict]) -> list[int]:
    return [item["id"] for item in items if isinstance(item.get("id"), int)]


def gallery_rows(items: list[dict], images: dict) -> list[dict]:
    """Items with their photo: `image` (None once deleted: no thumbnail, no actions), thumbnail_url, name."""
    rows = []
    for item in items:
        image = images.get(item.get("id"))
        rows.append({
            "id": item.get("id"), "true": item["true"], "predicted": item["predicted"],
            "confidence": item.get("confidence") or 0, "correct": item["correct"], "image": image,
            "thumbnail_url": image.thumbnail_url if image else "",
            "name": str(image) if image else f"image {item.get('id')}",
        })
    return rows
