"""The convolution algorithms against each other and a float64 reference: Winograd F(2x2,3x3)
(float32, 3x3 stride-1 layers), the frame forward, backward-input and backward-weight
(stride-1 layers, float32 and float64), im2col + GEMM with column blocks that split images
or span several of them, on 1 and 2 threads. Each path is forced with _C.set_conv_algo so
that the tests cover it whatever the automatic choice picks for the shape."""
import numpy as np
import pytest

import cnn_reference as ref
from helpers import available_isas
import ember
from ember import _C

ARGS = ((1, 1), (1, 1), (1, 1), 1)


@pytest.fixture
def algo():
    """Restore the automatic algorithm choice and thread count after the test."""
    before_threads = ember.get_num_threads()
    yield _C.set_conv_algo
    _C.set_conv_algo("auto")
    ember.set_num_threads(before_threads)


def reference(x, w, b, stride, padding, groups):
    """float64 conv2d (NumPy, tests/ops/cnn_reference.py), the test's oracle."""
    return ref.conv2d(x.astype(np.float64), w.astype(np.float64),
                      None if b is None else b.astype(np.float64), stride, padding, (1, 1),
                      groups)


def grads_reference(x, w, dy, stride, padding, groups):
    """(dx, dw) in float64: dx is the transposed convolution of dy, dw sums dy times the input
    windows (NumPy einsum over the zero-padded input)."""
    x, w, dy = x.astype(np.float64), w.astype(np.float64), dy.astype(np.float64)
    (sh, sw), (ph, pw) = stride, padding
    n, c, h, wd = x.shape
    k, cg, r, s = w.shape
    p, q = dy.shape[2:]
    out_pad = (h - ((p - 1) * sh - 2 * ph + r), wd - ((q - 1) * sw - 2 * pw + s))
    dx = ref.conv_transpose2d(dy, w, None, stride, padding, out_pad, groups)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dw = np.zeros_like(w)
    kg = k // groups
    for g in range(groups):
        for i in range(r):
            for j in range(s):
                win = xp[:, g * cg:(g + 1) * cg, i:i + sh * (p - 1) + 1:sh,
                         j:j + sw * (q - 1) + 1:sw]
                dw[g * kg:(g + 1) * kg, :, i, j] = np.einsum(
                    "nkpq,ncpq->kc", dy[:, g * kg:(g + 1) * kg], win)
    return dx, dw


# (N, C, H, W, K, padding, groups): Winograd-eligible layers, odd sizes, every padding it
# accepts, groups, an image smaller than a tile, several tile blocks per image.
WINOGRAD = [
    (2, 16, 8, 8, 16, 1, 1),
    (3, 32, 7, 9, 16, 0, 1),
    (2, 16, 9, 5, 32, 2, 1),
    (4, 64, 10, 10, 32, 1, 2),
    (1, 16, 1, 1, 16, 1, 1),
    (3, 16, 2, 3, 16, 2, 1),
    (2, 64, 40, 37, 64, 1, 1),  # several blocks of tile rows per image
    (5, 128, 12, 12, 128, 1, 1),
]


@pytest.mark.parametrize("cfg", WINOGRAD, ids=str)
@pytest.mark.parametrize("threads", [1, 2])
def test_winograd_matches_reference(cfg, threads, algo):
    n, c, h, w_, k, p, g = cfg
    ember.set_num_threads(threads)
    algo("winograd")
    rng = np.random.default_rng(sum(cfg))
    x = rng.standard_normal((n, c, h, w_)).astype(np.float32)
    w = (rng.standard_normal((k, c // g, 3, 3)) / np.sqrt(9 * c / g)).astype(np.float32)
    b = rng.standard_normal(k).astype(np.float32)
    args = ((1, 1), (p, p), (1, 1), g)
    y = _C.conv2d_forward(x, w, b, *args)
    want = reference(x, w, b, (1, 1), (p, p), g)
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-4 * np.abs(want).max(),
                               err_msg=f"winograd forward {cfg} threads={threads}")
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dx = _C.conv2d_backward_input(dy, w, (h, w_), *args)
    want_dx, _ = grads_reference(x, w, dy, (1, 1), (p, p), g)
    np.testing.assert_allclose(dx, want_dx, rtol=1e-4, atol=1e-4 * np.abs(want_dx).max(),
                               err_msg=f"winograd backward-input {cfg} threads={threads}")
    algo("im2col")  # the other algorithm agrees too
    np.testing.assert_allclose(_C.conv2d_forward(x, w, b, *args), y, rtol=1e-4,
                               atol=1e-4 * np.abs(want).max())


# im2col column blocks: small images batched into one block (LeNet-like), large images split
# across blocks mid-row, strided and padded windows, several groups, 1 and 2 threads.
IM2COL = [
    (64, 6, 12, 12, 16, 5, 1, 0, 1),
    (7, 3, 28, 28, 6, 5, 1, 2, 1),
    (2, 64, 33, 31, 8, 3, 2, 1, 1),
    (3, 8, 45, 45, 16, 3, 1, 1, 2),
    (1, 256, 9, 9, 32, 3, 1, 1, 1),
]


@pytest.mark.parametrize("cfg", IM2COL, ids=str)
@pytest.mark.parametrize("threads", [1, 2])
def test_im2col_blocks_match_reference(cfg, threads, algo):
    n, c, h, k, r, s, stride, p, g = cfg[0], cfg[1], cfg[2], cfg[4], cfg[5], cfg[5], cfg[6], \
        cfg[7], cfg[8]
    ember.set_num_threads(threads)
    algo("im2col")
    rng = np.random.default_rng(n * c + k)
    x = rng.standard_normal((n, c, h, cfg[3])).astype(np.float32)
    w = (rng.standard_normal((k, c // g, r, s)) / np.sqrt(r * s * c / g)).astype(np.float32)
    args = ((stride, stride), (p, p), (1, 1), g)
    y = _C.conv2d_forward(x, w, None, *args)
    want = reference(x, w, None, (stride, stride), (p, p), g)
    tol = dict(rtol=1e-4, atol=1e-4 * np.abs(want).max())
    np.testing.assert_allclose(y, want, err_msg=f"forward {cfg}", **tol)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    want_dx, want_dw = grads_reference(x, w, dy, (stride, stride), (p, p), g)
    dx = _C.conv2d_backward_input(dy, w, x.shape[2:], *args)
    np.testing.assert_allclose(dx, want_dx, rtol=1e-4, atol=1e-4 * np.abs(want_dx).max(),
                               err_msg=f"backward-input {cfg}")
    dw, db = _C.conv2d_backward_weight(x, dy, w.shape[2:], *args, True)
    np.testing.assert_allclose(dw, want_dw, rtol=1e-4, atol=1e-4 * np.abs(want_dw).max(),
                               err_msg=f"backward-weight {cfg}")
    np.testing.assert_allclose(db, dy.astype(np.float64).sum(axis=(0, 2, 3)), rtol=1e-4,
                               atol=1e-3)


# (N, C, H, W, K, R, S, padding, dilation, groups): the frame backward-weight's geometry:
# ResNet/LeNet layers, odd sizes, rectangular kernels and padding, dilation, groups, a batch
# smaller than the thread count, frames longer than one chunk (many images).
FRAME = [
    (4, 16, 32, 32, 16, 3, 3, (1, 1), 1, 1),
    (6, 1, 28, 28, 6, 5, 5, (2, 2), 1, 1),
    (5, 6, 14, 14, 16, 5, 5, (0, 0), 1, 1),
    (3, 5, 7, 9, 6, 3, 3, (1, 1), 1, 1),
    (2, 6, 10, 11, 4, 3, 3, (2, 2), 2, 2),
    (3, 7, 6, 13, 9, 1, 3, (0, 1), 1, 1),
    (1, 3, 5, 5, 2, 2, 2, (1, 0), 1, 1),
    (40, 8, 8, 8, 8, 3, 3, (1, 1), 1, 1),
    (12, 32, 28, 28, 32, 3, 3, (1, 1), 1, 1),  # backward-weight frames in several chunks
]


# Output-channel counts around the direct path's tile widths (AVX-512: 32 and the narrow
# one-vector 16 for float32, 16 and 8 for float64; AVX2 16 / 8; portable 8 / 4), so full
# tiles, narrow tiles (16, 48; 24 in float64), partial edge tiles and several tiles all run.
DIRECT = FRAME + [
    (3, 8, 8, 8, 64, 3, 3, (1, 1), 1, 1),
    (2, 64, 8, 8, 64, 3, 3, (1, 1), 1, 1),
    (3, 16, 16, 16, 48, 3, 3, (1, 1), 1, 1),
    (2, 4, 5, 33, 40, 3, 3, (1, 1), 1, 2),
    (2, 8, 9, 9, 24, 3, 3, (1, 1), 1, 1),
    (2, 8, 5, 6, 32, 3, 3, (3, 3), 1, 1),  # output rows whose windows hold no input row
]


@pytest.mark.parametrize("cfg", DIRECT, ids=str)
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["frame", "direct"])
def test_frame_backward_weight_matches_reference(cfg, threads, dtype, name, algo):
    """The frame backward-weight (dot tiles over channel-major frames) and the direct one
    (gemm_gather_rows over pixel-major frames; dilated layers fall back to im2col)."""
    n, c, h, w_, k, r, s, pad, dil, g = cfg
    ember.set_num_threads(threads)
    algo(name)
    rng = np.random.default_rng(n * c + k + r)
    x = rng.standard_normal((n, c, h, w_)).astype(dtype)
    p = h + 2 * pad[0] - dil * (r - 1)
    q = w_ + 2 * pad[1] - dil * (s - 1)
    dy = rng.standard_normal((n, k, p, q)).astype(dtype)
    dw, db = _C.conv2d_backward_weight(x, dy, (r, s), (1, 1), pad, (dil, dil), g, True)
    want = frame_reference(x, dy, (r, s), pad, dil, g)
    tol = 1e-4 if dtype == np.float32 else 1e-11
    np.testing.assert_allclose(dw, want, rtol=tol, atol=tol * np.abs(want).max(),
                               err_msg=f"{name} backward-weight {cfg} threads={threads}")
    np.testing.assert_allclose(db, dy.astype(np.float64).sum(axis=(0, 2, 3)), rtol=tol,
                               atol=tol * 100)
    algo("im2col")  # the other algorithm agrees too
    dw2, _ = _C.conv2d_backward_weight(x, dy, (r, s), (1, 1), pad, (dil, dil), g, False)
    np.testing.assert_allclose(dw2, dw, rtol=tol, atol=tol * np.abs(want).max())




@pytest.mark.parametrize("cfg", DIRECT, ids=str)
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["frame", "direct"])
def test_frame_forward_and_backward_input_match_reference(cfg, threads, dtype, name, algo):
    """The frame forward (gemm_shifted, channel-major) and the direct forward
    (gemm_frame_rows, pixel-major), and the stride-1 backward-input run as a forward
    convolution of dy with the flipped, transposed filters by each."""
    n, c, h, w_, k, r, s, pad, dil, g = cfg
    ember.set_num_threads(threads)
    algo(name)
    rng = np.random.default_rng(n + c * k + r)
    x = rng.standard_normal((n, c, h, w_)).astype(dtype)
    w = (rng.standard_normal((k, c // g, r, s)) / np.sqrt(r * s * c / g)).astype(dtype)
    b = rng.standard_normal(k).astype(dtype)
    args = ((1, 1), pad, (dil, dil), g)
    y = _C.conv2d_forward(x, w, b, *args)
    want = ref.conv2d(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64),
                      (1, 1), pad, (dil, dil), g)
    tol = 1e-4 if dtype == np.float32 else 1e-11
    np.testing.assert_allclose(y, want, rtol=tol, atol=tol * np.abs(want).max(),
                               err_msg=f"{name} forward {cfg} threads={threads}")
    dy = rng.standard_normal(y.shape).astype(dtype)
    dx = _C.conv2d_backward_input(dy, w, (h, w_), *args)
    algo("im2col")
    want_dx = _C.conv2d_backward_input(dy.astype(np.float64), w.astype(np.float64), (h, w_),
                                       *args)
    np.testing.assert_allclose(dx, want_dx, rtol=tol, atol=tol * np.abs(want_dx).max(),
                               err_msg=f"{name} backward-input {cfg} threads={threads}")
    if dil == 1:
        ref_dx, _ = grads_reference(x, w, dy, (1, 1), pad, g)
        np.testing.assert_allclose(want_dx, ref_dx, rtol=1e-10, atol=1e-10)


# (N, C, H, W, K, R, S, stride, padding, dilation, groups): strided layers for the direct
# forward (frame rows stored phase by phase) and the gathered backward-weight (strided
# output positions), which takes dilation 1 only (dilated ones fall back to im2col).
STRIDED = [
    (4, 16, 32, 32, 32, 3, 3, (2, 2), (1, 1), 1, 1),
    (3, 32, 16, 16, 64, 3, 3, (2, 2), (1, 1), 1, 1),
    (2, 8, 15, 17, 40, 3, 3, (2, 3), (1, 0), 1, 1),
    (3, 6, 13, 11, 32, 5, 5, (3, 2), (2, 2), 1, 2),
    (2, 8, 14, 14, 32, 3, 3, (2, 2), (2, 2), 2, 1),
    (2, 16, 9, 9, 32, 1, 1, (2, 2), (0, 0), 1, 1),
]


@pytest.mark.parametrize("cfg", STRIDED, ids=str)
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_direct_strided_matches_reference(cfg, threads, dtype, algo):
    n, c, h, w_, k, r, s, stride, pad, dil, g = cfg
    ember.set_num_threads(threads)
    algo("direct")
    rng = np.random.default_rng(n + c * k + r)
    x = rng.standard_normal((n, c, h, w_)).astype(dtype)
    w = (rng.standard_normal((k, c // g, r, s)) / np.sqrt(r * s * c / g)).astype(dtype)
    b = rng.standard_normal(k).astype(dtype)
    args = (stride, pad, (dil, dil), g)
    y = _C.conv2d_forward(x, w, b, *args)
    want = ref.conv2d(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64),
                      stride, pad, (dil, dil), g)
    tol = 1e-4 if dtype == np.float32 else 1e-11
    np.testing.assert_allclose(y, want, rtol=tol, atol=tol * np.abs(want).max(),
                               err_msg=f"direct strided forward {cfg} threads={threads}")
    dy = rng.standard_normal(y.shape).astype(dtype)
    dw, db = _C.conv2d_backward_weight(x, dy, (r, s), *args, True)
    algo("im2col")
    want_dw, _ = _C.conv2d_backward_weight(x.astype(np.float64), dy.astype(np.float64),
                                           (r, s), *args, False)
    np.testing.assert_allclose(dw, want_dw, rtol=tol, atol=tol * np.abs(want_dw).max(),
                               err_msg=f"direct strided backward-weight {cfg}")
    np.testing.assert_allclose(db, dy.astype(np.float64).sum(axis=(0, 2, 3)), rtol=tol,
                               atol=tol * 100)
    if dil == 1 and g == 1:
        _, ref_dw = grads_reference(x, w, dy, stride, pad, g)
        np.testing.assert_allclose(want_dw, ref_dw, rtol=1e-10, atol=1e-10)


def frame_reference(x, dy, rs, pad, dil, groups):
    """dw in float64 with dilation: dy times the dilated windows of the zero-padded input."""
    x, dy = x.astype(np.float64), dy.astype(np.float64)
    (r, s), (ph, pw) = rs, pad
    c, k = x.shape[1], dy.shape[1]
    cg, kg = c // groups, k // groups
    p, q = dy.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dw = np.zeros((k, cg, r, s))
    for gi in range(groups):
        for i in range(r):
            for j in range(s):
                win = xp[:, gi * cg:(gi + 1) * cg, i * dil:i * dil + p, j * dil:j * dil + q]
                dw[gi * kg:(gi + 1) * kg, :, i, j] = np.einsum(
                    "nkpq,ncpq->kc", dy[:, gi * kg:(gi + 1) * kg], win)
    return dw


def test_set_conv_algo_rejects_unknown():
    with pytest.raises(ValueError, match="set_conv_algo: argument 'name' must be 'auto', "
                                         "'im2col', 'winograd', 'frame', 'direct' or "
                                         "'pixel', got 'fft'"):
        _C.set_conv_algo("fft")
    assert _C.get_conv_algo() == "auto"


# (N, C, H, W, K, R, S, stride, padding, dilation): the per-pixel path's geometry (groups 1):
# VGG's small images (2x2, 4x4 with 3x3 and padding 1), 1x1 and odd sizes, channel counts
# around the tile widths (partial tiles, one narrow tile), more images than one tile, padding
# larger than the kernel reach (taps that never land), stride and dilation.
PIXEL = [
    (16, 64, 2, 2, 64, 3, 3, (1, 1), (1, 1), 1),
    (20, 40, 4, 4, 72, 3, 3, (1, 1), (1, 1), 1),
    (3, 8, 1, 1, 24, 3, 3, (1, 1), (1, 1), 1),
    (15, 17, 3, 5, 33, 3, 2, (1, 1), (1, 0), 1),
    (5, 9, 5, 5, 16, 3, 3, (2, 2), (2, 1), 1),
    (4, 12, 6, 6, 10, 3, 3, (1, 1), (2, 2), 2),
    (30, 5, 2, 3, 7, 1, 1, (1, 1), (0, 0), 1),
]


@pytest.mark.parametrize("cfg", PIXEL, ids=str)
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pixel_path_matches_reference(cfg, threads, dtype, algo):
    """The per-pixel path (one gemm_gather_both per output pixel / input pixel / tap over
    the batch, padding taps skipped): forward with bias, backward-input, backward-weight
    and the bias gradient against float64 references."""
    n, c, h, w_, k, r, s, stride, pad, dil = cfg
    ember.set_num_threads(threads)
    algo("pixel")
    rng = np.random.default_rng(n + c * k + r * h)
    x = rng.standard_normal((n, c, h, w_)).astype(dtype)
    w = (rng.standard_normal((k, c, r, s)) / np.sqrt(r * s * c)).astype(dtype)
    b = rng.standard_normal(k).astype(dtype)
    args = (stride, pad, (dil, dil), 1)
    y = _C.conv2d_forward(x, w, b, *args)
    want = ref.conv2d(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64),
                      stride, pad, (dil, dil), 1)
    tol = 1e-4 if dtype == np.float32 else 1e-11
    np.testing.assert_allclose(y, want, rtol=tol, atol=tol * np.abs(want).max(),
                               err_msg=f"pixel forward {cfg} threads={threads}")
    dy = rng.standard_normal(y.shape).astype(dtype)
    dx = _C.conv2d_backward_input(dy, w, (h, w_), *args)
    dw, db = _C.conv2d_backward_weight(x, dy, (r, s), *args, True)
    algo("im2col")
    x64, w64, dy64 = x.astype(np.float64), w.astype(np.float64), dy.astype(np.float64)
    want_dx = _C.conv2d_backward_input(dy64, w64, (h, w_), *args)
    want_dw, _ = _C.conv2d_backward_weight(x64, dy64, (r, s), *args, False)
    if dil == 1:  # the im2col oracle itself against the NumPy reference
        ref_dx, ref_dw = grads_reference(x, w, dy, stride, pad, 1)
        np.testing.assert_allclose(want_dx, ref_dx, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(want_dw, ref_dw, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dx, want_dx, rtol=tol, atol=tol * np.abs(want_dx).max(),
                               err_msg=f"pixel backward-input {cfg} threads={threads}")
    np.testing.assert_allclose(dw, want_dw, rtol=tol, atol=tol * np.abs(want_dw).max(),
                               err_msg=f"pixel backward-weight {cfg} threads={threads}")
    np.testing.assert_allclose(db, dy64.sum(axis=(0, 2, 3)), rtol=tol, atol=tol * 100)


# (N, C, H, W, K, kernel, stride, padding): layers that each forced path takes (ResNet's
# 3x3 and strided 1x1 layers, VGG's small images, odd sizes, im2col blocks spanning images).
FUSED = [
    (4, 16, 12, 12, 16, 3, 1, 1),
    (3, 16, 11, 9, 32, 3, 2, 1),
    (3, 16, 10, 10, 32, 1, 2, 0),
    (20, 64, 4, 4, 64, 3, 1, 1),
    (3, 5, 7, 9, 6, 3, 1, 2),
    (64, 6, 12, 12, 16, 5, 1, 0),
]


@pytest.mark.parametrize("cfg", FUSED, ids=str)
@pytest.mark.parametrize("name", ["im2col", "winograd", "frame", "direct", "pixel"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("threads", [1, 2])
def test_forward_with_residual_and_relu(cfg, name, dtype, threads, algo):
    """conv2d_forward(..., residual, relu) = relu(conv(x) + bias + residual) on every path
    (each applies it to the part of y it has just written), with and without a bias, NaN
    kept by the ReLU."""
    n, c, h, w_, k, r, stride, p = cfg
    ember.set_num_threads(threads)
    algo(name)
    rng = np.random.default_rng(n * c + k + r)
    x = rng.standard_normal((n, c, h, w_)).astype(dtype)
    w = (rng.standard_normal((k, c, r, r)) / np.sqrt(r * r * c)).astype(dtype)
    b = rng.standard_normal(k).astype(dtype)
    args = ((stride, stride), (p, p), (1, 1), 1)
    conv = reference(x, w, b, (stride, stride), (p, p), 1)
    res = rng.standard_normal(conv.shape).astype(dtype)
    res[0, 0, 0, 0] = np.nan
    tol = 1e-4 if dtype == np.float32 else 1e-11
    conv_nobias = reference(x, w, None, (stride, stride), (p, p), 1)
    for bias in (b, None):
        for residual in (None, res):
            for relu in (False, True):
                want = (conv if bias is not None else conv_nobias) + (
                    0 if residual is None else residual.astype(np.float64))
                if relu:
                    want = np.where(want < 0, 0, want)  # NaN stays NaN
                got = _C.conv2d_forward(x, w, bias, *args, residual=residual, relu=relu)
                np.testing.assert_allclose(
                    got, want, rtol=tol, atol=tol * np.nanmax(np.abs(want)),
                    err_msg=f"{name} {cfg} bias={bias is not None} "
                            f"residual={residual is not None} relu={relu}")
                if relu:
                    assert (got[~np.isnan(got)] >= 0).all()


def test_forward_residual_errors():
    x = np.zeros((2, 3, 5, 5), np.float32)
    w = np.zeros((4, 3, 3, 3), np.float32)
    args = ((1, 1), (1, 1), (1, 1), 1)
    with pytest.raises(ValueError, match=r"conv2d: argument 'residual' must have shape "
                                         r"\(2, 4, 5, 5\), got \(2, 4, 5, 4\)"):
        _C.conv2d_forward(x, w, None, *args, residual=np.zeros((2, 4, 5, 4), np.float32))
    with pytest.raises(TypeError, match="residual"):
        _C.conv2d_forward(x, w, None, *args, residual=np.zeros((2, 4, 5, 5)))
    with pytest.raises(ValueError, match="residual.*contiguous"):
        _C.conv2d_forward(x, w, None, *args,
                          residual=np.zeros((2, 4, 5, 10), np.float32)[..., ::2])
    with pytest.raises(TypeError, match="'residual' must be a NumPy array"):
        _C.conv2d_forward(x, w, None, *args, residual=[0.0])


PATHS = [  # (pass, input shape, weight shape, stride, padding, dtype) -> path, AVX-512, 2 threads
    ("forward", (128, 16, 32, 32), (16, 16, 3, 3), 1, 1, "float32", "frame"),
    ("forward", (128, 64, 32, 32), (64, 64, 3, 3), 1, 1, "float32", "winograd"),
    ("forward", (128, 64, 32, 32), (64, 64, 3, 3), 1, 1, "float64", "direct"),
    ("forward", (128, 64, 8, 8), (64, 64, 3, 3), 1, 1, "float32", "direct"),
    ("forward", (64, 512, 2, 2), (512, 512, 3, 3), 1, 1, "float32", "pixel"),
    ("forward", (128, 64, 32, 32), (128, 64, 1, 1), 2, 0, "float32", "im2col"),
    ("forward", (1, 64, 8, 8), (64, 64, 3, 3), 1, 1, "float32", "im2col"),  # batch < threads
    ("backward_input", (128, 64, 8, 8), (64, 64, 3, 3), 1, 1, "float32", "direct"),
    ("backward_input", (128, 64, 32, 32), (64, 64, 3, 3), 1, 1, "float32", "winograd"),
    ("backward_input", (128, 16, 32, 32), (32, 16, 3, 3), 2, 1, "float32", "im2col"),
    ("backward_weight", (128, 64, 8, 8), (64, 64, 3, 3), 1, 1, "float32", "direct"),
    ("backward_weight", (64, 1, 28, 28), (6, 1, 5, 5), 1, 0, "float32", "frame"),
    ("backward_weight", (64, 512, 4, 4), (512, 512, 3, 3), 1, 1, "float32", "pixel"),
]


@pytest.mark.parametrize("case", PATHS, ids=lambda c: f"{c[0]}-{c[1]}-{c[2]}-{c[5]}")
def test_auto_rules_choose_the_documented_path(case):
    """select.cpp's table, pinned for layers of the zoo (a rule change must update these)."""
    if "avx512" not in available_isas():
        pytest.skip("the expected paths are those of the AVX-512 tier's tile widths")
    pas, xs, ws, stride, pad, dtype, want = case
    before_isa, before_threads = _C.get_isa(), ember.get_num_threads()
    _C.set_isa("avx512")
    ember.set_num_threads(2)
    try:
        got = _C.conv2d_algorithm(pas, xs, ws, (stride, stride), (pad, pad), (1, 1), 1, dtype)
    finally:
        _C.set_isa(before_isa)
        ember.set_num_threads(before_threads)
    assert got == want


def test_forced_algorithm_is_reported_and_falls_back_to_im2col():
    before = _C.get_conv_algo()
    try:
        _C.set_conv_algo("winograd")
        args = ((1, 1), (1, 1), (1, 1), 1)
        assert _C.conv2d_algorithm("forward", (4, 16, 16, 16), (16, 16, 3, 3), *args) == \
            "winograd"
        assert _C.conv2d_algorithm("forward", (4, 16, 16, 16), (16, 16, 3, 3), *args,
                                   "float64") == "im2col"  # Winograd is float32 only
        assert _C.conv2d_algorithm("backward_weight", (4, 16, 16, 16), (16, 16, 3, 3),
                                   *args) == "im2col"
    finally:
        _C.set_conv_algo(before)
    with pytest.raises(ValueError, match="conv2d_algorithm: argument 'direction'"):
        _C.conv2d_algorithm("sideways", (4, 16, 16, 16), (16, 16, 3, 3), *args)
