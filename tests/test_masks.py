"""Region masks: nearest-palette decoding of anti-aliased colour masks, label PNGs, fitting."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from photostyle.core.errors import InputError
from photostyle.core.masks import (
    PALETTE,
    PALETTE_NAMES,
    LabelMap,
    decode_mask,
    fit_mask,
    load_mask,
    palette_labels,
)

COLOURS = dict(PALETTE)


def _png(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG", **kw)
    return buf.getvalue()


def test_palette_order():
    assert PALETTE_NAMES == ("blue", "green", "black", "white", "red", "yellow", "grey", "lightblue", "purple")
    assert COLOURS["lightblue"] == (0, 255, 255) and COLOURS["grey"] == (128, 128, 128)


def _antialiased_mask(names: list[str], resample: int, size=(64, 48), scale: int = 4):
    """A mask drawn at ``scale``x and downsampled (blending colours at edges), with true areas."""
    width, height = size[0] * scale, size[1] * scale
    hi = Image.new("RGB", (width, height), COLOURS[names[0]])
    draw = ImageDraw.Draw(hi)
    draw.polygon([(width * 0.45, 0), (width, 0), (width, height), (width * 0.6, height)], fill=COLOURS[names[1]])
    if len(names) > 2:
        draw.ellipse([width * 0.1, height * 0.2, width * 0.4, height * 0.7], fill=COLOURS[names[2]])
    hi_arr = np.asarray(hi).reshape(-1, 3)
    true_area = {n: (hi_arr == COLOURS[n]).all(1).sum() / scale**2 for n in names}
    return np.asarray(hi.resize(size, resample)), true_area


@pytest.mark.parametrize(
    "names",
    [
        ["black", "white"],  # midway is grey
        ["blue", "green"],  # midway is nearest lightblue
        ["red", "blue", "green"],  # midway red/blue is nearest grey or purple
        ["white", "yellow", "black"],
    ],
)
@pytest.mark.parametrize("resample", [Image.Resampling.LANCZOS, Image.Resampling.BILINEAR])
def test_antialiased_mask_maps_to_drawn_colours(names, resample):
    rgb, true_area = _antialiased_mask(names, resample)
    flat = rgb.reshape(-1, 3)
    exact = np.zeros(len(flat), bool)
    for n in names:
        exact |= (flat == COLOURS[n]).all(1)
    assert (~exact).sum() > 20  # the edges really hold in-between colours
    mask = palette_labels(rgb)
    assert mask.labels.dtype == np.int32 and mask.labels.shape == rgb.shape[:2]
    assert mask.names == [n for n in PALETTE_NAMES if n in names]  # palette order, nothing else
    counts = np.bincount(mask.labels.ravel(), minlength=len(mask.names))
    total = rgb.shape[0] * rgb.shape[1]
    for k, name in enumerate(mask.names):
        assert abs(counts[k] - true_area[name]) <= 0.03 * total, (name, counts[k], true_area[name])


def test_flat_mask_exact_and_renumbered():
    rgb = np.zeros((10, 10, 3), np.uint8)
    rgb[:, 5:] = COLOURS["yellow"]  # black left, yellow right
    mask = palette_labels(rgb)
    assert mask.names == ["black", "yellow"]
    assert (mask.labels[:, :5] == 0).all() and (mask.labels[:, 5:] == 1).all()


def test_tiny_mask_falls_back_to_plain_nearest():
    rgb = np.array([[[250, 5, 3], [120, 130, 125]]], np.uint8)
    mask = palette_labels(rgb)
    assert mask.names == ["red", "grey"]
    assert mask.labels.tolist() == [[0, 1]]


def test_decode_rgba_ignores_alpha():
    arr = np.zeros((8, 8, 4), np.uint8)
    arr[..., :3] = COLOURS["green"]
    arr[4:, :, :3] = COLOURS["purple"]
    arr[..., 3] = 0  # fully transparent: colours still count
    mask = decode_mask(_png(Image.fromarray(arr, "RGBA")), "m.png")
    assert mask.names == ["green", "purple"]
    assert (mask.labels[:4] == 0).all() and (mask.labels[4:] == 1).all()


def test_decode_l_label_png():
    values = np.array([[0, 3, 3], [7, 0, 7]], np.uint8)
    mask = decode_mask(_png(Image.fromarray(values, "L")), "lab.png")
    assert mask.names == ["label_0", "label_3", "label_7"]
    assert mask.labels.tolist() == [[0, 1, 1], [2, 0, 2]]


def test_decode_16bit_label_png():
    values = np.array([[1000, 5], [5, 40000]], np.uint16)
    mask = decode_mask(_png(Image.fromarray(values)), "lab16.png")
    assert mask.names == ["label_5", "label_1000", "label_40000"]
    assert mask.labels.tolist() == [[1, 0], [0, 2]]


def _voc_palette() -> list[int]:
    """PASCAL VOC's colour map (index i -> bit-interleaved colour)."""
    palette = []
    for i in range(256):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        palette += [r, g, b]
    return palette


def test_decode_p_label_png_voc_style():
    values = np.array([[0, 0, 15], [15, 255, 1]], np.uint8)
    img = Image.fromarray(values, "P")
    img.putpalette(_voc_palette())
    mask = decode_mask(_png(img), "voc.png")
    assert mask.names == ["label_0", "label_1", "label_15", "label_255"]
    assert mask.labels.tolist() == [[0, 0, 2], [2, 3, 1]]


def test_decode_indexed_colour_mask_uses_colour_names():
    rgb = np.zeros((6, 6, 3), np.uint8)
    rgb[:, 3:] = COLOURS["white"]
    img = Image.fromarray(rgb).quantize(colors=2)  # a DPST mask saved as an indexed PNG
    mask = decode_mask(_png(img), "indexed.png")
    assert mask.names == ["black", "white"]


def test_decode_garbage_is_input_error():
    with pytest.raises(InputError) as info:
        decode_mask(b"not a png at all", "masks/in1.png")
    assert str(info.value).startswith("masks/in1.png: not an image")


def test_load_mask_missing(tmp_path):
    uri = str(tmp_path / "none.png")
    with pytest.raises(InputError, match="file not found"):
        load_mask(uri)


def _stripes(height: int, width: int) -> LabelMap:
    labels = np.zeros((height, width), np.int32)
    labels[:, width // 2 :] = 1
    return LabelMap(labels, ["black", "white"])


def test_fit_mask_one_row_short():
    fitted = fit_mask(_stripes(99, 100), (100, 100), (50, 50), "m.png")
    assert fitted.labels.shape == (50, 50) and fitted.names == ["black", "white"]
    assert (fitted.labels[:, :25] == 0).all() and (fitted.labels[:, 25:] == 1).all()


def test_fit_mask_other_scale():
    fitted = fit_mask(_stripes(50, 75), (200, 300), (20, 30), "m.png")
    assert fitted.labels.shape == (20, 30)
    assert (fitted.labels[:, 15:] == 1).all()


def test_fit_mask_wrong_shape_names_the_mask():
    with pytest.raises(InputError) as info:
        fit_mask(_stripes(60, 100), (100, 100), (50, 50), "s3://b/masks/in3.png")
    assert str(info.value) == "s3://b/masks/in3.png: mask is 100x60 but the photo is 100x100"


def test_fit_mask_drops_vanished_regions():
    labels = np.zeros((100, 100), np.int32)
    labels[0, 0] = 1  # one pixel that nearest-neighbour downscaling will not sample
    labels[50:, :] = 2
    fitted = fit_mask(LabelMap(labels, ["a", "b", "c"]), (100, 100), (10, 10), "m.png")
    assert fitted.names == ["a", "c"]
    assert set(np.unique(fitted.labels)) == {0, 1}


def test_real_dpst_masks(dpst_data):
    DPST = dpst_data
    mask = load_mask(str(DPST / "segmentation" / "in1.png"))
    assert set(mask.names) <= set(PALETTE_NAMES)
    assert "grey" not in mask.names  # anti-aliased black/white edges must not make a grey region
    assert mask.labels.max() == len(mask.names) - 1
    # pair 7: the content mask is one row shorter than its photo
    photo_w, photo_h = Image.open(DPST / "input" / "in7.png").size
    mask7 = load_mask(str(DPST / "segmentation" / "in7.png"))
    assert mask7.labels.shape != (photo_h, photo_w)
    fitted = fit_mask(mask7, (photo_h, photo_w), (photo_h // 4, photo_w // 4), "in7.png")
    assert fitted.labels.shape == (photo_h // 4, photo_w // 4)
    style = load_mask(str(DPST / "segmentation" / "tar7.png"))
    assert fitted.names == style.names == ["black", "white"]
