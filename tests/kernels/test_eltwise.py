"""ember._C.relu_forward / relu_backward / tanh_forward / add against NumPy: small (one
thread) and large (threaded, uneven chunks) arrays, float32 and float64, NaN and signed
zeros, in-place add; malformed arguments raise errors that name the op and the argument."""
import numpy as np
import pytest

import ember
from ember import _C

SIZES = [0, 1, 15, 17, 1000, (1 << 15) + 3, 3 * (1 << 16) + 5]


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_kernels_match_numpy(n, dtype, threads):
    rng = np.random.default_rng(n)
    x = rng.standard_normal(n).astype(dtype)
    if n > 3:
        x[:3] = [np.nan, -0.0, 0.0]
    y = _C.relu_forward(x)
    np.testing.assert_array_equal(y, np.maximum(x, 0))
    g = rng.standard_normal(n).astype(dtype)
    if n > 4:
        g[4] = np.nan  # a NaN gradient where the unit is off gives 0, as torch
        y[4] = -1.0
    want = np.where(y > 0, g, 0).astype(dtype)
    np.testing.assert_array_equal(_C.relu_backward(g, y), want)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tanh_sigmoid_backward_kernels_match_numpy(n, dtype, threads):
    rng = np.random.default_rng(n + 2)
    g = rng.standard_normal(n).astype(dtype)
    y = np.tanh(rng.standard_normal(n)).astype(dtype)
    tol = 1e-6 if dtype == np.float32 else 1e-15
    np.testing.assert_allclose(_C.tanh_backward(g, y), g * (1 - y * y), rtol=tol, atol=tol)
    s = (1 / (1 + np.exp(-rng.standard_normal(n)))).astype(dtype)
    np.testing.assert_allclose(_C.sigmoid_backward(g, s), g * s * (1 - s), rtol=tol, atol=tol)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_add_kernel_matches_numpy(n, dtype, threads):
    rng = np.random.default_rng(n + 1)
    a, b = (rng.standard_normal((n, 1)).astype(dtype) for _ in range(2))
    want = a + b
    np.testing.assert_array_equal(_C.add(a, b), want)
    out = _C.add(a, b, a)  # in place
    assert out is a or np.shares_memory(out, a)
    np.testing.assert_array_equal(a, want)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tanh_forward_matches_float64(n, dtype, threads, isa):
    """Within 2 float32 ulps of float64 tanh (the vectorised polynomial measured 1.3) over
    normal values, tiny and huge magnitudes, both branches around |x| = 0.625, signed
    zeros, infinities and NaN; float64 within 1 ulp."""
    rng = np.random.default_rng(n)
    x = (rng.standard_normal(n) * 4).astype(dtype)
    special = [np.nan, -0.0, 0.0, np.inf, -np.inf, 0.625, -0.6249999, 9.0, 1e-30, -88.0,
               3e38, 1e-42]
    x[:min(n, len(special))] = special[:n]
    y = _C.tanh_forward(x)
    assert y.dtype == dtype and y.shape == x.shape
    ref = np.tanh(x.astype(np.float64))
    fin = np.isfinite(ref)
    ulp = np.spacing(np.abs(ref[fin]).astype(dtype)).astype(np.float64)
    assert np.all(np.abs(y[fin] - ref[fin]) <= 2 * ulp)
    np.testing.assert_array_equal(np.isnan(y), np.isnan(x))
    np.testing.assert_array_equal(np.signbit(y), np.signbit(x))


def test_tanh_forward_dense_sweep(isa):
    """Every float32 in a dense sweep of [-12, 12] (both branches, the clamp) to 2 ulps."""
    x = np.linspace(-12, 12, 400001, dtype=np.float32)
    ref = np.tanh(x.astype(np.float64))
    ulp = np.spacing(np.abs(ref).astype(np.float32)).astype(np.float64)
    assert np.all(np.abs(_C.tanh_forward(x) - ref) <= 2 * ulp)


def test_relu_keeps_shape():
    x = np.arange(-12, 12, dtype=np.float32).reshape(2, 3, 4)
    assert _C.relu_forward(x).shape == (2, 3, 4)


@pytest.mark.parametrize("call, match", [
    (lambda: _C.relu_forward(np.ones(3, np.int64)), "relu: argument 'input' must be float32"),
    (lambda: _C.relu_forward(np.ones((4, 4), np.float32)[:, ::2]),
     "relu: argument 'input' must be C-contiguous"),
    (lambda: _C.relu_backward(np.ones(3, np.float32), np.ones(4, np.float32)),
     "relu_backward: argument 'output' has shape"),
    (lambda: _C.relu_backward(np.ones(3, np.float32), np.ones(3, np.float64)),
     "relu_backward: argument 'output' has dtype float64"),
    (lambda: _C.tanh_forward(np.ones(3, np.int32)), "tanh: argument 'input' must be float32"),
    (lambda: _C.tanh_forward(np.ones((4, 4), np.float32)[:, ::2]),
     "tanh: argument 'input' must be C-contiguous"),
    (lambda: _C.tanh_backward(np.ones(3, np.float32), np.ones(4, np.float32)),
     "tanh_backward: argument 'output' has shape"),
    (lambda: _C.sigmoid_backward(np.ones(3, np.int32), np.ones(3, np.int32)),
     "sigmoid_backward: argument 'grad_output' must be float32"),
    (lambda: _C.add(np.ones(3, np.float32), np.ones(3, np.float64)),
     "add: argument 'other' has dtype float64"),
    (lambda: _C.add(np.ones(3, np.float32), np.ones(2, np.float32)),
     "add: argument 'other' has shape"),
    (lambda: _C.add(np.ones(4, np.float32), np.ones(4, np.float32), np.ones(4, np.float32)[::-1]),
     "add: argument 'out' must be C-contiguous"),
])
def test_eltwise_kernel_errors(call, match):
    with pytest.raises((TypeError, ValueError), match=match):
        call()


def test_add_rejects_partial_overlap_and_readonly_out():
    buf = np.zeros(10, np.float32)
    with pytest.raises(ValueError, match="partially overlaps"):
        _C.add(buf[:8], buf[2:], buf[1:9])
    ro = np.zeros(4, np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="add: argument 'out'"):
        _C.add(np.ones(4, np.float32), np.ones(4, np.float32), ro)


def test_relu_and_add_ops_use_kernels_with_same_results():
    """The autograd ops (which call the kernels for big contiguous floats and NumPy
    otherwise) agree between the two paths, forward and backward."""
    rng = np.random.default_rng(0)
    big = rng.standard_normal((64, 1024)).astype(np.float32)
    for data in (big, big[:, ::2]):  # contiguous (kernel) and strided (NumPy)
        a = ember.tensor(np.ascontiguousarray(data) if data is big else data, requires_grad=True)
        b = ember.tensor(rng.standard_normal(data.shape).astype(np.float32), requires_grad=True)
        out = ember.relu(a + b)
        out.backward(np.ones(data.shape, np.float32))
        want = np.maximum(a.numpy() + b.numpy(), 0)
        np.testing.assert_allclose(out.numpy(), want, rtol=1e-6)
        np.testing.assert_array_equal(a.grad.numpy(), (want > 0).astype(np.float32))
        np.testing.assert_array_equal(b.grad.numpy(), a.grad.numpy())
