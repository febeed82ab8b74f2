"""The segmentation settings of a run, completed from the environment of the machine that runs it."""

from __future__ import annotations

import os

from pydantic import ValidationError

from photostyle.core.config import ADE20KConfig, CosegmentConfig, StyleConfig, validation_messages
from photostyle.core.errors import InputError
from photostyle.core.methods import method_spec
from photostyle.core.segmentation import SEGMENTERS

#: Where a worker or a laptop can configure the ADE20K model for every run (URI#sha256=HEX).
WEIGHTS_ENV = "PHOTOSTYLE_SEGMENTATION_WEIGHTS"


def resolve_segmentation(config: StyleConfig, storage_options: dict | None = None) -> StyleConfig:
    """The run's settings with the segmenter it will use: the default co-segmentation becomes the
    ADE20K model when $PHOTOSTYLE_SEGMENTATION_WEIGHTS is set. A segmenter that could not run
    (weights not found) fails the run before any photo does, naming the file."""
    if not method_spec(config.method).needs_regions:
        return config
    segmentation = config.segmentation
    weights = os.environ.get(WEIGHTS_ENV)
    if weights and segmentation.segmenter == CosegmentConfig():
        try:
            segmenter = ADE20KConfig(weights=weights)
        except ValidationError as exc:
            raise InputError(WEIGHTS_ENV, validation_messages(exc)[0][1]) from None
        segmentation = segmentation.model_copy(update={"segmenter": segmenter})
        config = config.model_copy(update={"segmentation": segmentation})
    spec = SEGMENTERS.get(segmentation.segmenter.name)
    if spec.check is not None:
        spec.check(segmentation, storage_options)
    return config
