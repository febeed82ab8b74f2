"""Named sets of settings (``--preset``): partial ``StyleConfig`` values that stand in for the
defaults, under any settings given explicitly.

``default`` is ``StyleConfig()`` itself: a clean photo quickly. ``preview`` trades style for speed,
``quality`` spends more time for a stronger, finer result, and ``paper`` is Deep Photo Style
Transfer exactly as published (700 px, noise start, 1000 + 1000 L-BFGS iterations, no finishing
step): hours on a CPU, minutes on a GPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from photostyle.core.config import DPST_PHOTO_WEIGHT, StyleConfig


@dataclass(frozen=True)
class Preset:
    """A named partial configuration and what it is for."""

    name: str
    settings: dict[str, Any]
    description: str


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("default", {}, "the defaults: a clean photo in a few minutes on a CPU"),
        Preset(
            "preview",
            {"size": 192, "optimizer": {"iterations": 50}},
            "a quick look: smaller working size, fewer iterations (less styled, still a photo)",
        ),
        Preset(
            "quality",
            {
                "size": 384,
                "optimizer": {"iterations": 200, "tolerance": 0.01},
                "method": {"name": "dpst", "first_stage_iterations": 200},
            },
            "a larger working size and a longer optimisation: stronger, finer style",
        ),
        Preset(
            "paper",
            {
                "size": 700,
                "method": {"name": "dpst", "photo_weight": DPST_PHOTO_WEIGHT},
                "optimizer": {"iterations": 1000, "init": "noise", "scales": 1, "tolerance": 0.0},
                "finish": {"postprocess": "none"},
            },
            "Deep Photo Style Transfer's published settings: 700 px, noise start, 1000 + 1000 iterations",
        ),
    )
}


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` laid on ``base``, section by section: nested dicts merge, other values replace, and
    a section naming another method or segmenter than ``base``'s replaces it whole."""
    out = dict(base)
    for key, value in over.items():
        below = out.get(key)
        if (
            isinstance(value, dict)
            and isinstance(below, dict)
            and value.get("name", below.get("name")) == below.get("name")
        ):
            out[key] = merge(below, value)
        else:
            out[key] = value
    return out


def preset_settings(name: str) -> dict[str, Any]:
    """The partial settings of preset ``name``; an unknown name raises ValueError listing the presets."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name].settings


def preset_config(name: str, **overrides: Any) -> StyleConfig:
    """The settings of preset ``name`` with ``overrides`` (sections as dicts) laid on top."""
    return StyleConfig.model_validate(merge(preset_settings(name), overrides))
