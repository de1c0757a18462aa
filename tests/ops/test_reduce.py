"""Reductions: sum, mean, var, std (dim / axis / keepdim / tuple dims / correction), max and
min (all elements, or (values, indices) along a dim), argmax/argmin."""
import numpy as np
import pytest

import ember
from ember.ops import reduce as R
from helpers import assert_close, check_grad, distinct, helper_test_op, ids, import_torch, uniform

# (shape, dim, keepdim)
CONFIGS = [
    ((5,), None, False),
    ((3, 4), None, True),
    ((3, 4), 0, False),
    ((3, 4), -1, True),
    ((2, 3, 4), (0, 2), False),
    ((2, 3, 4), (-1, 1), True),
    ((2, 3, 4), 1, False),
    ((), None, False),
]


def _np_reduce(fn, x, dim, keepdim, **kw):
    axis = dim if dim is None or isinstance(dim, int) else tuple(dim)
    return fn(x, axis=axis, keepdims=keepdim, **kw)


def _var_loops(x, dim, keepdim, correction):
    """Variance by explicit loops over the kept positions (independent of np.var)."""
    dims = tuple(range(x.ndim)) if dim is None else (
        (dim,) if isinstance(dim, int) else tuple(dim))
    dims = tuple(d % max(x.ndim, 1) for d in dims) if x.ndim else ()
    kept = [d for d in range(x.ndim) if d not in dims]
    out_shape = tuple(1 if d in dims else x.shape[d] for d in range(x.ndim))
    out = np.zeros(out_shape)
    for pos in np.ndindex(*[x.shape[d] for d in kept]):
        idx = [slice(None)] * x.ndim
        for d, p in zip(kept, pos):
            idx[d] = p
        vals = list(np.asarray(x[tuple(idx)]).reshape(-1))
        m = sum(vals) / len(vals)
        v = sum((a - m) ** 2 for a in vals) / (len(vals) - correction)
        full = [0] * x.ndim
        for d, p in zip(kept, pos):
            full[d] = p
        out[tuple(full)] = v
    return out if keepdim else out.reshape([s for d, s in enumerate(out_shape) if d not in dims])


@pytest.mark.parametrize("op", ["sum", "mean"])
@pytest.mark.parametrize("shape,dim,keepdim", CONFIGS, ids=ids(CONFIGS))
def test_sum_mean(op, shape, dim, keepdim):
    x = uniform(shape, 1)
    cfg = f"{op} shape={shape} dim={dim} keepdim={keepdim}"
    out = getattr(R, op)(ember.tensor(x), dim, keepdim)
    assert_close(out, _np_reduce(getattr(np, op), x, dim, keepdim), 1e-12, 1e-12, msg=cfg)
    check_grad(lambda t: getattr(R, op)(t, dim, keepdim), x)
    if dim is not None:
        helper_test_op([x], lambda t: getattr(t, op)(dim, keepdim), msg=cfg)
    else:
        helper_test_op([x], lambda t: getattr(t, op)(), msg=cfg)


def test_axis_alias_and_methods():
    x = ember.tensor(uniform((2, 3, 4), 2))
    assert_close(x.sum(axis=1), x.sum(1), 0, 0)
    assert_close(x.mean(axis=(0, 2), keepdim=True), x.mean((0, 2), True), 0, 0)
    assert_close(R.var(x, axis=2), R.var(x, 2), 0, 0)
    assert_close(ember.sum(x, 0), x.data.sum(0), 1e-6, 1e-6)
    assert x.sum(dim=0, keepdim=True).shape == (1, 3, 4)


@pytest.mark.parametrize("op", ["var", "std"])
@pytest.mark.parametrize("shape,dim,keepdim", CONFIGS[:-1], ids=ids(CONFIGS[:-1]))
@pytest.mark.parametrize("unbiased", [True, False])
def test_var_std(op, shape, dim, keepdim, unbiased):
    x = uniform(shape, 3)
    cfg = f"{op} shape={shape} dim={dim} keepdim={keepdim} unbiased={unbiased}"
    ref = _var_loops(x, dim, keepdim, 1 if unbiased else 0)
    if op == "std":
        ref = np.sqrt(ref)
    out = getattr(R, op)(ember.tensor(x), dim, unbiased, keepdim)
    assert_close(out, ref, 1e-12, 1e-10, msg=cfg)
    check_grad(lambda t: getattr(R, op)(t, dim, unbiased, keepdim), x)
    torch = import_torch()
    helper_test_op([x], lambda t: getattr(torch, op)(t, dim, unbiased=unbiased, keepdim=keepdim),
                   lambda t: getattr(t, op)(dim, unbiased, keepdim), msg=cfg)


@pytest.mark.parametrize("correction", [0, 1, 2])
def test_var_correction(correction):
    x = uniform((3, 5), 4)
    out = R.var(ember.tensor(x), 1, correction=correction)
    assert_close(out, _var_loops(x, 1, False, correction), 1e-12, 1e-10)
    torch = import_torch()
    helper_test_op([x], lambda t: torch.var(t, 1, correction=correction),
                   lambda t: t.var(1, correction=correction))


def test_var_of_one_element_is_nan_like_torch():
    x = ember.tensor([1.5], dtype=np.float64, requires_grad=True)
    v = x.var()
    assert np.isnan(v.item())
    v.backward()
    assert np.isnan(x.grad.data).all()


def test_mean_of_float32_stays_float32():
    x = ember.tensor(uniform((4, 5), 5, dtype=np.float32))
    for out in (x.mean(), x.mean(0), x.var(1), x.std(), x.sum()):
        assert out.dtype == np.float32, out


# ------------------------------------------------------------------------ max / min
MAXMIN_CONFIGS = [((4, 5), 0, False), ((4, 5), -1, True), ((2, 3, 4), 1, False),
                  ((2, 3, 4), 2, True), ((6,), 0, False)]


@pytest.mark.parametrize("op", ["max", "min"])
@pytest.mark.parametrize("shape,dim,keepdim", MAXMIN_CONFIGS, ids=ids(MAXMIN_CONFIGS))
def test_max_min_along_dim(op, shape, dim, keepdim):
    x = distinct(shape, 6)
    cfg = f"{op} shape={shape} dim={dim} keepdim={keepdim}"
    values, indices = getattr(R, op)(ember.tensor(x), dim, keepdim)
    arg = (np.argmax if op == "max" else np.argmin)(x, axis=dim)
    ref = (np.max if op == "max" else np.min)(x, axis=dim)
    if keepdim:
        arg, ref = np.expand_dims(arg, dim), np.expand_dims(ref, dim)
    assert_close(values, ref, 0, 0, msg=cfg)
    assert indices.dtype == np.int64 and not indices.requires_grad
    assert_close(indices, arg, msg=cfg)
    out = getattr(R, op)(ember.tensor(x), dim=dim, keepdim=keepdim)
    assert out.values.shape == out.indices.shape == ref.shape
    check_grad(lambda t: getattr(R, op)(t, dim, keepdim).values, x)
    helper_test_op([x], lambda t: getattr(t, op)(dim, keepdim), msg=cfg)


@pytest.mark.parametrize("op", ["max", "min"])
@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 2, 3)], ids=ids([(5,), (3, 4), (2, 2, 3)]))
def test_max_min_all(op, shape):
    x = distinct(shape, 7)
    out = getattr(R, op)(ember.tensor(x))
    assert out.shape == () and out.item() == getattr(np, op)(x)
    check_grad(lambda t: getattr(R, op)(t), x)
    helper_test_op([x], lambda t: getattr(t, op)(), msg=f"{op} {shape}")


@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_all_ties_split_gradient_like_torch(op):
    x = np.array([[1.0, 3.0, -2.0], [3.0, -2.0, 3.0]])
    helper_test_op([x], lambda t: getattr(t, op)())
    t = ember.tensor(x, requires_grad=True)
    getattr(t, op)().backward()
    assert_close(t.grad.data.sum(), 1.0)


def test_max_along_dim_of_0d_tensor():
    v, i = R.max(ember.tensor(2.5), 0)
    assert v.item() == 2.5 and i.item() == 0


# ------------------------------------------------------------------------ argmax / argmin
@pytest.mark.parametrize("op", ["argmax", "argmin"])
@pytest.mark.parametrize("dim,keepdim", [(None, False), (0, False), (1, True), (-1, False)])
def test_argmax_argmin(op, dim, keepdim):
    x = distinct((3, 4), 8)
    t = ember.tensor(x, requires_grad=True)
    out = getattr(t, op)(dim, keepdim)
    ref = getattr(np, op)(x, axis=dim)
    if keepdim:
        ref = np.expand_dims(ref, dim)
    assert out.dtype == np.int64 and not out.requires_grad and out.grad_fn is None
    assert_close(out, ref, msg=f"{op} dim={dim} keepdim={keepdim}")
    assert_close(getattr(ember, op)(t, dim, keepdim), ref)
    torch = import_torch()
    tt = torch.tensor(x)
    assert_close(out, getattr(tt, op)(dim, keepdim) if dim is not None else getattr(tt, op)())


# ------------------------------------------------------------------------ errors
@pytest.mark.parametrize("op", ["sum", "mean", "var", "std", "argmax", "max"])
def test_dim_out_of_range(op):
    x = ember.ones(2, 3)
    with pytest.raises(IndexError, match=rf"{op}: dimension out of range .*but got 2"):
        getattr(R, op)(x, 2)
    with pytest.raises(IndexError, match=rf"{op}: dimension out of range .*but got -3"):
        getattr(R, op)(x, -3)


def test_dim_errors():
    x = ember.ones(2, 3)
    with pytest.raises(ValueError, match=r"sum: dim \(1, -1\) repeats a dimension"):
        R.sum(x, (1, -1))
    with pytest.raises(TypeError, match="sum: pass either dim or axis, not both"):
        R.sum(x, 0, axis=1)
    with pytest.raises(TypeError, match="max: dim must be a single int"):
        R.max(x, (0, 1))
    with pytest.raises(ValueError, match=r"max: cannot reduce an empty tensor of shape \(0,\)"):
        R.max(ember.zeros(0))
    with pytest.raises(TypeError, match="sum: dim must be an int"):
        R.sum(x, 0.5)


@pytest.mark.parametrize("op", ["mean", "var", "std"])
def test_integer_input_raises_type_error(op):
    with pytest.raises(TypeError, match=rf"{op}: expected a floating-point tensor, got int64"):
        getattr(R, op)(ember.tensor([1, 2, 3]))


def test_sum_of_integers_and_bools_counts():
    assert R.sum(ember.tensor([1, 2, 3])).item() == 6
    assert R.sum(ember.tensor([True, False, True])).item() == 2
