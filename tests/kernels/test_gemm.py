"""ember._C.gemm / bmm against numpy.matmul: hundreds of seeded random shapes (1, odd, primes,
tall-skinny, K=1), both transposes, alpha/beta, leading dimensions larger than the row
(sub-matrix views), the bias + ReLU epilogue, on every ISA path this machine can run;
malformed arguments."""
import numpy as np
import pytest

import ember
from ember import _C
from helpers import available_isas

DTYPES = [np.float32, np.float64]
TOL = {np.float32: 2e-5, np.float64: 1e-12}  # relative to the size of the terms
SPECIAL = [1, 2, 3, 5, 7, 13, 14, 15, 16, 17, 31, 32, 33, 97, 127, 257]


def random_case(rng):
    """(m, n, k, trans_a, trans_b, alpha, beta, pad) with a mix of awkward sizes."""
    def size():
        r = rng.random()
        if r < 0.4:
            return int(rng.choice(SPECIAL))
        if r < 0.5:
            return 1
        return int(rng.integers(1, 300))

    m, n, k = size(), size(), size()
    if rng.random() < 0.1:  # tall-skinny
        m, n = int(rng.integers(300, 1200)), int(rng.integers(1, 8))
    if rng.random() < 0.05:
        k = 1
    alpha = float(rng.choice([1.0, -1.0, 0.5, 2.5, 0.0]))
    beta = float(rng.choice([0.0, 1.0, -0.75, 0.3]))
    pad = int(rng.choice([0, 0, 1, 5]))  # extra columns in the stored arrays (lda > cols)
    return m, n, k, bool(rng.random() < 0.5), bool(rng.random() < 0.5), alpha, beta, pad


def stored(rng, rows, cols, pad, dtype):
    """A rows x cols view into a wider array (leading dimension cols + pad)."""
    big = rng.standard_normal((rows, cols + pad)).astype(dtype)
    return big[:, :cols]


def check_case(rng, case, dtype, threads):
    m, n, k, ta, tb, alpha, beta, pad = case
    bias = rng.standard_normal(n).astype(dtype) if rng.random() < 0.3 else None
    relu = bool(rng.random() < 0.3)
    a = stored(rng, k, m, pad, dtype) if ta else stored(rng, m, k, pad, dtype)
    b = stored(rng, n, k, pad, dtype) if tb else stored(rng, k, n, pad, dtype)
    c_big = rng.standard_normal((m, n + pad)).astype(dtype)
    c = c_big[:, :n]
    c0 = c.astype(np.float64)
    tail = c_big[:, n:].copy()
    opa = (a.T if ta else a).astype(np.float64)
    opb = (b.T if tb else b).astype(np.float64)
    expect = alpha * (opa @ opb) + beta * c0
    scale = np.abs(alpha) * (np.abs(opa) @ np.abs(opb)) + np.abs(beta * c0) + 1.0
    if bias is not None:
        expect = expect + bias
        scale = scale + np.abs(bias)
    if relu:
        expect = np.maximum(expect, 0)
    got = _C.gemm(a.T if ta else a, b.T if tb else b, out=c, alpha=alpha, beta=beta, bias=bias,
                  relu=relu)
    assert got is c
    err = np.max(np.abs(c.astype(np.float64) - expect) / scale)
    assert err < TOL[dtype], (f"gemm m={m} n={n} k={k} trans_a={ta} trans_b={tb} "
                              f"alpha={alpha} beta={beta} pad={pad} bias={bias is not None} "
                              f"relu={relu} {np.dtype(dtype).name} "
                              f"threads={threads} isa={_C.get_isa()}: rel err {err:.3g}")
    if relu:
        assert (c >= 0).all()
    if pad:  # the columns past n belong to someone else: untouched
        assert np.array_equal(c_big[:, n:], tail), "gemm wrote past the last column of out"


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_gemm_matches_numpy_random_shapes(dtype, isa):
    rng = np.random.default_rng(1234 + (dtype == np.float64))
    before = ember.get_num_threads()
    try:
        for i in range(320):  # >= 300 cases per dtype on each ISA path
            threads = 1 if i % 3 == 0 else before
            ember.set_num_threads(threads)
            check_case(rng, random_case(rng), dtype, threads)
    finally:
        ember.set_num_threads(before)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_gemm_large_by_random_vector(dtype, isa):
    """A big product checked cheaply (BLIS's trick): (A @ B) @ v == A @ (B @ v)."""
    rng = np.random.default_rng(7)
    for m, n, k in [(515, 601, 700), (1030, 67, 300), (33, 1500, 1031)]:
        a = rng.standard_normal((m, k)).astype(dtype)
        b = rng.standard_normal((n, k)).astype(dtype).T  # a transposed view
        c = _C.gemm(a, b)
        v = rng.standard_normal(n)
        lhs = c.astype(np.float64) @ v
        rhs = a.astype(np.float64) @ (b.astype(np.float64) @ v)
        scale = np.abs(a).astype(np.float64) @ (np.abs(b).astype(np.float64) @ np.abs(v))
        assert np.max(np.abs(lhs - rhs) / scale) < TOL[dtype], (m, n, k, dtype)


@pytest.mark.parametrize("m", [112, 113, 128, 140, 141])
def test_b_read_in_place_up_to_its_row_bound(m, isa):
    """Around the row count below which the AVX-512 kernel reads a row-contiguous B in place
    (140) instead of packing it, and the classifier-sized products that now use two threads
    (>= 300k multiply-adds), with several blocks of k and the bias + ReLU epilogue."""
    rng = np.random.default_rng(m)
    before = ember.get_num_threads()
    try:
        for threads in (1, 2):
            ember.set_num_threads(threads)
            for n, k in [(256, 784), (10, 256), (256, 10)]:
                check_case(rng, (m, n, k, False, False, 1.0, 0.0, 0), np.float32, threads)
                check_case(rng, (m, n, k, False, True, 1.0, 0.5, 3), np.float32, threads)
    finally:
        ember.set_num_threads(before)


def test_beta_zero_ignores_nan_in_out():
    a = np.ones((3, 4), np.float32)
    b = np.ones((4, 5), np.float32)
    out = np.full((3, 5), np.nan, np.float32)
    _C.gemm(a, b, out=out, beta=0.0)
    assert np.array_equal(out, np.full((3, 5), 4.0, np.float32))


def test_bias_relu_epilogue_keeps_nan_and_applies_with_k_zero():
    """ReLU keeps NaN (as max(x, 0)); with k = 0 the epilogue still runs on beta * out."""
    a = np.ones((2, 3), np.float32)
    b = np.ones((3, 4), np.float32)
    bias = np.array([np.nan, -5.0, 1.0, 0.0], np.float32)
    got = _C.gemm(a, b, bias=bias, relu=True)
    assert np.isnan(got[:, 0]).all() and (got[:, 1:] == [0.0, 4.0, 3.0]).all()
    out = np.full((2, 4), -1.0)
    _C.gemm(np.ones((2, 0)), np.ones((0, 4)), out=out, beta=1.0, bias=np.arange(4.0), relu=True)
    assert np.array_equal(out, np.maximum(np.arange(4.0) - 1.0, 0) * np.ones((2, 1)))


def test_zero_sizes_and_k_zero():
    a = np.ones((3, 0), np.float64)
    b = np.ones((0, 4), np.float64)
    out = np.full((3, 4), 2.0)
    _C.gemm(a, b, out=out, beta=0.5)
    assert np.array_equal(out, np.full((3, 4), 1.0))
    assert _C.gemm(np.ones((0, 3)), np.ones((3, 4))).shape == (0, 4)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_bmm_matches_numpy(dtype, isa):
    rng = np.random.default_rng(3)
    for batch, m, n, k in [(1, 5, 6, 7), (7, 13, 17, 9), (4, 64, 48, 80), (16, 3, 3, 3)]:
        for ta in (False, True):
            for tb in (False, True):
                a = rng.standard_normal((batch, k, m) if ta else (batch, m, k)).astype(dtype)
                b = rng.standard_normal((batch, n, k) if tb else (batch, k, n)).astype(dtype)
                opa = np.swapaxes(a, 1, 2) if ta else a
                opb = np.swapaxes(b, 1, 2) if tb else b
                got = _C.bmm(a, b, trans_a=ta, trans_b=tb, alpha=1.5)
                np.testing.assert_allclose(got, 1.5 * np.matmul(opa, opb), rtol=TOL[dtype] * 10,
                                           atol=TOL[dtype] * 10 * k,
                                           err_msg=f"bmm {batch} {m} {n} {k} {ta} {tb}")


def test_isa_paths_agree_on_training_sized_product():
    rng = np.random.default_rng(11)
    a = rng.standard_normal((128, 784)).astype(np.float32)
    b = rng.standard_normal((784, 256)).astype(np.float32)
    before = _C.get_isa()
    results = {}
    try:
        for name in available_isas():
            _C.set_isa(name)
            results[name] = _C.gemm(a, b)
    finally:
        _C.set_isa(before)
    ref = results["generic"]
    for name, got in results.items():
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-3, err_msg=name)


# ------------------------------------------------------------------------- errors
def test_gemm_rejects_bad_arguments():
    f = np.ones((3, 4), np.float32)
    with pytest.raises(TypeError, match="gemm"):
        _C.gemm(np.ones((3, 4), np.int64), np.ones((4, 2), np.int64))
    with pytest.raises((TypeError, ValueError), match="gemm.*'b'"):
        _C.gemm(f, np.ones((4, 2), np.float64))
    with pytest.raises(ValueError, match=r"gemm: inner dimensions differ.*\(3, 4\).*\(5, 2\)"):
        _C.gemm(f, np.ones((5, 2), np.float32))
    with pytest.raises(ValueError, match="gemm.*'a'.*2"):
        _C.gemm(np.ones((3,), np.float32), f)
    with pytest.raises(ValueError, match="out.*shape"):
        _C.gemm(f, np.ones((4, 2), np.float32), out=np.empty((3, 3), np.float32))
    with pytest.raises(ValueError, match="beta"):
        _C.gemm(f, np.ones((4, 2), np.float32), beta=1.0)
    with pytest.raises(ValueError, match="gemm.*'out'"):
        _C.gemm(f, np.ones((4, 4), np.float32), out=f)  # out aliases an input
    ro = np.empty((3, 2), np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="out"):
        _C.gemm(f, np.ones((4, 2), np.float32), out=ro)
    with pytest.raises(ValueError, match="stride"):
        _C.gemm(f, np.ones((4, 2), np.float32), out=np.empty((3, 4), np.float32)[:, ::2])
    b2 = np.ones((4, 2), np.float32)
    with pytest.raises(ValueError, match=r"gemm: argument 'bias' must have shape \(2,\)"):
        _C.gemm(f, b2, bias=np.ones(3, np.float32))
    with pytest.raises(TypeError, match="gemm.*'bias'"):
        _C.gemm(f, b2, bias=np.ones(2, np.float64))
    with pytest.raises(ValueError, match="gemm.*'bias'.*contiguous"):
        _C.gemm(f, b2, bias=np.ones(4, np.float32)[::2])
    with pytest.raises(TypeError, match="'bias' must be a NumPy array"):
        _C.gemm(f, b2, bias=[1.0, 2.0])
    out = np.zeros((3, 2), np.float32)
    with pytest.raises(ValueError, match="gemm.*'out'.*'bias'"):
        _C.gemm(f, b2, out=out, bias=out[0])  # bias read while out is written


def test_gemm_negative_strides_rejected_not_misread():
    f = np.ones((3, 4), np.float32)
    with pytest.raises(ValueError, match="gemm.*stride"):
        _C.gemm(f[::-1], np.ones((4, 2), np.float32))


def test_bmm_rejects_mismatched_batches():
    with pytest.raises(ValueError, match=r"bmm: batch sizes differ"):
        _C.bmm(np.ones((2, 3, 4)), np.ones((3, 4, 5)))
    with pytest.raises(ValueError, match="bmm.*'a'.*3"):
        _C.bmm(np.ones((3, 4)), np.ones((3, 4, 5)))


def test_set_isa_rejects_unknown_and_unavailable():
    with pytest.raises(ValueError, match="set_isa"):
        _C.set_isa("sse9")
    if "avx512" not in available_isas():
        with pytest.raises(ValueError, match="not available"):
            _C.set_isa("avx512")


def chain_reference(x, weights, biases, relus):
    """Float64 reference of _C.linear_chain and the scale of its terms (for the tolerance)."""
    h = x.astype(np.float64)
    scale = np.abs(h)
    for wt, b, relu in zip(weights, biases, relus):
        w64 = wt.astype(np.float64)
        scale = scale @ np.abs(w64) + (0 if b is None else np.abs(b)) + 1.0
        h = h @ w64 + (0 if b is None else b)
        if relu:
            h = np.maximum(h, 0)
    return h, scale


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_linear_chain_matches_numpy(dtype, isa):
    """Random chains (widths 1..300, padded W^T rows, bias or not, ReLU or not, batches from
    1 row to past two register tiles per thread) on one and two threads."""
    rng = np.random.default_rng(11 + (dtype == np.float64))
    before = ember.get_num_threads()
    try:
        for i in range(40):
            ember.set_num_threads(1 if i % 4 == 0 else before)
            m = int(rng.choice([1, 5, 16, 33, 128, 200]))
            widths = [int(rng.integers(1, 300)) for _ in range(int(rng.integers(1, 5)))]
            x = rng.standard_normal((m, int(rng.integers(1, 300)))).astype(dtype)
            weights, biases, relus, k = [], [], [], x.shape[1]
            for n in widths:
                pad = int(rng.choice([0, 3, 16]))
                w = stored(rng, k, n, pad, dtype)  # a view with padded rows
                w *= dtype(1 / np.sqrt(k))
                weights.append(w)
                biases.append(rng.standard_normal(n).astype(dtype) if rng.random() < 0.7
                              else None)
                relus.append(bool(rng.random() < 0.6))
                k = n
            got = _C.linear_chain(x, weights, biases, relus)
            want, scale = chain_reference(x, weights, biases, relus)
            assert got.shape == (m, widths[-1]) and got.dtype == dtype
            err = np.max(np.abs(got - want) / scale)
            assert err < TOL[dtype] * 4, (i, m, widths, err)
    finally:
        ember.set_num_threads(before)


def test_linear_chain_rejects_bad_arguments():
    x = np.zeros((4, 3), np.float32)
    w = np.zeros((3, 2), np.float32)
    with pytest.raises(ValueError, match="linear_chain: argument 'weights' is empty"):
        _C.linear_chain(x, [], [], [])
    with pytest.raises(ValueError, match="must have the same length, got 1, 0 and 1"):
        _C.linear_chain(x, [w], [], [True])
    with pytest.raises(ValueError, match=r"'weights\[1\]' must have 2 rows \(the previous "
                                         r"layer's width\), got shape \(3, 2\)"):
        _C.linear_chain(x, [w, w], [None, None], [True, False])
    with pytest.raises(TypeError, match=r"'weights\[0\]' has dtype float64 but 'x' has dtype "
                                        "float32"):
        _C.linear_chain(x, [w.astype(np.float64)], [None], [False])
    with pytest.raises(ValueError, match=r"'weights\[0\]' must have unit stride"):
        _C.linear_chain(x, [np.zeros((2, 3), np.float32).T], [None], [False])
    with pytest.raises(ValueError, match="argument 'x' must be C-contiguous"):
        _C.linear_chain(np.zeros((3, 4), np.float32).T, [w], [None], [False])
    with pytest.raises(ValueError, match=r"argument 'biases\[0\]' must have shape \(2,\)"):
        _C.linear_chain(x, [w], [np.zeros(3, np.float32)], [False])
    with pytest.raises(TypeError, match="argument 'relus' must hold bools"):
        _C.linear_chain(x, [w], [None], [1])
    with pytest.raises(TypeError, match=r"'weights\[0\]' must be a NumPy array"):
        _C.linear_chain(x, [[[0.0, 0.0]] * 3], [None], [False])
    with pytest.raises(TypeError, match="argument 'x' must be float32 or float64"):
        _C.linear_chain(x.astype(np.int64), [w], [None], [False])
