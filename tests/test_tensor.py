"""Tensor and factories: dtype inference and copy semantics of ``tensor``/``from_numpy``/
``as_tensor``, the factory functions and ``*_like``, seeding, NumPy interop, properties,
conversions (``to``/``float``/...), ``detach``/``clone``, ``repr``, comparisons, argmax/argmin,
indexing (forward and gradient vs NumPy), dtype support and the errors."""
import numpy as np
import pytest

import ember
from helpers import assert_close, check_grad, helper_test_op, import_torch, uniform

F32, F64, I64 = np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.int64)
BOOL = np.dtype(np.bool_)


# ------------------------------------------------------------------------ tensor()
@pytest.mark.parametrize("data,dtype,shape", [
    (1.5, F32, ()),
    (3, I64, ()),
    (True, BOOL, ()),
    ([1.0, 2.0], F32, (2,)),
    ([1, 2, 3], I64, (3,)),
    ([1, 2.5], F32, (2,)),
    ([True, False], BOOL, (2,)),
    ([[1, 2], [3, 4], [5, 6]], I64, (3, 2)),
    ([[[1.0]], [[2.0]]], F32, (2, 1, 1)),
    ([], F32, (0,)),
])
def test_tensor_dtype_inference_like_torch(data, dtype, shape):
    t = ember.tensor(data)
    assert t.dtype == dtype and t.shape == shape
    assert t.tolist() == data if not isinstance(data, float) else t.item() == data
    torch = pytest.importorskip("torch")
    assert str(torch.tensor(data).dtype).replace("torch.", "") == str(dtype)


def test_tensor_keeps_numpy_dtypes_and_accepts_dtype():
    assert ember.tensor(np.array([1.0, 2.0])).dtype == F64  # as torch.tensor(ndarray)
    assert ember.tensor(np.array([1, 2], dtype=np.int32)).dtype == np.int32
    assert ember.tensor(np.float64(1.5)).dtype == F64
    assert ember.tensor(np.array([1, 2], dtype=np.uint8)).dtype == np.uint8
    assert ember.tensor([1, 2], dtype=ember.float64).dtype == F64
    assert ember.tensor([1.7, -1.2], dtype=ember.int64).tolist() == [1, -1]
    assert ember.tensor([0.0, 2.0], dtype=ember.bool_).tolist() == [False, True]
    assert ember.tensor([[1.0, 2.0]], dtype=ember.float32).dtype == F32


def test_tensor_copies_its_data():
    a = np.array([1.0, 2.0])
    t = ember.tensor(a)
    a[0] = 100.0
    assert t.tolist() == [1.0, 2.0]
    t.add_(1.0)
    assert a.tolist() == [100.0, 2.0]
    nested = [[1.0, 2.0]]
    t = ember.tensor(nested)
    nested[0][0] = 9.0
    assert t.tolist() == [[1.0, 2.0]]


def test_tensor_of_a_tensor_copies_and_drops_the_graph():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = ember.tensor(x)
    assert not np.shares_memory(x.numpy(), y.numpy())
    assert not y.requires_grad and y.is_leaf
    y.add_(1.0)
    assert x.tolist() == [1.0, 2.0]
    z = ember.tensor([ember.tensor(1.0), ember.tensor(2.0)])
    assert z.dtype == F32 and z.tolist() == [1.0, 2.0]


def test_tensor_requires_grad_makes_a_leaf():
    t = ember.tensor([1.0, 2.0], requires_grad=True)
    assert t.requires_grad and t.is_leaf and t.grad is None and t.grad_fn is None


def test_ragged_nested_lists_raise():
    with pytest.raises(ValueError):
        ember.tensor([[1, 2], [3]])


# ------------------------------------------------------------------------ from_numpy / as_tensor
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.int32, np.bool_])
def test_from_numpy_is_zero_copy_both_ways(dtype):
    a = np.zeros((2, 3), dtype=dtype)
    t = ember.from_numpy(a)
    assert t.dtype == dtype and t.shape == (2, 3)
    assert np.shares_memory(t.numpy(), a)
    a[0, 1] = 1
    assert t.tolist()[0][1] == 1
    t[1, 2] = 1
    assert a[1, 2] == 1


def test_from_numpy_mutation_through_inplace_ops():
    a = np.array([1.0, 2.0], dtype=np.float32)
    t = ember.from_numpy(a)
    t.mul_(3.0)
    assert a.tolist() == [3.0, 6.0]


def test_from_numpy_rejects_non_arrays():
    with pytest.raises(TypeError, match="ndarray"):
        ember.from_numpy([1.0, 2.0])


def test_as_tensor_shares_memory_when_possible():
    a = np.array([1.0, 2.0])  # float64
    t = ember.as_tensor(a)
    assert t.dtype == F64 and np.shares_memory(t.numpy(), a)
    c = ember.as_tensor(a, dtype=ember.float32)  # a conversion must copy
    assert c.dtype == F32 and not np.shares_memory(c.numpy(), a)
    x = ember.tensor([1.0])
    assert ember.as_tensor(x) is x
    assert ember.as_tensor(x, dtype=ember.float32) is x
    assert ember.as_tensor(x, dtype=ember.float64).dtype == F64
    lst = ember.as_tensor([1.0, 2.0])
    assert lst.dtype == F32 and lst.tolist() == [1.0, 2.0]
    assert ember.as_tensor([1, 2]).dtype == I64


# ------------------------------------------------------------------------ factories
SIZES = [((2, 3), (2, 3)), (((2, 3),), (2, 3)), (([2, 3],), (2, 3)), ((4,), (4,)),
         (((),), ()), ((0,), (0,)), ((np.int64(3), 2), (3, 2))]


@pytest.mark.parametrize("name", ["zeros", "ones", "empty", "rand", "randn"])
@pytest.mark.parametrize("args,shape", SIZES)
def test_size_factories_shapes_and_default_dtype(name, args, shape):
    t = getattr(ember, name)(*args)
    assert isinstance(t, ember.Tensor)
    assert t.shape == shape and t.dtype == F32 and not t.requires_grad


@pytest.mark.parametrize("name", ["zeros", "ones", "empty", "rand", "randn"])
def test_size_factories_dtype_and_requires_grad(name):
    fn = getattr(ember, name)
    t = fn(2, 3, dtype=ember.float64, requires_grad=True)
    assert t.dtype == F64 and t.requires_grad and t.is_leaf
    if name in ("zeros", "ones", "empty"):
        assert fn(2, dtype=ember.int64).dtype == I64
        assert fn(2, dtype=ember.bool_).dtype == BOOL


def test_zeros_ones_values():
    assert ember.zeros(2, 2).tolist() == [[0.0, 0.0], [0.0, 0.0]]
    assert ember.ones(3, dtype=ember.int64).tolist() == [1, 1, 1]
    assert ember.ones((), dtype=ember.float64).item() == 1.0


def test_full_infers_dtype_from_fill_value_like_torch():
    t = ember.full((2, 3), 1.5)
    assert t.shape == (2, 3) and t.dtype == F32 and np.all(t.numpy() == 1.5)
    assert ember.full((2,), 7).dtype == I64
    assert ember.full((2,), True).dtype == BOOL
    assert ember.full([2, 2], 2.5, dtype=ember.float64).dtype == F64
    w = ember.full((3,), 0.5, requires_grad=True)
    assert w.requires_grad and w.is_leaf


def test_rand_values_and_dtypes():
    r = ember.rand(1000)
    assert r.min().item() >= 0.0 and r.max().item() < 1.0
    assert 0.4 < r.mean().item() < 0.6
    n = ember.randn(4000, dtype=ember.float64)
    assert n.dtype == F64
    assert abs(n.mean().item()) < 0.1 and 0.9 < n.std().item() < 1.1


def test_rand_randn_reproducible_under_manual_seed():
    ember.manual_seed(123)
    a, b = ember.rand(3, 4), ember.randn(5)
    ember.manual_seed(123)
    a2, b2 = ember.rand(3, 4), ember.randn(5)
    np.testing.assert_array_equal(a.numpy(), a2.numpy())
    np.testing.assert_array_equal(b.numpy(), b2.numpy())
    assert not np.array_equal(ember.rand(3, 4).numpy(), a.numpy())  # the stream advances
    ember.manual_seed(124)
    assert not np.array_equal(ember.rand(3, 4).numpy(), a.numpy())
    assert not np.array_equal(ember.randn(5).numpy(), b.numpy())


def test_explicit_generators_are_independent_and_reproducible():
    g1, g2 = ember.Generator().manual_seed(7), ember.Generator().manual_seed(7)
    np.testing.assert_array_equal(ember.rand(4, generator=g1).numpy(),
                                  ember.rand(4, generator=g2).numpy())
    ember.manual_seed(0)
    expected = ember.rand(3).numpy()
    ember.manual_seed(0)
    ember.randn(5, generator=g1)  # does not advance the default generator
    np.testing.assert_array_equal(ember.rand(3).numpy(), expected)


def test_rand_with_integer_dtype_raises_like_torch():
    # torch: rand/randn/rand_like with an integer dtype raise (they are float-only)
    with pytest.raises((TypeError, NotImplementedError)):
        ember.rand(3, dtype=ember.int64)
    with pytest.raises((TypeError, NotImplementedError)):
        ember.randn(3, dtype=ember.int64)
    with pytest.raises((TypeError, NotImplementedError)):
        ember.rand_like(ember.zeros(2, dtype=ember.int64))


@pytest.mark.parametrize("args,kwargs,expected,dtype", [
    ((5,), {}, [0, 1, 2, 3, 4], I64),
    ((1, 4), {}, [1, 2, 3], I64),
    ((10, 0, -3), {}, [10, 7, 4, 1], I64),
    ((5.0,), {}, [0.0, 1.0, 2.0, 3.0, 4.0], F32),
    ((0, 1, 0.25), {}, [0.0, 0.25, 0.5, 0.75], F32),
    ((0, 5, 2), {"dtype": ember.float64}, [0.0, 2.0, 4.0], F64),
    ((3,), {"dtype": ember.float32}, [0.0, 1.0, 2.0], F32),
])
def test_arange(args, kwargs, expected, dtype):
    t = ember.arange(*args, **kwargs)
    assert t.dtype == dtype
    assert_close(t, np.array(expected, dtype=dtype), 0, 0)


def test_arange_fractional_step_matches_torch():
    torch = import_torch()
    for args in ((0, 1, 0.1), (-1.0, 1.0, 0.3), (0.5, 3)):
        e, t = ember.arange(*args), torch.arange(*args)
        assert e.dtype == F32
        assert_close(e, t, 1e-6, 1e-6, msg=str(args))


def test_linspace():
    t = ember.linspace(0, 1, 5)
    assert t.dtype == F32
    assert_close(t, [0.0, 0.25, 0.5, 0.75, 1.0], 0, 0)
    assert ember.linspace(-1, 1, 1).tolist() == [-1.0]
    assert ember.linspace(0, 1, 0).shape == (0,)
    assert ember.linspace(2, 3, 3, dtype=ember.float64).dtype == F64


def test_eye():
    assert_close(ember.eye(3), np.eye(3), 0, 0, check_dtype=False)
    assert ember.eye(3).dtype == F32
    assert ember.eye(2, 3).tolist() == [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    assert ember.eye(2, dtype=ember.int64).dtype == I64


def test_randint():
    t = ember.randint(3, 10, (200,))
    assert t.dtype == I64 and t.shape == (200,)
    assert t.min().item() >= 3 and t.max().item() <= 9
    assert len(np.unique(t.numpy())) == 7
    assert ember.randint(0, 5, (2, 3)).shape == (2, 3)
    assert ember.randint(low=0, high=2, size=(4,)).shape == (4,)
    assert ember.randint(0, 5, (3,), dtype=ember.int32).dtype == np.int32
    ember.manual_seed(3)
    a = ember.randint(0, 100, (10,)).numpy()
    ember.manual_seed(3)
    np.testing.assert_array_equal(ember.randint(0, 100, (10,)).numpy(), a)


def test_randint_high_and_size_like_torch():
    # torch.randint(high, size): the one-bound form draws from [0, high)
    t = ember.randint(5, (100,))
    assert t.shape == (100,) and t.dtype == I64
    assert t.min().item() >= 0 and t.max().item() <= 4
    assert ember.randint(3, size=(2, 2)).shape == (2, 2)


def test_randperm():
    p = ember.randperm(10)
    assert p.dtype == I64 and p.shape == (10,)
    assert sorted(p.tolist()) == list(range(10))
    ember.manual_seed(5)
    a = ember.randperm(20).tolist()
    ember.manual_seed(5)
    assert ember.randperm(20).tolist() == a
    assert ember.randperm(0).shape == (0,)


@pytest.mark.parametrize("name", ["zeros_like", "ones_like", "empty_like", "rand_like",
                                  "randn_like"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_like_factories(name, dtype):
    src = ember.tensor(np.ones((2, 3), dtype=dtype), requires_grad=True)
    t = getattr(ember, name)(src)
    assert t.shape == (2, 3) and t.dtype == dtype
    assert not t.requires_grad and t.is_leaf  # like torch: requires_grad is not copied
    assert getattr(ember, name)(src, dtype=ember.float64).dtype == F64
    assert getattr(ember, name)(src, requires_grad=True).requires_grad


def test_like_factory_values_and_int_dtypes():
    i = ember.tensor([[1, 2, 3]])
    assert ember.zeros_like(i).tolist() == [[0, 0, 0]] and ember.zeros_like(i).dtype == I64
    assert ember.ones_like(i).dtype == I64
    f = ember.full_like(ember.zeros(2, 2), 7)
    assert f.dtype == F32 and f.tolist() == [[7.0, 7.0], [7.0, 7.0]]
    assert ember.full_like(i, 4).tolist() == [[4, 4, 4]]
    assert ember.zeros_like(i, dtype=ember.float32).dtype == F32


def test_size_must_be_integers_like_torch():
    # torch.zeros(2.5) raises TypeError; a float size must not be silently truncated
    with pytest.raises(TypeError):
        ember.zeros(2.5)
    with pytest.raises(TypeError):
        ember.ones((2, 1.5))
    with pytest.raises(TypeError):
        ember.zeros("3")


@pytest.mark.parametrize("make", [
    lambda: ember.zeros(-1),
    lambda: ember.ones(2, -3),
    lambda: ember.empty((-1,)),
    lambda: ember.rand(-2),
    lambda: ember.randn(3, -1),
    lambda: ember.full((-1,), 1.0),
    lambda: ember.randint(0, 5, (-1,)),
    lambda: ember.eye(-1),
    lambda: ember.linspace(0, 1, -1),
    lambda: ember.randperm(-1),
], ids=["zeros", "ones", "empty", "rand", "randn", "full", "randint", "eye", "linspace",
        "randperm"])
def test_negative_sizes_raise_value_error(make):
    with pytest.raises(ValueError):
        make()


# ------------------------------------------------------------------------ NumPy interop
def test_numpy_shares_memory():
    t = ember.tensor([1.0, 2.0, 3.0])
    a = t.numpy()
    a[0] = 10.0
    assert t.tolist() == [10.0, 2.0, 3.0]
    t.mul_(2.0)
    assert a.tolist() == [20.0, 4.0, 6.0]
    assert a.dtype == F32


def test_np_asarray_and_np_array():
    t = ember.tensor([[1.0, 2.0], [3.0, 4.0]])
    a = np.asarray(t)
    assert isinstance(a, np.ndarray) and a.shape == (2, 2) and a.dtype == F32
    assert np.shares_memory(a, t.numpy())  # as np.asarray(torch_tensor)
    assert np.asarray(t, dtype=np.float64).dtype == F64
    c = np.array(t)
    assert not np.shares_memory(c, t.numpy())
    assert np.sum(t.numpy()) == 10.0


def test_item_and_python_conversions():
    assert ember.tensor(2.5).item() == 2.5 and isinstance(ember.tensor(2.5).item(), float)
    assert ember.tensor([[7]]).item() == 7 and isinstance(ember.tensor([[7]]).item(), int)
    assert ember.tensor(True).item() is True
    assert float(ember.tensor([1.5])) == 1.5
    assert int(ember.tensor(3.9)) == 3
    assert ember.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    with pytest.raises(ValueError, match="one-element"):
        ember.tensor([1.0, 2.0]).item()
    with pytest.raises(ValueError, match="one-element"):
        ember.zeros(0).item()


def test_bool_of_tensors():
    assert bool(ember.tensor([1.0])) and not bool(ember.tensor(0))
    assert bool(ember.tensor(True))
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(ember.tensor([1.0, 2.0]))
    with pytest.raises(RuntimeError, match="ambiguous"):
        if ember.tensor([1, 0]) > 0:
            pass
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(ember.zeros(0))


# ------------------------------------------------------------------------ properties
def test_shape_dtype_ndim_size_numel_len():
    t = ember.zeros(2, 3, 4)
    assert t.shape == (2, 3, 4) and isinstance(t.shape, tuple)
    assert t.dtype == F32 and t.ndim == 3 and t.dim() == 3
    assert t.size() == (2, 3, 4)
    assert t.size(0) == 2 and t.size(1) == 3 and t.size(-1) == 4 and t.size(-3) == 2
    assert t.numel() == 24 and ember.numel(t) == 24
    assert len(t) == 2
    s = ember.tensor(5.0)
    assert s.shape == () and s.ndim == 0 and s.numel() == 1 and s.size() == ()
    with pytest.raises(TypeError, match="0-d"):
        len(s)
    with pytest.raises(IndexError, match="out of range"):
        t.size(3)
    with pytest.raises(IndexError, match="out of range"):
        t.size(-4)


def test_is_floating_point_and_is_tensor():
    assert ember.zeros(1).is_floating_point and not ember.tensor([1]).is_floating_point
    assert ember.is_tensor(ember.zeros(1)) and not ember.is_tensor(np.zeros(1))


def test_T_transposes_a_matrix_and_is_differentiable():
    a = uniform((3, 4), 1)
    t = ember.tensor(a, requires_grad=True)
    assert t.T.shape == (4, 3)
    assert_close(t.T, a.T, 0, 0)
    up = uniform((4, 3), 2)
    (t.T * ember.tensor(up)).sum().backward()
    assert_close(t.grad, up.T, 0, 0)
    check_grad(lambda x: x.T * 2.0, uniform((2, 3), 3))


def test_iteration_yields_rows():
    t = ember.tensor([[1, 2], [3, 4]])
    assert [r.tolist() for r in t] == [[1, 2], [3, 4]]
    with pytest.raises(TypeError):
        iter(ember.tensor(1.0))


# ------------------------------------------------------------------------ conversions
def test_to_between_float_types_is_differentiable_and_grad_dtype_flows_back():
    x = ember.tensor([1.5, -2.0], requires_grad=True)
    y = x.to(ember.float64)
    assert y.dtype == F64 and y.requires_grad and not y.is_leaf
    (y * y).sum().backward()
    assert x.grad.dtype == F32
    assert_close(x.grad, [3.0, -4.0])
    z = ember.tensor([1.0, 2.0], dtype=ember.float64, requires_grad=True)
    w = z.float()
    assert w.dtype == F32
    (w * 3.0).sum().backward()
    assert z.grad.dtype == F64
    assert_close(z.grad, [3.0, 3.0])


def test_to_same_dtype_and_device_return_self_like_torch():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    assert x.to(ember.float32) is x and x.float() is x
    assert x.to("cpu") is x and x.cpu() is x
    assert x.to(dtype=ember.float64).dtype == F64


def test_float_double_long_int_bool():
    t = ember.tensor([-1.7, 0.0, 2.7])
    assert t.double().dtype == F64
    assert t.long().dtype == I64 and t.long().tolist() == [-1, 0, 2]  # truncation, as torch
    assert t.int().dtype == np.int32
    assert t.bool().tolist() == [True, False, True]
    i = ember.tensor([1, 2])
    assert i.float().dtype == F32 and i.float().tolist() == [1.0, 2.0]
    assert i.double().dtype == F64


def test_cast_to_integer_is_not_differentiable():
    x = ember.tensor([1.5, 2.5], requires_grad=True)
    y = x.long()
    assert y.dtype == I64 and not y.requires_grad and y.grad_fn is None


def test_to_unsupported_dtype_raises():
    with pytest.raises(TypeError, match="unsupported dtype"):
        ember.tensor([1.0]).to(np.complex64)


def test_detach_shares_memory_and_has_no_graph():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    for src in (x, y):
        d = src.detach()
        assert np.shares_memory(d.numpy(), src.numpy())
        assert not d.requires_grad and d.grad_fn is None and d.is_leaf
        assert d.dtype == src.dtype and d.shape == src.shape


def test_clone_is_a_differentiable_copy():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    c = x.clone()
    assert not np.shares_memory(c.numpy(), x.numpy())
    assert c.requires_grad and not c.is_leaf and c.grad_fn is not None
    (c * c).sum().backward()
    assert_close(x.grad, [2.0, 4.0])
    p = ember.tensor([1, 2]).clone()
    assert p.dtype == I64 and not p.requires_grad
    nc = ember.tensor(np.arange(6.0).reshape(2, 3)).T.clone()
    assert nc.is_contiguous() and nc.tolist() == [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]
    helper_test_op([(2, 3)], lambda t: t.clone() * t)


# ------------------------------------------------------------------------ repr
def test_repr():
    assert repr(ember.tensor([1, 2, 3])) == "tensor([1, 2, 3])"
    r = repr(ember.tensor([1.0, 2.5], requires_grad=True))
    assert r.startswith("tensor([") and "2.5" in r and "requires_grad=True" in r
    y = ember.tensor([1.0, 2.0], requires_grad=True) * 3.0
    r = repr(y)
    assert "3." in r and "6." in r and "grad_fn=<Mul" in r
    r = repr(ember.tensor([1.0, 2.0], dtype=ember.float64))
    assert "dtype=" in r and "float64" in r
    assert "requires_grad" not in repr(ember.tensor([1.0]))
    assert "dtype" not in repr(ember.tensor([1.0])) and "dtype" not in repr(ember.tensor([True]))


# ------------------------------------------------------------------------ comparisons
def test_comparisons_return_bool_tensors_and_are_not_differentiable():
    a = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = ember.tensor([3.0, 2.0, 1.0])
    cases = {
        "<": (a < b, [True, False, False]), "<=": (a <= b, [True, True, False]),
        ">": (a > b, [False, False, True]), ">=": (a >= b, [False, True, True]),
        "==": (a == b, [False, True, False]), "!=": (a != b, [True, False, True]),
        "lt": (a.lt(2.0), [True, False, False]), "ge": (a.ge(2.0), [False, True, True]),
        "eq": (a.eq(b), [False, True, False]), "ne": (a.ne(b), [True, False, True]),
        "gt": (a.gt(b), [False, False, True]), "le": (a.le(1.0), [True, False, False]),
        "ember.eq": (ember.eq(a, b), [False, True, False]),
        "scalar left": (2.0 < a, [False, False, True]),
    }
    for name, (out, expected) in cases.items():
        assert isinstance(out, ember.Tensor), name
        assert out.dtype == BOOL, name
        assert out.tolist() == expected, name
        assert not out.requires_grad and out.grad_fn is None, name


def test_comparison_broadcasts():
    a = ember.tensor([[1], [2], [3]])
    out = a > ember.tensor([1, 2])
    assert out.shape == (3, 2) and out.tolist() == [[False, False], [True, False], [True, True]]


def test_equal_and_allclose_return_python_bools():
    a = ember.tensor([1.0, 2.0])
    assert a.equal(ember.tensor([1.0, 2.0])) is True
    assert a.equal(ember.tensor([1.0, 2.0, 3.0])) is False
    assert a.allclose(ember.tensor([1.0, 2.0 + 1e-9])) is True


def test_argmax_argmin():
    x = ember.tensor([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0]])
    am = x.argmax()
    assert am.dtype == I64 and am.shape == () and am.item() == 1  # first of the ties
    assert x.argmin().item() == 4
    assert x.argmax(dim=1).tolist() == [1, 0]
    assert x.argmin(dim=0).tolist() == [0, 1, 1]
    assert x.argmax(1, keepdim=True).shape == (2, 1)
    assert ember.argmax(x, dim=0).tolist() == [1, 0, 0]
    assert ember.argmin(x).item() == 4
    assert x.argmax(dim=-1).tolist() == [1, 0]
    y = ember.tensor([[1.0, 3.0]], requires_grad=True).argmax()
    assert not y.requires_grad


def test_argmax_argmin_vs_torch():
    torch = import_torch()
    a = np.random.default_rng(0).integers(0, 4, (4, 5)).astype(np.float32)  # many ties
    t, e = torch.tensor(a), ember.tensor(a)
    assert e.argmax().item() == t.argmax().item()
    assert e.argmin().item() == t.argmin().item()
    for d in (0, 1, -1):
        assert e.argmax(dim=d).tolist() == t.argmax(dim=d).tolist()
        assert e.argmin(dim=d).tolist() == t.argmin(dim=d).tolist()


# ------------------------------------------------------------------------ indexing
MASK = np.random.default_rng(4).random((4, 5)) > 0.5
INDEXES = {
    "int": 1,
    "negative": -1,
    "tuple": (2, -3),
    "slice": slice(1, 3),
    "negative_slice": slice(-3, -1),
    "step": (slice(None), slice(None, None, 2)),
    "ellipsis": (Ellipsis, 0),
    "newaxis": (None, slice(1, 3)),
    "int_array": [0, 2, 0],
    "int_array_2d": (np.array([0, 3]), np.array([1, 4])),
    "negative_array": [-1, -4],
    "bool_mask": MASK,
    "row_mask": np.array([True, False, True, True]),
}


def _grad_ref(shape, index, up):
    g = np.zeros(shape)
    np.add.at(g, index, up)  # repeated indices accumulate
    return g


@pytest.mark.parametrize("name", list(INDEXES))
def test_indexing_forward_and_grad_vs_numpy(name):
    index = INDEXES[name]
    a = uniform((4, 5), 5)
    np_index = np.asarray(index) if isinstance(index, list) else index
    x = ember.tensor(a, requires_grad=True)
    out = x[index]
    expected = a[np_index]
    assert_close(out, expected, 0, 0, msg=name)
    up = uniform(np.shape(expected), 6)
    (out * ember.tensor(up)).sum().backward()
    assert_close(x.grad, _grad_ref(a.shape, np_index, up), 1e-12, 1e-12, msg=name)


def test_indexing_with_tensors():
    a = uniform((4, 5), 7)
    x = ember.tensor(a, requires_grad=True)
    idx = ember.tensor([3, 1, 3])
    assert_close(x[idx], a[[3, 1, 3]], 0, 0)
    mask = x.detach() > 0
    out = x[mask]
    assert_close(out, a[a > 0], 0, 0)
    out.sum().backward()
    assert_close(x.grad, (a > 0).astype(np.float64), 0, 0)
    assert_close(x[ember.tensor(2)], a[2], 0, 0)


def test_indexing_vs_torch():
    helper_test_op([(4, 5)], lambda t: t[1:3, ::2] * t[-1, 1:4:1].sum())
    helper_test_op([(4, 5)], lambda t: t[[0, 2, 0]] + t[t > 0.5].sum())
    helper_test_op([(3, 4, 5)], lambda t: t[..., 1] * t[:, None, 0, 2])


def test_basic_indexing_returns_a_view_advanced_indexing_a_copy():
    x = ember.tensor([[1.0, 2.0], [3.0, 4.0]])
    row = x[0]
    row.add_(10.0)  # as torch: basic slicing gives a view of the same storage
    assert x.tolist() == [[11.0, 12.0], [3.0, 4.0]]
    sel = x[[1]]
    sel.add_(100.0)
    assert x.tolist() == [[11.0, 12.0], [3.0, 4.0]]


def test_setitem_without_grad():
    x = ember.zeros(3, 4)
    x[0] = 1.0
    x[1, 1:3] = ember.tensor([5.0, 6.0])
    x[:, -1] = 9.0
    x[x == 0] = -1.0
    x[ember.tensor([2])] = 7.0
    assert x.tolist() == [[1.0, 1.0, 1.0, 9.0], [-1.0, 5.0, 6.0, 9.0], [7.0, 7.0, 7.0, 7.0]]


def test_out_of_range_index_raises_index_error():
    x = ember.zeros(3, 4)
    with pytest.raises(IndexError):
        x[3]
    with pytest.raises(IndexError):
        x[:, -5]
    with pytest.raises(IndexError):
        x[[0, 5]]


# ------------------------------------------------------------------------ dtypes
def test_float64_supported_everywhere():
    x = ember.tensor(uniform((3, 4), 8), requires_grad=True)
    w = ember.randn(4, 2, dtype=ember.float64, requires_grad=True)
    b = ember.zeros(2, dtype=ember.float64, requires_grad=True)
    h = (x @ w + b).tanh().sigmoid().relu()
    h = h.exp().log() + h.sqrt() * h.abs() - h ** 2 / (h + 1.0)
    h = ember.cat([h, h.clamp(0.1, 0.9)], dim=1).reshape(-1).softmax(0)
    loss = h.max() + h.mean() + h.var() + h[1:5].sum()
    assert loss.dtype == F64
    for t in (x, w, b, h):
        assert t.dtype == F64
    loss.backward()
    for t in (x, w, b):
        assert t.grad.dtype == F64
    for fn in (ember.zeros, ember.ones, ember.empty, ember.rand, ember.randn):
        assert fn(2, dtype=ember.float64).dtype == F64
    assert ember.arange(3, dtype=ember.float64).dtype == F64
    assert ember.eye(2, dtype=ember.float64).dtype == F64
    assert ember.full((2,), 1.0, dtype=ember.float64).dtype == F64


@pytest.mark.parametrize("make", [
    lambda: ember.tensor([1 + 2j]),
    lambda: ember.tensor(np.array([1, 2], dtype=np.complex64)),
    lambda: ember.tensor(["a", "b"]),
    lambda: ember.tensor("abc"),
    lambda: ember.tensor([None]),
    lambda: ember.zeros(2, dtype=np.complex64),
    lambda: ember.ones(2, dtype=str),
    lambda: ember.tensor([1.0], dtype=np.complex128),
    lambda: ember.from_numpy(np.array([1j])),
    lambda: ember.from_numpy(np.array(["x"])),
    lambda: ember.as_tensor(np.array([1j])),
    lambda: ember.arange(3, dtype=np.complex64),
], ids=["complex_list", "complex_array", "str_list", "str", "none", "zeros_complex",
        "ones_str", "dtype_complex", "from_numpy_complex", "from_numpy_str", "as_tensor_complex",
        "arange_complex"])
def test_unsupported_dtypes_raise_type_error(make):
    with pytest.raises(TypeError):
        make()
