"""Dropout (seeded, inverted scaling, train/eval) and interpolate/Upsample."""
import numpy as np
import pytest

import ember
from ember import nn
from ember.autograd import gradcheck
from ember.nn import functional as F


def test_dropout_statistics_scaling_and_eval():
    ember.manual_seed(0)
    x = ember.ones(200, 500, requires_grad=True)
    m = nn.Dropout(0.3)
    y = m(x)
    kept = y.numpy() != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(y.numpy()[kept], 1 / 0.7, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.numpy())  # gradient = mask * scale
    m.eval()
    assert m(x) is x
    assert np.all(F.dropout(x, 1.0).numpy() == 0)


def test_dropout_is_reproducible_with_manual_seed():
    x = ember.ones(50, 50)
    ember.manual_seed(7)
    a = F.dropout(x, 0.5).numpy()
    ember.manual_seed(7)
    b = F.dropout(x, 0.5).numpy()
    np.testing.assert_array_equal(a, b)


def test_dropout2d_drops_whole_channels():
    ember.manual_seed(1)
    y = nn.Dropout2d(0.5)(ember.ones(8, 16, 4, 4)).numpy()
    per_channel = y.reshape(8, 16, -1)
    assert np.all((per_channel == 0).all(axis=2) | (per_channel == 2.0).all(axis=2))
    assert 0.3 < (per_channel[:, :, 0] == 0).mean() < 0.7


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_dropout_rejects_bad_probability(p):
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
        F.dropout(ember.ones(3), p)
    with pytest.raises(ValueError, match="dropout probability"):
        nn.Dropout(p)


CASES = [
    dict(size=(7, 9), mode="nearest"),
    dict(scale_factor=2, mode="nearest"),
    dict(size=(3, 2), mode="nearest"),
    dict(scale_factor=2, mode="bilinear", align_corners=False),
    dict(scale_factor=2, mode="bilinear", align_corners=True),
    dict(size=(7, 3), mode="bilinear", align_corners=False),
    dict(size=(8, 11), mode="bilinear", align_corners=True),
]


@pytest.mark.parametrize("kw", CASES, ids=str)
def test_interpolate_matches_torch_and_gradcheck(kw):
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    xt = ember.tensor(x[:1, :1], requires_grad=True)
    assert gradcheck(lambda t: F.interpolate(t, **kw), [xt])
    torch = pytest.importorskip("torch")
    ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ey = nn.Upsample(**kw)(ex)
    ty = torch.nn.functional.interpolate(tx, **kw)
    np.testing.assert_allclose(ey.numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    (ey * ey).sum().backward()
    (ty * ty).sum().backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_interpolate_bad_arguments():
    x = ember.randn(1, 1, 4, 4)
    with pytest.raises(ValueError, match="give exactly one of size and scale_factor"):
        F.interpolate(x)
    with pytest.raises(ValueError, match="mode must be 'nearest' or 'bilinear'"):
        F.interpolate(x, scale_factor=2, mode="bicubic")
    with pytest.raises(ValueError, match="align_corners can only be set"):
        F.interpolate(x, scale_factor=2, align_corners=True)
    with pytest.raises(ValueError, match="expected a 4-D"):
        F.interpolate(ember.randn(4, 4), scale_factor=2)
