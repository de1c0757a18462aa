"""The reverse-mode engine: accumulation (repeated uses, diamonds, repeated backward calls),
broadcasting, backward arguments and errors, retain_graph, grad mode (no_grad / enable_grad /
set_grad_enabled), in-place safety and saved-tensor version checks, detach / retain_grad,
leaves, deep graphs, graph release, custom Functions, gradcheck itself, and a torch oracle."""
import gc
import sys
import threading
import weakref

import numpy as np
import pytest

import ember
from ember.autograd import Function, gradcheck
from ember.autograd.gradcheck import GradcheckError
from helpers import assert_close, helper_test_op, import_torch, uniform


def leaf(values, dtype=np.float64):
    return ember.tensor(np.asarray(values, dtype=dtype), requires_grad=True)


# ------------------------------------------------------------------------ accumulation
def test_tensor_used_twice_in_one_op_accumulates():
    x = leaf([1.0, -2.0, 3.0])
    (x * x).sum().backward()
    assert_close(x.grad, [2.0, -4.0, 6.0])
    y = leaf([1.0, 2.0])
    (y + y + y).sum().backward()
    assert_close(y.grad, [3.0, 3.0])


def test_diamond_graph_accumulates_both_paths():
    # a -> b, c -> d: dd/da = c * db/da + b * dc/da = (a + 3) * 2 + 2a * 1
    a = leaf([1.0, 2.0, -0.5])
    b = a * 2.0
    c = a + 3.0
    d = b * c
    d.sum().backward()
    av = np.array([1.0, 2.0, -0.5])
    assert_close(a.grad, 2 * (av + 3.0) + 2 * av, 1e-12, 1e-12)


def test_asymmetric_diamond_processes_each_node_after_all_its_consumers():
    # b feeds d directly and through a long chain; a wrong topological order would
    # backpropagate b before the long path's gradient reached it.
    a = leaf([0.5, -1.0])
    b = a * 3.0
    c = b
    for _ in range(5):
        c = c * 2.0
    d = (c + b).sum()
    d.backward()
    assert_close(a.grad, [3.0 * (32.0 + 1.0)] * 2)


def test_intermediate_used_twice_accumulates():
    x = leaf([1.0, 2.0])
    y = x * 2.0
    z = (y * y + y).sum()  # dz/dx = (2y + 1) * 2
    z.backward()
    assert_close(x.grad, (2 * np.array([2.0, 4.0]) + 1) * 2)


def test_grad_accumulates_across_backward_calls_like_torch():
    x = leaf([1.0, 2.0])
    (x * 3.0).sum().backward()
    (x * x).sum().backward()
    assert_close(x.grad, [3.0 + 2.0, 3.0 + 4.0])
    x.grad = None
    (x * 5.0).sum().backward()
    assert_close(x.grad, [5.0, 5.0])
    x.grad.zero_()  # the optimizer pattern: zero in place, then accumulate again
    (x * 2.0).sum().backward()
    assert_close(x.grad, [2.0, 2.0])


def test_grad_has_the_leaf_dtype_and_does_not_require_grad():
    for dtype in (np.float32, np.float64):
        x = leaf([1.0, 2.0], dtype)
        (x * x).sum().backward()
        assert x.grad.dtype == dtype
        assert not x.grad.requires_grad and x.grad.grad_fn is None


def test_leaf_grads_do_not_alias_each_other_or_the_upstream_gradient():
    x, y = leaf([1.0, 1.0]), leaf([1.0, 1.0])
    up = ember.tensor([1.0, 2.0], dtype=np.float64)
    (x + y).backward(up)  # Add hands the same gradient array to both inputs
    x.grad.zero_()
    assert_close(y.grad, [1.0, 2.0])
    up.data[:] = 100.0
    assert_close(y.grad, [1.0, 2.0])


def test_inputs_not_requiring_grad_get_no_grad():
    x = leaf([1.0, 2.0])
    w = ember.tensor([3.0, 4.0], dtype=np.float64)
    (x * w).sum().backward()
    assert_close(x.grad, [3.0, 4.0])
    assert w.grad is None


# ------------------------------------------------------------------------ broadcasting
BROADCAST = [((3, 1), (1, 4)), ((2, 3, 4), (4,)), ((3,), ()), ((2, 1, 3), (4, 1)),
             ((1, 1), (3, 4))]


@pytest.mark.parametrize("sa,sb", BROADCAST)
def test_broadcast_gradients_are_reduced_to_each_input_shape(sa, sb):
    a = ember.tensor(uniform(sa, 1), requires_grad=True)
    b = ember.tensor(uniform(sb, 2), requires_grad=True)
    out = a * b + a - b
    up = uniform(out.shape, 3)
    out.backward(up)
    assert a.grad.shape == sa and b.grad.shape == sb
    # reference: the gradient of the broadcast operands, summed back over broadcast axes
    av, bv = np.broadcast_to(a.data, out.shape), np.broadcast_to(b.data, out.shape)
    ga, gb = up * bv + up, up * av - up

    def reduce_to(g, shape):
        g = g.sum(axis=tuple(range(g.ndim - len(shape))))
        return g.sum(axis=tuple(i for i, s in enumerate(shape) if s == 1), keepdims=True)

    assert_close(a.grad, reduce_to(ga, sa), 1e-12, 1e-12)
    assert_close(b.grad, reduce_to(gb, sb), 1e-12, 1e-12)


def test_broadcast_with_python_scalar_keeps_shape():
    x = leaf([[1.0, 2.0]])
    (2.0 * x + 1.0).sum().backward()
    assert x.grad.shape == (1, 2)
    assert_close(x.grad, [[2.0, 2.0]])


# ------------------------------------------------------------------------ backward arguments
def test_backward_on_non_scalar_without_gradient_raises():
    y = leaf([1.0, 2.0]) * 2.0
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar"):
        y.backward()


def test_backward_on_one_element_non_scalar_is_allowed():
    x = leaf([[3.0]])
    (x * 2.0).backward()
    assert_close(x.grad, [[2.0]])


def test_backward_with_explicit_gradient():
    x = leaf([1.0, 2.0])
    (x * x).backward(ember.tensor([1.0, 0.5], dtype=np.float64))
    assert_close(x.grad, [2.0, 2.0])
    x.grad = None
    (x * 2.0).backward([1.0, 3.0])  # array-likes are accepted
    assert_close(x.grad, [2.0, 6.0])


def test_backward_with_wrong_gradient_shape_raises():
    y = leaf([1.0, 2.0]) * 2.0
    with pytest.raises(RuntimeError, match=r"gradient has shape \(3,\).*shape \(2,\)"):
        y.backward(ember.ones(3))
    with pytest.raises(RuntimeError, match="shape"):
        y.backward(np.ones((2, 1)))


def test_backward_on_a_tensor_without_graph_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        ember.tensor([1.0, 2.0]).sum().backward()
    x = leaf([1.0])
    with ember.no_grad():
        y = x * 2.0
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()


def test_backward_on_a_leaf_accumulates_the_gradient():
    x = leaf([1.0, 2.0])
    g = ember.tensor([1.0, 2.0], dtype=np.float64)
    x.backward(g)
    g.mul_(10.0)
    assert_close(x.grad, [1.0, 2.0])


def test_backward_works_inside_no_grad_and_restores_grad_mode():
    x = leaf([1.0, 2.0])
    y = (x * 3.0).sum()
    with ember.no_grad():
        y.backward()
        assert not ember.is_grad_enabled()
    assert ember.is_grad_enabled()
    assert_close(x.grad, [3.0, 3.0])


# ------------------------------------------------------------------------ retain_graph
def test_retain_graph_allows_a_second_backward_with_doubled_grads():
    x = leaf([1.0, -2.0])
    y = (x * x).exp().sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()
    assert_close(x.grad, 2 * first, 1e-12, 1e-12)


def test_second_backward_without_retain_graph_raises():
    x = leaf([1.0, -2.0])
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_backward_after_retain_then_plain_then_raises():
    x = leaf([2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert_close(x.grad, [8.0])
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_two_losses_sharing_a_subgraph():
    x = leaf([1.0, 2.0])
    h = x.exp()
    l1, l2 = (h * h).sum(), (h * 3.0).sum()
    l1.backward(retain_graph=True)
    l2.backward()
    e = np.exp([1.0, 2.0])
    assert_close(x.grad, 2 * e * e + 3 * e, 1e-12, 1e-12)
    x.grad = None
    h = x.exp()
    l1, l2 = (h * h).sum(), (h * 3.0).sum()
    l1.backward()  # frees the shared exp node
    with pytest.raises(RuntimeError, match="retain_graph"):
        l2.backward()


# ------------------------------------------------------------------------ grad mode
def test_no_grad_context_manager():
    x = leaf([1.0, 2.0])
    with ember.no_grad():
        assert not ember.is_grad_enabled()
        y = x * 2.0 + x.exp()
    assert ember.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf


def test_no_grad_decorator():
    x = leaf([1.0, 2.0])

    @ember.no_grad()
    def f(t):
        """Docstring."""
        assert not ember.is_grad_enabled()
        return t * 2.0

    y = f(x)
    assert not y.requires_grad and y.grad_fn is None
    assert ember.is_grad_enabled()
    assert f.__name__ == "f" and f.__doc__ == "Docstring."


def test_no_grad_bare_decorator_like_torch():
    # torch >= 2.0 accepts @torch.no_grad without parentheses
    @ember.no_grad
    def f(t):
        return t * 2.0

    y = f(leaf([1.0, 2.0]))
    assert not y.requires_grad and y.grad_fn is None
    assert ember.is_grad_enabled()


def test_no_grad_restores_mode_after_an_exception():
    with pytest.raises(ValueError):
        with ember.no_grad():
            raise ValueError("boom")
    assert ember.is_grad_enabled()

    @ember.no_grad()
    def g():
        raise ValueError("boom")

    with pytest.raises(ValueError):
        g()
    assert ember.is_grad_enabled()


def test_nested_no_grad_restores_outer_state():
    with ember.no_grad():
        with ember.no_grad():
            pass
        assert not ember.is_grad_enabled()
    assert ember.is_grad_enabled()


def test_enable_grad_inside_no_grad():
    x = leaf([1.0, 2.0])
    with ember.no_grad():
        with ember.enable_grad():
            assert ember.is_grad_enabled()
            y = x * x
        z = x * x
        assert not ember.is_grad_enabled()
    assert y.requires_grad and y.grad_fn is not None
    assert not z.requires_grad
    y.sum().backward()
    assert_close(x.grad, [2.0, 4.0])


def test_enable_grad_decorator_inside_no_grad():
    @ember.enable_grad()
    def f(t):
        return t * t

    x = leaf([3.0])
    with ember.no_grad():
        y = f(x)
        assert not ember.is_grad_enabled()
    assert y.requires_grad
    y.sum().backward()
    assert_close(x.grad, [6.0])


def test_set_grad_enabled_function():
    x = leaf([1.0])
    ember.set_grad_enabled(False)
    assert not ember.is_grad_enabled()
    assert not (x * 2.0).requires_grad
    ember.set_grad_enabled(True)
    assert ember.is_grad_enabled()
    assert (x * 2.0).requires_grad


def test_set_grad_enabled_as_context_manager_like_torch():
    x = leaf([1.0])
    with ember.set_grad_enabled(False):
        assert not (x * 2.0).requires_grad
    assert ember.is_grad_enabled()
    with ember.no_grad():
        with ember.set_grad_enabled(True):
            assert (x * 2.0).requires_grad
        assert not ember.is_grad_enabled()


def test_grad_mode_is_per_thread():
    seen = []
    with ember.no_grad():
        t = threading.Thread(target=lambda: seen.append(ember.is_grad_enabled()))
        t.start()
        t.join()
    assert seen == [True]


def test_factories_under_no_grad_still_make_leaves_requiring_grad():
    with ember.no_grad():
        w = ember.zeros(2, requires_grad=True)
    assert w.requires_grad and w.is_leaf


# ------------------------------------------------------------------------ in-place safety
INPLACE = {
    "add_": lambda t: t.add_(1.0),
    "sub_": lambda t: t.sub_(1.0),
    "mul_": lambda t: t.mul_(2.0),
    "div_": lambda t: t.div_(2.0),
    "zero_": lambda t: t.zero_(),
    "fill_": lambda t: t.fill_(3.0),
    "copy_": lambda t: t.copy_(ember.ones(2)),
    "clamp_": lambda t: t.clamp_(0.0, 1.0),
    "iadd": lambda t: t.__iadd__(1.0),
}


@pytest.mark.parametrize("name", list(INPLACE))
def test_inplace_on_leaf_requiring_grad_raises_in_grad_mode(name):
    x = ember.tensor([0.5, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"leaf tensor that requires grad.*no_grad"):
        INPLACE[name](x)
    assert_close(x, [0.5, 2.0])  # unchanged


def test_setitem_on_leaf_requiring_grad_raises_in_grad_mode():
    x = ember.tensor([0.5, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="requires grad.*no_grad"):
        x[0] = 1.0
    assert_close(x, [0.5, 2.0])


@pytest.mark.parametrize("name", list(INPLACE))
def test_inplace_on_leaf_works_under_no_grad(name):
    x = ember.tensor([0.5, 2.0], requires_grad=True)
    expected = {"add_": [1.5, 3.0], "sub_": [-0.5, 1.0], "mul_": [1.0, 4.0], "div_": [0.25, 1.0],
                "zero_": [0.0, 0.0], "fill_": [3.0, 3.0], "copy_": [1.0, 1.0],
                "clamp_": [0.5, 1.0], "iadd": [1.5, 3.0]}[name]
    with ember.no_grad():
        out = INPLACE[name](x)
    assert out is x
    assert_close(x, expected)
    assert x.requires_grad and x.is_leaf
    (x * 2.0).sum().backward()
    assert_close(x.grad, [2.0, 2.0])


def test_setitem_and_augmented_assignment_under_no_grad():
    x = ember.tensor([0.5, 2.0, 3.0], requires_grad=True)
    ref = x
    with ember.no_grad():
        x[0] = 1.0
        x[ember.tensor([1, 2])] = ember.tensor([7.0, 8.0])
        x -= 1.0
    assert x is ref and x.is_leaf and x.requires_grad
    assert_close(x, [0.0, 6.0, 7.0])


def test_inplace_on_non_leaf_is_tracked_like_torch():
    # torch allows in-place ops on non-leaf tensors and differentiates through them
    x = leaf([1.0, 2.0])
    y = x * 2.0
    y.add_(1.0)
    y.sum().backward()
    assert_close(x.grad, [2.0, 2.0])
    x.grad = None
    z = x * 3.0
    z[0] = 5.0
    z.sum().backward()
    assert_close(x.grad, [0.0, 3.0])


def _modify_input(x, y):
    with ember.no_grad():
        x.mul_(2.0)


def _modify_input_setitem(x, y):
    with ember.no_grad():
        x[0] = 5.0


def _modify_output(x, y):
    with ember.no_grad():
        y.add_(1.0)


SAVED_CASES = {
    "input mul_": (lambda x: x * x, _modify_input),
    "input setitem": (lambda x: x * x, _modify_input_setitem),
    "input of log": (lambda x: x.log(), _modify_input),
    "output of exp": (lambda x: x.exp(), _modify_output),
    "output of tanh": (lambda x: x.tanh(), _modify_output),
}


@pytest.mark.parametrize("name", list(SAVED_CASES))
def test_modifying_a_saved_tensor_in_place_makes_backward_raise(name):
    build, modify = SAVED_CASES[name]
    x = leaf([1.0, 2.0])
    y = build(x)
    loss = y.sum()
    modify(x, y)
    with pytest.raises(RuntimeError, match="in-place"):
        loss.backward()
    assert ember.is_grad_enabled()


def test_modifying_a_saved_constant_operand_makes_backward_raise():
    x = leaf([1.0, 2.0])
    w = ember.tensor([3.0, 4.0], dtype=np.float64)  # no grad: in-place allowed in grad mode
    loss = (x * w).sum()
    w.mul_(2.0)
    with pytest.raises(RuntimeError, match="in-place"):
        loss.backward()


def test_modifying_a_tensor_that_was_not_saved_is_fine():
    x = leaf([1.0, 2.0])
    loss = (x + 1.0).sum()  # add saves nothing
    with ember.no_grad():
        x.mul_(2.0)
    loss.backward()
    assert_close(x.grad, [1.0, 1.0])


@pytest.mark.parametrize("view", ["detach", "slice", "reshape"])
def test_modifying_a_saved_tensor_through_a_view_makes_backward_raise_like_torch(view):
    # torch: views (and detach()) share the version counter of their base tensor, so an
    # in-place change through them is caught instead of giving a silently wrong gradient.
    x = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    loss = (x * x).sum()
    with ember.no_grad():
        v = {"detach": x.detach, "slice": lambda: x[0:2],
             "reshape": lambda: x.reshape(3, 1)}[view]()
        v.mul_(2.0)
    assert_close(x, [2.0, 4.0, 3.0] if view == "slice" else [2.0, 4.0, 6.0])
    with pytest.raises(RuntimeError, match="in-place"):
        loss.backward()


# ------------------------------------------------------------------------ detach / retain_grad
def test_detach_shares_memory_and_cuts_the_graph():
    x = leaf([1.0, 2.0])
    y = x * 2.0
    d = y.detach()
    assert np.shares_memory(d.numpy(), y.numpy())
    assert not d.requires_grad and d.grad_fn is None and d.is_leaf
    loss = (y * d).sum()  # d is a constant: dloss/dx = 2 * d
    loss.backward()
    assert_close(x.grad, [4.0, 8.0])
    xd = x.detach()
    xd.add_(1.0)  # detached tensor does not require grad: allowed, visible in x
    assert_close(x, [2.0, 3.0])


def test_detach_then_requires_grad_makes_a_new_leaf():
    x = leaf([1.0, 2.0])
    y = (x * 3.0).detach().requires_grad_()
    assert y.is_leaf and y.requires_grad
    (y * y).sum().backward()
    assert_close(y.grad, [6.0, 12.0])
    assert x.grad is None


def test_non_leaf_grad_is_not_kept_by_default():
    x = leaf([1.0, 2.0])
    y = x * 2.0
    (y * y).sum().backward()
    assert y.grad is None
    assert x.grad is not None


def test_retain_grad_keeps_a_non_leaf_grad():
    x = leaf([1.0, 2.0])
    y = x * 2.0
    y.retain_grad()
    z = (y * y + y).sum()
    z.backward()
    assert_close(y.grad, 2 * np.array([2.0, 4.0]) + 1)
    assert_close(x.grad, 2 * (2 * np.array([2.0, 4.0]) + 1))


def test_retain_grad_on_the_root_and_accumulation():
    x = leaf([1.0, 2.0])
    y = x * 2.0
    y.retain_grad()
    y.backward(np.array([1.0, 3.0]), retain_graph=True)
    assert_close(y.grad, [1.0, 3.0])
    y.backward(np.array([1.0, 3.0]))
    assert_close(y.grad, [2.0, 6.0])  # accumulates like a leaf's grad (as torch)


def test_retain_grad_on_tensor_not_requiring_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        ember.tensor([1.0]).retain_grad()


# ------------------------------------------------------------------------ leaves, requires_grad
def test_is_leaf_and_grad_fn():
    x = leaf([1.0, 2.0])
    c = ember.tensor([1.0, 2.0])
    y = x * 2.0
    assert x.is_leaf and x.grad_fn is None
    assert c.is_leaf and c.grad_fn is None and not c.requires_grad
    assert not y.is_leaf and isinstance(y.grad_fn, Function) and y.requires_grad
    z = c * 2.0  # no input requires grad: a leaf without graph (as torch)
    assert z.is_leaf and z.grad_fn is None and not z.requires_grad


@pytest.mark.parametrize("make", [
    lambda: ember.tensor([1, 2], requires_grad=True),
    lambda: ember.tensor([True], requires_grad=True),
    lambda: ember.zeros(2, dtype=ember.int64, requires_grad=True),
    lambda: ember.arange(3).requires_grad_(),
    lambda: ember.ones(2, dtype=ember.int32).requires_grad_(True),
])
def test_requires_grad_on_non_float_tensor_raises_type_error(make):
    with pytest.raises(TypeError, match="floating-point"):
        make()


def test_setting_requires_grad_attribute_on_int_tensor_raises():
    # torch: "only Tensors of floating point and complex dtype can require gradients"
    t = ember.tensor([1, 2])
    with pytest.raises(TypeError, match="floating-point"):
        t.requires_grad = True


def test_setting_requires_grad_attribute_on_float_leaf_works():
    x = ember.tensor([1.0, 2.0])
    x.requires_grad = True
    (x * x).sum().backward()
    assert_close(x.grad, [2.0, 4.0])


def test_requires_grad_false_on_non_leaf_raises():
    y = leaf([1.0]) * 2.0
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad_(False)


def test_setting_requires_grad_attribute_false_on_non_leaf_raises_like_torch():
    # torch: "you can only change requires_grad flags of leaf variables"
    y = leaf([1.0]) * 2.0
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad = False


# ------------------------------------------------------------------------ deep graphs, release
def test_deep_chain_backpropagates_without_recursion_error():
    assert sys.getrecursionlimit() < 5000
    x = ember.tensor(1.0, dtype=np.float64, requires_grad=True)
    y = x
    n = 5000
    for i in range(n):
        y = y * 1.0001 if i % 2 else y + 0.5
    y.backward()
    assert_close(x.grad, 1.0001 ** (n // 2), 1e-12, 1e-9)
    del y  # freeing the deep chain must not overflow either


class _SaveCos(Function):
    """cos, saving a fresh array (neither the input's nor the output's data)."""

    @staticmethod
    def forward(ctx, a):
        s = np.sin(a)
        ctx.save_for_backward(s)
        return np.cos(a)

    @staticmethod
    def backward(ctx, g):
        (s,) = ctx.saved_tensors
        return -g * s


def test_saved_values_are_released_after_backward():
    x = leaf([0.3, 1.2])
    y = _SaveCos.apply(x)
    saved = weakref.ref(y.grad_fn.saved_tensors[0])
    loss = (y * 2.0).sum()
    loss.backward()
    gc.collect()
    assert saved() is None  # freed although loss and y are still alive
    assert_close(x.grad, -2.0 * np.sin([0.3, 1.2]), 1e-12, 1e-12)
    with pytest.raises(RuntimeError, match="retain_graph"):
        _ = y.grad_fn.saved_tensors


def test_saved_values_are_kept_with_retain_graph():
    x = leaf([0.3, 1.2])
    y = _SaveCos.apply(x)
    saved = weakref.ref(y.grad_fn.saved_tensors[0])
    y.sum().backward(retain_graph=True)
    gc.collect()
    assert saved() is not None


def test_graph_is_freed_by_reference_counting_after_backward():
    gc.collect()
    gc.disable()
    try:
        x = leaf(uniform((50,), 1))
        h = (x * 2.0).exp().tanh()
        loss = (h * h).sum()
        node, inter = weakref.ref(loss.grad_fn), weakref.ref(h)
        loss.backward()
        del loss, h
        assert node() is None and inter() is None
    finally:
        gc.enable()


def _retained(t):
    y = t * 2.0
    y.retain_grad()
    return y


FORWARD_ONLY = {
    "exp": lambda t: t.exp(),
    "tanh": lambda t: t.tanh(),
    "sigmoid": lambda t: t.sigmoid(),
    "sqrt": lambda t: (t * t).sqrt(),
    "relu": lambda t: t.relu(),
    "pow": lambda t: t ** 3,
    "mul": lambda t: t * t,
    "retain_grad": _retained,
}


@pytest.mark.parametrize("name", list(FORWARD_ONLY))
def test_graph_without_backward_is_freed_by_reference_counting_like_torch(name):
    # Ops saving their own output (exp, tanh, sigmoid, sqrt, relu, pow) and retain_grad must
    # not create a reference cycle output -> node -> output: torch frees such a graph as soon
    # as the last reference goes (no cycle collector needed), e.g. in an evaluation pass run
    # in grad mode.
    gc.collect()
    gc.disable()
    try:
        x = leaf(uniform((50,), 2))
        y = FORWARD_ONLY[name](x)
        ref = weakref.ref(y)
        del y
        assert ref() is None
    finally:
        gc.enable()


# ------------------------------------------------------------------------ custom Function
class _ScaledCube(Function):
    """scale * a ** 3 with a non-tensor argument."""

    @staticmethod
    def forward(ctx, a, scale):
        ctx.save_for_backward(a)
        ctx.scale = scale
        return scale * a ** 3

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * 3.0 * ctx.scale * a ** 2, None


class _MulAdd(Function):
    """a * b + c, gradient only for the inputs that need one."""

    @staticmethod
    def forward(ctx, a, b, c):
        ctx.save_for_backward(a, b)
        return a * b + c

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb, nc = ctx.needs_input_grad
        return (g * b if na else None, g * a if nb else None, g if nc else None)


def test_custom_function_end_to_end():
    x = leaf([1.0, -2.0, 0.5])
    y = _ScaledCube.apply(x, 2.0)
    assert isinstance(y, ember.Tensor) and y.requires_grad
    assert isinstance(y.grad_fn, _ScaledCube)
    assert_close(y, 2.0 * np.array([1.0, -8.0, 0.125]))
    (y * 1.0).sum().backward()
    assert_close(x.grad, 6.0 * np.array([1.0, 4.0, 0.25]), 1e-12, 1e-12)
    assert gradcheck(lambda t: _ScaledCube.apply(t, 0.7), [leaf(uniform((2, 3), 4))])


def test_custom_function_needs_input_grad_and_mixed_inputs():
    a, c = leaf([1.0, 2.0]), leaf([0.5, 0.5])
    b = ember.tensor([3.0, 4.0], dtype=np.float64)
    out = _MulAdd.apply(a, b, c)
    assert out.grad_fn.needs_input_grad == (True, False, True)
    out.sum().backward()
    assert_close(a.grad, [3.0, 4.0])
    assert_close(c.grad, [1.0, 1.0])
    assert b.grad is None
    with ember.no_grad():
        assert not _MulAdd.apply(a, b, c).requires_grad
    assert not _MulAdd.apply(b, b, b).requires_grad


def test_custom_function_composes_with_builtin_ops():
    x = leaf(uniform((3,), 5))
    assert gradcheck(lambda t: (_ScaledCube.apply(t.tanh(), 1.5) * t).sum(), [x])


class _WrongShapeGrad(Function):
    @staticmethod
    def forward(ctx, a):
        return a.sum()

    @staticmethod
    def backward(ctx, g):
        return g  # should be broadcast to a's shape


def test_custom_function_returning_a_wrong_gradient_shape_raises():
    x = leaf([1.0, 2.0, 3.0])
    with pytest.raises(RuntimeError, match=r"_WrongShapeGrad.*shape \(\).*shape \(3,\)"):
        _WrongShapeGrad.apply(x).backward()


# ------------------------------------------------------------------------ gradcheck itself
class _WrongSquare(Function):
    """a ** 2 with a deliberately wrong backward (missing the factor 2)."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return a * a

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * a


def test_gradcheck_passes_on_correct_ops():
    a, b = leaf(uniform((2, 3), 6)), leaf(uniform((3,), 7))
    assert gradcheck(lambda x, y: (x * y).tanh() + x.exp() / (y * y + 1.0), [a, b]) is True
    assert a.grad is None and b.grad is None  # gradcheck leaves no gradients behind


def test_gradcheck_detects_a_wrong_backward():
    x = leaf(uniform((2, 2), 8, 0.5, 2.0))
    before = x.numpy().copy()
    with pytest.raises(GradcheckError, match="Jacobian mismatch for input 0"):
        gradcheck(lambda t: _WrongSquare.apply(t), [x])
    assert gradcheck(lambda t: _WrongSquare.apply(t), [x], raise_exception=False) is False
    np.testing.assert_array_equal(x.numpy(), before)  # perturbations were undone


def test_gradcheck_detects_a_wrong_gradient_for_one_input_only():
    a, c = leaf(uniform((3,), 9)), leaf(uniform((3,), 10))

    class WrongC(_MulAdd):
        @staticmethod
        def backward(ctx, g):
            ga, gb, gc_ = _MulAdd.backward(ctx, g)
            return ga, gb, None if gc_ is None else 2.0 * gc_

    b = ember.tensor(uniform((3,), 11))
    assert gradcheck(lambda x, z: _MulAdd.apply(x, b, z), [a, c])
    with pytest.raises(GradcheckError, match="input 1"):
        gradcheck(lambda x, z: WrongC.apply(x, b, z), [a, c])


def test_gradcheck_refuses_float32_inputs():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="float64"):
        gradcheck(lambda t: t * 2.0, [x])


def test_gradcheck_needs_an_input_requiring_grad():
    with pytest.raises(ValueError, match="requires_grad"):
        gradcheck(lambda t: t * 2.0, [ember.tensor([1.0], dtype=np.float64)])


def test_gradcheck_with_multiple_outputs_and_non_tensor_inputs():
    x = leaf(uniform((3,), 12))
    assert gradcheck(lambda t, k: (t * k, t.exp()), [x, 3.0])


def test_gradcheck_accepts_a_single_tensor_like_torch():
    # torch.autograd.gradcheck(fn, x) accepts a lone tensor as `inputs`
    x = leaf(uniform((3,), 13))
    assert gradcheck(lambda t: t.exp(), x)


# ------------------------------------------------------------------------ torch oracle
def test_micrograd_style_scalar_expression_vs_torch():
    torch = import_torch()

    def build(lib, a, b):
        c = a + b
        d = a * b + b ** 3
        c = c + c + 1.0
        c = c + 1.0 + c + (-a)
        d = d + d * 2.0 + (b + a).relu()
        d = d + 3.0 * d + (b - a).relu()
        e = c - d
        f = e ** 2
        g = f / 2.0
        g = g + 10.0 / f
        return g

    ta = torch.tensor(-4.0, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    ea, eb = leaf(-4.0), leaf(2.0)
    tg, eg = build(torch, ta, tb), build(ember, ea, eb)
    tg.backward()
    eg.backward()
    assert abs(eg.item() - tg.item()) < 1e-9
    assert_close(ea.grad, ta.grad, 1e-9, 1e-9)
    assert_close(eb.grad, tb.grad, 1e-9, 1e-9)


def test_composite_tensor_expression_vs_torch():
    helper_test_op(
        [(4, 3), (3, 5), (5,)],
        lambda x, w, b: ((x @ w + b).tanh() * (x @ w).sigmoid()).sum(1).exp().mean()
        + (x * x).sum() / (w.abs() + 1.0).sum())
    helper_test_op(
        [(4, 3), (3, 5), (5,)],
        lambda x, w, b: ((x @ w + b).tanh() * (x @ w).sigmoid()).sum(1).exp().mean()
        + (x * x).sum() / (w.abs() + 1.0).sum(), dtype=np.float32)


def test_diamond_with_broadcasting_vs_torch():
    def fn(a, b):
        h = a * b          # (3, 4)
        u = h.exp() + a    # a reused
        v = h * b + 1.0    # b reused
        return (u * v).sum(0) / (b * b + 1.0)

    helper_test_op([(3, 1), (4,)], fn)


def test_inplace_residual_add_matches_torch():
    """``out += identity`` as in torchvision's BasicBlock: differentiable, same grads."""
    torch = import_torch()
    rng = np.random.default_rng(5)
    a = rng.standard_normal((3, 4))
    w = rng.standard_normal((4, 4))
    grads = []
    for lib in (ember, torch):
        x = lib.tensor(a.copy(), requires_grad=True)
        weight = lib.tensor(w.copy(), requires_grad=True)
        out = (x @ weight) * 1.5  # (tanh would save its output, and torch too would refuse)
        out += x
        out *= 2.0
        (out * out).sum().backward()
        grads.append((x.grad, weight.grad))
    assert_close(grads[0][0], grads[1][0])
    assert_close(grads[0][1], grads[1][1])


def test_inplace_on_saved_output_raises_at_backward():
    x = leaf([1.0, -2.0, 3.0])
    y = x.exp()  # exp saves its output
    y.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.sum().backward()


def test_inplace_on_view_of_graph_tensor_is_refused():
    x = leaf([1.0, 2.0, 3.0])
    y = x * 2.0
    with pytest.raises(RuntimeError, match="view"):
        y[0:2].add_(1.0)


def test_fresh_grads_become_leaf_grads_without_aliasing():
    """Ops marked fresh_grads hand a leaf its gradient array without a copy; the engine still
    copies when such an op returns the upstream gradient or one array for two inputs, so no
    two .grad arrays (and no .grad and upstream gradient) ever share memory."""
    from ember.autograd.function import Function

    class Twice(Function):  # mislabelled on purpose: one array for both inputs
        fresh_grads = True

        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, g):
            same = np.array(g, copy=True)
            return same, same

    class PassThrough(Function):  # returns the upstream gradient itself
        fresh_grads = True

        @staticmethod
        def forward(ctx, a):
            return a.copy()

        @staticmethod
        def backward(ctx, g):
            return g

    a = ember.tensor(np.ones(3), requires_grad=True)
    b = ember.tensor(np.ones(3), requires_grad=True)
    Twice.apply(a, b).sum().backward()
    assert not np.shares_memory(a.grad.numpy(), b.grad.numpy())
    a.grad.numpy()[0] = 7.0
    np.testing.assert_array_equal(b.grad.numpy(), np.ones(3))

    c = ember.tensor(np.ones(3), requires_grad=True)
    up = np.full(3, 2.0)
    PassThrough.apply(c).backward(up)
    assert not np.shares_memory(c.grad.numpy(), up)

    # A real fresh op (Linear): the adopted gradients are right and accumulate in place.
    rng = np.random.default_rng(0)
    lin = ember.nn.Linear(4, 3)
    x = ember.tensor(rng.standard_normal((5, 4)).astype(np.float32))
    lin(x).sum().backward()
    w1, b1 = lin.weight.grad.numpy().copy(), lin.bias.grad.numpy().copy()
    np.testing.assert_allclose(w1, np.tile(x.numpy().sum(axis=0), (3, 1)), rtol=1e-6)
    np.testing.assert_allclose(b1, np.full(3, 5.0))
    assert not np.shares_memory(lin.weight.grad.numpy(), lin.bias.grad.numpy())
    lin(x).sum().backward()
    np.testing.assert_allclose(lin.weight.grad.numpy(), 2 * w1, rtol=1e-6)
    np.testing.assert_allclose(lin.bias.grad.numpy(), 2 * b1)
