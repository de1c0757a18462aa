"""conv2d / conv1d / conv_transpose2d: NumPy reference, float64 gradcheck, torch oracle over
hundreds of random configurations, padding modes, and bad-argument errors."""
import math

import numpy as np
import pytest

import cnn_reference as ref
import ember
from ember import nn
from ember.autograd import gradcheck
from ember.nn import functional as F

# (N, C, H, W, K, R, S, stride, padding, dilation, groups)
CONFIGS = [
    (2, 3, 7, 6, 4, 3, 3, (1, 1), (1, 1), (1, 1), 1),
    (1, 4, 9, 9, 6, 3, 2, (2, 1), (0, 1), (1, 2), 2),
    (2, 4, 5, 5, 4, 3, 3, (1, 1), (1, 1), (1, 1), 4),       # depthwise
    (3, 5, 4, 6, 2, 1, 1, (1, 1), (0, 0), (1, 1), 1),       # pointwise (GEMM only)
    (2, 4, 6, 6, 8, 1, 1, (2, 2), (0, 0), (1, 1), 1),       # strided 1x1 projection
    (1, 2, 1, 1, 3, 1, 1, (1, 1), (0, 0), (1, 1), 1),       # 1x1 image
    (2, 2, 3, 3, 3, 5, 5, (1, 1), (1, 1), (1, 1), 1),       # kernel == padded input
    (1, 3, 11, 8, 2, 5, 3, (3, 2), (2, 1), (2, 1), 1),      # odd sizes, large stride
    (2, 6, 5, 7, 9, 3, 3, (1, 2), (2, 0), (1, 1), 3),
]


def _make(cfg, dtype, seed=0):
    n, c, h, w, k, r, s, st, pd, dl, g = cfg
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    wt = rng.standard_normal((k, c // g, r, s)).astype(dtype)
    b = rng.standard_normal(k).astype(dtype)
    return x, wt, b


@pytest.mark.parametrize("cfg", CONFIGS, ids=str)
def test_conv2d_forward_matches_numpy(cfg):
    x, w, b = _make(cfg, np.float64)
    st, pd, dl, g = cfg[7:]
    y = F.conv2d(ember.tensor(x), ember.tensor(w), ember.tensor(b), st, pd, dl, g)
    np.testing.assert_allclose(y.numpy(), ref.conv2d(x, w, b, st, pd, dl, g), rtol=1e-12,
                               atol=1e-12, err_msg=str(cfg))


@pytest.mark.parametrize("cfg", CONFIGS, ids=str)
def test_conv2d_float32_matches_numpy(cfg):
    x, w, b = _make(cfg, np.float32)
    st, pd, dl, g = cfg[7:]
    y = F.conv2d(ember.tensor(x), ember.tensor(w), ember.tensor(b), st, pd, dl, g)
    np.testing.assert_allclose(y.numpy(), ref.conv2d(x.astype(np.float64), w, b, st, pd, dl, g),
                               rtol=1e-4, atol=1e-4, err_msg=str(cfg))


@pytest.mark.parametrize("cfg", CONFIGS[:6], ids=str)
def test_conv2d_gradcheck(cfg):
    n, c, h, w, k, r, s, st, pd, dl, g = cfg
    small = (min(n, 2), c, min(h, 5), min(w, 5), k, min(r, 3), min(s, 3), st, pd, dl, g)
    x, wt, b = _make(small, np.float64)
    if (x.shape[2] + 2 * pd[0] < dl[0] * (wt.shape[2] - 1) + 1 or
            x.shape[3] + 2 * pd[1] < dl[1] * (wt.shape[3] - 1) + 1):
        pytest.skip("configuration invalid after shrinking")
    args = [ember.tensor(a, requires_grad=True) for a in (x, wt, b)]
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, st, pd, dl, g), args)


def test_conv2d_matches_torch_random_configs():
    """>= 200 seeded random configurations, float32 and float64, outputs and all gradients."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2024)
    done = 0
    while done < 240:
        g = int(rng.choice([1, 1, 1, 2, 3]))
        c = g * int(rng.integers(1, 4))
        k = g * int(rng.integers(1, 4))
        r, s = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        st = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        dl = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
        pd = (int(rng.integers(0, 3)), int(rng.integers(0, 3)))
        h, w = int(rng.integers(1, 10)), int(rng.integers(1, 10))
        n = int(rng.integers(1, 4))
        if h + 2 * pd[0] < dl[0] * (r - 1) + 1 or w + 2 * pd[1] < dl[1] * (s - 1) + 1:
            continue
        dtype = np.float64 if done % 2 else np.float32
        cfg = (n, c, h, w, k, r, s, st, pd, dl, g)
        x, wt, b = _make(cfg, dtype, seed=done)
        use_bias = bool(done % 3)
        ex, ew, eb = (ember.tensor(a, requires_grad=True) for a in (x, wt, b))
        tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, wt, b))
        ey = F.conv2d(ex, ew, eb if use_bias else None, st, pd, dl, g)
        ty = torch.nn.functional.conv2d(tx, tw, tb if use_bias else None, st, pd, dl, g)
        gy = rng.standard_normal(ey.shape).astype(dtype)
        ey.backward(gy)
        ty.backward(torch.from_numpy(gy))
        tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)
        msg = f"config {cfg} dtype {dtype.__name__} bias {use_bias}"
        np.testing.assert_allclose(ey.numpy(), ty.detach().numpy(), err_msg=msg, **tol)
        np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), err_msg=msg, **tol)
        np.testing.assert_allclose(ew.grad.numpy(), tw.grad.numpy(), err_msg=msg, **tol)
        if use_bias:
            np.testing.assert_allclose(eb.grad.numpy(), tb.grad.numpy(), err_msg=msg, **tol)
        done += 1


TRANSPOSED = [
    # (N, Cin, H, W, Cout, R, S, stride, padding, output_padding, groups, dilation)
    (2, 3, 4, 5, 2, 3, 3, (2, 2), (1, 1), (1, 0), 1, (1, 1)),
    (1, 4, 3, 3, 6, 2, 2, (2, 2), (0, 0), (0, 0), 2, (1, 1)),
    (2, 2, 5, 4, 3, 3, 2, (1, 3), (1, 0), (0, 2), 1, (2, 1)),
]


@pytest.mark.parametrize("cfg", TRANSPOSED, ids=str)
def test_conv_transpose2d_reference_and_gradcheck(cfg):
    n, c, h, w, o, r, s, st, pd, op, g, dl = cfg
    rng = np.random.default_rng(5)
    x = rng.standard_normal((n, c, h, w))
    wt = rng.standard_normal((c, o // g, r, s))
    b = rng.standard_normal(o)
    y = F.conv_transpose2d(ember.tensor(x), ember.tensor(wt), ember.tensor(b), st, pd, op, g, dl)
    np.testing.assert_allclose(y.numpy(), ref.conv_transpose2d(x, wt, b, st, pd, op, g, dl),
                               rtol=1e-12, atol=1e-12, err_msg=str(cfg))
    args = [ember.tensor(a, requires_grad=True) for a in (x[:1, :, :3, :3], wt, b)]
    assert gradcheck(lambda x, w, b: F.conv_transpose2d(x, w, b, st, pd, op, g, dl), args)


def test_conv_transpose2d_matches_torch_random_configs():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    done = 0
    while done < 200:
        g = int(rng.choice([1, 1, 2]))
        c, o = g * int(rng.integers(1, 4)), g * int(rng.integers(1, 4))
        r, s = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        st = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        dl = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
        pd = (int(rng.integers(0, 3)), int(rng.integers(0, 3)))
        op = tuple(int(rng.integers(0, max(st[i], dl[i]))) for i in range(2))
        op = tuple(min(op[i], st[i] - 1) for i in range(2))
        h, w, n = int(rng.integers(1, 7)), int(rng.integers(1, 7)), int(rng.integers(1, 3))
        ho = (h - 1) * st[0] - 2 * pd[0] + dl[0] * (r - 1) + op[0] + 1
        wo = (w - 1) * st[1] - 2 * pd[1] + dl[1] * (s - 1) + op[1] + 1
        if ho <= 0 or wo <= 0:
            continue
        dtype = np.float64 if done % 2 else np.float32
        x = rng.standard_normal((n, c, h, w)).astype(dtype)
        wt = rng.standard_normal((c, o // g, r, s)).astype(dtype)
        b = rng.standard_normal(o).astype(dtype)
        ex, ew, eb = (ember.tensor(a, requires_grad=True) for a in (x, wt, b))
        tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, wt, b))
        ey = F.conv_transpose2d(ex, ew, eb, st, pd, op, g, dl)
        ty = torch.nn.functional.conv_transpose2d(tx, tw, tb, st, pd, op, g, dl)
        gy = rng.standard_normal(ey.shape).astype(dtype)
        ey.backward(gy)
        ty.backward(torch.from_numpy(gy))
        tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)
        msg = f"config {(n, c, h, w, o, r, s, st, pd, op, g, dl)} {dtype.__name__}"
        for e, t in ((ey, ty), (ex.grad, tx.grad), (ew.grad, tw.grad), (eb.grad, tb.grad)):
            np.testing.assert_allclose(e.numpy(), t.detach().numpy(), err_msg=msg, **tol)
        done += 1


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("padding", [1, 2, "same"])
def test_conv2d_module_padding_modes_match_torch(mode, padding):
    torch = pytest.importorskip("torch")
    ember.manual_seed(0)
    kernel = 4 if padding == "same" else 3   # even kernel: asymmetric 'same' padding
    m = nn.Conv2d(3, 5, kernel, padding=padding, padding_mode=mode, dtype=ember.float64)
    t = torch.nn.Conv2d(3, 5, kernel, padding=padding, padding_mode=mode, dtype=torch.float64)
    with torch.no_grad():
        t.weight.copy_(torch.from_numpy(m.weight.detach().numpy()))
        t.bias.copy_(torch.from_numpy(m.bias.detach().numpy()))
    x = np.random.default_rng(1).standard_normal((2, 3, 6, 7))
    ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ey, ty = m(ex), t(tx)
    np.testing.assert_allclose(ey.numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-10)
    ey.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(m.weight.grad.numpy(), t.weight.grad.numpy(), rtol=1e-10,
                               atol=1e-10)


def test_conv1d_matches_torch():
    torch = pytest.importorskip("torch")
    ember.manual_seed(0)
    m = nn.Conv1d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2, dtype=ember.float64)
    t = torch.nn.Conv1d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2, dtype=torch.float64)
    with torch.no_grad():
        t.weight.copy_(torch.from_numpy(m.weight.detach().numpy()))
        t.bias.copy_(torch.from_numpy(m.bias.detach().numpy()))
    x = np.random.default_rng(2).standard_normal((3, 4, 11))
    ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ey, ty = m(ex), t(tx)
    np.testing.assert_allclose(ey.numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-10)
    ey.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(m.weight.grad.numpy(), t.weight.grad.numpy(), rtol=1e-10)


def test_conv_module_init_and_repr():
    ember.manual_seed(0)
    m = nn.Conv2d(16, 32, 3, stride=2, padding=1, bias=True)
    bound = 1 / math.sqrt(16 * 9)
    assert m.weight.shape == (32, 16, 3, 3)
    assert np.abs(m.weight.numpy()).max() <= bound
    assert np.abs(m.bias.numpy()).max() <= bound
    assert repr(m) == "Conv2d(16, 32, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))"
    t = nn.ConvTranspose2d(8, 4, 2, stride=2)
    assert t.weight.shape == (8, 4, 2, 2)


def test_conv2d_unbatched_and_threads_agree():
    x = ember.randn(3, 8, 8)
    w = ember.randn(4, 3, 3, 3)
    y = F.conv2d(x, w, padding=1)
    assert y.shape == (4, 8, 8)
    xb = ember.randn(4, 3, 10, 10)
    old = ember.get_num_threads()
    try:
        ember.set_num_threads(1)
        a = F.conv2d(xb, w, padding=1).numpy()
        ember.set_num_threads(2)
        b = F.conv2d(xb, w, padding=1).numpy()
    finally:
        ember.set_num_threads(old)
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(w=(4, 3, 7, 7)), ValueError, r"conv2d: kernel larger than the padded input \(input "
                                       r"5x5, kernel 7x7"),
    (dict(stride=0), ValueError, r"conv2d: argument 'stride' must be >= 1, got \(0, 0\)"),
    (dict(stride=-1), ValueError, r"conv2d: argument 'stride' must be >= 1"),
    (dict(dilation=0), ValueError, r"conv2d: argument 'dilation' must be >= 1"),
    (dict(padding=-1), ValueError, r"conv2d: argument 'padding' must be >= 0, got \(-1, -1\)"),
    (dict(w=(4, 2, 3, 3)), ValueError, r"conv2d: input has 3 channels but weight expects 2"),
    (dict(w=(4, 1, 3, 3), groups=2), ValueError, r"in_channels 3 and out_channels 4 must be "
                                                 r"divisible by groups 2"),
    (dict(w=(5, 1, 3, 3), groups=3), ValueError, r"out_channels 5 must be divisible by groups 3"),
    (dict(x=(3, 5, 5, 1, 1)), ValueError, r"conv2d: expected 3-D \(C, H, W\) or 4-D"),
    (dict(xdtype=np.int64), TypeError, r"conv2d: argument 'input' must be float32 or float64, "
                                       r"got int64"),
    (dict(wdtype=np.float64), TypeError, r"conv2d: argument 'weight' has dtype float64 but "
                                         r"'input' has dtype float32"),
    (dict(padding="full"), ValueError, r"padding must be an int, a pair, 'valid' or 'same'"),
    (dict(padding="same", stride=2), ValueError, r"padding='same' is not supported for strided"),
    (dict(bias=(3,)), ValueError, r"conv2d: argument 'bias' must have shape \(4,\), got \(3,\)"),
    (dict(groups=2.0), TypeError, r"conv2d: groups must be an int"),
])
def test_conv2d_bad_arguments(kwargs, exc, match):
    x = np.ones(kwargs.get("x", (2, 3, 5, 5)), dtype=kwargs.get("xdtype", np.float32))
    w = np.ones(kwargs.get("w", (4, 3, 3, 3)), dtype=kwargs.get("wdtype", np.float32))
    b = np.ones(kwargs["bias"], dtype=np.float32) if "bias" in kwargs else None
    with pytest.raises(exc, match=match):
        F.conv2d(ember.tensor(x), ember.tensor(w), None if b is None else ember.tensor(b),
                 stride=kwargs.get("stride", 1), padding=kwargs.get("padding", 0),
                 dilation=kwargs.get("dilation", 1), groups=kwargs.get("groups", 1))


def test_conv2d_empty_batch_gives_an_empty_output():
    """As in PyTorch, a batch of no images is a valid input (the gradients are zeros)."""
    x = ember.zeros(0, 3, 5, 5, requires_grad=True)
    w = ember.randn(4, 3, 3, 3, requires_grad=True)
    y = F.conv2d(x, w, ember.zeros(4, requires_grad=True), padding=1)
    assert y.shape == (0, 4, 5, 5)
    y.sum().backward()
    assert x.grad.shape == (0, 3, 5, 5) and not w.grad.numpy().any()


def test_c_boundary_rechecks_sizes():
    """The bindings re-check shapes so that even a direct _C call cannot go out of bounds."""
    from ember import _C

    x = np.ones((1, 3, 5, 5), np.float32)
    w = np.ones((4, 3, 3, 3), np.float32)
    with pytest.raises(ValueError, match="input has 3 channels but weight expects 6"):
        _C.conv2d_forward(x, np.ones((4, 6, 3, 3), np.float32), None, (1, 1), (0, 0), (1, 1), 1)
    with pytest.raises(ValueError, match="kernel larger than the padded input"):
        _C.conv2d_forward(x, np.ones((4, 3, 7, 7), np.float32), None, (1, 1), (0, 0), (1, 1), 1)
    with pytest.raises(ValueError, match="must be C-contiguous"):
        _C.conv2d_forward(np.asfortranarray(x), w, None, (1, 1), (0, 0), (1, 1), 1)
    with pytest.raises(ValueError, match=r"'grad_output' must have shape \(1, 4, 3, 3\)"):
        _C.conv2d_backward_input(np.ones((1, 4, 4, 4), np.float32), w, (5, 5), (1, 1), (0, 0),
                                 (1, 1), 1)
    with pytest.raises(TypeError, match="must be float32 or float64, got int64"):
        _C.conv2d_forward(x.astype(np.int64), w, None, (1, 1), (0, 0), (1, 1), 1)
    with pytest.raises(ValueError, match="'stride' must be >= 1"):
        _C.conv2d_forward(x, w, None, (0, 1), (0, 0), (1, 1), 1)
