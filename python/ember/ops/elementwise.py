"""Elementwise ops with NumPy broadcasting: arithmetic, exp/log/..., clamp, maximum, where."""
from __future__ import annotations

from typing import Any

import numpy as np

from ember import _C, _device, kernels
from ember.autograd.function import Function
from ember.ops._util import broadcast_shapes, operand, unbroadcast
from ember.tensor import Tensor


def _shape(x: Any) -> tuple:
    return x.shape if type(x) is np.ndarray else np.shape(x)


def _binary_check(op: str, a: Any, b: Any) -> None:
    sa = a.data.shape if isinstance(a, Tensor) else ()  # operand() left scalars or Tensors
    sb = b.data.shape if isinstance(b, Tensor) else ()
    if sa != sb:
        broadcast_shapes(op, sa, sb)


class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (_shape(a), _shape(b))
        return kernels.add(a, b)

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        na, nb = ctx.needs_input_grad
        return (unbroadcast(g, sa) if na else None, unbroadcast(g, sb) if nb else None)


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (_shape(a), _shape(b))
        return np.subtract(a, b)

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        na, nb = ctx.needs_input_grad
        return (unbroadcast(g, sa) if na else None, unbroadcast(-g, sb) if nb else None)


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.multiply(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        return (unbroadcast(g * b, _shape(a)) if na else None,
                unbroadcast(g * a, _shape(b)) if nb else None)


def _ieee(fn):
    """Run ``fn`` without NumPy's divide/invalid warnings: log(0) = -inf, x / 0 = inf,
    sqrt(-1) = nan are IEEE results, as in PyTorch (``detect_anomaly`` finds them)."""
    def wrapper(*args):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return fn(*args)
    wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
    return wrapper


class Div(Function):
    @staticmethod
    @_ieee
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.true_divide(a, b)

    @staticmethod
    @_ieee
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        ga = unbroadcast(g / b, _shape(a)) if na else None
        gb = unbroadcast(-g * a / (b * b), _shape(b)) if nb else None
        return ga, gb


class Pow(Function):
    """a ** b. d/da = b a^(b-1); d/db = a^b log(a) (taken as 0 where a == 0)."""

    @staticmethod
    @_ieee
    def forward(ctx, a, b):
        out = np.power(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    @_ieee
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        ga = gb = None
        if na:
            with np.errstate(divide="ignore", invalid="ignore"):
                da = np.where(np.equal(b, 0), 0, b * np.power(a, b - 1))
            ga = unbroadcast((g * da).astype(g.dtype, copy=False), _shape(a))
        if nb:
            with np.errstate(divide="ignore", invalid="ignore"):
                loga = np.where(a > 0, np.log(np.where(a > 0, a, 1)), 0)
            gb = unbroadcast(g * out * loga, _shape(b))
        return ga, gb


class Neg(Function):
    @staticmethod
    def forward(ctx, a):
        return np.negative(a)

    @staticmethod
    def backward(ctx, g):
        return -g


class Exp(Function):
    @staticmethod
    def forward(ctx, a):
        out = np.exp(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * out


class Log(Function):
    @staticmethod
    @_ieee
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.log(a)

    @staticmethod
    @_ieee
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g / a


class Sqrt(Function):
    @staticmethod
    @_ieee
    def forward(ctx, a):
        out = np.sqrt(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    @_ieee
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g / (2 * out)


class Abs(Function):
    """|a|; the subgradient at 0 is 0 (as PyTorch)."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.abs(a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * np.sign(a)


class Tanh(Function):
    @staticmethod
    def forward(ctx, a):
        out = _C.tanh_forward(a) if kernels.is_native(a) else np.tanh(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        if kernels.is_native_pair(g, out):
            return _C.tanh_backward(g, out)
        return g * (1 - out * out)


class Sigmoid(Function):
    """1 / (1 + exp(-a)), computed without overflow for large |a|."""

    @staticmethod
    def forward(ctx, a):
        e = np.exp(-np.abs(a))
        out = np.where(a >= 0, 1 / (1 + e), e / (1 + e)).astype(a.dtype, copy=False)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        if kernels.is_native_pair(g, out):
            return _C.sigmoid_backward(g, out)
        return g * out * (1 - out)


class Relu(Function):
    @staticmethod
    def forward(ctx, a):
        out = _C.relu_forward(a) if kernels.is_native(a) else np.maximum(a, 0)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        if kernels.is_native_pair(g, out):
            return _C.relu_backward(g, out)
        return g * (out > 0)


class Clamp(Function):
    """Clamp to [lo, hi]; gradient passes where lo <= a <= hi (as PyTorch)."""

    @staticmethod
    def forward(ctx, a, lo, hi):
        ctx.save_for_backward(a)
        ctx.bounds = (lo, hi)
        return np.clip(a, lo, hi)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        lo, hi = ctx.bounds
        mask = np.ones(a.shape, dtype=bool)
        if lo is not None:
            mask &= a >= lo
        if hi is not None:
            mask &= a <= hi
        return g * mask, None, None


class Maximum(Function):
    """Elementwise max; ties split the gradient evenly (as PyTorch)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.maximum(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return _minmax_grads(ctx, g, a, b, a > b)


class Minimum(Function):
    """Elementwise min; ties split the gradient evenly (as PyTorch)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.minimum(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return _minmax_grads(ctx, g, a, b, a < b)


def _minmax_grads(ctx, g, a, b, a_wins):
    tie = a == b
    wa = np.where(tie, 0.5, a_wins.astype(g.dtype)).astype(g.dtype, copy=False)
    na, nb = ctx.needs_input_grad
    return (unbroadcast(g * wa, _shape(a)) if na else None,
            unbroadcast(g * (1 - wa), _shape(b)) if nb else None)


class Where(Function):
    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.cond = cond
        ctx.shapes = (_shape(a), _shape(b))
        return np.where(cond, a, b)

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        _, na, nb = ctx.needs_input_grad
        zero = np.zeros((), dtype=g.dtype)
        return (None, unbroadcast(np.where(ctx.cond, g, zero), sa) if na else None,
                unbroadcast(np.where(ctx.cond, zero, g), sb) if nb else None)


class Cast(Function):
    @staticmethod
    def forward(ctx, a, dtype):
        ctx.src = a.dtype
        return a.astype(dtype, copy=False) if a.dtype != dtype else a.copy()

    @staticmethod
    def backward(ctx, g):
        return g.astype(ctx.src), None


class ToDevice(Function):
    """A copy on another device; the gradient goes back to the source device."""

    @staticmethod
    def forward(ctx, a, dest):
        ctx.src = _device.of(a)
        return _device.move(a, dest, "to")

    @staticmethod
    def backward(ctx, g):
        return _device.move(g, ctx.src, "to"), None


class Clone(Function):
    @staticmethod
    def forward(ctx, a):
        return np.array(a, copy=True, order="C")

    @staticmethod
    def backward(ctx, g):
        return g


# ------------------------------------------------------------------------ functional API
def _binary(fn: type, op: str, a: Any, b: Any) -> Tensor:
    a, b = operand(a, op=op), operand(b, op=op)
    _binary_check(op, a, b)
    return fn.apply(a, b)


def add(a: Any, b: Any) -> Tensor:
    """a + b with broadcasting."""
    return _binary(Add, "add", a, b)


def sub(a: Any, b: Any) -> Tensor:
    """a - b with broadcasting."""
    return _binary(Sub, "sub", a, b)


def mul(a: Any, b: Any) -> Tensor:
    """a * b with broadcasting."""
    return _binary(Mul, "mul", a, b)


def div(a: Any, b: Any) -> Tensor:
    """a / b with broadcasting (true division)."""
    return _binary(Div, "div", a, b)


def pow(a: Any, b: Any) -> Tensor:
    """a ** b with broadcasting."""
    return _binary(Pow, "pow", a, b)


def maximum(a: Any, b: Any) -> Tensor:
    """Elementwise maximum with broadcasting."""
    return _binary(Maximum, "maximum", a, b)


def minimum(a: Any, b: Any) -> Tensor:
    """Elementwise minimum with broadcasting."""
    return _binary(Minimum, "minimum", a, b)


def _unary(fn: type, a: Any, to_float: bool = False) -> Tensor:
    a = operand(a, op=fn.__name__.lower())
    if not isinstance(a, Tensor):
        a = Tensor(a)
    if to_float and a.dtype.kind != "f":  # exp/log/... of integers give float32, as PyTorch
        a = Tensor._wrap(a.data.astype(np.float32))
    return fn.apply(a)


def neg(a: Any) -> Tensor:
    return _unary(Neg, a)


def exp(a: Any) -> Tensor:
    """e ** a."""
    return _unary(Exp, a, to_float=True)


def log(a: Any) -> Tensor:
    """Natural logarithm."""
    return _unary(Log, a, to_float=True)


def sqrt(a: Any) -> Tensor:
    return _unary(Sqrt, a, to_float=True)


def abs(a: Any) -> Tensor:
    return _unary(Abs, a)


def tanh(a: Any) -> Tensor:
    return _unary(Tanh, a, to_float=True)


def sigmoid(a: Any) -> Tensor:
    return _unary(Sigmoid, a, to_float=True)


def relu(a: Any) -> Tensor:
    return _unary(Relu, a)


def clamp(a: Tensor, min: Any = None, max: Any = None) -> Tensor:
    """Clamp to [min, max] (either may be None; tensors broadcast and are not differentiated)."""
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    lo = min.data if isinstance(min, Tensor) else min
    hi = max.data if isinstance(max, Tensor) else max
    return Clamp.apply(operand(a), lo, hi)


clip = clamp


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """``a`` where ``condition`` is true, else ``b`` (broadcasting all three)."""
    cond = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    if cond.dtype != np.bool_:
        cond = cond.astype(bool)
    a, b = operand(a), operand(b)
    broadcast_shapes("where", cond.shape, _shape(a), _shape(b))
    return Where.apply(cond, a, b)


def cast(a: Tensor, dtype: np.dtype) -> Tensor:
    if a.dtype == dtype:
        return a
    if a.requires_grad and dtype.kind != "f":
        return Tensor._wrap(a.data.astype(dtype))
    return Cast.apply(a, dtype)


def to_device(a: Tensor, dest: "_device.device") -> Tensor:
    """``a`` on ``dest`` (itself when it is there already)."""
    if _device.is_on(a.data, dest):
        return a
    return ToDevice.apply(a, dest)


def clone(a: Tensor) -> Tensor:
    return Clone.apply(a)
