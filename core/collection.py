"""A photo collection under any fsspec URL: which files are photos, which are masks, where each
output goes, and each file's content hash (remembered by a cheap listing stamp, so a second run
over an unchanged bucket does not download every photo again)."""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass

from photostyle.core.artifacts import ArtifactStore, canonical_json, sha256_hex
from photostyle.core.errors import InputError
from photostyle.core.imageio import read_bytes, url_to_fs

#: Photo extensions found by ``find_photos`` (compared case-insensitively).
PHOTO_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff")
#: A photo's mask lies beside it as ``<stem>.mask.<ext>``: ``IMG_1.jpg`` -> ``IMG_1.mask.png``.
MASK_MARK = ".mask"
#: Folders under the output that hold photostyle's own files, never photos.
RESERVED = ("_manifest", "_artifacts")
#: Photos of a batch in flight at once (their optimisations still take turns on each device).
DEFAULT_CONCURRENCY = 4


@dataclass(frozen=True)
class Photo:
    """One photo of a collection: its URI, its path below the collection root, its optional mask
    and the listing stamp (size, ETag/mtime) that identifies this version of the file."""

    uri: str
    relpath: str
    mask_uri: str | None = None
    stamp: str = ""


@dataclass(frozen=True)
class Listing:
    """What ``find_photos`` saw: the photos, and the files it passed over (with the reason)."""

    photos: list[Photo]
    skipped: dict[str, str]


def _ext(name: str) -> str:
    return posixpath.splitext(name)[1].lower()


def is_mask_name(name: str) -> bool:
    """Whether a file name follows the mask convention ``<stem>.mask.<image ext>``."""
    stem, ext = posixpath.splitext(posixpath.basename(name))
    return ext.lower() in PHOTO_EXTENSIONS and stem.lower().endswith(MASK_MARK)


def mask_stem(name: str) -> str:
    """The photo stem a mask belongs to (``a/IMG_1.mask.png`` -> ``a/IMG_1``)."""
    stem = posixpath.splitext(name)[0]
    return stem[: -len(MASK_MARK)]


VERSION_FIELDS = ("ETag", "etag", "mtime", "LastModified", "last_modified", "created")


def file_stamp(info: dict) -> str:
    """A listing's identity of one file version: size plus ETag or modification time; empty when
    the filesystem reports no version field (a size alone cannot tell two versions apart)."""
    if not any(info.get(k) is not None for k in VERSION_FIELDS):
        return ""
    keys = ("size",) + VERSION_FIELDS
    return canonical_json({k: info[k] for k in keys if info.get(k) is not None}).decode()


def _protocol_prefix(input_uri: str) -> str:
    """``s3://`` for ``s3://bucket/x``; empty for local paths."""
    return input_uri.split("://", 1)[0] + "://" if "://" in input_uri else ""


def _mask_key(stem_path: str) -> str:
    """Masks match their photo's stem in any case, in exactly the photo's folder."""
    folder, stem = posixpath.split(stem_path)
    return f"{folder}/{stem.lower()}"


def _under(path: str, folder: str) -> bool:
    folder = folder.rstrip("/")
    return path == folder or path.startswith(folder + "/")


def find_photos(input_uri: str, storage_options: dict | None = None, exclude: Iterable[str | None] = ()) -> Listing:
    """Photos under ``input_uri``, recursively, by extension (any case), sorted by path.

    Masks (``<stem>.mask.<ext>``) are attached to the photo with that stem in the same folder;
    hidden files, photostyle's own folders and anything under an ``exclude`` URI (the output,
    the style) are passed over. A missing or empty location is an input error.
    """
    fs, root = url_to_fs(input_uri, storage_options)
    root = root.rstrip("/")
    fs.invalidate_cache(root)
    try:
        if not fs.isdir(root):
            if not fs.exists(root):
                raise FileNotFoundError(root)
            raise InputError(input_uri, "not a folder (give the folder or prefix holding the photos)")
        found = fs.find(root, detail=True)
    except FileNotFoundError:
        raise InputError(input_uri, "folder not found") from None
    except PermissionError:
        raise InputError(input_uri, "permission denied") from None
    prefix = _protocol_prefix(input_uri)
    excluded = [url_to_fs(u, storage_options)[1].rstrip("/") for u in exclude if u]
    # earlier photostyle outputs below the input (a folder holding a _manifest/) are not photos
    excluded += sorted(
        {path[: path.index("/_manifest/")] for path in found if "/_manifest/" in path[len(root) :]} - {root}
    )
    masks: dict[str, str] = {}
    candidates: list[tuple[str, dict]] = []
    skipped: dict[str, str] = {}
    for path, info in sorted(found.items()):
        rel = path[len(root) :].lstrip("/")
        parts = rel.split("/")
        if any(p.startswith(".") for p in parts) or any(p in RESERVED for p in parts[:-1]):
            continue
        if any(_under(path, e) for e in excluded):
            continue
        if is_mask_name(rel):
            masks[_mask_key(mask_stem(rel))] = prefix + path
        elif _ext(rel) in PHOTO_EXTENSIONS:
            candidates.append((rel, info))
        else:
            skipped[prefix + path] = "not a photo by its extension"
    photos = [
        Photo(prefix + root + "/" + rel, rel, masks.get(_mask_key(posixpath.splitext(rel)[0])), file_stamp(info))
        for rel, info in candidates
    ]
    if not photos:
        raise InputError(input_uri, f"no photos found (extensions: {', '.join(PHOTO_EXTENSIONS)})")
    return Listing(photos, skipped)


def select(photos: list[Photo], patterns: Iterable[str] | None) -> list[Photo]:
    """The photos whose relative path matches any glob pattern, in any case like the extensions
    (all photos when no pattern is given)."""
    patterns = list(patterns or [])
    if not patterns:
        return photos
    return [p for p in photos if any(fnmatch.fnmatchcase(p.relpath.lower(), pat.lower()) for pat in patterns)]


def output_uri_for(photo: Photo, output_uri: str) -> str:
    """Where a photo's result goes: the same relative path (and format) under the output."""
    return f"{output_uri.rstrip('/')}/{photo.relpath}"


def _memo_name(uri: str, stamp: str) -> str:
    return f"_sources/{sha256_hex(canonical_json({'uri': uri, 'stamp': stamp}))[:32]}.json"


def content_sha256(
    uri: str, storage_options: dict | None = None, store: ArtifactStore | None = None, stamp: str | None = None
) -> str:
    """The sha256 of a file's bytes; remembered in ``store`` under its listing stamp, so an
    unchanged file is hashed once. Without a stamp the file is listed to get one."""
    if store is None:
        return sha256_hex(read_bytes(uri, storage_options))
    if stamp is None:
        fs, path = url_to_fs(uri, storage_options)
        try:
            stamp = file_stamp(fs.info(path))
        except FileNotFoundError:
            raise InputError(uri, "file not found") from None
    if not stamp:
        return sha256_hex(read_bytes(uri, storage_options))
    name = _memo_name(uri, stamp)
    known = store.read_json(name)
    if known is not None:
        return known["sha256"]
    digest = sha256_hex(read_bytes(uri, storage_options))
    store.write_json(name, {"uri": uri, "stamp": stamp, "sha256": digest})
    return digest
