"""The pooling kernels (_C.*pool2d*) on every ISA tier against float64 NumPy references:
max (values and PyTorch's flat argmax indices), average (count_include_pad both ways),
adaptive average / max, and the backwards, over strides, padding, dilation, ceil_mode and
odd sizes (the interior fast loops and the checked edge columns), on 1 and 2 threads."""
import itertools

import numpy as np
import pytest

from ember import _C

CASES = [  # (H, W, kernel, stride, padding, dilation, ceil_mode)
    (9, 11, (3, 3), (2, 2), (1, 1), (1, 1), False),
    (8, 8, (2, 2), (2, 2), (0, 0), (1, 1), False),  # the whole-2x2 fast path
    (7, 13, (3, 2), (1, 3), (1, 0), (2, 1), True),
    (5, 6, (2, 3), (3, 2), (1, 1), (1, 1), True),
    (12, 1, (3, 1), (2, 1), (1, 0), (1, 1), False),
]


def pooled(n, k, s, p, d, ceil):
    span = n + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil else span // s) + 1
    if ceil and (out - 1) * s >= n + p:
        out -= 1
    return out


def windows(H, W, kernel, stride, padding, dilation, ceil):
    """For every output (p, q): the list of (h, w) inside the input of its window."""
    P = pooled(H, kernel[0], stride[0], padding[0], dilation[0], ceil)
    Q = pooled(W, kernel[1], stride[1], padding[1], dilation[1], ceil)
    out = {}
    for p, q in itertools.product(range(P), range(Q)):
        cells = []
        for i, j in itertools.product(range(kernel[0]), range(kernel[1])):
            h = p * stride[0] - padding[0] + i * dilation[0]
            w = q * stride[1] - padding[1] + j * dilation[1]
            if 0 <= h < H and 0 <= w < W:
                cells.append((h, w))
        out[p, q] = cells
    return P, Q, out


def max_ref(x, case):
    H, W, kernel, stride, padding, dilation, ceil = case
    P, Q, win = windows(H, W, kernel, stride, padding, dilation, ceil)
    y = np.empty(x.shape[:2] + (P, Q))
    idx = np.empty(x.shape[:2] + (P, Q), np.int64)
    for (p, q), cells in win.items():
        vals = np.stack([x[:, :, h, w] for h, w in cells], -1)
        k = np.argmax(vals, -1)  # first maximum, as the kernels (no NaNs here)
        y[:, :, p, q] = np.take_along_axis(vals, k[..., None], -1)[..., 0]
        flat = np.array([h * W + w for h, w in cells])
        idx[:, :, p, q] = flat[k]
    return y, idx


def avg_ref(x, case, include_pad):
    H, W, kernel, stride, padding, _, ceil = case
    P, Q, win = windows(H, W, kernel, stride, padding, (1, 1), ceil)
    y = np.zeros(x.shape[:2] + (P, Q))
    for (p, q), cells in win.items():
        h0, w0 = p * stride[0] - padding[0], q * stride[1] - padding[1]
        h1 = min(h0 + kernel[0], H + padding[0])
        w1 = min(w0 + kernel[1], W + padding[1])
        div = (h1 - h0) * (w1 - w0) if include_pad else len(cells)
        y[:, :, p, q] = sum(x[:, :, h, w] for h, w in cells) / div
    return y


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_pool_matches_reference(case, dtype, isa, threads):
    H, W, kernel, stride, padding, dilation, ceil = case
    x = np.random.default_rng(0).standard_normal((3, 5, H, W)).astype(dtype)
    y, idx = _C.max_pool2d_forward(x, kernel, stride, padding, dilation, ceil)
    ref_y, ref_idx = max_ref(x.astype(np.float64), case)
    np.testing.assert_array_equal(idx, ref_idx)
    np.testing.assert_array_equal(y, ref_y.astype(dtype))
    g = np.random.default_rng(1).standard_normal(y.shape).astype(dtype)
    dx = _C.pool2d_index_backward(g, idx, (H, W))
    ref_dx = np.zeros(x.shape)
    for n, c in itertools.product(range(3), range(5)):
        np.add.at(ref_dx[n, c].reshape(-1), ref_idx[n, c].reshape(-1), g[n, c].reshape(-1))
    np.testing.assert_allclose(dx, ref_dx, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("case", [c for c in CASES if c[5] == (1, 1)])
@pytest.mark.parametrize("include_pad", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_avg_pool_matches_reference(case, include_pad, dtype, isa, threads):
    H, W, kernel, stride, padding, _, ceil = case
    x = np.random.default_rng(2).standard_normal((2, 4, H, W)).astype(dtype)
    y = _C.avg_pool2d_forward(x, kernel, stride, padding, ceil, include_pad)
    ref = avg_ref(x.astype(np.float64), case, include_pad)
    tol = 1e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(y, ref, rtol=tol, atol=tol)
    # The backward is the adjoint: <avg(x), g> == <x, avg_backward(g)>.
    g = np.random.default_rng(3).standard_normal(y.shape).astype(dtype)
    dx = _C.avg_pool2d_backward(g, (H, W), kernel, stride, padding, ceil, include_pad)
    lhs = float(np.sum(ref * g.astype(np.float64)))
    rhs = float(np.sum(x.astype(np.float64) * dx.astype(np.float64)))
    assert abs(lhs - rhs) <= 1e-4 * max(1.0, abs(lhs))


@pytest.mark.parametrize("hw,out", [((7, 9), (3, 4)), ((5, 5), (5, 5)), ((4, 10), (3, 1))])
def test_adaptive_pools_match_reference(hw, out, isa):
    H, W = hw
    x = np.random.default_rng(4).standard_normal((2, 3, H, W))
    avg = _C.adaptive_avg_pool2d_forward(x, out)
    mx, idx = _C.adaptive_max_pool2d_forward(x, out)
    for p, q in itertools.product(range(out[0]), range(out[1])):
        h0, h1 = p * H // out[0], -(-(p + 1) * H // out[0])
        w0, w1 = q * W // out[1], -(-(q + 1) * W // out[1])
        win = x[:, :, h0:h1, w0:w1]
        np.testing.assert_allclose(avg[:, :, p, q], win.mean((2, 3)), rtol=1e-12, atol=1e-15)
        np.testing.assert_array_equal(mx[:, :, p, q], win.max((2, 3)))
        k = win.reshape(2, 3, -1).argmax(-1)
        np.testing.assert_array_equal(idx[:, :, p, q], (h0 + k // (w1 - w0)) * W + w0 +
                                      k % (w1 - w0))
    g = np.random.default_rng(5).standard_normal(avg.shape)
    dx = _C.adaptive_avg_pool2d_backward(g, hw)
    assert abs(np.sum(avg * g) - np.sum(x * dx)) < 1e-10


def test_tiers_agree_bit_for_bit_on_max_pool():
    """Max pooling selects values, so every tier must return the same bits and indices."""
    from helpers import available_isas

    x = np.random.default_rng(6).standard_normal((4, 8, 17, 15)).astype(np.float32)
    before, outs = _C.get_isa(), []
    try:
        for name in available_isas():
            _C.set_isa(name)
            outs.append(_C.max_pool2d_forward(x, (3, 3), (2, 2), (1, 1), (1, 1), True))
    finally:
        _C.set_isa(before)
    for y, idx in outs[1:]:
        np.testing.assert_array_equal(y, outs[0][0])
        np.testing.assert_array_equal(idx, outs[0][1])
