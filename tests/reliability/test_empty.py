"""Empty and degenerate extents: zero-size batches, channels and planes reach every kernel
family. Each op either returns what torch returns (an empty result of the same shape, or the
same values) or raises where torch raises, with a message naming the op; none reads from an
empty plane (adaptive pooling used to return NaN or garbage)."""
import numpy as np
import pytest

import ember
import ember.nn.functional as F
from helpers import import_torch

SHAPES = [(0, 2, 5, 5), (2, 0, 5, 5), (2, 2, 0, 5), (2, 2, 5, 0), (0, 0, 0, 0), (1, 1, 1, 1)]


def _conv(m, x):
    return m.conv2d(x, _wrap(m, np.ones((3, x.shape[1], 2, 2), np.float32)), padding=1)


def _wrap(m, a):
    if m is F:
        return ember.Tensor(a)
    import torch
    return torch.from_numpy(a)


def _bn(m, x, training):
    c = x.shape[1]
    rm, rv = np.zeros(c, np.float32), np.ones(c, np.float32)
    return m.batch_norm(x, _wrap(m, rm), _wrap(m, rv), training=training)


OPS = {
    "conv2d": _conv,
    "max_pool2d": lambda m, x: m.max_pool2d(x, 2, ceil_mode=True),
    "avg_pool2d": lambda m, x: m.avg_pool2d(x, 1),
    "adaptive_avg_pool2d": lambda m, x: m.adaptive_avg_pool2d(x, 2),
    "adaptive_max_pool2d": lambda m, x: m.adaptive_max_pool2d(x, (2, 3)),
    "batch_norm_train": lambda m, x: _bn(m, x, True),
    "batch_norm_eval": lambda m, x: _bn(m, x, False),
    "relu": lambda m, x: m.relu(x),
    "softmax": lambda m, x: m.softmax(x, 1),
    "interpolate": lambda m, x: m.interpolate(x, size=(3, 3)),
    "pad_reflect": lambda m, x: m.pad(x, (1, 1), mode="reflect"),
    "pad_constant": lambda m, x: m.pad(x, (1, 1)),
}


def _run(fn, m, x):
    try:
        out = fn(m, x)
        if isinstance(out, tuple):
            out = out[0]
        return out.detach().numpy() if hasattr(out, "detach") else out.numpy()
    except Exception as e:  # the outcome compared is "raised"
        return e


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(OPS))
def test_degenerate_extents_match_torch(name, shape):
    torch = import_torch()
    a = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    want = _run(OPS[name], torch.nn.functional, torch.from_numpy(a.copy()))
    got = _run(OPS[name], F, ember.Tensor(a.copy()))
    if name == "conv2d" and shape[1] == 0:
        # torch returns a tensor with 0 output channels for a weight of 3; ember refuses a
        # convolution over no input channels instead (docs/ARCHITECTURE.md, "Reliability").
        assert isinstance(got, ValueError) and "input channels" in str(got), repr(got)
        return
    if isinstance(want, Exception):
        assert isinstance(got, Exception), f"{name}{shape}: torch raises ({want}), ember " \
                                           f"returns shape {getattr(got, 'shape', got)}"
        assert isinstance(got, (ValueError, TypeError)), repr(got)
        op = name.rsplit("_", 1)[0] if name.startswith(("batch_norm", "pad_")) else name
        assert str(got).startswith(op), str(got)
    else:
        assert not isinstance(got, Exception), f"{name}{shape}: torch returns {want.shape}, " \
                                               f"ember raises {got!r}"
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape", [(0, 3, 4, 4), (2, 0, 4, 4)])
def test_empty_batches_and_channels_backpropagate_empty_gradients(shape):
    x = ember.Tensor(np.zeros(shape, np.float64), requires_grad=True)
    for f in (lambda t: F.max_pool2d(t, 2), lambda t: F.avg_pool2d(t, 2),
              lambda t: F.adaptive_avg_pool2d(t, 2), lambda t: F.relu(t)):
        try:
            y = f(x)
        except ValueError:
            continue  # refused, as torch refuses it
        y.sum().backward()
        assert x.grad.shape == shape and not np.isnan(x.grad.numpy()).any()
        x.grad = None


def test_adaptive_pool_of_an_empty_plane_is_refused_not_nan():
    for f in (F.adaptive_avg_pool2d, F.adaptive_max_pool2d):
        with pytest.raises(ValueError, match=f.__name__ + r": expected an input with non-zero"):
            f(ember.zeros(1, 3, 0, 4), 2)
