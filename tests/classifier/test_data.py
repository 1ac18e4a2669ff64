import pytest

from classifier.data import discover, split_assign, split_items, split_sizes
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


def test_split_assign_fractions_and_small_classes():
    hashes = [f"{i:064x}" for i in range(100)]
    splits = split_assign(hashes, (0.7, 0.1, 0.2))
    assert sorted(splits.values()).count("test") == 20 and list(splits.values()).count("validation") == 10
    assert split_assign(hashes[:1], (0.85, 0.05, 0.10)) == {hashes[0]: "train"}
    assert split_assign(hashes, (0.7, 0.1, 0.2)) == split_assign(list(reversed(hashes)), (0.7, 0.1, 0.2))


@pytest.mark.parametrize("n,fractions,sizes", [
    (0, (0.85, 0.05, 0.10), (0, 0, 0)),
    (2, (0.85, 0.05, 0.10), (2, 0, 0)),  # too small to split
    (3, (0.85, 0.05, 0.10), (1, 1, 1)),  # at least one in each non-empty split
    (10, (0.6, 0.2, 0.2), (6, 2, 2)),
    (25, (0.7, 0.1, 0.2), (17, 3, 5)),  # 2.5 and 5.0: half rounds up (not to even)
    (20, (1.0, 0.0, 0.0), (20, 0, 0)),
])
def test_split_sizes_round_half_up_with_a_minimum_of_one(n, fractions, sizes):
    assert split_sizes(n, fractions) == sizes
