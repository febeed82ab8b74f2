"""Colour spaces (sRGB <-> CIE Lab, D65) and a per-region colour-statistics transfer.

The transfer (Reinhard et al. 2001 mean/std matching in Lab, per paired region) gives the
optimiser an optional starting point whose region colours already match the style; the DPST
authors' code notes its content input as a "pitie transferred input image" for the same reason.
"""

from __future__ import annotations

import numpy as np

_RGB_TO_XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)
#: D65 reference white, taken as the matrix row sums so that RGB white maps to exactly L=100, a=b=0.
_WHITE_D65 = _RGB_TO_XYZ.sum(axis=1)


def rgb_to_lab(image: np.ndarray) -> np.ndarray:
    """sRGB (D65) in [0, 1] to CIE Lab (L in [0, 100]); any shape ending in 3, vectorised."""
    rgb = np.asarray(image, dtype=np.float64)
    if rgb.shape[-1] != 3:
        raise ValueError(f"last axis must hold 3 channels, got shape {rgb.shape}")
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((np.clip(rgb, 0.04045, None) + 0.055) / 1.055) ** 2.4)
    xyz = (lin @ _RGB_TO_XYZ.T) / _WHITE_D65
    delta = 6.0 / 29.0
    f = np.where(xyz > delta**3, np.cbrt(xyz), xyz / (3 * delta**2) + 4.0 / 29.0)
    lab = np.empty_like(f)
    lab[..., 0] = 116.0 * f[..., 1] - 16.0
    lab[..., 1] = 500.0 * (f[..., 0] - f[..., 1])
    lab[..., 2] = 200.0 * (f[..., 1] - f[..., 2])
    return lab


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """CIE Lab to sRGB (D65) in [0, 1] (clipped); the inverse of ``rgb_to_lab``."""
    lab = np.asarray(lab, dtype=np.float64)
    fy = (lab[..., 0] + 16.0) / 116.0
    f = np.stack([fy + lab[..., 1] / 500.0, fy, fy - lab[..., 2] / 200.0], axis=-1)
    delta = 6.0 / 29.0
    xyz = np.where(f > delta, f**3, 3 * delta**2 * (f - 4.0 / 29.0)) * _WHITE_D65
    lin = np.clip(xyz @ np.linalg.inv(_RGB_TO_XYZ).T, 0.0, 1.0)
    rgb = np.where(lin <= 0.0031308, lin * 12.92, 1.055 * lin ** (1 / 2.4) - 0.055)
    return np.clip(rgb, 0.0, 1.0)


def region_colour_transfer(
    content: np.ndarray, style: np.ndarray, content_masks: np.ndarray, style_masks: np.ndarray
) -> np.ndarray:
    """Match each content region's Lab mean and standard deviation to its style region's.

    Masks are (K,H,W) and (K,Hs,Ws); pixels outside every region keep their colour. Returns
    HxWx3 float32 in [0,1].
    """
    src = rgb_to_lab(content)
    ref = rgb_to_lab(style)
    out = src.copy()
    for cmask, smask in zip(np.asarray(content_masks, bool), np.asarray(style_masks, bool)):
        if not cmask.any() or not smask.any():
            continue
        a, b = src[cmask], ref[smask]
        scale = b.std(0) / np.maximum(a.std(0), 1e-6)
        out[cmask] = (a - a.mean(0)) * scale + b.mean(0)
    return lab_to_rgb(out).astype(np.float32)
