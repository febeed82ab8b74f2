"""The scoring settings of a run, completed from the environment of the machine that runs it."""

from __future__ import annotations

import os

from pydantic import ValidationError

from photostyle.core.config import StyleConfig, validation_messages
from photostyle.core.errors import InputError
from photostyle.core.nima import load_nima, weights_setting
from photostyle.flows.segmentation import resolve_segmentation

#: Where a worker or a laptop can configure its NIMA model for every run (URI#sha256=HEX).
NIMA_ENV = "PHOTOSTYLE_NIMA_WEIGHTS"


def resolve_scoring(config: StyleConfig, storage_options: dict | None = None) -> StyleConfig:
    """The run's settings with the NIMA model it will use: the bundled model becomes
    $PHOTOSTYLE_NIMA_WEIGHTS when that is set. The model is loaded here, so weights that are
    missing or of an unknown layout fail the run before any photo does, naming the file."""
    setting = config.scoring.nima_weights
    if setting == "bundled" and os.environ.get(NIMA_ENV):
        try:
            scoring = config.scoring.model_validate(
                {**config.scoring.model_dump(), "nima_weights": os.environ[NIMA_ENV]}
            )
        except ValidationError as exc:
            raise InputError(NIMA_ENV, validation_messages(exc)[0][1]) from None
        config = config.model_copy(update={"scoring": scoring})
    spec = weights_setting(config.scoring.nima_weights)
    if spec is not None:
        load_nima(spec, "cpu", storage_options)
    return config


def resolve_models(config: StyleConfig, storage_options: dict | None = None) -> StyleConfig:
    """The run's settings with the segmenter and the NIMA model this machine will use."""
    return resolve_scoring(resolve_segmentation(config, storage_options), storage_options)
