"""Image I/O through fsspec: read, decode to float RGB, resize, encode, write atomically.

Every input problem surfaces as an :class:`InputError` naming the file, so one bad photo fails
its own pipeline with a readable message. Writes never leave a partial file under the final name.
"""

from __future__ import annotations

import contextlib
import io
import os
import posixpath
import re
import tempfile
import uuid
import warnings
from dataclasses import dataclass

import fsspec
import numpy as np
from fsspec.implementations.local import LocalFileSystem
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from photostyle.core import filesystems
from photostyle.core.errors import InputError

#: Largest image accepted by default, in pixels (decompression-bomb guard), on a machine with
#: memory to spare; ``pixel_cap`` lowers it on smaller machines. PIL itself refuses images over
#: ``2 * Image.MAX_IMAGE_PIXELS`` (about 179 MP) when opening them, whatever the cap.
MAX_PIXELS = 100_000_000
#: Peak memory, in bytes per pixel of the photo, of its heaviest stage (upsample at full size:
#: the decoded photo, its RGB copy and the output, with the PNG encoder's buffers).
BYTES_PER_PIXEL = 12
#: Share of the machine's RAM one photo at the cap may take, so that a few photos in flight fit.
MEMORY_SHARE = 0.25
#: A reduced decode keeps the long side at least this many times the size asked for, so the
#: antialiased resize that follows still sees the detail it averages.
REDUCING_GAP = 2
#: Modes ``Image.reduce`` takes (palette, bilevel and 16-bit images are converted to one first).
_REDUCIBLE_MODES = frozenset({"L", "LA", "RGB", "RGBA", "RGBa", "La", "I", "F", "CMYK", "YCbCr"})
#: Shortest side a prepared image may have: VGG-19 halves the image four times before conv5_1.
MIN_SIDE = 16

#: Object stores where a single put is atomic (the object appears whole or not at all).
ATOMIC_PUT_PROTOCOLS = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss"})

_FORMATS = {".jpg": "jpeg", ".jpeg": "jpeg", ".png": "png", ".webp": "webp", ".tif": "tiff", ".tiff": "tiff"}
_PIL_FORMATS = {"png": "PNG", "jpeg": "JPEG", "jpg": "JPEG", "webp": "WEBP", "tiff": "TIFF", "tif": "TIFF"}
_MAGIC = (b"\x89PNG", b"\xff\xd8", b"GIF8", b"RIFF", b"II*\x00", b"MM\x00*", b"BM")

#: Marks the temporary files of atomic writes, ``.<name>.photostyle-<random>.tmp``, so that a sweep
#: after a killed run removes only these and never a user's own ``.tmp`` files in an output folder.
TEMP_MARKER = "photostyle-"
#: Their whole name: mkstemp's 8 random characters (local) or 12 hex digits (other stores).
_TEMP_NAME = re.compile(rf"\..+\.{re.escape(TEMP_MARKER)}[a-z0-9_]{{8,12}}\.tmp")


def url_to_fs(uri: str, storage_options: dict | None) -> tuple[fsspec.AbstractFileSystem, str]:
    """Filesystem and path for a URI; an unusable URL is an input error."""
    try:
        return filesystems.url_to_fs(uri, storage_options)
    except (ValueError, ImportError) as exc:
        raise InputError(uri, f"cannot open this location ({exc})") from None


def read_bytes(uri: str, storage_options: dict | None = None) -> bytes:
    """All bytes of a file at a local path or fsspec URL."""
    fs, path = url_to_fs(uri, storage_options)
    try:
        return fs.cat_file(path)
    except IsADirectoryError:
        raise InputError(uri, "is a directory, not a file") from None
    except FileNotFoundError:
        if _is_dir(fs, path):
            raise InputError(uri, "is a directory, not a file") from None
        raise InputError(uri, "file not found") from None
    except PermissionError:
        raise InputError(uri, "permission denied") from None


def file_exists(uri: str, storage_options: dict | None = None) -> bool:
    """Whether a file exists at a local path or fsspec URL (fresh, not from a listing cache)."""
    fs, path = url_to_fs(uri, storage_options)
    fs.invalidate_cache(path)
    return bool(fs.isfile(path))


def remove_file(uri: str, storage_options: dict | None = None) -> None:
    """Delete a file if it exists (a missing file is fine)."""
    fs, path = url_to_fs(uri, storage_options)
    with contextlib.suppress(FileNotFoundError):
        fs.rm_file(path)


def _is_dir(fs: fsspec.AbstractFileSystem, path: str) -> bool:
    """Whether path is a directory, treating any lookup failure as 'no'."""
    try:
        return bool(fs.isdir(path))
    except Exception:  # noqa: BLE001 - only refines an error message
        return False


def physical_memory() -> int | None:
    """Bytes of RAM of this machine, or None where the OS does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        return None


def pixel_cap(max_megapixels: float | None = None) -> int:
    """The largest image accepted, in pixels: ``max_megapixels`` when given, else what this
    machine's memory allows (``MEMORY_SHARE`` of its RAM at ``BYTES_PER_PIXEL``), at most
    ``MAX_PIXELS``. Checked from the file's header, before anything is decoded."""
    if max_megapixels is not None:
        return int(max_megapixels * 1e6)
    memory = physical_memory()
    if not memory:
        return MAX_PIXELS
    return min(MAX_PIXELS, int(memory * MEMORY_SHARE / BYTES_PER_PIXEL))


def _open_header(data: bytes, uri: str, max_pixels: int | None) -> Image.Image:
    """The image with only its header parsed (PIL is lazy): size checked against the cap before
    any pixel is decoded. PIL's own decompression-bomb warning is silenced: the cap replaces it."""
    if not data:
        raise InputError(uri, "not an image (empty file)")
    cap = pixel_cap() if max_pixels is None else max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise InputError(uri, f"image too large (over {cap / 1e6:g} megapixels)") from None
    except UnidentifiedImageError:
        if data.startswith(_MAGIC):
            raise InputError(uri, "truncated or corrupt image (cannot parse its header)") from None
        raise InputError(uri, "not an image (unrecognised file format)") from None
    except Exception as exc:  # noqa: BLE001 - any decoder failure is a bad input
        raise InputError(uri, f"truncated or corrupt image ({exc})") from None
    width, height = img.size
    if width <= 0 or height <= 0:
        raise InputError(uri, f"image has zero size ({width}x{height})")
    if width * height > cap:
        raise InputError(uri, f"image too large ({width}x{height}, over {cap / 1e6:g} megapixels)")
    return img


def _upright_shape(img: Image.Image) -> tuple[int, int]:
    """(H, W) of the image once its EXIF orientation is applied (orientations 5-8 swap the sides)."""
    try:
        orientation = img.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception:  # noqa: BLE001 - a broken EXIF block fails later, in exif_transpose
        orientation = 1
    return (img.width, img.height) if orientation in (5, 6, 7, 8) else (img.height, img.width)


def _reduction(size: tuple[int, int], long_side: int | None) -> int:
    """The integer factor by which an image of ``size`` may shrink while its long side stays at
    least ``REDUCING_GAP`` times ``long_side`` (1: keep it as it is)."""
    if long_side is None:
        return 1
    return max(1, max(size) // (REDUCING_GAP * long_side))


def _decode_reduced(img: Image.Image, uri: str, long_side: int | None) -> Image.Image:
    """Decode the pixels, at reduced size when ``long_side`` allows: JPEG decodes straight to a
    smaller scale (draft mode); other formats are decoded whole, then reduced by an integer
    factor before any conversion, so no full-size copy in a wider mode is made."""
    factor = _reduction(img.size, long_side)
    try:
        if factor > 1 and img.format == "JPEG":
            img.draft(img.mode, (-(-img.width // factor), -(-img.height // factor)))
        img.load()
        factor = _reduction(img.size, long_side)
        if factor > 1:
            if img.mode == "P":
                img = img.convert("RGBA" if "transparency" in img.info else "RGB")
            elif img.mode == "1" or img.mode.startswith("I;16"):
                img = img.convert("L" if img.mode == "1" else "I")
            if img.mode in _REDUCIBLE_MODES:
                img = img.reduce(factor)
    except Exception as exc:  # noqa: BLE001
        raise InputError(uri, f"truncated or corrupt image ({exc})") from None
    try:
        return ImageOps.exif_transpose(img)
    except Exception as exc:  # noqa: BLE001 - a broken EXIF block
        raise InputError(uri, f"corrupt EXIF orientation ({exc})") from None


def open_image(data: bytes, uri: str, long_side: int | None = None, max_pixels: int | None = None) -> Image.Image:
    """Decoded PIL image, EXIF orientation applied; bad data raises InputError. With
    ``long_side``, decoded no larger than needed to resize it to that long side well (at least
    ``REDUCING_GAP`` times it); ``max_pixels``: the cap (default ``pixel_cap()``)."""
    return _decode_reduced(_open_header(data, uri, max_pixels), uri, long_side)


def _composite_on_white(rgba: np.ndarray) -> np.ndarray:
    """Flatten float RGBA onto a white background, as a viewer would show it."""
    alpha = rgba[..., 3:4]
    return rgba[..., :3] * alpha + (1.0 - alpha)


def _lab_to_rgb(img: Image.Image) -> Image.Image:
    """CIELAB image to sRGB via littleCMS."""
    from PIL import ImageCms

    transform = ImageCms.buildTransformFromOpenProfiles(
        ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB"), "LAB", "RGB"
    )
    return ImageCms.applyTransform(img, transform)


def to_rgb_array(img: Image.Image) -> np.ndarray:
    """HxWx3 float32 RGB in [0,1] from a PIL image of any mode (transparency over white)."""
    mode = img.mode
    if mode == "La":  # premultiplied; PIL converts it to RGBA only through LA
        img, mode = img.convert("LA"), "LA"
    if mode == "LAB":  # PIL's plain LAB->RGB convert reinterprets channels; go through a CMS
        img, mode = _lab_to_rgb(img), "RGB"
    if mode.startswith("I;16"):
        rgb = np.asarray(img).astype(np.float32) / 65535.0
        rgb = np.repeat(rgb[..., None], 3, axis=2)
    elif mode == "I":
        values = np.asarray(img).astype(np.float64)
        # PIL keeps 16-bit data in 'I' for some formats: values up to 65535 are 16-bit greys.
        scale = 65535.0 if values.size == 0 or values.max() <= 65535 else float(2**31 - 1)
        rgb = np.repeat((np.clip(values, 0, None) / scale)[..., None], 3, axis=2)
    elif mode == "F":
        values = np.nan_to_num(np.asarray(img).astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        peak = values.max() if values.size else 0.0
        # Float greys are [0,1]; PIL's own L->F conversion gives 0..255; else assume 16-bit.
        scale = 1.0 if peak <= 1.0 else 255.0 if peak <= 255.0 else 65535.0
        rgb = np.repeat((values / scale)[..., None], 3, axis=2)
    elif "A" in mode or "a" in mode or "transparency" in img.info:
        rgba = np.asarray(img.convert("RGBA")).astype(np.float32) / 255.0
        rgb = _composite_on_white(rgba)
    else:
        rgb = np.asarray(img.convert("RGB")).astype(np.float32) / 255.0
    return np.ascontiguousarray(np.clip(rgb, 0.0, 1.0), dtype=np.float32)


def _to_array(img: Image.Image, uri: str) -> np.ndarray:
    """HxWx3 float32 RGB of a decoded image; a mode PIL cannot convert is an input error."""
    try:
        return to_rgb_array(img)
    except Exception as exc:  # noqa: BLE001 - a mode PIL cannot convert
        raise InputError(uri, f"unsupported image mode {img.mode} ({exc})") from None


def decode_image(data: bytes, uri: str, long_side: int | None = None, max_pixels: int | None = None) -> np.ndarray:
    """Decode image bytes to HxWx3 float32 RGB in [0,1], upright per EXIF; with ``long_side``,
    at a reduced size still larger than that (see ``open_image``), for a resize to follow."""
    return _to_array(open_image(data, uri, long_side, max_pixels), uri)


@dataclass(frozen=True)
class DecodedPhoto:
    """A photo decoded for resizing: its pixels (possibly reduced), its own upright (H, W), and
    how many frames the file holds (only the first is used)."""

    image: np.ndarray
    shape: tuple[int, int]
    frames: int


def decode_photo(data: bytes, uri: str, long_side: int, max_pixels: int | None = None) -> DecodedPhoto:
    """Decode a photo once, at reduced size for a working size of ``long_side`` where its format
    allows, keeping its full-size shape and frame count from the header."""
    img = _open_header(data, uri, max_pixels)
    shape, frames = _upright_shape(img), int(getattr(img, "n_frames", 1) or 1)
    return DecodedPhoto(_to_array(_decode_reduced(img, uri, long_side), uri), shape, frames)


def decode_at_size(data: bytes, uri: str, long_side: int | None = None, max_pixels: int | None = None) -> np.ndarray:
    """Decode image bytes upright per EXIF, resized (bicubic) to ``long_side`` when that is smaller
    than the image: HxWx3 uint8 for 8-bit photos (a quarter of the float memory, for full-resolution
    work), float32 in [0,1] for other modes."""
    img = open_image(data, uri, long_side, max_pixels)
    if long_side is not None and long_side < max(img.size):
        height, width = long_side_shape((img.height, img.width), long_side)
        img = img.resize((width, height), Image.Resampling.BICUBIC, reducing_gap=3.0)
    if img.mode in ("RGB", "L", "P", "CMYK", "YCbCr") and "transparency" not in img.info:
        return np.asarray(img.convert("RGB"))
    return _to_array(img, uri)


def load_image(
    uri: str, storage_options: dict | None = None, long_side: int | None = None, max_pixels: int | None = None
) -> np.ndarray:
    """Read and decode the image at a local path or fsspec URL (see ``decode_image``)."""
    return decode_image(read_bytes(uri, storage_options), uri, long_side, max_pixels)


def _resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bicubic resize, antialiased when downscaling, clipped to [0,1]."""
    import torch
    import torch.nn.functional as F

    arr = np.asarray(image, dtype=np.float32)
    squeeze = arr.ndim == 2
    if squeeze:
        arr = arr[..., None]
    if arr.shape[:2] == (height, width):
        out = arr.copy()
    else:
        tensor = torch.from_numpy(np.ascontiguousarray(arr)).permute(2, 0, 1)[None]
        resized = F.interpolate(tensor, size=(height, width), mode="bicubic", align_corners=False, antialias=True)
        out = resized[0].permute(1, 2, 0).clamp_(0.0, 1.0).contiguous().numpy()
    return out[..., 0] if squeeze else out


def long_side_shape(shape: tuple[int, int], size: int) -> tuple[int, int]:
    """(H, W) with the long side equal to ``size`` and the aspect ratio kept."""
    if size < 1:
        raise ValueError(f"size must be at least 1, got {size}")
    height, width = shape
    long_side = max(height, width)

    def scaled(n: int) -> int:
        return max(1, int(np.floor(n * size / long_side + 0.5)))

    return (size, scaled(width)) if height >= width else (scaled(height), size)


def min_long_side(shape: tuple[int, int]) -> int:
    """The smallest long side at which an image of ``shape`` keeps its short side at ``MIN_SIDE`` px
    or more (as ``long_side_shape`` rounds): the smallest size VGG-19 may read it at. A panorama or
    a strip needs more than a square photo; reducing it below this breaks the network's pooling."""
    long_side, short_side = max(shape), max(1, min(shape))
    side = max(MIN_SIDE, int(np.ceil((MIN_SIDE - 0.5) * long_side / short_side)))
    while min(long_side_shape(shape, side)) < MIN_SIDE:
        side += 1
    return side


def check_short_side(shape: tuple[int, int], size: int, uri: str) -> None:
    """Refuse a photo of ``shape`` whose short side, at a long side of ``size``, is too small for
    the network, and say what working size would do."""
    h, w = long_side_shape(shape, size)
    if min(h, w) < MIN_SIDE:
        raise InputError(
            uri,
            f"too small at size {size}: {w}x{h}, the short side needs at least {MIN_SIDE} px"
            f" (a working size of at least {min_long_side(shape)} px would give it)",
        )


def resize_long_side(image: np.ndarray, size: int) -> np.ndarray:
    """Resize so the long side is ``size`` px, keeping the aspect ratio (float32 out)."""
    height, width = long_side_shape(image.shape[:2], size)
    return _resize(image, height, width)


def shrink_long_side(image: np.ndarray, size: int) -> np.ndarray:
    """The image with its long side shrunk to ``size`` px where it is longer; never enlarged."""
    return resize_long_side(image, size) if max(image.shape[:2]) > size else image


def resize_to(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resize to exactly (H, W) (float32 out)."""
    height, width = shape
    if height < 1 or width < 1:
        raise ValueError(f"target shape must be positive, got {shape}")
    return _resize(image, int(height), int(width))


def encode_image(image: np.ndarray, fmt: str = "png", quality: int = 95, png_level: int = 6) -> bytes:
    """Encode float [0,1] (or uint8) HxWx3 (or HxW) as 8-bit png/jpeg/webp/tiff; same input, same
    bytes. ``png_level``: zlib level of PNG (1 is several times faster on large images)."""
    image = np.asarray(image)
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
        raise ValueError(f"expected an HxWx3 or HxW image, got shape {image.shape}")
    if image.dtype == np.uint8:
        arr8 = np.ascontiguousarray(image)
    else:
        arr = np.asarray(image, dtype=np.float32)
        arr8 = np.clip(np.rint(np.nan_to_num(arr, nan=0.0) * 255.0), 0, 255).astype(np.uint8)
    return encode_pil(Image.fromarray(arr8), fmt, quality, png_level)


def is_flat(image: np.ndarray) -> bool:
    """Whether an image (float in [0,1] or uint8) is one colour once encoded at 8 bits: no
    variation at all, what a stalled or diverged optimisation leaves."""
    pixels = np.asarray(image).reshape(-1, image.shape[-1] if image.ndim == 3 else 1)
    if pixels.dtype != np.uint8:
        pixels = np.clip(np.rint(np.nan_to_num(pixels.astype(np.float32), nan=0.0) * 255.0), 0, 255)
    return bool((pixels.min(axis=0) == pixels.max(axis=0)).all())


def transcode_image(data: bytes, fmt: str, quality: int = 95) -> bytes:
    """An 8-bit image file re-encoded in ``fmt`` (the bytes as they are when already PNG and PNG
    is asked for), without going through floats: what publishing a large result needs."""
    if _PIL_FORMATS.get(fmt.lower()) == "PNG" and data.startswith(b"\x89PNG"):
        return data
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        return encode_pil(img, fmt, quality)


def encode_pil(img: Image.Image, fmt: str, quality: int = 95, png_level: int = 6) -> bytes:
    """A PIL image encoded as ``fmt`` with the project's options (JPEG at full chroma when
    ``quality`` is 90 or more, TIFF deflated)."""
    pil_format = _PIL_FORMATS.get(fmt.lower())
    if pil_format is None:
        raise ValueError(f"unsupported image format {fmt!r}")
    options: dict = {}
    if pil_format == "JPEG":
        # Full-resolution chroma at high quality: colour is what style transfer changes.
        options = {"quality": quality, "subsampling": 0 if quality >= 90 else 2}
    elif pil_format == "WEBP":
        options = {"quality": quality}
    elif pil_format == "TIFF":
        options = {"compression": "tiff_deflate"}
    elif png_level != 6:
        options = {"compress_level": png_level}
    buf = io.BytesIO()
    img.save(buf, format=pil_format, **options)
    return buf.getvalue()


def format_for(uri: str) -> str:
    """Output format from the file extension: jpeg, png, webp or tiff."""
    ext = posixpath.splitext(uri.rstrip("/"))[1].lower()
    try:
        return _FORMATS[ext]
    except KeyError:
        raise InputError(
            uri, f"unsupported output format {ext or '(no extension)'!r} (use .png, .jpg, .jpeg, .webp, .tif or .tiff)"
        ) from None


def _current_umask() -> int:
    """The process umask (read once at import: os.umask can only be read by setting it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def _write_local_atomic(path: str, data: bytes) -> None:
    """Temp file in the same directory, fsync, then os.replace: readers see old or new, never half."""
    parent = os.path.dirname(path) or "."
    os.makedirs(parent, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{os.path.basename(path)}.{TEMP_MARKER}", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _protocols(fs: fsspec.AbstractFileSystem) -> set[str]:
    """The names a filesystem answers to (``s3``, ``s3a``; ``file``, ``local``)."""
    return {fs.protocol} if isinstance(fs.protocol, str) else set(fs.protocol)


def write_bytes_atomic(uri: str, data: bytes, storage_options: dict | None = None) -> None:
    """Write bytes to a local path or fsspec URL without ever exposing a partial file."""
    fs, path = url_to_fs(uri, storage_options)
    if isinstance(fs, LocalFileSystem):
        _write_local_atomic(path, data)
        return
    if _protocols(fs) & ATOMIC_PUT_PROTOCOLS:
        fs.pipe_file(path, data)
        return
    parent, name = posixpath.split(path)
    if parent:
        fs.makedirs(parent, exist_ok=True)
    tmp = posixpath.join(parent, f".{name}.{TEMP_MARKER}{uuid.uuid4().hex[:12]}.tmp")
    try:
        fs.pipe_file(tmp, data)
        fs.mv(tmp, path)
    except BaseException:
        try:
            if fs.exists(tmp):
                fs.rm(tmp)
        except Exception:  # noqa: BLE001 - best-effort cleanup; keep the original error
            pass
        raise


def _is_temp_name(name: str) -> bool:
    """Whether a file name is one ``write_bytes_atomic`` gives its temporary files (and no other:
    a sweep deletes what this accepts, in folders that may hold the user's own files)."""
    return _TEMP_NAME.fullmatch(name) is not None


def absolute_uri(uri: str, storage_options: dict | None = None) -> str:
    """A local path made absolute (so locations compare as strings); other URLs as given."""
    fs, path = url_to_fs(uri, storage_options)
    return path if isinstance(fs, LocalFileSystem) else uri.rstrip("/")


def sweep_temp_files(uri: str, storage_options: dict | None = None, keep: list[str] | None = None) -> list[str]:
    """Delete temporary files a killed writer left under ``uri`` (never under a ``keep``
    location, such as an input folder inside it); return their paths. Only names with the
    project's marker count (``.<name>.photostyle-<random>.tmp``): other files are the user's. Object stores with atomic
    puts never have any. A writer still running (another batch into the same output) loses its
    temp file, fails its rename with OSError and is retried."""
    fs, root = url_to_fs(uri, storage_options)
    if _protocols(fs) & ATOMIC_PUT_PROTOCOLS or not fs.isdir(root):
        return []
    kept = [url_to_fs(k, storage_options)[1].rstrip("/") + "/" for k in keep or []]
    stale = [
        path
        for path in fs.find(root)
        if _is_temp_name(posixpath.basename(path)) and not any(path.startswith(k) for k in kept)
    ]
    for path in stale:
        with contextlib.suppress(FileNotFoundError):
            fs.rm_file(path)
    return stale


def same_location(a: str, b: str, storage_options: dict | None = None) -> bool:
    """Whether two URIs name the same file (local paths compared after resolving links)."""
    fs_a, path_a = url_to_fs(a, storage_options)
    fs_b, path_b = url_to_fs(b, storage_options)
    if fs_a.protocol != fs_b.protocol:
        return False
    if "file" in _protocols(fs_a):
        return os.path.realpath(path_a) == os.path.realpath(path_b)
    return path_a.rstrip("/") == path_b.rstrip("/")


def check_not_an_input(output: str, inputs: list[str | None], storage_options: dict | None = None) -> None:
    """Refuse an output location that is one of the inputs: inputs are never overwritten."""
    for uri in inputs:
        if uri and same_location(output, uri, storage_options):
            raise InputError(output, f"output would overwrite the input {uri}")


def save_image(image: np.ndarray, uri: str, storage_options: dict | None = None, quality: int = 95) -> None:
    """Encode by the URI's extension and write atomically."""
    write_bytes_atomic(uri, encode_image(image, format_for(uri), quality), storage_options)
