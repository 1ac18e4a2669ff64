import pytest

from classifier.data import (LayoutError, discover, layout_detect, layout_scan, split_assign, split_items,
                             split_of_hash, split_sizes)
from tests.classifier.conftest import make_class_folders, make_image


def test_discover_reads_both_layouts(tmp_path):
    flat = make_class_folders(tmp_path / "flat", per_class=3)
    (flat / "red" / "notes.txt").write_text("not an image")
    found = discover(flat)
    assert list(found) == ["all"] and {k: len(v) for k, v in found["all"].items()} == {"blue": 3, "green": 3,
                                                                                      "red": 3}
    for split in ("train", "test"):
        make_class_folders(tmp_path / "article" / split, per_class=2)
    assert list(discover(tmp_path / "article")) == ["train", "test"]
    with pytest.raises(ValueError, match="no class folder .unlabelled photos., which is not supported yet"):
        discover(tmp_path / "flat" / "red")


def _paths(*names: str) -> list[tuple[str, tuple[str, ...]]]:
    return [(name, tuple(name.split("/"))) for name in names]


@pytest.mark.parametrize("names,kind,files", [
    (["cats/1.jpg", "dogs/2.jpg"], "classes", [("cats/1.jpg", None, "cats"), ("dogs/2.jpg", None, "dogs")]),
    (["photos/export/cats/1.jpg", "photos/export/dogs/2.jpg"], "classes",  # wrapping folders
     [("photos/export/cats/1.jpg", None, "cats"), ("photos/export/dogs/2.jpg", None, "dogs")]),
    (["Val/cats/1.jpg", "train/cats/2.jpg", "valid/dogs/3.jpg", "TEST/dogs/4.jpg"], "splits",  # aliases, any case
     [("train/cats/2.jpg", "train", "cats"), ("Val/cats/1.jpg", "validation", "cats"),
      ("valid/dogs/3.jpg", "validation", "dogs"), ("TEST/dogs/4.jpg", "test", "dogs")]),
    (["set/test/cats/1.jpg", "set/test/dogs/2.jpg"], "splits",  # evaluation-only, wrapped
     [("set/test/cats/1.jpg", "test", "cats"), ("set/test/dogs/2.jpg", "test", "dogs")]),
    (["b.jpg", "a.jpg"], "unlabelled", [("a.jpg", None, ""), ("b.jpg", None, "")]),
])
def test_layout_detect_recognises_each_layout(names, kind, files):
    layout = layout_detect(_paths(*names), [])
    assert (layout.kind, layout.files, layout.loose) == (kind, files, [])
    assert layout.classes == {c for _, _, c in files if c}


def test_layout_detect_lists_loose_files_beside_class_folders_and_refuses_what_fits_no_layout():
    layout = layout_detect(_paths("cats/1.jpg", "notes.jpg"), [("dogs",)])
    assert (layout.kind, layout.classes, layout.loose) == ("classes", {"cats", "dogs"}, ["notes.jpg"])
    for names, problem in [(["train/cats/1.jpg", "extra/dogs/2.jpg"], ("extra/", "a folder beside")),
                           (["validation/cats/1.jpg", "test/cats/2.jpg"], ("train/", "missing")),
                           (["cats/2024/1.jpg", "dogs/2.jpg"], ("cats/2024/1.jpg", "not directly inside")),
                           (["train/1.jpg", "train/cats/2.jpg"], ("train/1.jpg", "not directly inside"))]:
        with pytest.raises(LayoutError) as refused:
            layout_detect(_paths(*names), [])
        assert any(name == problem[0] and problem[1] in reason for name, reason in refused.value.problems)
        assert problem[0] in str(refused.value) and "Expected one of these layouts" in str(refused.value)


def test_a_test_only_folder_is_an_evaluation_set_not_a_class_named_test(tmp_path):
    make_class_folders(tmp_path / "eval" / "test", per_class=2)
    found = discover(tmp_path / "eval")
    assert list(found) == ["test"] and sorted(found["test"]) == ["blue", "green", "red"]


def test_layout_scan_skips_links_unless_asked_to_follow_them_and_never_loops(tmp_path):
    root = make_class_folders(tmp_path / "data", per_class=1)
    make_image(tmp_path / "elsewhere" / "owl.jpg", (9, 9, 9), 1)
    (root / "owls").symlink_to(tmp_path / "elsewhere")
    (root / "red" / "loop").symlink_to(root)  # a link back up the tree
    (root / ".DS_Store").write_text("clutter")
    layout, links, ignored = layout_scan(root)
    assert layout.classes == {"blue", "green", "red"} and sorted(links) == ["owls", "red/loop"] and ignored == 1
    followed, links, _ = layout_scan(root, follow_symlinks=True)
    assert followed.classes == {"blue", "green", "red", "owls"} and links == []
    assert ("owls/owl.jpg", None, "owls") in followed.files


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


def test_split_of_hash_gives_one_photo_its_split_from_its_hash_alone():
    import hashlib

    hashes = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(3000)]
    splits = [split_of_hash(h, (0.7, 0.1, 0.2)) for h in hashes]
    shares = {s: splits.count(s) / len(splits) for s in ("train", "validation", "test")}
    assert abs(shares["train"] - 0.7) < 0.03 and abs(shares["validation"] - 0.1) < 0.02
    assert abs(shares["test"] - 0.2) < 0.03
    # photos labelled one at a time: the batch rule would put each lone photo in train, this one does not
    assert {split_assign([h])[h] for h in hashes[:50]} == {"train"}
    assert {split_of_hash(h) for h in hashes[:50]} == {"train", "validation", "test"}
    assert [split_of_hash(h, (0.7, 0.1, 0.2)) for h in hashes] == splits  # the same photo, the same split
    assert {split_of_hash(h, (0.0, 0.0, 1.0)) for h in hashes[:50]} == {"test"}
    with pytest.raises(ValueError):
        split_of_hash(hashes[0], (0.5, 0.5, 0.5))
