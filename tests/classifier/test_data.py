import pytest

from classifier.data import discover, split_items
from tests.classifier.conftest import make_class_folders


def test_discover_reads_both_layouts(tmp_path):
    flat = make_class_folders(tmp_path / "flat", per_class=3)
    (flat / "red" / "notes.txt").write_text("not an image")
    found = discover(flat)
    assert list(found) == ["all"] and {k: len(v) for k, v in found["all"].items()} == {"blue": 3, "green": 3,
                                                                                      "red": 3}
    for split in ("train", "test"):
        make_class_folders(tmp_path / "article" / split, per_class=2)
    assert list(discover(tmp_path / "article")) == ["train", "test"]
    with pytest.raises(ValueError, match="no class folders"):
        discover(tmp_path / "flat" / "red")


def test_split_is_stratified_deterministic_and_disjoint(tmp_path):
    by_label = discover(make_class_folders(tmp_path / "data", per_class=20))["all"]
    first = split_items(by_label)
    assert first == split_items({k: list(reversed(v)) for k, v in by_label.items()})  # order of listing ignored
    for label, paths in by_label.items():
        parts = [first[s][label] for s in ("train", "validation", "test")]
        assert [len(p) for p in parts] == [17, 1, 2]
        assert sorted(sum(parts, [])) == sorted(paths)
    with pytest.raises(ValueError):
        split_items(by_label, (0.8, 0.1, 0.2))
