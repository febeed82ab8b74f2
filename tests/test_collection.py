"""Finding the photos of a collection, their masks and outputs, and hashing them once."""

from __future__ import annotations

import fsspec
import pytest

from photostyle.core.artifacts import ArtifactStore
from photostyle.core.collection import content_sha256, find_photos, is_mask_name, output_uri_for, select
from photostyle.core.errors import InputError


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "in"
    for rel in (
        "a.jpg",
        "B.JPEG",
        "sub/c.png",
        "sub/deep/d.WebP",
        "e.tif",
        "f.TIFF",
        "a.mask.png",
        "sub/c.MASK.png",
        "notes.txt",
        ".hidden.jpg",
        "_manifest/x.jpg",
        "out/old.jpg",
    ):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rel.encode())
    return root


def test_photos_are_found_recursively_by_extension_in_any_case(tree):
    listing = find_photos(str(tree), exclude=[str(tree / "out")])
    assert [p.relpath for p in listing.photos] == ["B.JPEG", "a.jpg", "e.tif", "f.TIFF", "sub/c.png", "sub/deep/d.WebP"]
    assert listing.skipped == {str(tree / "notes.txt"): "not a photo by its extension"}
    assert all(p.stamp for p in listing.photos)


def test_masks_attach_to_the_photo_with_their_stem(tree):
    photos = {p.relpath: p for p in find_photos(str(tree)).photos}
    assert photos["a.jpg"].mask_uri == str(tree / "a.mask.png")
    assert photos["sub/c.png"].mask_uri == str(tree / "sub/c.MASK.png")
    assert photos["e.tif"].mask_uri is None
    assert is_mask_name("x/y.mask.jpg") and not is_mask_name("mask.png") and not is_mask_name("a.mask.txt")


def test_select_and_output_paths(tree):
    photos = find_photos(str(tree)).photos
    assert [p.relpath for p in select(photos, ["sub/*"])] == ["sub/c.png", "sub/deep/d.WebP"]
    assert select(photos, None) == photos
    c = next(p for p in photos if p.relpath == "sub/c.png")
    assert output_uri_for(c, "s3://bucket/out/") == "s3://bucket/out/sub/c.png"


def test_missing_or_empty_folders_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="folder not found|not a folder"):
        find_photos(str(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no photos found"):
        find_photos(str(tmp_path / "empty"))
    (tmp_path / "file.jpg").write_bytes(b"x")
    with pytest.raises(InputError, match="not a folder"):
        find_photos(str(tmp_path / "file.jpg"))


def test_memory_filesystem_takes_the_same_path():
    fs = fsspec.filesystem("memory")
    fs.pipe("/coll-test/x/one.jpg", b"1")
    fs.pipe("/coll-test/x/two.png", b"2")
    listing = find_photos("memory://coll-test/x")
    assert [p.uri for p in listing.photos] == ["memory:///coll-test/x/one.jpg", "memory:///coll-test/x/two.png"]
    assert content_sha256(listing.photos[0].uri) == content_sha256("memory://coll-test/x/one.jpg")


def test_content_hash_is_remembered_by_stamp(tmp_path):
    photo = tmp_path / "p.jpg"
    photo.write_bytes(b"first")
    store = ArtifactStore(str(tmp_path / "store"))
    first = content_sha256(str(photo), store=store)
    assert list((tmp_path / "store" / "_sources").iterdir())
    photo.write_bytes(b"second version")  # a new size: a new stamp, so it is hashed again
    second = content_sha256(str(photo), store=store)
    assert first != second == content_sha256(str(photo))
    # the remembered hash is what a known stamp returns, without reading the file
    stamp = find_photos(str(tmp_path)).photos[0].stamp
    photo.unlink()
    assert content_sha256(str(photo), store=store, stamp=stamp) == second


def test_selection_ignores_case_like_the_extensions(tree):
    photos = find_photos(str(tree)).photos
    assert [p.relpath for p in select(photos, ["*.JPG", "*.jpeg"])] == ["B.JPEG", "a.jpg", "out/old.jpg"]


def test_an_earlier_output_inside_the_input_is_not_taken_for_photos(tree):
    (tree / "v1" / "_manifest").mkdir(parents=True)
    (tree / "v1" / "_manifest" / "part.parquet").write_bytes(b"x")
    (tree / "v1" / "a.jpg").write_bytes(b"a result")
    relpaths = [p.relpath for p in find_photos(str(tree)).photos]
    assert "v1/a.jpg" not in relpaths and "a.jpg" in relpaths
    # pointed at that output itself, its photos are photos
    assert [p.relpath for p in find_photos(str(tree / "v1")).photos] == ["a.jpg"]


def test_a_listing_without_a_version_field_is_never_trusted_for_the_hash(tmp_path):
    from photostyle.core.collection import file_stamp

    assert file_stamp({"size": 10}) == ""
    photo = tmp_path / "p.jpg"
    photo.write_bytes(b"one")
    store = ArtifactStore(str(tmp_path / "store"))
    assert content_sha256(str(photo), store=store, stamp="") == content_sha256(str(photo))
    assert not (tmp_path / "store" / "_sources").exists()
