"""Losses against hand computations."""

import numpy as np
import torch

from photostyle.core import losses


def test_content_loss_is_mean_squared_difference():
    a = torch.tensor([[[1.0, 2.0], [3.0, 4.0]]])
    b = torch.tensor([[[1.0, 0.0], [3.0, 8.0]]])
    # differences 0, 2, 0, -4 -> squares 0, 4, 0, 16 -> mean 5
    assert losses.content_loss(a, b).item() == 5.0


def test_gram_by_hand():
    f = torch.tensor([[[1.0, 2.0]], [[3.0, 4.0]]])  # C=2, H=1, W=2
    # F F^T = [[1+4, 3+8], [3+8, 9+16]] = [[5, 11], [11, 25]], divided by C*H*W = 4
    expected = torch.tensor([[5.0, 11.0], [11.0, 25.0]]) / 4
    assert torch.allclose(losses.gram(f), expected)


def test_masked_gram_normalises_by_area():
    f = torch.tensor([[[1.0, 2.0]], [[3.0, 4.0]]])
    mask = torch.tensor([[1.0, 0.0]])
    # only the first pixel: [[1, 3], [3, 9]]; divided by C*H*W*mean(mask) = 2*2*0.5 = 2
    expected = torch.tensor([[1.0, 3.0], [3.0, 9.0]]) / 2
    assert torch.allclose(losses.gram(f, mask), expected)


def test_style_loss_by_hand():
    f = torch.tensor([[[1.0, 2.0]], [[3.0, 4.0]]])
    target = torch.zeros(2, 2)
    g = np.array([[5.0, 11.0], [11.0, 25.0]]) / 4
    assert np.isclose(losses.style_loss(f, target).item(), (g**2).mean())


def test_region_style_loss_weights_regions_by_area():
    f = torch.tensor([[[1.0, 2.0]], [[3.0, 4.0]]])
    masks = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]]])
    targets = [torch.zeros(2, 2), torch.eye(2)]
    g0 = np.array([[1.0, 3.0], [3.0, 9.0]]) / 2
    g1 = np.array([[4.0, 8.0], [8.0, 16.0]]) / 2
    expected = 0.5 * (g0**2).mean() + 0.5 * ((g1 - np.eye(2)) ** 2).mean()
    assert np.isclose(losses.region_style_loss(f, masks, targets).item(), expected)


def test_one_full_region_equals_plain_style_loss():
    torch.manual_seed(0)
    f = torch.rand(4, 5, 6)
    target = torch.rand(4, 4)
    full = losses.region_style_loss(f, torch.ones(1, 5, 6), [target])
    assert torch.allclose(full, losses.style_loss(f, target))


def test_empty_region_contributes_nothing():
    f = torch.rand(3, 4, 4)
    assert losses.region_style_loss(f, torch.zeros(1, 4, 4), [torch.ones(3, 3)]).item() == 0.0


def test_tv_loss_by_hand():
    img = torch.tensor([[[0.0, 1.0], [2.0, 4.0]]])
    # core pixel (0,0): dx = 0-1 = -1, dy = 0-2 = -2 -> 0.5*(1+4)
    assert losses.tv_loss(img).item() == 2.5


def test_tv_gradient_matches_reference_formula():
    torch.manual_seed(1)
    img = torch.rand(3, 6, 7, dtype=torch.float64, requires_grad=True)
    losses.tv_loss(img).backward()
    x = img.detach()
    expected = torch.zeros_like(x)
    dx = x[:, :-1, :-1] - x[:, :-1, 1:]
    dy = x[:, :-1, :-1] - x[:, 1:, :-1]
    expected[:, :-1, :-1] += dx + dy
    expected[:, :-1, 1:] -= dx
    expected[:, 1:, :-1] -= dy
    assert torch.allclose(img.grad, expected)
