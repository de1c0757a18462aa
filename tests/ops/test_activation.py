"""Activation ops: softmax/log_softmax, leaky_relu, elu, selu, prelu, maxout, crelu.
NumPy reference, float64 gradcheck, torch oracle, errors."""
import warnings

import numpy as np
import pytest

import ember
from ember.ops import activation as A
from helpers import (assert_close, away_from, check_grad, distinct, helper_test_op, ids,
                     import_torch, uniform)

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


# ------------------------------------------------------------------------ NumPy references
def softmax_ref(x, dim):
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


def log_softmax_ref(x, dim):
    s = x - x.max(axis=dim, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=dim, keepdims=True))


def leaky_relu_ref(x, slope=0.01):
    return np.where(x > 0, x, slope * x)


def elu_ref(x, alpha=1.0):
    return np.where(x > 0, x, alpha * (np.exp(np.minimum(x, 0.0)) - 1.0))


def selu_ref(x):
    return SELU_SCALE * elu_ref(x, SELU_ALPHA)


def prelu_ref(x, w):
    w = np.asarray(w)
    wb = w.reshape((1, -1) + (1,) * (x.ndim - 2)) if x.ndim >= 2 else w.reshape(())
    return np.where(x > 0, x, wb * x)


def maxout_ref(x, pool_size, dim=1):
    dim = dim % x.ndim
    c = x.shape[dim]
    grouped = x.reshape(x.shape[:dim] + (c // pool_size, pool_size) + x.shape[dim + 1:])
    return grouped.max(axis=dim + 1)


def crelu_ref(x, dim=1):
    return np.concatenate([np.maximum(x, 0), np.maximum(-x, 0)], axis=dim)


# ------------------------------------------------------------------------ softmax / log_softmax
SOFTMAX_CASES = [((5,), 0), ((3, 4), 1), ((3, 4), 0), ((3, 4), -1), ((2, 3, 4), 1),
                 ((2, 3, 4), -1), ((2, 1, 3), 0)]
SOFTMAX = {"softmax": (A.softmax, softmax_ref), "log_softmax": (A.log_softmax, log_softmax_ref)}


@pytest.mark.parametrize("name", list(SOFTMAX))
@pytest.mark.parametrize("shape,dim", SOFTMAX_CASES, ids=ids(SOFTMAX_CASES))
def test_softmax_forward_matches_numpy(name, shape, dim):
    fn, ref = SOFTMAX[name]
    x = uniform(shape, 1, -3, 3)
    assert_close(fn(ember.tensor(x), dim), ref(x, dim), 1e-12, 1e-12, msg=f"{name} {shape} {dim}")
    out32 = fn(ember.tensor(x.astype(np.float32)), dim)
    assert out32.dtype == np.float32
    assert_close(out32, ref(x, dim), 1e-6, 1e-5, msg=f"{name} float32 {shape} {dim}")


def test_softmax_rows_sum_to_one():
    x = uniform((4, 6), 2, -5, 5)
    out = A.softmax(ember.tensor(x), 1).data
    assert_close(out.sum(axis=1), np.ones(4), 1e-12, 1e-12)
    assert np.all(out > 0)


@pytest.mark.parametrize("name", list(SOFTMAX))
@pytest.mark.parametrize("shape,dim", SOFTMAX_CASES, ids=ids(SOFTMAX_CASES))
def test_softmax_gradcheck(name, shape, dim):
    fn, _ = SOFTMAX[name]
    check_grad(lambda t: fn(t, dim), uniform(shape, 3))


@pytest.mark.parametrize("name", list(SOFTMAX))
@pytest.mark.parametrize("shape,dim", SOFTMAX_CASES, ids=ids(SOFTMAX_CASES))
def test_softmax_vs_torch(name, shape, dim):
    fn, _ = SOFTMAX[name]
    torch = import_torch()
    tfn = getattr(torch, name)
    x = uniform(shape, 4, -3, 3)
    helper_test_op([x], lambda t: tfn(t, dim), lambda t: fn(t, dim), msg=f"{name} dim={dim}")
    helper_test_op([x], lambda t: tfn(t, dim), lambda t: fn(t, dim), dtype=np.float32,
                   msg=f"{name} dim={dim}")


@pytest.mark.parametrize("name", list(SOFTMAX))
def test_softmax_tensor_method_vs_torch(name):
    helper_test_op([(3, 4)], lambda t: getattr(t, name)(-1), msg=name)


@pytest.mark.parametrize("name", list(SOFTMAX))
@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4), (2, 3, 2, 2)], ids=ids([5, 34, 234,
                                                                                  2322]))
def test_softmax_implicit_dim_like_torch(name, shape):
    fn, _ = SOFTMAX[name]
    torch = import_torch()
    tfn = getattr(torch.nn.functional, name)
    x = uniform(shape, 5)

    def torch_implicit(t):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return tfn(t)

    helper_test_op([x], torch_implicit, fn, msg=f"{name} dim=None")


@pytest.mark.parametrize("name", list(SOFTMAX))
def test_softmax_zero_dim_input(name):
    fn, _ = SOFTMAX[name]
    torch = import_torch()
    helper_test_op([np.array(0.7)], lambda t: getattr(torch, name)(t, 0), lambda t: fn(t, 0),
                   msg=name)


EMPTY_SOFTMAX = [((0, 3), 1), ((0, 3), 0), ((3, 0), 1), ((3, 0), 0), ((2, 0, 3), -1)]


@pytest.mark.parametrize("name", list(SOFTMAX))
@pytest.mark.parametrize("shape,dim", EMPTY_SOFTMAX, ids=ids(EMPTY_SOFTMAX))
def test_softmax_empty_input_like_torch(name, shape, dim):
    """torch returns an empty result for any empty input, whichever dim is reduced."""
    fn, _ = SOFTMAX[name]
    assert fn(ember.tensor(np.zeros(shape)), dim).shape == shape
    torch = import_torch()
    helper_test_op([shape], lambda t: getattr(torch, name)(t, dim), lambda t: fn(t, dim),
                   msg=f"{name} dim={dim}")


def test_softmax_is_stable_for_large_inputs():
    x = np.array([[1000.0, 1001.0, 999.0], [-1000.0, -1001.0, -999.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        sm = A.softmax(ember.tensor(x), 1)
        lsm = A.log_softmax(ember.tensor(x), 1)
    assert_close(sm, softmax_ref(x, 1), 1e-12, 1e-12)
    assert_close(lsm, log_softmax_ref(x, 1), 1e-12, 1e-12)
    assert np.all(np.isfinite(lsm.data))
    helper_test_op([x], lambda t: t.log_softmax(1))
    helper_test_op([x], lambda t: t.softmax(1))


def test_log_softmax_does_not_underflow_to_minus_inf():
    x = np.array([0.0, -800.0])
    out = A.log_softmax(ember.tensor(x), 0)
    assert_close(out, [0.0, -800.0], 1e-12, 1e-12)


def test_softmax_with_minus_inf_entries_like_torch():
    torch = import_torch()
    x = np.array([[0.0, -np.inf, 1.0], [2.0, -np.inf, -np.inf]])
    for name in SOFTMAX:
        e = getattr(A, name)(ember.tensor(x), 1)
        t = getattr(torch, name)(torch.tensor(x), 1)
        assert_close(e, t, 1e-12, 1e-12, msg=name)


def test_softmax_errors():
    with pytest.raises(TypeError, match="softmax: expected a floating-point tensor, got int64"):
        A.softmax(ember.tensor([1, 2, 3]), 0)
    with pytest.raises(TypeError, match="log_softmax: expected a floating-point tensor"):
        A.log_softmax(ember.tensor([1, 2, 3]), 0)
    with pytest.raises(IndexError, match=r"softmax: dimension out of range .*got 2"):
        A.softmax(ember.ones(2, 3), 2)
    with pytest.raises(IndexError, match=r"log_softmax: dimension out of range .*got -3"):
        A.log_softmax(ember.ones(2, 3), -3)
    with pytest.raises(TypeError, match="softmax: dim must be an int"):
        A.softmax(ember.ones(2, 3), 1.0)


# ------------------------------------------------------------------------ leaky_relu / elu / selu
# name -> (ember / torch.nn.functional function name, keyword arguments, NumPy reference)
POINTWISE = {
    "leaky_relu": ("leaky_relu", {}, leaky_relu_ref),
    "leaky_relu_0.2": ("leaky_relu", {"negative_slope": 0.2}, lambda x: leaky_relu_ref(x, 0.2)),
    "leaky_relu_-0.5": ("leaky_relu", {"negative_slope": -0.5},
                        lambda x: leaky_relu_ref(x, -0.5)),
    "elu": ("elu", {}, elu_ref),
    "elu_0.5": ("elu", {"alpha": 0.5}, lambda x: elu_ref(x, 0.5)),
    "elu_2": ("elu", {"alpha": 2.0}, lambda x: elu_ref(x, 2.0)),
    "selu": ("selu", {}, selu_ref),
}
POINTWISE_SHAPES = [(), (7,), (3, 4), (2, 3, 2)]


def _ember_pointwise(name):
    fname, kw, _ = POINTWISE[name]
    return lambda t: getattr(A, fname)(t, **kw)


def _torch_pointwise(name):
    F = import_torch().nn.functional
    fname, kw, _ = POINTWISE[name]
    return lambda t: getattr(F, fname)(t, **kw)


@pytest.mark.parametrize("name", list(POINTWISE))
@pytest.mark.parametrize("shape", POINTWISE_SHAPES, ids=ids(POINTWISE_SHAPES))
def test_pointwise_activation_forward_matches_numpy(name, shape):
    fn, ref = _ember_pointwise(name), POINTWISE[name][2]
    x = uniform(shape, 6, -3, 3)
    assert_close(fn(ember.tensor(x)), ref(x), 1e-12, 1e-12, msg=f"{name} {shape}")
    out32 = fn(ember.tensor(x.astype(np.float32)))
    assert out32.dtype == np.float32, f"{name}: float32 in, {out32.dtype} out"
    assert_close(out32, ref(x), 1e-6, 1e-5, msg=f"{name} float32 {shape}")


@pytest.mark.parametrize("name", list(POINTWISE))
@pytest.mark.parametrize("shape", POINTWISE_SHAPES, ids=ids(POINTWISE_SHAPES))
def test_pointwise_activation_gradcheck(name, shape):
    check_grad(_ember_pointwise(name), np.asarray(away_from(shape, 7, gap=0.05)))


@pytest.mark.parametrize("name", list(POINTWISE))
def test_pointwise_activation_vs_torch(name):
    fn = _ember_pointwise(name)
    x = away_from((3, 5), 8, gap=0.05, high=3.0)
    helper_test_op([x], _torch_pointwise(name), fn, msg=name)
    helper_test_op([x], _torch_pointwise(name), fn, dtype=np.float32, msg=name)


@pytest.mark.parametrize("name", list(POINTWISE))
def test_pointwise_activation_gradient_at_zero_like_torch(name):
    helper_test_op([np.array([-1.0, 0.0, 0.0, 1.0])], _torch_pointwise(name),
                   _ember_pointwise(name), msg=f"{name} at 0")


def test_elu_and_selu_are_stable_for_large_inputs():
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    with np.errstate(over="raise", invalid="raise"):
        e = A.elu(ember.tensor(x))
        s = A.selu(ember.tensor(x))
    assert_close(e, elu_ref(x), 1e-12, 1e-12)
    assert_close(s, selu_ref(x), 1e-12, 1e-12)


@pytest.mark.parametrize("fn", [A.leaky_relu, A.elu, A.selu], ids=["leaky_relu", "elu", "selu"])
def test_pointwise_activation_rejects_integer_input(fn):
    name = fn.__name__
    with pytest.raises(TypeError, match=f"{name}: expected a floating-point tensor, got int64"):
        fn(ember.tensor([1, -2]))


# ------------------------------------------------------------------------ prelu
PRELU_CASES = [((7,), 1), ((4, 3), 1), ((4, 3), 3), ((2, 3, 4), 3), ((2, 3, 2, 2), 3),
               ((2, 3, 2, 2), 1)]


@pytest.mark.parametrize("shape,nw", PRELU_CASES, ids=ids(PRELU_CASES))
def test_prelu_forward_and_gradcheck(shape, nw):
    x = away_from(shape, 9, gap=0.05)
    w = uniform((nw,), 10, 0.05, 0.5)
    out = A.prelu(ember.tensor(x), ember.tensor(w))
    assert_close(out, prelu_ref(x, w), 1e-12, 1e-12, msg=f"prelu {shape} {nw}")
    small = tuple(min(s, 3) for s in shape)
    check_grad(A.prelu, away_from(small, 11, gap=0.05), w)


@pytest.mark.parametrize("shape,nw", PRELU_CASES, ids=ids(PRELU_CASES))
def test_prelu_vs_torch(shape, nw):
    x = away_from(shape, 12, gap=0.05)
    w = uniform((nw,), 13, -0.5, 0.5)
    torch = import_torch()
    helper_test_op([x, w], torch.nn.functional.prelu, A.prelu, msg=f"prelu {shape} {nw}")
    helper_test_op([x, w], torch.nn.functional.prelu, A.prelu, dtype=np.float32,
                   msg=f"prelu {shape} {nw}")


def test_prelu_zero_dim_weight_vs_torch():
    torch = import_torch()
    helper_test_op([away_from((2, 3), 14), np.array(0.3)], torch.nn.functional.prelu, A.prelu)


def test_prelu_zero_dim_input_keeps_shape_like_torch():
    out = A.prelu(ember.tensor(np.array(-1.5)), ember.tensor(np.array([0.25])))
    assert out.shape == () and out.item() == -0.375
    torch = import_torch()
    helper_test_op([np.array(-1.5), np.array([0.25])], torch.nn.functional.prelu, A.prelu)


def test_prelu_gradient_at_zero_like_torch():
    torch = import_torch()
    helper_test_op([np.array([[0.0, -1.0], [2.0, 0.0]]), np.array([0.3, 0.7])],
                   torch.nn.functional.prelu, A.prelu)


def test_prelu_errors():
    x = ember.ones(2, 3, 4)
    with pytest.raises(ValueError, match=r"prelu: weight has 2 elements but the input has 3 "
                                         r"channels \(dim 1 of shape \(2, 3, 4\)\)"):
        A.prelu(x, ember.ones(2))
    with pytest.raises(ValueError, match="prelu: weight has 3 elements but the input has 1"):
        A.prelu(ember.ones(3), ember.ones(3))
    with pytest.raises(ValueError, match="prelu: weight has 9 elements"):
        A.prelu(ember.ones(3, 3), ember.ones(3, 3))
    with pytest.raises(TypeError, match="prelu: expected a floating-point tensor"):
        A.prelu(ember.tensor([1, 2]), ember.ones(1))


# ------------------------------------------------------------------------ maxout
MAXOUT_CASES = [((2, 6), 2, 1), ((2, 6), 3, 1), ((2, 6, 3), 3, 1), ((3, 4), 2, -1),
                ((4, 2), 4, 0), ((2, 4, 2, 2), 2, 1), ((5, 3), 1, 1)]


@pytest.mark.parametrize("shape,k,dim", MAXOUT_CASES, ids=ids(MAXOUT_CASES))
def test_maxout_forward_and_gradcheck(shape, k, dim):
    x = distinct(shape, 15)
    out = A.maxout(ember.tensor(x), k, dim)
    assert_close(out, maxout_ref(x, k, dim), 0, 0, msg=f"maxout {shape} {k} {dim}")
    check_grad(lambda t: A.maxout(t, k, dim), x)


@pytest.mark.parametrize("shape,k,dim", MAXOUT_CASES, ids=ids(MAXOUT_CASES))
def test_maxout_vs_torch(shape, k, dim):
    x = distinct(shape, 16, spacing=0.1)
    d = dim % len(shape)
    grouped = shape[:d] + (shape[d] // k, k) + shape[d + 1:]

    def torch_maxout(t):
        return t.reshape(grouped).max(d + 1).values

    helper_test_op([x], torch_maxout, lambda t: A.maxout(t, k, dim), msg=f"maxout {shape} {k}")
    helper_test_op([x], torch_maxout, lambda t: A.maxout(t, k, dim), dtype=np.float32,
                   msg=f"maxout {shape} {k}")


def test_maxout_empty_batch_like_torch():
    assert A.maxout(ember.zeros(0, 4), 2).shape == (0, 2)
    helper_test_op([(0, 4)], lambda t: t.reshape(0, 2, 2).max(2).values,
                   lambda t: A.maxout(t, 2))
    helper_test_op([(3, 4, 0)], lambda t: t.reshape(3, 2, 2, 0).max(2).values,
                   lambda t: A.maxout(t, 2))


def test_maxout_errors():
    with pytest.raises(ValueError, match="maxout: dimension 1 has size 5, not divisible by "
                                         "pool_size 2"):
        A.maxout(ember.ones(2, 5), 2)
    with pytest.raises(ValueError, match="maxout: .*pool_size 0"):
        A.maxout(ember.ones(2, 4), 0)
    with pytest.raises(ValueError, match="maxout: .*pool_size -2"):
        A.maxout(ember.ones(2, 4), -2)
    with pytest.raises(IndexError, match=r"maxout: dimension out of range .*got 2"):
        A.maxout(ember.ones(2, 4), 2, dim=2)


# ------------------------------------------------------------------------ crelu
CRELU_CASES = [((3, 2), 1), ((3, 2), 0), ((2, 3, 2), -1), ((4,), 0), ((2, 2, 2, 2), 1)]


@pytest.mark.parametrize("shape,dim", CRELU_CASES, ids=ids(CRELU_CASES))
def test_crelu_forward_and_gradcheck(shape, dim):
    x = away_from(shape, 17, gap=0.05)
    out = A.crelu(ember.tensor(x), dim)
    assert_close(out, crelu_ref(x, dim), 0, 0, msg=f"crelu {shape} {dim}")
    check_grad(lambda t: A.crelu(t, dim), x)


@pytest.mark.parametrize("shape,dim", CRELU_CASES, ids=ids(CRELU_CASES))
def test_crelu_vs_torch(shape, dim):
    torch = import_torch()
    x = away_from(shape, 18, gap=0.05)

    def torch_crelu(t):
        return torch.cat([torch.relu(t), torch.relu(-t)], dim=dim)

    helper_test_op([x], torch_crelu, lambda t: A.crelu(t, dim), msg=f"crelu {dim}")
    helper_test_op([x], torch_crelu, lambda t: A.crelu(t, dim), dtype=np.float32,
                   msg=f"crelu {dim}")


def test_crelu_default_dim_is_channels():
    x = uniform((2, 3, 4), 19)
    assert A.crelu(ember.tensor(x)).shape == (2, 6, 4)


# ------------------------------------------------------------------------ functional namespace
def test_functional_namespace_exports_the_activations():
    from ember.nn import functional as F
    for name in ("softmax", "log_softmax", "leaky_relu", "elu", "selu", "prelu", "maxout",
                 "crelu"):
        assert getattr(F, name) is getattr(A, name), name
    assert ember.softmax is A.softmax and ember.log_softmax is A.log_softmax
