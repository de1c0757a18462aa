"""The batch-norm kernels (_C.batch_norm_*) on every ISA tier against float64 NumPy: the
training forward (statistics with a large mean, normalisation), the eval-mode apply and the
closed-form backward in both modes, for the (N, C, L) layout with L > 1 (BatchNorm2d) and
L = 1 (BatchNorm1d's row-wise path), with and without affine parameters."""
import numpy as np
import pytest

from ember import _C

SHAPES = [(4, 3, 17), (2, 70, 1), (5, 2, 64), (3, 130, 1), (1, 8, 9)]


def reference(x, g, gamma, beta, eps, training):
    mean = x.mean((0, 2))
    var = x.var((0, 2))
    invstd = 1 / np.sqrt(var + eps)
    xhat = (x - mean[None, :, None]) * invstd[None, :, None]
    w = np.ones_like(mean) if gamma is None else gamma
    y = xhat * w[None, :, None] + (0 if beta is None else beta[None, :, None])
    dbeta = g.sum((0, 2))
    dgamma = (g * xhat).sum((0, 2))
    m = x.shape[0] * x.shape[2]
    if training:
        dx = (w * invstd)[None, :, None] / m * (m * g - dbeta[None, :, None]
                                                - xhat * dgamma[None, :, None])
    else:
        dx = (w * invstd)[None, :, None] * g
    return y, mean, var, invstd, dx, dgamma, dbeta


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batch_norm_kernels_match_float64(shape, affine, dtype, isa):
    rng = np.random.default_rng(sum(shape))
    x = (rng.standard_normal(shape) * 3 + 50).astype(dtype)  # a large mean must not cancel
    g = rng.standard_normal(shape).astype(dtype)
    c = shape[1]
    gamma = rng.uniform(0.5, 1.5, c).astype(dtype) if affine else None
    beta = rng.standard_normal(c).astype(dtype) if affine else None
    x64, g64 = x.astype(np.float64), g.astype(np.float64)
    ref = reference(x64, g64, None if gamma is None else gamma.astype(np.float64),
                    None if beta is None else beta.astype(np.float64), 1e-5, True)
    tol = 2e-4 if dtype == np.float32 else 1e-10
    y, mean, var, invstd = _C.batch_norm_forward_train(x, gamma, beta, 1e-5)
    for got, want in zip((y, mean, var, invstd), ref[:4]):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    m2, v2 = _C.batch_norm_stats(x)
    np.testing.assert_allclose(m2, ref[1], rtol=tol, atol=tol)
    np.testing.assert_allclose(v2, ref[2], rtol=tol, atol=tol)
    applied = _C.batch_norm_apply(x, mean, invstd, gamma, beta)
    np.testing.assert_allclose(applied, ref[0], rtol=tol, atol=tol)
    for training in (True, False):
        want = reference(x64, g64, None if gamma is None else gamma.astype(np.float64), None,
                         1e-5, training)
        dx, dw, db = _C.batch_norm_backward(x, g, mean, invstd, gamma, training)
        scale = max(1.0, float(np.abs(want[4]).max()))
        np.testing.assert_allclose(dx, want[4], rtol=tol, atol=tol * scale)
        if affine:
            np.testing.assert_allclose(dw, want[5], rtol=tol, atol=tol * shape[0] * shape[2])
            np.testing.assert_allclose(db, want[6], rtol=tol, atol=tol * shape[0] * shape[2])
