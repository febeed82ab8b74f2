"""The settings: one typed model whose fields give the CLI its flags and the stages their keys."""

from __future__ import annotations

import argparse

import pytest
from pydantic import BaseModel

from photostyle.core.artifacts import ArtifactRef
from photostyle.core.config import StyleConfig
from photostyle.core.errors import PhotostyleError
from photostyle.core.methods import METHODS
from photostyle.core.presets import preset_config
from photostyle.flows.cli import FLAGS, add_settings_flags, build_parser, config_from_args, resolve_field


def _models(model: type[BaseModel], seen: set) -> None:
    seen.add(model)
    for info in model.model_fields.values():
        for candidate in (info.annotation, *[getattr(m, "registry", None) for m in info.metadata]):
            if candidate is None:
                continue
            classes = candidate.configs().values() if hasattr(candidate, "configs") else [candidate]
            for cls in classes:
                if isinstance(cls, type) and issubclass(cls, BaseModel) and cls not in seen:
                    _models(cls, seen)


def test_every_setting_has_a_description_and_the_models_are_frozen():
    models: set = set()
    _models(StyleConfig, models)
    assert len(models) >= 10
    for model in models:
        assert model.model_config.get("frozen") and model.model_config.get("extra") == "forbid", model
        for name, info in model.model_fields.items():
            assert name == "name" or info.description, f"{model.__name__}.{name}"


def _parse(*flags: str):
    return build_parser().parse_args(["stylize", "c.jpg", "s.jpg", "-o", "o.png", *flags])


def test_the_flag_table_takes_types_choices_defaults_and_help_from_the_settings():
    parser = argparse.ArgumentParser()
    add_settings_flags(parser)
    actions = parser._option_string_actions
    for flag in FLAGS:
        info, default, union = resolve_field(flag.path, flag.variant)
        action = actions[flag.flag]
        assert union is not None or info.description.rstrip(".") in action.help, flag.flag
        if default not in (None, ()):  # an empty list's meaning is in the description
            assert f"default {default}" in action.help, flag.flag
        assert ("selects" in action.help) == (flag.variant is not None), flag.flag
    assert actions["--init"].choices == ["noise", "content", "transfer"]
    assert actions["--method"].choices == list(METHODS.names()) and {"gatys", "dpst"} <= set(METHODS.names())
    assert actions["--iterations"].type is int and actions["--lr"].type is float
    assert actions["--candidate-methods"].type is str  # comma-separated, split by the setting


def test_flags_set_their_settings_and_the_others_keep_their_defaults():
    assert config_from_args(_parse()) == StyleConfig()
    config = config_from_args(
        _parse("--size", "256", "--iterations", "150", "--init", "transfer", "--postprocess", "affine",
               "--affine-radius", "7", "--photo-weight", "2e3", "--regions", "3", "--device", "cpu",
               "--precision", "bfloat16")
    )  # fmt: skip
    assert (config.size, config.optimizer.iterations, config.optimizer.init) == (256, 150, "transfer")
    assert (config.finish.postprocess, config.finish.affine_radius) == ("affine", 7)
    assert config.method.name == "dpst" and config.method.photo_weight == 2e3
    assert config.segmentation.segmenter.regions == 3 and config.device == "cpu"
    assert config.optimizer.precision == "bfloat16"
    sha = "ab" * 32
    model = config_from_args(_parse("--segmentation-weights", f"w.pth#sha256={sha}", "--group-threshold", "0.9"))
    assert model.segmentation.segmenter.name == "ade20k" and model.segmentation.grouping.threshold == 0.9


def test_a_preset_stands_in_for_the_defaults_and_flags_override_it():
    paper = config_from_args(_parse("--preset", "paper"))
    assert (paper.size, paper.optimizer.iterations, paper.optimizer.init) == (700, 1000, "noise")
    assert paper.method.first_stage_iterations is None and paper.finish.postprocess == "none"
    assert paper.method.photo_weight == 1e4  # DPST's lambda, not the default
    assert paper == preset_config("paper")
    fewer = config_from_args(_parse("--preset", "paper", "--iterations", "5", "--size", "300"))
    assert (fewer.size, fewer.optimizer.iterations, fewer.optimizer.init) == (300, 5, "noise")
    gatys = config_from_args(_parse("--preset", "paper", "--method", "gatys"))  # dpst's fields are dropped
    assert gatys.method.name == "gatys" and gatys.size == 700
    assert config_from_args(_parse("--preset", "default")) == StyleConfig()
    preview = config_from_args(_parse("--preset", "preview"))
    assert preview.size < StyleConfig().size and preview.optimizer.iterations < StyleConfig().optimizer.iterations
    with pytest.raises(SystemExit):
        _parse("--preset", "fastest")
    with pytest.raises(ValueError, match="choose one of default, preview"):
        preset_config("fastest")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--size", "8"), "--size: Input should be greater than or equal to 16"),
        (("--iterations", "0"), "--iterations: Input should be greater than or equal to 1"),
        (("--affine-radius", "100"), "--affine-radius: Input should be less than or equal to 64"),
        (("--method", "gatys", "--photo-weight", "1"), "--photo-weight: not a setting of gatys"),
        (("--regions", "2", "--segmentation-weights", f"w#sha256={'0' * 64}"), "--regions: not a setting of ade20k"),
        (("--segmentation-weights", "w.pth"), "--segmentation-weights: w.pth: segmentation weights need their sha256"),
    ],
)
def test_a_bad_setting_is_one_error_naming_its_flag(flags, message):
    with pytest.raises(PhotostyleError) as err:
        config_from_args(_parse(*flags))
    assert message in str(err.value) and "\n" not in str(err.value)


def _ref(name: str) -> ArtifactRef:
    return ArtifactRef(name, name, f"mem://{name}", f"digest-of-{name}", ())


def _keys(config: StyleConfig) -> dict[str, str]:
    """Every stage's key for the same inputs under ``config``."""
    from photostyle.tasks.finish import finish_key
    from photostyle.tasks.group import group_key
    from photostyle.tasks.optimize import optimize_key
    from photostyle.tasks.prepare import prepare_key
    from photostyle.tasks.score import score_key
    from photostyle.tasks.segment import segment_key
    from photostyle.tasks.upsample import upsample_key

    content, style, segments, regions, lap, result = map(_ref, ("c", "s", "seg", "reg", "lap", "res"))
    return {
        "prepare": prepare_key("sha", config.size),
        "segment": segment_key(content, style, config.segmentation, config.weights),
        "group": group_key(segments, config.segmentation.grouping),
        "optimize": optimize_key(content, style, config.method, config.optimizer, config.weights, regions, lap),
        "finish": finish_key(content, result, config.finish),
        "upsample": upsample_key("sha", content, result, config.upsample),
        "score": score_key(content, style, lap, result, config.scoring, regions),
    }


@pytest.mark.parametrize(
    ("change", "stages"),
    [
        ({"size": 512}, {"prepare"}),
        ({"device": "cpu"}, set()),
        ({"method": {"photo_weight": 10.0}}, {"optimize"}),
        ({"optimizer": {"iterations": 10}}, {"optimize"}),
        ({"segmentation": {"segmenter": {"regions": 3}}}, {"segment"}),
        ({"segmentation": {"grouping": {"threshold": 0.5}}}, {"group"}),
        ({"segmentation": {"grouping": {"min_share": 0.1}}}, {"segment", "group"}),  # co-segmentation reads it
        ({"finish": {"postprocess": "none"}}, {"finish"}),
        ({"upsample": {"output_size": 1024}}, {"upsample"}),
        ({"upsample": {"radius": 4}}, {"upsample"}),
        ({"optimizer": {"scales": 1}}, {"optimize"}),
        ({"finish": {"affine_radius": 5}}, {"finish"}),
        ({"scoring": {"style_projections": 16}}, {"score"}),
    ],
)
def test_each_stage_key_hashes_only_the_settings_that_stage_reads(change, stages):
    before, after = _keys(StyleConfig()), _keys(StyleConfig.model_validate(change))
    assert {stage for stage in before if before[stage] != after[stage]} == stages
