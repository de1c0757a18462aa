"""ember.utils.fuse_conv_bn / fuse_conv_bn_eval: batch norm folded into the convolution before
it gives the eval-mode network's outputs, leaves the original model alone, and refuses a
fusion that would change the function."""
import numpy as np
import pytest

import ember
from ember import nn
from ember.inference import fuse_conv_bn, fuse_conv_bn_eval
from helpers import randomise_bn


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("groups", [1, 2])
@pytest.mark.parametrize("affine", [True, False])
def test_fuse_conv_bn_eval_matches_conv_then_bn(bias, groups, affine):
    ember.manual_seed(0)
    conv = nn.Conv2d(4, 6, 3, padding=1, bias=bias, groups=groups).double()
    bn = nn.BatchNorm2d(6, affine=affine).double()
    seq = nn.Sequential(conv, bn)
    randomise_bn(seq)
    seq.eval()
    x = ember.tensor(np.random.default_rng(1).standard_normal((2, 4, 5, 7)))
    with ember.no_grad():
        want = seq(x).numpy()
        got = fuse_conv_bn_eval(conv, bn)(x).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("build", [
    lambda: ember.models.resnet20(10, 3),
    lambda: ember.models.vgg11_bn(10, pool_size=1, hidden=64, dropout=0.0),
], ids=["resnet20", "vgg11_bn"])
def test_fuse_conv_bn_whole_models(build):
    ember.manual_seed(0)
    model = build()
    randomise_bn(model)
    model.eval()
    x = ember.tensor(np.random.default_rng(2).standard_normal((2, 3, 32, 32)).astype(np.float32))
    with ember.no_grad():
        want = model(x).numpy()
    model.train()
    fused = fuse_conv_bn(model, x)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fused.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.modules())  # original untouched
    assert model.training and not fused.training
    with ember.no_grad():
        got = fused(x).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


class ConvFeedsTwo(nn.Module):
    """The conv's output feeds its batch norm and, raw, the output too: folding would change
    the second use."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)
        self.bn = nn.BatchNorm2d(3)

    def forward(self, x):
        y = self.conv(x)
        return self.bn(y) + y


def test_fuse_conv_bn_refuses_a_shared_conv_output():
    ember.manual_seed(0)
    model = ConvFeedsTwo()
    randomise_bn(model)
    x = ember.randn(2, 3, 6, 6)
    with pytest.raises(RuntimeError, match="fused model's output differs"):
        fuse_conv_bn(model, x)


def test_fuse_conv_bn_eval_errors():
    with pytest.raises(TypeError, match="expected a Conv2d and a BatchNorm2d"):
        fuse_conv_bn_eval(nn.Linear(2, 2), nn.BatchNorm2d(2))
    with pytest.raises(ValueError, match="no running statistics"):
        fuse_conv_bn_eval(nn.Conv2d(2, 2, 1), nn.BatchNorm2d(2, track_running_stats=False))
    with pytest.raises(ValueError, match="cannot follow a convolution with 3 outputs"):
        fuse_conv_bn_eval(nn.Conv2d(2, 3, 1), nn.BatchNorm2d(4))
