"""Pooling: NumPy reference, float64 gradcheck, torch oracle over random configurations,
ceil_mode edge windows, indices, unpooling, and bad arguments."""
import numpy as np
import pytest

import cnn_reference as ref
import ember
from ember import nn
from ember.autograd import gradcheck
from ember.nn import functional as F

MAX_CONFIGS = [
    # (shape, kernel, stride, padding, dilation, ceil_mode)
    ((2, 3, 8, 8), (2, 2), (2, 2), (0, 0), (1, 1), False),
    ((1, 2, 7, 9), (3, 3), (2, 2), (1, 1), (1, 1), True),
    ((2, 1, 6, 5), (3, 2), (1, 2), (1, 1), (2, 1), False),
    ((1, 2, 5, 5), (2, 2), (2, 2), (0, 0), (1, 1), True),    # ceil_mode edge window
    ((3, 2, 1, 1), (1, 1), (1, 1), (0, 0), (1, 1), False),   # 1x1 images
    ((1, 1, 4, 4), (4, 4), (1, 1), (0, 0), (1, 1), False),   # kernel == input
]


def _distinct(shape, seed=0):
    """Values without ties so the max (and its gradient) is well defined."""
    rng = np.random.default_rng(seed)
    return rng.permutation(int(np.prod(shape))).reshape(shape).astype(np.float64) / 7.0


@pytest.mark.parametrize("cfg", MAX_CONFIGS, ids=str)
def test_max_pool2d_reference_indices_and_gradcheck(cfg):
    shape, k, s, p, d, cm = cfg
    x = _distinct(shape)
    y, idx = F.max_pool2d(ember.tensor(x), k, s, p, d, cm, return_indices=True)
    ry, ridx = ref.max_pool2d(x, k, s, p, d, cm)
    np.testing.assert_array_equal(y.numpy(), ry, err_msg=str(cfg))
    np.testing.assert_array_equal(idx.numpy(), ridx, err_msg=str(cfg))
    xt = ember.tensor(x, requires_grad=True)
    assert gradcheck(lambda t: F.max_pool2d(t, k, s, p, d, cm), [xt])


AVG_CONFIGS = [
    ((2, 3, 8, 8), (2, 2), (2, 2), (0, 0), False, True),
    ((1, 2, 7, 9), (3, 3), (2, 2), (1, 1), True, True),
    ((1, 2, 7, 9), (3, 3), (2, 2), (1, 1), True, False),
    ((2, 1, 6, 5), (3, 2), (1, 2), (1, 1), False, False),
    ((1, 2, 5, 5), (2, 2), (2, 2), (1, 0), True, True),
]


@pytest.mark.parametrize("cfg", AVG_CONFIGS, ids=str)
def test_avg_pool2d_reference_and_gradcheck(cfg):
    shape, k, s, p, cm, cip = cfg
    x = np.random.default_rng(1).standard_normal(shape)
    y = F.avg_pool2d(ember.tensor(x), k, s, p, cm, cip)
    np.testing.assert_allclose(y.numpy(), ref.avg_pool2d(x, k, s, p, cm, cip), rtol=1e-12,
                               err_msg=str(cfg))
    xt = ember.tensor(x, requires_grad=True)
    assert gradcheck(lambda t: F.avg_pool2d(t, k, s, p, cm, cip), [xt])


@pytest.mark.parametrize("shape", [(64, 6, 28, 28), (3, 2, 7, 9), (2, 3, 2, 601),
                                   (2, 2, 5, 2), (1, 1, 2, 2)], ids=str)
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_avg_pool2d_2x2_fast_path(shape, threads, dtype):
    """2x2 / stride 2 / no padding (the vectorised path): even and odd sizes (the last row or
    column belongs to no window and gets zero gradient), rows wider than its 256-output
    chunks, LeNet's shape threaded; against the NumPy reference, both count_include_pad."""
    before = ember.get_num_threads()
    ember.set_num_threads(threads)
    try:
        rng = np.random.default_rng(sum(shape))
        x = rng.standard_normal(shape).astype(dtype)
        for cip in (True, False):
            xt = ember.tensor(x, requires_grad=True)
            y = F.avg_pool2d(xt, 2, 2, 0, False, cip)
            want = ref.avg_pool2d(x.astype(np.float64), (2, 2), (2, 2), (0, 0), False, cip)
            tol = 1e-6 if dtype == np.float32 else 1e-13
            np.testing.assert_allclose(y.numpy(), want, rtol=tol, atol=tol)
            g = rng.standard_normal(y.shape).astype(dtype)
            y.backward(g)
            want_dx = np.zeros(shape)
            h2, w2 = 2 * y.shape[2], 2 * y.shape[3]
            want_dx[:, :, :h2, :w2] = np.repeat(np.repeat(g / 4.0, 2, axis=2), 2, axis=3)
            np.testing.assert_allclose(xt.grad.numpy(), want_dx, rtol=tol, atol=tol)
    finally:
        ember.set_num_threads(before)


def max_2x2_reference(x):
    """Max and flat argmax of whole 2x2 windows at stride 2, scanning each window row by row
    with a strict > (the first of tied values wins) and NaN always taken (the last NaN
    wins): PyTorch's CPU rule."""
    n, c, h, w = x.shape
    y = np.empty((n, c, h // 2, w // 2), x.dtype)
    idx = np.empty(y.shape, np.int64)
    for i, j, p, q in np.ndindex(*y.shape):
        best, arg = None, -1
        for r in (2 * p, 2 * p + 1):
            for s in (2 * q, 2 * q + 1):
                v = x[i, j, r, s]
                if best is None or v > best or np.isnan(v):
                    best, arg = v, r * w + s
        y[i, j, p, q], idx[i, j, p, q] = best, arg
    return y, idx


@pytest.mark.parametrize("shape", [(2, 3, 6, 8), (3, 2, 7, 9), (1, 2, 2, 2), (2, 64, 4, 4)],
                         ids=str)
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_pool2d_2x2_fast_path_ties_and_nan(shape, threads, dtype):
    """2x2 / stride 2 / no padding (the one-pass path): values from {0, 1, 2} (many ties)
    with NaNs, even and odd sizes (the last row / column in no window); values, indices and
    the routed gradient against the sequential reference, and PyTorch's indices."""
    before = ember.get_num_threads()
    ember.set_num_threads(threads)
    try:
        rng = np.random.default_rng(sum(shape))
        x = rng.integers(0, 3, shape).astype(dtype)
        x[rng.random(shape) < 0.05] = np.nan
        xt = ember.tensor(x, requires_grad=True)
        y, idx = F.max_pool2d(xt, 2, 2, return_indices=True)
        want_y, want_idx = max_2x2_reference(x)
        np.testing.assert_array_equal(idx.numpy(), want_idx)
        np.testing.assert_array_equal(y.numpy(), want_y)  # NaNs compare equal here
        g = rng.standard_normal(y.shape).astype(dtype)
        y.backward(g)
        want_dx = np.zeros(x.shape)
        n, c, h, w = x.shape
        flat = want_dx.reshape(n, c, h * w)
        for i, j, p, q in np.ndindex(*y.shape):
            flat[i, j, want_idx[i, j, p, q]] += g[i, j, p, q]
        np.testing.assert_allclose(xt.grad.numpy(), want_dx, rtol=1e-6)
        torch = pytest.importorskip("torch")
        _, ti = torch.nn.functional.max_pool2d(torch.from_numpy(x), 2, 2, return_indices=True)
        np.testing.assert_array_equal(idx.numpy(), ti.numpy())
    finally:
        ember.set_num_threads(before)


@pytest.mark.parametrize("out", [(1, 1), (2, 3), (5, 4), (3, 7)])
def test_adaptive_pools_reference_and_gradcheck(out):
    x = _distinct((2, 2, 5, 7), seed=3)
    ya = F.adaptive_avg_pool2d(ember.tensor(x), out)
    np.testing.assert_allclose(ya.numpy(), ref.adaptive_pool2d(x, out, np.mean), rtol=1e-12)
    ym = F.adaptive_max_pool2d(ember.tensor(x), out)
    np.testing.assert_array_equal(ym.numpy(), ref.adaptive_pool2d(x, out, np.max))
    xt = ember.tensor(x, requires_grad=True)
    assert gradcheck(lambda t: F.adaptive_avg_pool2d(t, out), [xt])
    assert gradcheck(lambda t: F.adaptive_max_pool2d(t, out), [xt])


def test_pools_match_torch_random_configs():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    rng = np.random.default_rng(11)
    done = 0
    while done < 240:
        k = (int(rng.integers(1, 5)), int(rng.integers(1, 5)))
        s = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        p = (int(rng.integers(0, k[0] // 2 + 1)), int(rng.integers(0, k[1] // 2 + 1)))
        cm = bool(rng.integers(0, 2))
        h, w = int(rng.integers(k[0], 11)), int(rng.integers(k[1], 11))
        shape = (int(rng.integers(1, 3)), int(rng.integers(1, 4)), h, w)
        dtype = np.float64 if done % 2 else np.float32
        x = _distinct(shape, seed=done).astype(dtype)
        kind = ("max", "avg")[done % 2 if done % 4 < 2 else 1 - done % 2]
        cip = bool(rng.integers(0, 2))
        ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        if kind == "max":
            d = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
            span = [d[i] * (k[i] - 1) + 1 for i in range(2)]
            if any(2 * p[i] > span[i] or shape[2 + i] + 2 * p[i] < span[i] for i in range(2)):
                continue
            ey = F.max_pool2d(ex, k, s, p, d, cm)
            ty = tf.max_pool2d(tx, k, s, p, d, cm)
            cfg = ("max", shape, k, s, p, d, cm)
        else:
            ey = F.avg_pool2d(ex, k, s, p, cm, cip)
            ty = tf.avg_pool2d(tx, k, s, p, cm, cip)
            cfg = ("avg", shape, k, s, p, cm, cip)
        gy = rng.standard_normal(ey.shape).astype(dtype)
        ey.backward(gy)
        ty.backward(torch.from_numpy(gy))
        tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
        msg = f"config {cfg} {dtype.__name__}"
        np.testing.assert_allclose(ey.numpy(), ty.detach().numpy(), err_msg=msg, **tol)
        np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), err_msg=msg, **tol)
        done += 1


def test_adaptive_and_unpool_match_torch():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    x = _distinct((2, 3, 9, 6), seed=4)
    for out in [(1, 1), (4, 4), (3, 5), (9, 6)]:
        for e_fn, t_fn in ((F.adaptive_avg_pool2d, tf.adaptive_avg_pool2d),
                           (F.adaptive_max_pool2d, tf.adaptive_max_pool2d)):
            ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
            ey, ty = e_fn(ex, out), t_fn(tx, out)
            np.testing.assert_allclose(ey.numpy(), ty.detach().numpy(), rtol=1e-12)
            (ey * ey).sum().backward()
            (ty * ty).sum().backward()
            np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-12)
    ey, eidx = F.max_pool2d(ember.tensor(x), 2, return_indices=True)
    ty, tidx = tf.max_pool2d(torch.tensor(x), 2, return_indices=True)
    np.testing.assert_array_equal(eidx.numpy(), tidx.numpy())
    eu = F.max_unpool2d(ey, eidx, 2, output_size=(9, 6))
    tu = tf.max_unpool2d(ty, tidx, 2, output_size=(9, 6))
    np.testing.assert_array_equal(eu.numpy(), tu.numpy())


def test_pool_modules_and_global_average():
    x = ember.randn(2, 3, 6, 6)
    assert nn.MaxPool2d(2)(x).shape == (2, 3, 3, 3)
    assert nn.AvgPool2d(3, stride=1, padding=1)(x).shape == (2, 3, 6, 6)
    g = nn.GlobalAvgPool2d()(x)
    np.testing.assert_allclose(g.numpy(), x.numpy().mean(axis=(2, 3)), rtol=1e-6)
    y, idx = nn.MaxPool2d(2, return_indices=True)(x)
    assert idx.dtype == np.int64 and idx.shape == y.shape
    assert F.max_pool2d(ember.randn(3, 6, 6), 2).shape == (3, 3, 3)  # unbatched


@pytest.mark.parametrize("call,match", [
    (lambda x: F.max_pool2d(x, 0),
     r"max_pool2d: kernel_size must be in \[1, 2\^40\], got \(0, 0\)"),
    (lambda x: F.max_pool2d(x, 2, stride=0), r"max_pool2d: stride must be in \[1, 2\^40\]"),
    (lambda x: F.max_pool2d(x, 2, padding=-1),
     r"max_pool2d: padding must be in \[0, 2\^40\], got \(-1, -1\)"),
    (lambda x: F.max_pool2d(x, 2, padding=2), r"padding \(2, 2\) must be at most half"),
    (lambda x: F.max_pool2d(x, 7), r"kernel \(7, 7\) .* larger than the padded input \(5, 5\)"),
    (lambda x: F.max_pool2d(x, 2, dilation=0), r"max_pool2d: dilation must be in \[1, 2\^40\]"),
    (lambda x: F.avg_pool2d(x, 6), r"avg_pool2d: kernel \(6, 6\) .* larger than the padded"),
    (lambda x: F.max_pool2d(x.reshape(50), 2), r"max_pool2d: expected 3-D or 4-D input"),
    (lambda x: F.avg_pool2d(ember.zeros(2, 0, 5, 5), 2), r"avg_pool2d: input sizes must be "
                                                        r"positive \(batch may be 0\)"),
    (lambda x: F.adaptive_avg_pool2d(x, 0), r"argument 'output_size' must be >= 1"),
    (lambda x: F.max_pool2d(x.long(), 2), r"max_pool2d: argument 'input' must be float32"),
    (lambda x: F.max_pool2d(x, 2.5), r"max_pool2d: kernel_size must be an int or a pair"),
])
def test_pool_bad_arguments(call, match):
    """The values are checked by the binding, the kinds of the arguments in Python."""
    x = ember.randn(2, 1, 5, 5)
    with pytest.raises((ValueError, TypeError), match=match):
        call(x)


def test_pools_take_an_empty_batch():
    x = ember.zeros(0, 2, 5, 5)
    assert F.max_pool2d(x, 2).shape == (0, 2, 2, 2)
    assert F.avg_pool2d(x, 3, stride=1, padding=1).shape == (0, 2, 5, 5)
    assert F.adaptive_avg_pool2d(x, 1).shape == (0, 2, 1, 1)


def test_pool_c_boundary_checks_indices():
    from ember import _C

    dy = np.ones((1, 1, 2, 2), np.float32)
    with pytest.raises(TypeError, match="'indices' must be int64"):
        _C.pool2d_index_backward(dy, np.zeros((1, 1, 2, 2), np.int32), (4, 4))
    with pytest.raises(ValueError, match=r"'indices' must have shape \(1, 1, 2, 2\)"):
        _C.pool2d_index_backward(dy, np.zeros((1, 1, 3, 2), np.int64), (4, 4))
    # out-of-range indices are ignored by the kernel instead of writing out of bounds
    dx = _C.pool2d_index_backward(dy, np.full((1, 1, 2, 2), 99, np.int64), (4, 4))
    assert dx.sum() == 0


def test_max_pools_propagate_nan_like_torch():
    """A NaN in a window wins, and with several NaNs the last one's index is returned (as
    PyTorch's CPU kernels do), on the interior fast path and at the padded edges."""
    row = np.array([1.0, np.nan, 3.0, np.nan, 0.5, 2.0, 7.0, np.nan], dtype=np.float32)
    x = ember.tensor(np.tile(row, (1, 2, 3, 1)))
    y, idx = F.max_pool2d(x, (1, 4), return_indices=True)
    assert np.isnan(y.numpy()).all()
    np.testing.assert_array_equal(idx.numpy()[0, 0, 0], [3, 7])
    y, idx = F.max_pool2d(x, (1, 3), stride=1, padding=(0, 1), return_indices=True)
    np.testing.assert_array_equal(idx.numpy()[0, 0, 0, :3], [1, 1, 3])
    y, idx = F.adaptive_max_pool2d(x, (1, 2), return_indices=True)
    np.testing.assert_array_equal(idx.numpy()[0, 0, 0], [19, 23])  # last NaN, row 2
    torch = pytest.importorskip("torch")
    tx = torch.from_numpy(x.detach().numpy())
    for kw in (dict(kernel_size=(1, 4)), dict(kernel_size=(1, 3), stride=1, padding=(0, 1)),
               dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 1))):
        ey, ei = F.max_pool2d(x, return_indices=True, **kw)
        ty, ti = torch.nn.functional.max_pool2d(tx, return_indices=True, **kw)
        np.testing.assert_array_equal(ei.numpy(), ti.numpy(), err_msg=str(kw))
        np.testing.assert_array_equal(np.isnan(ey.numpy()), np.isnan(ty.numpy()))
