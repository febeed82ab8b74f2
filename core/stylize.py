"""Stylise one image in a notebook: the method a ``StyleConfig`` names, then its finishing step.

The pipeline runs the same functions as stages (optimize, finish); this is the direct call::

    from photostyle.core.config import StyleConfig
    from photostyle.core.stylize import stylize
    result = stylize(content, style, StyleConfig(size=256), laplacian=matting_laplacian(content))
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import scipy.sparse

from photostyle.core.config import StyleConfig
from photostyle.core.device import resolve_device
from photostyle.core.finish import finish
from photostyle.core.methods import MethodInputs, Progress, StyleResult, run_method


def stylize(
    content: np.ndarray,
    style: np.ndarray,
    config: StyleConfig | None = None,
    content_masks: np.ndarray | None = None,
    style_masks: np.ndarray | None = None,
    laplacian: scipy.sparse.spmatrix | None = None,
    progress: Callable[[Progress], None] | None = None,
    finished: bool = True,
) -> StyleResult:
    """Stylise ``content`` (HxWx3 in [0,1]) like ``style`` with ``config``'s method and optimiser,
    at the images' own size, on ``config.device``; finished as ``config.finish`` says unless
    ``finished`` is False.

    ``content_masks`` (K,H,W) and ``style_masks`` (K,Hs,Ws) pair region k of the content with
    region k of the style (for methods that use regions); boolean, or soft weights in [0, 1].
    ``laplacian`` is the content's matting Laplacian, for methods that need it.
    """
    config = config or StyleConfig()
    inputs = MethodInputs(content, style, content_masks, style_masks, laplacian)
    result = run_method(
        inputs, config.method, config.optimizer, config.weights, resolve_device(config.device), progress
    )
    if finished:
        result = dataclasses.replace(result, image=finish(result.image, content.astype(np.float32), config.finish))
    return result
