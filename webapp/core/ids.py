"""Ids from the outside world (URL paths, query strings): ASCII digits in the database's id range, else None.

`str.isdigit` accepts "²" and "١", and `int()` of a 30-digit string overflows the database's integer: both used
to end in a 500. Callers turn None into a 404 or a form error."""

MAX_ID = 2**63 - 1  # BigAutoField


def parse_id(text) -> int | None:
    text = str(text)
    if not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None


def parse_ids(text: str, *, limit: int) -> list[int]:
    """The valid ids of a comma-separated list, at most `limit` of them, in order; the rest is ignored."""
    ids = (parse_id(part.strip()) for part in str(text).split(","))
    return [value for value in ids if value is not None][:limit]
