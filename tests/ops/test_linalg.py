"""Matrix products: matmul (1-D, 2-D, batched, broadcast batch dims, dtype rules, strided and
empty operands, GEMM tile edges) and linear (with/without bias, N-d input). NumPy reference,
float64 gradcheck, torch oracle, error messages."""
import numpy as np
import pytest

import ember
from ember.ops import linalg as LA
from helpers import assert_close, check_grad, helper_test_op, ids, import_torch, uniform


def linear_ref(x, w, b=None):
    y = x @ w.T
    return y if b is None else y + b


# ------------------------------------------------------------------------ matmul shapes
MATMUL_SHAPES = [
    ((3,), (3,)),                 # dot product -> 0-d
    ((3,), (3, 4)),               # vector @ matrix
    ((2, 3), (3,)),               # matrix @ vector
    ((2, 3), (3, 4)),
    ((1, 3), (3, 1)),
    ((4, 1), (1, 3)),             # outer product (K = 1)
    ((2, 2, 3), (3, 4)),          # batched @ matrix
    ((2, 3), (2, 3, 4)),          # matrix @ batched
    ((3,), (2, 3, 4)),            # vector @ batched
    ((2, 3, 4), (4,)),            # batched @ vector
    ((2, 2, 3), (2, 3, 4)),       # bmm
    ((2, 1, 2, 3), (3, 3, 2)),    # broadcast batch dims
    ((1, 2, 3), (2, 1, 3, 2)),
    ((2, 1, 2, 3), (1, 2, 3, 2)),
    ((3,), (1, 2, 3, 2)),
]


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=ids(MATMUL_SHAPES))
def test_matmul_forward_matches_numpy(shapes):
    a, b = uniform(shapes[0], 1), uniform(shapes[1], 2)
    out = LA.matmul(ember.tensor(a), ember.tensor(b))
    assert_close(out, np.matmul(a, b), 1e-12, 1e-12, msg=str(shapes), check_dtype=True)
    a32, b32 = a.astype(np.float32), b.astype(np.float32)
    out32 = LA.matmul(ember.tensor(a32), ember.tensor(b32))
    assert out32.dtype == np.float32
    assert_close(out32, np.matmul(a, b), 1e-5, 1e-5, msg=f"float32 {shapes}")


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=ids(MATMUL_SHAPES))
def test_matmul_gradcheck(shapes):
    check_grad(LA.matmul, shapes[0], shapes[1], seed=3)


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=ids(MATMUL_SHAPES))
def test_matmul_vs_torch(shapes):
    torch = import_torch()
    helper_test_op(list(shapes), torch.matmul, LA.matmul, seed=4, msg="matmul")
    helper_test_op(list(shapes), torch.matmul, LA.matmul, seed=4, dtype=np.float32,
                   msg="matmul")


@pytest.mark.parametrize("shapes", MATMUL_SHAPES[:5], ids=ids(MATMUL_SHAPES[:5]))
def test_matmul_gradient_of_one_input_only(shapes):
    a, b = uniform(shapes[0], 5), uniform(shapes[1], 6)
    check_grad(LA.matmul, a, b, grad=[True, False])
    check_grad(LA.matmul, a, b, grad=[False, True])
    x, y = ember.tensor(a, requires_grad=True), ember.tensor(b)
    LA.matmul(x, y).sum().backward()
    assert y.grad is None and x.grad.shape == a.shape


def test_matmul_operator_and_methods_vs_torch():
    helper_test_op([(2, 3), (3, 4)], lambda a, b: a @ b)
    helper_test_op([(2, 3), (3, 4)], lambda a, b: a.matmul(b))
    helper_test_op([(2, 3), (3, 4)], lambda a, b: a.mm(b))
    helper_test_op([(3, 2), (3, 4)], lambda a, b: a.t() @ b)
    helper_test_op([(2, 3), (2, 4, 3)], lambda a, b: a @ b.transpose(1, 2))
    assert ember.matmul is LA.matmul


def test_matmul_with_ndarray_operands():
    a, b = uniform((2, 3), 7), uniform((3, 4), 8)
    t = ember.tensor(b, requires_grad=True)
    for out in (a @ t, LA.matmul(a, t)):
        assert isinstance(out, ember.Tensor) and out.requires_grad
        assert_close(out, a @ b, 1e-12, 1e-12)
    assert_close(LA.matmul(ember.tensor(a), b), a @ b, 1e-12, 1e-12)
    assert_close(LA.matmul([[1.0, 2.0]], [[3.0], [4.0]]), [[11.0]], 0, 0)


# ------------------------------------------------------------------------ GEMM sizes and layouts
GEMM_SIZES = [(1, 1, 1), (5, 7, 3), (6, 16, 8), (7, 17, 9), (13, 33, 31), (64, 48, 96),
              (97, 65, 130), (1, 70, 129), (129, 1, 40), (40, 50, 1)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("m,n,k", GEMM_SIZES, ids=ids(GEMM_SIZES))
def test_matmul_gemm_sizes_match_numpy(m, n, k, dtype):
    a, b = uniform((m, k), 9, dtype=dtype), uniform((k, n), 10, dtype=dtype)
    out = LA.matmul(ember.tensor(a), ember.tensor(b))
    ref = a.astype(np.float64) @ b.astype(np.float64)
    tol = 1e-12 if dtype == np.float64 else 2e-5 * max(1, np.sqrt(k))
    assert_close(out, ref, tol, tol, msg=f"({m},{k})@({k},{n}) {np.dtype(dtype)}")
    assert out.dtype == dtype


@pytest.mark.parametrize("m,n,k", [(7, 17, 9), (33, 20, 65)], ids=ids([(7, 17, 9), (33, 20, 65)]))
def test_matmul_gemm_sizes_vs_torch(m, n, k):
    torch = import_torch()
    helper_test_op([(m, k), (k, n)], torch.matmul, LA.matmul, seed=11)
    helper_test_op([(m, k), (k, n)], torch.matmul, LA.matmul, seed=11, dtype=np.float32,
                   atol=1e-4, grad_atol=1e-3)
    helper_test_op([(3, m, k), (3, k, n)], torch.matmul, LA.matmul, seed=12)
    helper_test_op([(2, m, k), (k, n)], torch.matmul, LA.matmul, seed=13, dtype=np.float32,
                   atol=1e-4, grad_atol=1e-3)


def test_matmul_is_the_same_with_one_and_many_threads():
    a, b = uniform((150, 120), 14), uniform((120, 90), 15)
    old = ember.get_num_threads()
    try:
        ember.set_num_threads(1)
        one = LA.matmul(ember.tensor(a), ember.tensor(b)).data.copy()
        ember.set_num_threads(max(2, old))
        many = LA.matmul(ember.tensor(a), ember.tensor(b)).data.copy()
    finally:
        ember.set_num_threads(old)
    assert_close(one, a @ b, 1e-12, 1e-12)
    assert_close(many, a @ b, 1e-12, 1e-12)


def _layouts(arr):
    """The same values as differently strided arrays (views where possible)."""
    return {
        "c": np.ascontiguousarray(arr),
        "fortran": np.asfortranarray(arr),
        "transposed_view": np.ascontiguousarray(arr.T).T,
        "negative_rows": np.ascontiguousarray(arr[::-1])[::-1],
        "negative_cols": np.ascontiguousarray(arr[:, ::-1])[:, ::-1],
        "step2": np.repeat(arr, 2, axis=1)[:, ::2],
        "step2_rows": np.repeat(arr, 2, axis=0)[::2],
    }


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("layout", list(_layouts(np.zeros((2, 2)))))
def test_matmul_strided_operands(layout, dtype):
    a, b = uniform((9, 13), 16, dtype=dtype), uniform((13, 7), 17, dtype=dtype)
    ref = a.astype(np.float64) @ b.astype(np.float64)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    la, lb = _layouts(a)[layout], _layouts(b)[layout]
    for x, y in ((la, b), (a, lb), (la, lb)):
        out = LA.matmul(ember.from_numpy(x), ember.from_numpy(y))
        assert_close(out, ref, tol, tol, msg=f"{layout} strides {x.strides} @ {y.strides}")
    # batched, with strided batch views
    a3 = uniform((3, 9, 13), 18, dtype=dtype)
    b3 = uniform((3, 13, 7), 19, dtype=dtype)
    out = LA.matmul(ember.from_numpy(a3[::-1]), ember.from_numpy(np.swapaxes(
        np.ascontiguousarray(np.swapaxes(b3, 1, 2)), 1, 2)))
    assert_close(out, a3[::-1].astype(np.float64) @ b3.astype(np.float64), tol, tol,
                 msg=f"batched {layout}")


def test_matmul_strided_views_backward_vs_torch():
    torch = import_torch()
    helper_test_op([(5, 4), (5, 6)], lambda a, b: a.transpose(0, 1) @ b)
    helper_test_op([(4, 5), (6, 5)], lambda a, b: a @ b.transpose(0, 1))
    helper_test_op([(4, 5), (5, 6)], lambda a, b: torch.flip(a, [0, 1]) @ b,
                   lambda a, b: a[::-1, ::-1] @ b)
    helper_test_op([(4, 10), (5, 6)], lambda a, b: a[:, ::2] @ b)
    helper_test_op([(2, 5, 4), (4, 6)], lambda a, b: a.transpose(1, 2).transpose(1, 2) @ b)


def test_matmul_does_not_modify_its_inputs():
    a, b = uniform((6, 5), 20), uniform((5, 7), 21)
    x, y = ember.tensor(a, requires_grad=True), ember.tensor(b, requires_grad=True)
    LA.matmul(x, y).sum().backward()
    assert_close(x, a, 0, 0)
    assert_close(y, b, 0, 0)


# ------------------------------------------------------------------------ empty operands
EMPTY_SHAPES = [((0, 3), (3, 4)), ((2, 0), (0, 3)), ((2, 3), (3, 0)), ((0,), (0,)),
                ((0, 2, 3), (3, 4)), ((2, 2, 0), (2, 0, 3)), ((2, 0, 3), (2, 3, 4)),
                ((2, 3), (2, 3, 0)), ((3,), (0, 3, 2))]


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("shapes", EMPTY_SHAPES, ids=ids(EMPTY_SHAPES))
def test_matmul_empty_operands(shapes, dtype):
    a, b = uniform(shapes[0], 22, dtype=dtype), uniform(shapes[1], 23, dtype=dtype)
    out = LA.matmul(ember.tensor(a), ember.tensor(b))
    assert_close(out, np.matmul(a, b), 0, 0, msg=str(shapes), check_dtype=True)
    torch = import_torch()
    helper_test_op([a, b], torch.matmul, LA.matmul, dtype=dtype, msg="matmul empty")


def test_matmul_zero_inner_dimension_overwrites_output_with_zeros():
    # K = 0 must give exact zeros (a GEMM with beta = 0 must not read uninitialised memory)
    for _ in range(3):
        out = LA.matmul(ember.tensor(np.empty((37, 0))), ember.tensor(np.empty((0, 41))))
        assert out.shape == (37, 41) and not np.any(out.data)


# ------------------------------------------------------------------------ dtypes
def test_matmul_mixed_float_dtypes_promote_like_numpy():
    a, b = uniform((2, 3), 24, dtype=np.float32), uniform((3, 4), 25)
    x, y = ember.tensor(a, requires_grad=True), ember.tensor(b, requires_grad=True)
    out = LA.matmul(x, y)
    assert out.dtype == np.float64
    assert_close(out, a.astype(np.float64) @ b, 1e-12, 1e-12)
    out.sum().backward()
    assert x.grad.dtype == np.float32 and y.grad.dtype == np.float64
    assert_close(x.grad, np.ones((2, 4)) @ b.T, 1e-6, 1e-6)
    assert_close(y.grad, a.T.astype(np.float64) @ np.ones((2, 4)), 1e-12, 1e-12)
    assert LA.matmul(ember.tensor(b.T.copy()), ember.tensor(a.T.copy())).dtype == np.float64


@pytest.mark.parametrize("dtype", [np.int64, np.int32], ids=["int64", "int32"])
def test_matmul_integer_operands_are_exact(dtype):
    rng = np.random.default_rng(26)
    a = rng.integers(-50, 50, (3, 4)).astype(dtype)
    b = rng.integers(-50, 50, (2, 4, 5)).astype(dtype)
    out = LA.matmul(ember.tensor(a), ember.tensor(b))
    assert out.dtype == dtype
    assert_close(out, np.matmul(a, b), check_dtype=True)
    torch = import_torch()
    assert_close(out, torch.matmul(torch.tensor(a), torch.tensor(b)), check_dtype=True)


def test_matmul_float_and_integer_is_a_type_error():
    with pytest.raises(TypeError, match=r"matmul: both arguments must have the same dtype \(or "
                                        r"both be floating point\), got float32 and int64"):
        LA.matmul(ember.ones(2, 3), ember.tensor([[1], [2], [3]]))
    with pytest.raises(TypeError, match="matmul: .*got int32 and int64"):
        LA.matmul(ember.tensor(np.ones((2, 3), np.int32)), ember.tensor(np.ones((3, 2),
                                                                                np.int64)))


# ------------------------------------------------------------------------ matmul errors
def test_matmul_errors():
    with pytest.raises(ValueError, match=r"matmul: both arguments need at least 1 dimension, got "
                                         r"shapes \(\) and \(3,\)"):
        LA.matmul(ember.tensor(2.0), ember.ones(3))
    with pytest.raises(ValueError, match=r"matmul: .*got shapes \(3,\) and \(\)"):
        LA.matmul(ember.ones(3), ember.tensor(2.0))
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 3\) and \(4, 5\) are not aligned "
                                         r"\(inner dimensions 3 != 4\)"):
        LA.matmul(ember.ones(2, 3), ember.ones(4, 5))
    with pytest.raises(ValueError, match=r"matmul: shapes \(3,\) and \(4,\) are not aligned"):
        LA.matmul(ember.ones(3), ember.ones(4))
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 3\) and \(2,\) are not aligned "
                                         r"\(inner dimensions 3 != 2\)"):
        LA.matmul(ember.ones(2, 3), ember.ones(2))
    with pytest.raises(ValueError, match=r"matmul: shapes \(3,\) and \(2, 2, 3\) are not "
                                         r"aligned \(inner dimensions 3 != 2\)"):
        LA.matmul(ember.ones(3), ember.ones(2, 2, 3))
    with pytest.raises(ValueError, match=r"matmul: batch dimensions of \(2, 3, 4\) and "
                                         r"\(3, 4, 5\) cannot be broadcast"):
        LA.matmul(ember.ones(2, 3, 4), ember.ones(3, 4, 5))
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 3\) and \(4, 5\)"):
        ember.ones(2, 3) @ ember.ones(4, 5)


# ------------------------------------------------------------------------ linear
# (input shape, out_features, with bias)
LINEAR_CASES = [((4, 3), 5, True), ((4, 3), 5, False), ((3,), 2, True), ((3,), 2, False),
                ((2, 4, 3), 2, True), ((2, 1, 2, 3), 4, False), ((1, 1), 1, True),
                ((0, 3), 2, True), ((0, 3), 2, False), ((2, 3, 0), 2, True), ((2, 0), 3, False),
                ((4, 3), 0, True)]
LINEAR_NONEMPTY = [c for c in LINEAR_CASES if np.prod(c[0]) and c[1]]


def _linear_inputs(shape, out_f, bias, seed, dtype=np.float64):
    x = uniform(shape, seed, dtype=dtype)
    w = uniform((out_f, shape[-1]), seed + 1, dtype=dtype)
    b = uniform((out_f,), seed + 2, dtype=dtype) if bias else None
    return x, w, b


@pytest.mark.parametrize("shape,out_f,bias", LINEAR_CASES, ids=ids(LINEAR_CASES))
def test_linear_forward_matches_numpy(shape, out_f, bias):
    for dtype, tol in ((np.float64, 1e-12), (np.float32, 1e-5)):
        x, w, b = _linear_inputs(shape, out_f, bias, 30, dtype)
        out = LA.linear(ember.tensor(x), ember.tensor(w), None if b is None else ember.tensor(b))
        ref = linear_ref(x.astype(np.float64), w.astype(np.float64),
                         None if b is None else b.astype(np.float64))
        assert out.dtype == dtype
        assert_close(out, ref, tol, tol, msg=f"linear {shape} {out_f} bias={bias} {dtype}")


@pytest.mark.parametrize("shape,out_f,bias", LINEAR_NONEMPTY, ids=ids(LINEAR_NONEMPTY))
def test_linear_gradcheck(shape, out_f, bias):
    x, w, b = _linear_inputs(shape, out_f, bias, 31)
    if bias:
        check_grad(LA.linear, x, w, b)
    else:
        check_grad(LA.linear, x, w)


@pytest.mark.parametrize("shape,out_f,bias", LINEAR_CASES, ids=ids(LINEAR_CASES))
def test_linear_vs_torch(shape, out_f, bias):
    torch = import_torch()
    x, w, b = _linear_inputs(shape, out_f, bias, 32)
    arrays = [x, w] + ([b] if bias else [])
    for dtype in (np.float64, np.float32):
        helper_test_op(arrays, torch.nn.functional.linear, LA.linear, dtype=dtype,
                       msg=f"linear bias={bias}")


def test_linear_larger_sizes_vs_torch():
    torch = import_torch()
    helper_test_op([(33, 70), (21, 70), (21,)], torch.nn.functional.linear, LA.linear, seed=33)
    helper_test_op([(3, 11, 70), (21, 70), (21,)], torch.nn.functional.linear, LA.linear,
                   seed=34, dtype=np.float32, atol=1e-4, grad_atol=1e-3)


def test_linear_gradient_of_some_inputs_only():
    x, w, b = _linear_inputs((4, 3), 2, True, 35)
    check_grad(LA.linear, x, w, b, grad=[True, False, False])
    check_grad(LA.linear, x, w, b, grad=[False, True, False])
    check_grad(LA.linear, x, w, b, grad=[False, False, True])


def test_linear_with_strided_weight_and_input():
    x, w, b = _linear_inputs((5, 4), 3, True, 36)
    wt = np.ascontiguousarray(w.T).T  # Fortran-ordered view of the same values
    xr = np.ascontiguousarray(x[::-1])[::-1]  # negative row stride
    out = LA.linear(ember.from_numpy(xr), ember.from_numpy(wt), ember.tensor(b))
    assert_close(out, linear_ref(x, w, b), 1e-12, 1e-12)
    torch = import_torch()
    helper_test_op([x, w.T.copy(), b], lambda a, v, c: torch.nn.functional.linear(a, v.t(), c),
                   lambda a, v, c: LA.linear(a, v.t(), c))
    helper_test_op([x, w, b], lambda a, v, c: torch.nn.functional.linear(torch.flip(a, [0]), v, c),
                   lambda a, v, c: LA.linear(a[::-1], v, c))


def test_linear_does_not_modify_bias():
    x, w, b = _linear_inputs((3, 4), 2, True, 37)
    bt = ember.tensor(b)
    LA.linear(ember.tensor(x), ember.tensor(w), bt)
    assert_close(bt, b, 0, 0)


def test_linear_matches_matmul_plus_bias():
    x, w, b = _linear_inputs((2, 3, 4), 5, True, 38)
    ex, ew, eb = ember.tensor(x), ember.tensor(w), ember.tensor(b)
    assert_close(LA.linear(ex, ew, eb), LA.matmul(ex, ew.t()) + eb, 1e-12, 1e-12)


def test_linear_errors():
    x = ember.ones(4, 3)
    with pytest.raises(ValueError, match=r"linear: weight must be 2-D \(out_features, "
                                         r"in_features\), got shape \(2, 5, 3\)"):
        LA.linear(x, ember.ones(2, 5, 3))
    with pytest.raises(ValueError, match=r"linear: input has shape \(4, 3\) but weight has shape "
                                         r"\(5, 4\); the input's last dimension must be "
                                         r"in_features=4"):
        LA.linear(x, ember.ones(5, 4))
    with pytest.raises(ValueError, match=r"linear: input has shape \(\) but weight has shape "
                                         r"\(5, 1\)"):
        LA.linear(ember.tensor(1.0), ember.ones(5, 1))
    with pytest.raises(ValueError, match=r"linear: bias must have shape \(5,\), got \(4,\)"):
        LA.linear(x, ember.ones(5, 3), ember.ones(4))
    with pytest.raises(ValueError, match=r"linear: bias must have shape \(5,\), got \(1, 5\)"):
        LA.linear(x, ember.ones(5, 3), ember.ones(1, 5))
    with pytest.raises(TypeError, match="linear: input has dtype float64 but weight has dtype "
                                        "float32; they must match"):
        LA.linear(ember.tensor(np.ones((4, 3))), ember.ones(5, 3))
    with pytest.raises(TypeError, match="linear: input has dtype float32 but bias has dtype "
                                        "float64"):
        LA.linear(x, ember.ones(5, 3), ember.tensor(np.ones(5)))
    with pytest.raises(TypeError, match="linear: expected float32 or float64 input, got int64"):
        LA.linear(ember.tensor([[1, 2, 3]]), ember.tensor([[1, 2, 3]]))
