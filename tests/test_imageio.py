"""Image I/O: decoding of every PIL mode, EXIF orientation, errors, fsspec reads/writes, resizing."""

from __future__ import annotations

import io
import os
import pickle
import posixpath
import struct
import uuid
import zlib

import fsspec
import numpy as np
import pytest
from fsspec.implementations.memory import MemoryFileSystem
from PIL import Image

from photostyle.core import imageio
from photostyle.core.errors import InputError, PhotostyleError
from photostyle.core.imageio import (
    MIN_SIDE,
    decode_image,
    encode_image,
    format_for,
    load_image,
    long_side_shape,
    min_long_side,
    read_bytes,
    resize_long_side,
    resize_to,
    save_image,
    shrink_long_side,
    sweep_temp_files,
    to_rgb_array,
    write_bytes_atomic,
)


def _encode(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def _png16(arr: np.ndarray, colour_type: int) -> bytes:
    """A 16-bit PNG written by hand (PIL cannot write 16-bit RGB)."""
    height, width = arr.shape[:2]
    raw = b"".join(b"\x00" + arr[y].astype(">u2").tobytes() for y in range(height))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def _memory_uri(name: str) -> str:
    return f"memory://test-{uuid.uuid4().hex[:8]}/{name}"


# --- errors -------------------------------------------------------------------------------


def test_input_error_message_and_types():
    err = InputError("s3://b/x.png", "file not found")
    assert str(err) == "s3://b/x.png: file not found"
    assert (err.uri, err.problem) == ("s3://b/x.png", "file not found")
    assert isinstance(err, PhotostyleError) and isinstance(err, ValueError)
    again = pickle.loads(pickle.dumps(err))
    assert str(again) == str(err) and again.uri == err.uri


# --- decoding every mode ----------------------------------------------------------------


def test_rgb_png_exact():
    arr = np.array([[[255, 0, 0], [0, 128, 255]]], dtype=np.uint8)
    out = decode_image(_encode(Image.fromarray(arr)), "a.png")
    assert out.dtype == np.float32 and out.shape == (1, 2, 3)
    np.testing.assert_allclose(out, arr / 255.0, atol=1e-7)


@pytest.mark.parametrize(
    "mode,value,expected",
    [
        ("L", 128, 128 / 255),
        ("1", 1, 1.0),
        ("1", 0, 0.0),
    ],
)
def test_greyscale_png(mode, value, expected):
    img = Image.new(mode, (3, 2), value)
    out = decode_image(_encode(img), "g.png")
    assert out.shape == (2, 3, 3)
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_palette_png():
    img = Image.new("P", (2, 1))
    img.putpalette([10, 20, 30, 200, 100, 0] + [0] * 762)
    img.putpixel((1, 0), 1)
    out = decode_image(_encode(img), "p.png")
    np.testing.assert_allclose(out[0, 0], np.array([10, 20, 30]) / 255, atol=1e-6)
    np.testing.assert_allclose(out[0, 1], np.array([200, 100, 0]) / 255, atol=1e-6)


def test_palette_with_transparency_over_white():
    img = Image.new("P", (2, 1))
    img.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    img.putpixel((1, 0), 1)
    data = _encode(img, transparency=0)
    assert Image.open(io.BytesIO(data)).mode == "P"
    out = decode_image(data, "pt.png")
    np.testing.assert_allclose(out[0, 0], [1, 1, 1], atol=1e-6)  # transparent red -> white
    np.testing.assert_allclose(out[0, 1], [0, 0, 1], atol=1e-6)


def test_rgba_composited_over_white():
    arr = np.array([[[255, 0, 0, 0], [255, 0, 0, 255], [0, 0, 0, 128]]], dtype=np.uint8)
    out = decode_image(_encode(Image.fromarray(arr, "RGBA")), "t.png")
    np.testing.assert_allclose(out[0, 0], [1, 1, 1], atol=1e-6)
    np.testing.assert_allclose(out[0, 1], [1, 0, 0], atol=1e-6)
    np.testing.assert_allclose(out[0, 2], 1 - 128 / 255, atol=1e-6)


def test_la_png_over_white():
    arr = np.array([[[0, 0], [0, 255]]], dtype=np.uint8)
    out = decode_image(_encode(Image.fromarray(arr, "LA")), "la.png")
    np.testing.assert_allclose(out[0, 0], 1.0, atol=1e-6)
    np.testing.assert_allclose(out[0, 1], 0.0, atol=1e-6)


def test_16bit_greyscale_png_scaled_not_clipped():
    img = Image.fromarray(np.array([[65535, 32768, 0, 255]], dtype=np.uint16))
    data = _encode(img)
    assert Image.open(io.BytesIO(data)).mode.startswith("I;16")
    out = decode_image(data, "g16.png")
    np.testing.assert_allclose(out[0, :, 0], [1.0, 32768 / 65535, 0.0, 255 / 65535], atol=1e-6)
    assert abs(out[0, 1, 0] - 0.5) < 1e-4


def test_16bit_greyscale_png_written_by_hand():
    out = decode_image(_png16(np.array([[65535, 32768]], dtype=np.uint16), 0), "h16.png")
    np.testing.assert_allclose(out[0, :, 1], [1.0, 32768 / 65535], atol=1e-6)


def test_16bit_rgb_png():
    arr = np.array([[[65535, 32768, 0], [0, 0, 65535]]], dtype=np.uint16)
    out = decode_image(_png16(arr, 2), "rgb16.png")
    np.testing.assert_allclose(out, arr / 65535.0, atol=1 / 255)


def test_16bit_big_endian_tiff():
    img = Image.new("I;16B", (2, 1))
    img.putpixel((0, 0), 65535)
    img.putpixel((1, 0), 32768)
    data = _encode(img, "TIFF")
    assert Image.open(io.BytesIO(data)).mode == "I;16B"
    out = decode_image(data, "g16.tif")
    np.testing.assert_allclose(out[0, :, 2], [1.0, 32768 / 65535], atol=1e-6)


def test_32bit_int_tiff():
    img = Image.new("I", (2, 1))
    img.putpixel((0, 0), 65535)
    img.putpixel((1, 0), 32768)
    out = decode_image(_encode(img, "TIFF"), "i.tif")
    np.testing.assert_allclose(out[0, :, 0], [1.0, 32768 / 65535], atol=1e-6)


def test_float_tiff():
    img = Image.fromarray(np.array([[0.0, 0.25, 1.0]], dtype=np.float32), "F")
    out = decode_image(_encode(img, "TIFF"), "f.tif")
    np.testing.assert_allclose(out[0, :, 0], [0.0, 0.25, 1.0], atol=1e-6)


@pytest.mark.parametrize("fmt", ["JPEG", "TIFF"])
def test_cmyk_pure_cyan(fmt):
    data = _encode(Image.new("CMYK", (8, 8), (255, 0, 0, 0)), fmt)
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    out = decode_image(data, "c." + fmt.lower())
    np.testing.assert_allclose(out[4, 4], [0, 1, 1], atol=0.03)


def test_ycbcr_tiff():
    rgb = Image.new("RGB", (4, 4), (200, 40, 90))
    data = _encode(rgb.convert("YCbCr"), "TIFF")
    assert Image.open(io.BytesIO(data)).mode == "YCbCr"
    out = decode_image(data, "y.tif")
    np.testing.assert_allclose(out[0, 0], np.array([200, 40, 90]) / 255, atol=0.02)


@pytest.mark.parametrize(
    "mode,fill,expected",
    [
        ("PA", (0, 0), [1, 1, 1]),
        ("RGBa", (0, 0, 0, 0), [1, 1, 1]),
        ("La", (0, 0), [1, 1, 1]),
        ("RGBX", (10, 20, 30, 0), [10 / 255, 20 / 255, 30 / 255]),
        ("LAB", (137, 208, 195), [1, 0, 0]),  # CIELAB red (L=54, a=80, b=67)
    ],
)
def test_in_memory_modes(mode, fill, expected):
    out = to_rgb_array(Image.new(mode, (2, 2), fill))
    assert out.shape == (2, 2, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out[0, 0], expected, atol=0.05)


def test_exif_orientation_applied():
    arr = np.zeros((20, 40, 3), dtype=np.uint8)  # stored landscape: 40 wide, 20 high
    arr[:5, :5] = 255  # white marker in the stored top-left corner
    img = Image.fromarray(arr)
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    data = _encode(img, "JPEG", exif=exif, quality=95)
    out = decode_image(data, "rot.jpg")
    assert out.shape == (40, 20, 3)
    assert out[1, 18].mean() > 0.9  # stored top-left -> displayed top-right
    assert out[1, 1].mean() < 0.1 and out[38, 18].mean() < 0.1


# --- errors while reading -----------------------------------------------------------------


def test_missing_file(tmp_path):
    uri = str(tmp_path / "nope.png")
    with pytest.raises(InputError) as info:
        load_image(uri)
    assert str(info.value) == f"{uri}: file not found"


def test_missing_memory_file():
    uri = _memory_uri("nope.png")
    with pytest.raises(InputError, match="file not found") as info:
        read_bytes(uri)
    assert str(info.value).startswith(uri)


def test_directory_is_clear_error(tmp_path):
    with pytest.raises(InputError, match="is a directory") as info:
        read_bytes(str(tmp_path))
    assert str(info.value).startswith(str(tmp_path))


@pytest.mark.parametrize(
    "data,problem",
    [
        (b"", "not an image"),
        (b"hello, this is text", "not an image"),
    ],
)
def test_not_an_image(data, problem):
    with pytest.raises(InputError) as info:
        decode_image(data, "x/notes.png")
    assert str(info.value).startswith("x/notes.png: " + problem)


def _photo_like(size: int = 64) -> Image.Image:
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8))


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_image(fmt):
    data = _encode(_photo_like(), fmt)
    uri = f"in/cut.{fmt.lower()}"
    with pytest.raises(InputError) as info:
        decode_image(data[: len(data) // 2], uri)
    assert str(info.value).startswith(f"{uri}: truncated or corrupt image")


def test_truncated_header_is_corrupt_not_unknown():
    data = _encode(_photo_like(), "PNG")[:20]
    with pytest.raises(InputError, match="truncated or corrupt"):
        decode_image(data, "h.png")


def test_too_large_and_loading_untouched(monkeypatch):
    monkeypatch.setattr(imageio, "MAX_PIXELS", 100)
    with pytest.raises(InputError, match="too large"):
        decode_image(_encode(Image.new("RGB", (11, 10))), "big.png")
    from PIL import ImageFile

    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def _png_cut_short(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` 8-bit palette pixels, with a palette and
    the first few rows of data: PIL opens it (lazily) and fails only when decoding."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (width + 1) * 4)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"PLTE", b"\x00" * 768) + chunk(b"IDAT", rows)


def test_pils_own_decompression_bomb_warning_never_shows(recwarn, monkeypatch):
    monkeypatch.setattr(imageio, "MAX_PIXELS", 90_000_000)
    monkeypatch.setattr(imageio, "physical_memory", lambda: None)
    data = _png_cut_short(9500, 9500)  # 90.25 MP: over PIL's warning threshold (89.5 MP) and our cap
    with pytest.raises(InputError, match=r"big.png: image too large \(9500x9500, over 90 megapixels\)"):
        decode_image(data, "big.png")
    assert not [w for w in recwarn if issubclass(w.category, Image.DecompressionBombWarning)]


def test_the_pixel_cap_fits_the_machine_and_can_be_set(monkeypatch):
    assert imageio.pixel_cap(2.5) == 2_500_000
    monkeypatch.setattr(imageio, "physical_memory", lambda: 4 * 2**30)
    assert imageio.pixel_cap() == int(4 * 2**30 * imageio.MEMORY_SHARE / imageio.BYTES_PER_PIXEL) < 100_000_000
    monkeypatch.setattr(imageio, "physical_memory", lambda: 64 * 2**30)
    assert imageio.pixel_cap() == imageio.MAX_PIXELS
    with pytest.raises(InputError, match=r"s.png: image too large \(11x10, over 0.0001 megapixels\)"):
        decode_image(_encode(Image.new("RGB", (11, 10))), "s.png", max_pixels=imageio.pixel_cap(1e-4))


def test_a_large_jpeg_is_decoded_at_reduced_size_with_its_own_shape_kept():
    rng = np.random.default_rng(3)
    small = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    img = Image.fromarray(small).resize((4000, 3000), Image.Resampling.BICUBIC)
    exif = img.getexif()
    exif[0x0112] = 6  # displayed portrait: 3000 wide, 4000 high
    data = _encode(img, "JPEG", exif=exif, quality=90)
    photo = imageio.decode_photo(data, "big.jpg", 256)
    assert photo.shape == (4000, 3000) and photo.frames == 1
    assert 2 * 256 <= max(photo.image.shape[:2]) < 4 * 256  # JPEG draft: decoded at a quarter
    assert photo.image.shape[0] > photo.image.shape[1]  # upright
    reduced = resize_long_side(photo.image, 256)
    full = resize_long_side(decode_image(data, "big.jpg"), 256)
    assert reduced.shape == full.shape and np.abs(reduced - full).mean() < 0.01


def test_a_palette_png_is_reduced_before_it_is_widened():
    arr = np.random.default_rng(4).integers(0, 4, (600, 900), dtype=np.uint8)
    img = Image.fromarray(arr, "P")
    img.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * 756)
    photo = imageio.decode_photo(_encode(img), "p.png", 100)
    assert photo.shape == (600, 900) and photo.image.shape == (150, 225, 3)  # reduced by 4, not 9
    full = decode_image(_encode(img), "p.png")
    np.testing.assert_allclose(resize_long_side(photo.image, 100), resize_long_side(full, 100), atol=0.06)


@pytest.mark.parametrize("mode", ["I;16", "1"])
def test_16_bit_and_bilevel_images_are_reduced_too(mode):
    if mode == "1":
        img = Image.new("1", (400, 300))
        img.paste(1, (0, 0, 200, 300))
    else:
        img = Image.fromarray((np.arange(400 * 300).reshape(300, 400) % 65536).astype(np.uint16))
    data = _encode(img)
    reduced = decode_image(data, "m.png", long_side=50)
    assert reduced.shape == (75, 100, 3)
    assert abs(reduced.mean() - decode_image(data, "m.png").mean()) < 1e-3


def test_an_animated_image_reports_its_frames():
    frames = [Image.new("RGB", (32, 32), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    buf = io.BytesIO()
    frames[0].save(buf, "PNG", save_all=True, append_images=frames[1:])
    photo = imageio.decode_photo(buf.getvalue(), "anim.png", 16)
    assert photo.frames == 3
    np.testing.assert_allclose(photo.image[0, 0], [1, 0, 0])  # the first frame


_PREPARE_PEAK = """
import resource, sys, warnings
warnings.simplefilter("default")
from photostyle.core.artifacts import ArtifactStore
from photostyle.tasks.prepare import prepare_image
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
ref = prepare_image.fn(sys.argv[1], 64, ArtifactStore(sys.argv[2]))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(ref.meta["original_shape"], ref.meta["shape"], (peak - before) // 1024)
"""


def test_a_100_megapixel_palette_png_is_prepared_in_little_memory_and_without_warnings(tmp_path):
    """The photo of the report: a 12 KB palette PNG of 10000x9999 pixels took 3.4 GB."""
    import subprocess
    import sys

    img = Image.new("P", (10000, 9999))
    img.putpalette([i % 256 for i in range(768)])
    img.paste(7, (0, 0, 5000, 5000))
    img.save(tmp_path / "big.png")
    del img
    done = subprocess.run(
        [sys.executable, "-c", _PREPARE_PEAK, str(tmp_path / "big.png"), str(tmp_path / "a")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    megabytes = int(done.stdout.split()[-1])
    assert done.stdout.startswith("[9999, 10000] [64, 64]")
    assert megabytes < 800, done.stdout  # the palette image (100 MB) and its RGB copy (300 MB) at most
    assert "DecompressionBomb" not in done.stderr and "Warning" not in done.stderr, done.stderr


# --- fsspec reads and writes ----------------------------------------------------------------


def test_memory_roundtrip():
    uri = _memory_uri("dir/out.png")
    img = np.random.default_rng(1).integers(0, 256, (5, 7, 3)).astype(np.float32) / 255
    save_image(img, uri)
    np.testing.assert_allclose(load_image(uri), img, atol=1e-6)


def test_memory_write_leaves_no_temp_and_overwrites():
    uri = _memory_uri("a/b/c.bin")
    write_bytes_atomic(uri, b"one")
    write_bytes_atomic(uri, b"two")
    fs, path = fsspec.core.url_to_fs(uri)
    assert read_bytes(uri) == b"two"
    assert fs.ls(os.path.dirname(path), detail=False) == [path]


def test_local_write_atomic(tmp_path):
    target = tmp_path / "deep" / "er" / "x.png"
    save_image(np.full((4, 6, 3), 0.5, np.float32), str(target))
    save_image(np.zeros((4, 6, 3), np.float32), str(target))
    assert os.listdir(target.parent) == ["x.png"]
    assert load_image(str(target)).max() == 0.0
    assert (target.stat().st_mode & 0o777) != 0o600  # not mkstemp's private mode


def test_local_write_failure_keeps_old_file(tmp_path, monkeypatch):
    target = tmp_path / "x.bin"
    target.write_bytes(b"old")

    def boom(src, dst):
        raise OSError("disk on fire")

    monkeypatch.setattr(imageio.os, "replace", boom)
    with pytest.raises(OSError, match="disk on fire"):
        write_bytes_atomic(str(target), b"new")
    assert os.listdir(tmp_path) == ["x.bin"] and target.read_bytes() == b"old"


def _killed_write(uri: str, monkeypatch) -> None:
    """A write killed between writing its temporary file and renaming it (nothing cleans up)."""

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(imageio.os, "replace", killed)
    monkeypatch.setattr(imageio.os, "unlink", lambda path: None)
    monkeypatch.setattr(MemoryFileSystem, "mv", killed)
    monkeypatch.setattr(MemoryFileSystem, "rm", lambda self, path, **kwargs: None)
    with pytest.raises(KeyboardInterrupt):
        write_bytes_atomic(uri, b"half a result")
    monkeypatch.undo()


USERS_TMP_FILES = (".draft.v2.tmp", "keep/.my.notes.tmp", ".a.png.abc123.tmp", "keep/.x.photostyle-notes.tmp")


def test_sweep_removes_the_temporary_files_of_killed_writes_and_no_others(tmp_path, monkeypatch):
    out = tmp_path / "out"
    for name in USERS_TMP_FILES:
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(b"the user's")
    _killed_write(str(out / "keep" / "a.png"), monkeypatch)
    ours = [str(p) for p in (out / "keep").iterdir() if p.name.startswith(".a.png.")]
    assert len(ours) == 1 and ".photostyle-" in ours[0]
    assert sweep_temp_files(str(out)) == ours
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == sorted(USERS_TMP_FILES)
    assert all((out / name).read_bytes() == b"the user's" for name in USERS_TMP_FILES)


def test_sweep_on_a_store_without_atomic_puts_keeps_other_tmp_files(monkeypatch):
    uri = _memory_uri("out")
    fs, root = fsspec.core.url_to_fs(uri)
    for name in USERS_TMP_FILES:
        fs.pipe_file(f"{root}/{name}", b"the user's")
    _killed_write(f"{uri}/a.png", monkeypatch)
    ours = [p for p in fs.find(root) if posixpath.basename(p).startswith(".a.png.photostyle-")]
    assert len(ours) == 1
    assert sweep_temp_files(uri) == ours
    assert sorted(p.removeprefix(root + "/") for p in fs.find(root)) == sorted(USERS_TMP_FILES)


class _FakeS3(MemoryFileSystem):
    protocol = ("s3", "s3a")
    calls: list = []

    def pipe_file(self, path, value, **kwargs):
        self.calls.append(("pipe", path))
        return super().pipe_file(path, value, **kwargs)

    def mv(self, *args, **kwargs):  # a put to an object store is atomic: no rename needed
        raise AssertionError("mv must not be used for object stores")


def test_object_store_single_put(monkeypatch):
    fs = _FakeS3()
    monkeypatch.setattr(imageio, "url_to_fs", lambda uri, so: (fs, "/bucket/k/out.bin"))
    write_bytes_atomic("s3://bucket/k/out.bin", b"data")
    assert fs.calls == [("pipe", "/bucket/k/out.bin")]
    assert fs.cat_file("/bucket/k/out.bin") == b"data"


# --- encoding and formats ------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["png", "jpeg", "jpg", "webp", "tiff"])
def test_encode_deterministic_and_decodable(fmt):
    img = np.random.default_rng(2).random((9, 11, 3)).astype(np.float32)
    first, second = encode_image(img, fmt), encode_image(img.copy(), fmt)
    assert first == second
    out = decode_image(first, f"x.{fmt}")
    assert out.shape == (9, 11, 3)
    if fmt in ("png", "tiff"):
        np.testing.assert_allclose(out, np.round(img * 255) / 255, atol=1e-6)


def test_encode_png_has_no_timestamp_and_clips():
    data = encode_image(np.array([[[-0.5, 0.5, 2.0]]], np.float32), "png")
    assert b"tIME" not in data
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(data))), [[[0, 128, 255]]])


@pytest.mark.parametrize(
    "uri,fmt",
    [
        ("a/b.JPG", "jpeg"),
        ("x.jpeg", "jpeg"),
        ("s3://b/p.PNG", "png"),
        ("c.webp", "webp"),
        ("d.tif", "tiff"),
        ("e.TIFF", "tiff"),
    ],
)
def test_format_for(uri, fmt):
    assert format_for(uri) == fmt


@pytest.mark.parametrize("uri", ["out.gif", "out", "dir.png/noext"])
def test_format_for_unsupported(uri):
    with pytest.raises(InputError, match="unsupported output format") as info:
        format_for(uri)
    assert str(info.value).startswith(uri + ": ")


# --- resizing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape,size,expected",
    [
        ((200, 300), 96, (64, 96)),  # landscape 300x200
        ((300, 200), 96, (96, 64)),  # portrait
        ((50, 50), 20, (20, 20)),
        ((10, 1000), 100, (1, 100)),  # short side at least 1
        ((30, 45), 90, (60, 90)),  # upscaling
    ],
)
def test_resize_long_side_shapes(shape, size, expected):
    img = np.random.default_rng(3).random(shape + (3,)).astype(np.float32)
    out = resize_long_side(img, size)
    assert out.shape == expected + (3,) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0


@pytest.mark.parametrize("shape", [(16, 16), (100, 150), (18, 400), (40, 900), (900, 40), (3, 700)])
def test_min_long_side_is_the_smallest_size_that_keeps_the_short_side_for_the_network(shape):
    side = min_long_side(shape)
    assert min(long_side_shape(shape, side)) >= MIN_SIDE
    assert side == MIN_SIDE or min(long_side_shape(shape, side - 1)) < MIN_SIDE


def test_resize_same_size_is_copy():
    img = np.random.default_rng(4).random((8, 12, 3)).astype(np.float32)
    out = resize_long_side(img, 12)
    assert out is not img and np.array_equal(out, img)


def test_resize_preserves_constant_and_antialiases():
    np.testing.assert_allclose(resize_to(np.full((40, 60, 3), 0.3, np.float32), (7, 9)), 0.3, atol=1e-5)
    checker = (np.indices((64, 64)).sum(0) % 2).astype(np.float32)
    small = resize_to(np.repeat(checker[..., None], 3, axis=2), (8, 8))
    np.testing.assert_allclose(small, 0.5, atol=0.02)  # a 1-px checkerboard averages to grey


def test_resize_to_shape():
    assert resize_to(np.zeros((10, 20, 3), np.float32), (5, 7)).shape == (5, 7, 3)


def test_shrink_long_side_shrinks_only():
    rng = np.random.default_rng(0)
    large = rng.random((60, 90, 3)).astype(np.float32)
    small = rng.random((20, 30, 3)).astype(np.float32)
    assert shrink_long_side(large, 45).shape == (30, 45, 3)
    assert shrink_long_side(small, 45) is small
