"""Independent NumPy references for the CNN ops (clarity over speed), shared by the tests."""
import math

import numpy as np


def out_size(n, k, s, p, d, ceil_mode=False):
    """Output length of a window op, from PyTorch's documented formula."""
    span = n + 2 * p - d * (k - 1) - 1
    o = (math.ceil(span / s) if ceil_mode else span // s) + 1
    if ceil_mode and (o - 1) * s >= n + p:
        o -= 1
    return o


def conv2d(x, w, b=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    n, c, h, wd = x.shape
    k, cg, r, s = w.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    p = out_size(h, r, sh, ph, dh)
    q = out_size(wd, s, sw, pw, dw)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    y = np.zeros((n, k, p, q), dtype=np.float64)
    kg = k // groups
    for g in range(groups):
        xs_g = xp[:, g * cg:(g + 1) * cg]
        w_g = w[g * kg:(g + 1) * kg]
        for i in range(r):
            for j in range(s):
                win = xs_g[:, :, i * dh:i * dh + sh * (p - 1) + 1:sh,
                           j * dw:j * dw + sw * (q - 1) + 1:sw]
                y[:, g * kg:(g + 1) * kg] += np.einsum("ncpq,kc->nkpq", win, w_g[:, :, i, j])
    if b is not None:
        y += b.reshape(1, -1, 1, 1)
    return y


def conv_transpose2d(x, w, b=None, stride=(1, 1), padding=(0, 0), output_padding=(0, 0),
                     groups=1, dilation=(1, 1)):
    """Scatter definition: every input pixel adds its weighted kernel into the output."""
    n, c, h, wd = x.shape
    _, og, r, s = w.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    ho = (h - 1) * sh - 2 * ph + dh * (r - 1) + output_padding[0] + 1
    wo = (wd - 1) * sw - 2 * pw + dw * (s - 1) + output_padding[1] + 1
    full = np.zeros((n, og * groups, ho + 2 * ph + sh, wo + 2 * pw + sw))
    cg = c // groups
    for g in range(groups):
        for i in range(r):
            for j in range(s):
                contrib = np.einsum("nchw,co->nohw", x[:, g * cg:(g + 1) * cg],
                                    w[g * cg:(g + 1) * cg, :, i, j])
                full[:, g * og:(g + 1) * og, i * dh:i * dh + sh * (h - 1) + 1:sh,
                     j * dw:j * dw + sw * (wd - 1) + 1:sw] += contrib
    y = full[:, :, ph:ph + ho, pw:pw + wo]
    if b is not None:
        y = y + b.reshape(1, -1, 1, 1)
    return y


def max_pool2d(x, kernel, stride, padding=(0, 0), dilation=(1, 1), ceil_mode=False):
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    p = out_size(h, kh, sh, ph, dh, ceil_mode)
    q = out_size(w, kw, sw, pw, dw, ceil_mode)
    y = np.empty((n, c, p, q))
    idx = np.empty((n, c, p, q), dtype=np.int64)
    for i in range(p):
        for j in range(q):
            best = np.full((n, c), -np.inf)
            arg = np.full((n, c), -1)
            for a in range(kh):
                for bb in range(kw):
                    hh, ww = i * sh - ph + a * dh, j * sw - pw + bb * dw
                    if 0 <= hh < h and 0 <= ww < w:
                        v = x[:, :, hh, ww]
                        better = (v > best) | (arg < 0)
                        best = np.where(better, v, best)
                        arg = np.where(better, hh * w + ww, arg)
            y[:, :, i, j], idx[:, :, i, j] = best, arg
    return y, idx


def avg_pool2d(x, kernel, stride, padding=(0, 0), ceil_mode=False, count_include_pad=True):
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    p = out_size(h, kh, sh, ph, 1, ceil_mode)
    q = out_size(w, kw, sw, pw, 1, ceil_mode)
    y = np.empty((n, c, p, q))
    for i in range(p):
        for j in range(q):
            h0, w0 = i * sh - ph, j * sw - pw
            h1, w1 = min(h0 + kh, h + ph), min(w0 + kw, w + pw)
            size = (h1 - h0) * (w1 - w0)
            h0, w0, h1, w1 = max(h0, 0), max(w0, 0), min(h1, h), min(w1, w)
            div = size if count_include_pad else (h1 - h0) * (w1 - w0)
            y[:, :, i, j] = x[:, :, h0:h1, w0:w1].sum(axis=(2, 3)) / div
    return y


def adaptive_pool2d(x, out_hw, reduce):
    n, c, h, w = x.shape
    p, q = out_hw
    y = np.empty((n, c, p, q))
    for i in range(p):
        h0, h1 = (i * h) // p, -(-((i + 1) * h) // p)
        for j in range(q):
            w0, w1 = (j * w) // q, -(-((j + 1) * w) // q)
            y[:, :, i, j] = reduce(x[:, :, h0:h1, w0:w1], axis=(2, 3))
    return y


def batch_norm_train(x, gamma, beta, eps):
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    mean = x.mean(axis=axes)
    var = x.var(axis=axes)
    y = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    return y * gamma.reshape(shape) + beta.reshape(shape), mean, var
