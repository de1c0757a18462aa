"""Elementwise ops: arithmetic with broadcasting, pow, exp/log/sqrt/abs/tanh/sigmoid/relu,
clamp, maximum/minimum, where. NumPy reference, float64 gradcheck, torch oracle, errors."""
import numpy as np
import pytest

import ember
from ember.ops import elementwise as E
from helpers import (assert_close, away_from, check_grad, helper_test_op, ids, import_torch,
                     uniform)

BROADCAST_SHAPES = [
    ((3, 4), (3, 4)),
    ((2, 3, 4), (4,)),
    ((3, 1), (1, 4)),
    ((2, 1, 3), (4, 1)),
    ((), (3,)),
    ((3,), ()),
]

# name -> (ember function, NumPy reference, sampler for input a, sampler for input b)
BINARY = {
    "add": (E.add, np.add, uniform, uniform),
    "sub": (E.sub, np.subtract, uniform, uniform),
    "mul": (E.mul, np.multiply, uniform, uniform),
    "div": (E.div, np.true_divide, uniform, lambda s, seed: away_from(s, seed, gap=0.5)),
    "pow": (E.pow, np.power, lambda s, seed: uniform(s, seed, 0.5, 2.0), uniform),
}


def _sample(sampler, shape, seed):
    return np.asarray(sampler(shape, seed), dtype=np.float64)


# ------------------------------------------------------------------------ binary, NumPy
@pytest.mark.parametrize("name", list(BINARY))
@pytest.mark.parametrize("shapes", BROADCAST_SHAPES, ids=ids(BROADCAST_SHAPES))
def test_binary_forward_matches_numpy(name, shapes):
    fn, ref, sa, sb = BINARY[name]
    a, b = _sample(sa, shapes[0], 1), _sample(sb, shapes[1], 2)
    out = fn(ember.tensor(a), ember.tensor(b))
    assert_close(out, ref(a, b), 1e-12, 1e-12, msg=f"{name} {shapes}")


@pytest.mark.parametrize("name", list(BINARY))
@pytest.mark.parametrize("shapes", BROADCAST_SHAPES, ids=ids(BROADCAST_SHAPES))
def test_binary_gradcheck(name, shapes):
    fn, _, sa, sb = BINARY[name]
    check_grad(fn, _sample(sa, shapes[0], 3), _sample(sb, shapes[1], 4))


@pytest.mark.parametrize("name", list(BINARY))
@pytest.mark.parametrize("shapes", BROADCAST_SHAPES, ids=ids(BROADCAST_SHAPES))
def test_binary_vs_torch(name, shapes):
    torch = import_torch()
    fn, _, sa, sb = BINARY[name]
    tfn = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div,
           "pow": torch.pow}[name]
    arrays = [_sample(sa, shapes[0], 5), _sample(sb, shapes[1], 6)]
    helper_test_op(arrays, tfn, fn, msg=name)
    helper_test_op(arrays, tfn, fn, dtype=np.float32, msg=name)


def test_operators_and_reflected_operators_vs_torch():
    helper_test_op([(3, 4), (4,)], lambda a, b: a + b * 2 - a / (b * b + 1))
    helper_test_op([(3, 4)], lambda a: 2.0 - a)
    helper_test_op([(3, 4)], lambda a: 3.0 / (a * a + 1))
    helper_test_op([(3, 4)], lambda a: 1.5 * a + 0.5)
    helper_test_op([(3, 4)], lambda a: -a)
    helper_test_op([(2, 3), (2, 3)], lambda a, b: a.add(b, alpha=2.0) + a.sub(b, alpha=0.5))


def test_ndarray_on_the_left_defers_to_tensor():
    a = np.arange(3.0)
    t = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for out, ref in ((a + t, a + t.data), (a * t, a * t.data), (a - t, a - t.data)):
        assert isinstance(out, ember.Tensor) and out.requires_grad
        assert_close(out, ref)


def test_scalar_operands_keep_float32():
    x = ember.tensor([1.0, 2.0])
    for out in (x + 1, x * 2.5, 2 - x, x / 3, x ** 2, 2 ** x, x * np.float64(2.0),
                x + np.float32(1), E.maximum(x, 0.5)):
        assert out.dtype == np.float32, out


# ------------------------------------------------------------------------ pow
@pytest.mark.parametrize("exponent", [2, 3, 0.5, -1.5, 1, 0])
def test_pow_scalar_exponent(exponent):
    x = uniform((2, 3), 7, 0.5, 2.0)
    assert_close(E.pow(ember.tensor(x), exponent), x ** exponent, 1e-12, 1e-12,
                 msg=f"x ** {exponent}")
    check_grad(lambda t: t ** exponent, x)
    helper_test_op([x], lambda t: t ** exponent, msg=f"x ** {exponent}")


@pytest.mark.parametrize("exponent", [2, 3])
def test_pow_integer_exponent_negative_base(exponent):
    x = away_from((2, 3), 8, gap=0.2)
    check_grad(lambda t: t ** exponent, x)
    helper_test_op([x], lambda t: t ** exponent, msg=f"x ** {exponent}")


def test_pow_zero_exponent_has_zero_grad_at_zero():
    x = ember.tensor([0.0, 1.0, -2.0], requires_grad=True)
    (x ** 0).sum().backward()
    assert_close(x.grad, [0.0, 0.0, 0.0])


@pytest.mark.parametrize("base", [2.0, 0.5, np.e])
def test_pow_scalar_base(base):
    x = uniform((2, 3), 9)
    assert_close(E.pow(base, ember.tensor(x)), base ** x, 1e-12, 1e-12, msg=f"{base} ** x")
    check_grad(lambda t: base ** t, x)
    helper_test_op([x], lambda t: base ** t, msg=f"{base} ** x")


def test_pow_tensor_exponent_gradient_both_inputs():
    helper_test_op([uniform((3, 4), 1, 0.5, 2.0), uniform((4,), 2)], lambda a, b: a ** b)


# ------------------------------------------------------------------------ unary
def _sigmoid_ref(x):
    return 1.0 / (1.0 + np.exp(-x))


# name -> (ember fn, NumPy reference, sampler (shape, seed) -> array, torch fn name)
UNARY = {
    "neg": (E.neg, np.negative, uniform, "neg"),
    "exp": (E.exp, np.exp, uniform, "exp"),
    "log": (E.log, np.log, lambda s, seed: uniform(s, seed, 0.1, 3.0), "log"),
    "sqrt": (E.sqrt, np.sqrt, lambda s, seed: uniform(s, seed, 0.1, 3.0), "sqrt"),
    "abs": (E.abs, np.abs, away_from, "abs"),
    "tanh": (E.tanh, np.tanh, uniform, "tanh"),
    "sigmoid": (E.sigmoid, _sigmoid_ref, lambda s, seed: uniform(s, seed, -5, 5), "sigmoid"),
    "relu": (E.relu, lambda x: np.where(x > 0, x, 0.0), away_from, "relu"),
}
UNARY_SHAPES = [(), (5,), (2, 3), (2, 1, 3)]


@pytest.mark.parametrize("name", list(UNARY))
@pytest.mark.parametrize("shape", UNARY_SHAPES, ids=ids(UNARY_SHAPES))
def test_unary_forward_matches_numpy(name, shape):
    fn, ref, sampler, _ = UNARY[name]
    x = np.asarray(sampler(shape, 11), dtype=np.float64)
    assert_close(fn(ember.tensor(x)), ref(x), 1e-12, 1e-12, msg=f"{name} {shape}")
    x32 = x.astype(np.float32)
    out32 = fn(ember.tensor(x32))
    assert out32.dtype == np.float32, f"{name}: float32 in, {out32.dtype} out"
    assert_close(out32, ref(x), 1e-6, 1e-5, msg=f"{name} float32 {shape}")


@pytest.mark.parametrize("name", list(UNARY))
@pytest.mark.parametrize("shape", UNARY_SHAPES, ids=ids(UNARY_SHAPES))
def test_unary_gradcheck(name, shape):
    fn, _, sampler, _ = UNARY[name]
    check_grad(fn, np.asarray(sampler(shape, 12), dtype=np.float64))


@pytest.mark.parametrize("name", list(UNARY))
def test_unary_vs_torch(name):
    torch = import_torch()
    fn, _, sampler, tname = UNARY[name]
    x = np.asarray(sampler((3, 4), 13), dtype=np.float64)
    helper_test_op([x], getattr(torch, tname), fn, msg=name)
    helper_test_op([x], getattr(torch, tname), fn, dtype=np.float32, msg=name)


def test_tensor_methods_match_functions():
    x = ember.tensor(uniform((2, 3), 1, 0.1, 2.0))
    for m in ("exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu", "neg"):
        assert_close(getattr(x, m)(), getattr(E, m)(x), 0, 0, msg=m)
    assert_close(abs(x), E.abs(x), 0, 0)


def test_sigmoid_is_stable_for_large_inputs():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = E.sigmoid(ember.tensor([-1000.0, -50.0, 0.0, 50.0, 1000.0]))
    assert_close(out, [0.0, _sigmoid_ref(-50.0), 0.5, _sigmoid_ref(50.0), 1.0], 1e-30, 1e-6)


def test_float_valued_unary_ops_promote_integers_to_float32():
    x = ember.tensor([1, 2, 3])
    for fn, ref in ((E.exp, np.exp), (E.sigmoid, _sigmoid_ref), (E.sqrt, np.sqrt),
                    (E.log, np.log), (E.tanh, np.tanh)):
        out = fn(x)
        assert out.dtype == np.float32, fn
        assert_close(out, ref(np.array([1.0, 2.0, 3.0])), 1e-6, 1e-6, msg=str(fn))
    assert E.relu(ember.tensor([-1, 2])).dtype == np.int64
    assert E.abs(ember.tensor([-1, 2])).tolist() == [1, 2]


def test_abs_and_relu_subgradient_at_zero_is_zero():
    x = ember.tensor([0.0, 0.0], requires_grad=True)
    (E.abs(x) + E.relu(x)).sum().backward()
    assert_close(x.grad, [0.0, 0.0])


# ------------------------------------------------------------------------ clamp
CLAMP_BOUNDS = [(-0.5, 0.5), (None, 0.3), (-0.3, None), (0.2, 0.2)]


@pytest.mark.parametrize("lo,hi", CLAMP_BOUNDS)
def test_clamp(lo, hi):
    # inputs kept away from both bounds so finite differences never straddle a kink
    x = away_from((3, 4), 14, gap=0.1, center=0.0) + 0.05
    x[np.abs(x - (lo if lo is not None else 9)) < 0.05] += 0.1
    x[np.abs(x - (hi if hi is not None else 9)) < 0.05] += 0.1
    assert_close(E.clamp(ember.tensor(x), lo, hi), np.clip(x, lo, hi), 0, 0,
                 msg=f"clamp {lo} {hi}")
    check_grad(lambda t: E.clamp(t, lo, hi), x)
    check_grad(lambda t: t.clip(lo, hi), x)
    helper_test_op([x], lambda t: t.clamp(lo, hi), msg=f"clamp({lo}, {hi})")


def test_clamp_gradient_passes_at_the_bounds_like_torch():
    helper_test_op([np.array([-1.0, -0.5, 0.0, 0.5, 1.0])], lambda t: t.clamp(-0.5, 0.5))


def test_clamp_with_tensor_bounds():
    x = uniform((2, 3), 1)
    lo, hi = np.full((3,), -0.5), np.array([0.1, 0.5, 1.0])
    out = E.clamp(ember.tensor(x), ember.tensor(lo), ember.tensor(hi))
    assert_close(out, np.clip(x, lo, hi), 0, 0)


def test_clamp_needs_a_bound():
    with pytest.raises(ValueError, match="clamp: at least one of min and max"):
        E.clamp(ember.tensor([1.0]))


# ------------------------------------------------------------------------ maximum / minimum
@pytest.mark.parametrize("name", ["maximum", "minimum"])
@pytest.mark.parametrize("shapes", BROADCAST_SHAPES[:4], ids=ids(BROADCAST_SHAPES[:4]))
def test_maximum_minimum(name, shapes):
    fn, ref = getattr(E, name), getattr(np, name)
    seed = 15
    while True:  # resample until no pair is within 0.05 (no ties for finite differences)
        a, b = uniform(shapes[0], seed), uniform(shapes[1], seed + 1)
        if np.all(np.abs(np.subtract(a, b)) > 0.05):
            break
        seed += 2
    assert_close(fn(ember.tensor(a), ember.tensor(b)), ref(a, b), 0, 0, msg=f"{name} {shapes}")
    check_grad(fn, a, b)
    helper_test_op([a, b], getattr(import_torch(), name), fn, msg=name)


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_maximum_minimum_ties_split_gradient_like_torch(name):
    a = np.array([1.0, 2.0, 3.0])
    b = np.array([1.0, 0.0, 5.0])
    helper_test_op([a, b], getattr(import_torch(), name), getattr(E, name))
    x = ember.tensor(a, requires_grad=True)
    y = ember.tensor(b, requires_grad=True)
    getattr(E, name)(x, y).sum().backward()
    assert x.grad.data[0] == 0.5 and y.grad.data[0] == 0.5


def test_maximum_with_scalar():
    x = away_from((2, 3), 17, gap=0.2)
    assert_close(E.maximum(ember.tensor(x), 0.0), np.maximum(x, 0.0), 0, 0)
    check_grad(lambda t: E.maximum(t, 0.0), x)
    check_grad(lambda t: E.minimum(0.0, t), x)


# ------------------------------------------------------------------------ where
WHERE_SHAPES = [((3, 4), (3, 4), (3, 4)), ((3, 4), (4,), (3, 1)), ((4,), (3, 4), ())]


@pytest.mark.parametrize("shapes", WHERE_SHAPES, ids=ids(WHERE_SHAPES))
def test_where(shapes):
    sc, sa, sb = shapes
    cond = np.random.default_rng(18).random(sc) > 0.5
    a, b = uniform(sa, 19), uniform(sb, 20)
    out = E.where(ember.tensor(cond), ember.tensor(a), ember.tensor(b))
    assert_close(out, np.where(cond, a, b), 0, 0, msg=str(shapes))
    check_grad(lambda x, y: E.where(cond, x, y), a, b)
    torch = import_torch()
    helper_test_op([a, b], lambda x, y: torch.where(torch.tensor(cond), x, y),
                   lambda x, y: E.where(ember.tensor(cond), x, y), msg=str(shapes))


def test_where_with_scalar_branch_and_float_condition():
    x = ember.tensor([-1.0, 2.0, -3.0], requires_grad=True)
    out = E.where(x.detach() > 0, x, 0.0)
    assert out.dtype == np.float32
    assert_close(out, [0.0, 2.0, 0.0])
    out.sum().backward()
    assert_close(x.grad, [0.0, 1.0, 0.0])
    assert_close(E.where(ember.tensor([1.0, 0.0]), 1.0, 2.0), [1.0, 2.0])


def test_where_shape_mismatch():
    with pytest.raises(ValueError, match=r"where: shapes \(3,\), \(2,\), \(\) cannot be broad"):
        E.where(np.ones(3, bool), ember.tensor([1.0, 2.0]), 0.0)


# ------------------------------------------------------------------------ cast / clone
def test_to_between_float_types_is_differentiable():
    helper_test_op([(2, 3)], lambda t: (t.float() * 2).double())
    x = ember.tensor([1.5, 2.5], requires_grad=True)
    y = x.to(ember.float64)
    assert y.dtype == np.float64 and y.requires_grad
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32
    assert_close(x.grad, [3.0, 5.0])


def test_clone_is_a_differentiable_copy():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = x.clone()
    assert not np.shares_memory(x.data, y.data)
    (y * 3).sum().backward()
    assert_close(x.grad, [3.0, 3.0])


# ------------------------------------------------------------------------ errors
@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "pow", "maximum", "minimum"])
def test_binary_shape_mismatch_names_op_and_shapes(name):
    a, b = ember.tensor(np.ones((2, 3))), ember.tensor(np.ones(4))
    with pytest.raises(ValueError, match=rf"{name}: shapes \(2, 3\), \(4,\) cannot be broad"):
        getattr(E, name)(a, b)


def test_operator_shape_mismatch():
    with pytest.raises(ValueError, match=r"mul: shapes \(2, 3\), \(3, 2\)"):
        ember.ones(2, 3) * ember.ones(3, 2)


def test_bad_dtype_operands_raise_type_error():
    with pytest.raises(TypeError):
        ember.tensor([1, 2]) + "a"
    with pytest.raises(TypeError, match="unsupported"):
        E.exp(["a", "b"])
