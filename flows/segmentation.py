"""The segmentation settings of a run, from flow parameters and the environment."""

from __future__ import annotations

import os

from photostyle.core.segmentation import SegmentOptions, check_model_weights

#: Where a worker or a laptop can configure the ADE20K model for every run (URI#sha256=HEX).
WEIGHTS_ENV = "PHOTOSTYLE_SEGMENTATION_WEIGHTS"


def segment_options(regions: int, weights: str | None, threshold: float,
                    storage_options: dict | None = None) -> dict:
    """Checked segmentation options: the model's weights (parameter, else $PHOTOSTYLE_SEGMENTATION_WEIGHTS)
    must exist, so a missing file fails the run before any photo does."""
    weights = weights or os.environ.get(WEIGHTS_ENV) or None
    try:
        options = SegmentOptions(regions=regions, model=weights, threshold=threshold)
    except ValueError as exc:
        from photostyle.core.errors import InputError

        raise InputError("segmentation options", str(exc)) from None
    if options.model:
        check_model_weights(options.model, storage_options)
    return options.to_dict()
