from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError

from webapp.datasets.models import Dataset, Split

SPLIT_ORDER = [Split.TRAIN, Split.VALIDATION, Split.TEST]
ENTRIES_IN_MESSAGE = 20


class ImportRejected(ValidationError):
    """The whole import is refused and nothing was changed. `entries` lists (entry name, reason)."""

    def __init__(self, message: str, entries: Iterable[tuple[str, str]] = ()):
        self.entries = list(entries)
        self.summary = message
        if self.entries:
            shown = "; ".join(f"{name}: {reason}" for name, reason in self.entries[:ENTRIES_IN_MESSAGE])
            extra = len(self.entries) - ENTRIES_IN_MESSAGE
            more = f" (and {extra} more)" if extra > 0 else ""
            message = f"{message} Offending entries: {shown}{more}."
        super().__init__(message)
        self.text = message


@dataclass
class ImportResult:
    dataset: Dataset
    added: dict = field(default_factory=lambda: defaultdict(lambda: dict.fromkeys(SPLIT_ORDER, 0)))
    unlabelled: int = 0  # photos added to the unlabelled pool
    duplicates: int = 0
    rejected: list = field(default_factory=list)  # [(entry name, reason)]
    ignored: int = 0  # system files such as __MACOSX/, .DS_Store, Thumbs.db

    @property
    def total_added(self) -> int:
        return sum(sum(per_split.values()) for per_split in self.added.values()) + self.unlabelled

    def as_dict(self) -> dict:
        """JSON-ready (kept in the session for the result page, printed by the command)."""
        return {
            "dataset_id": self.dataset.pk,
            "dataset_name": self.dataset.name,
            "added": {name: {str(s): n for s, n in per.items()} for name, per in sorted(self.added.items())},
            "unlabelled": self.unlabelled,
            "total_added": self.total_added,
            "duplicates": self.duplicates,
            "rejected": [list(item) for item in self.rejected],
            "ignored": self.ignored,
        }
