"""Reductions: sum, mean, max/min (with indices along a dim), var/std, argmax/argmin."""
from __future__ import annotations

import builtins
from collections import namedtuple
from typing import Optional, Tuple

import numpy as np

from ember.autograd.function import Function
from ember.ops._util import Dim, norm_dims, operand
from ember.tensor import Tensor, _wrap_dim

MaxMin = namedtuple("MaxMin", ["values", "indices"])


def _expand_grad(g: np.ndarray, shape: Tuple[int, ...], dims: Optional[Tuple[int, ...]],
                 keepdim: bool) -> np.ndarray:
    """Broadcast a reduced gradient back over the reduced dimensions (a read-only view)."""
    if type(g) is np.ndarray and g.ndim == 0:
        # A full reduction (loss.sum()): a zero-stride view built directly, much cheaper
        # than np.broadcast_to on the per-op overhead path (benchmarks/bench_overhead.py).
        view = np.ndarray(shape, g.dtype, buffer=g, strides=(0,) * len(shape))
        view.flags.writeable = False
        return view
    if dims is not None and not keepdim:
        g = np.expand_dims(g, dims)
    elif dims is None and not keepdim:
        g = g.reshape((1,) * len(shape))
    return np.broadcast_to(g, shape)


def _count(shape: Tuple[int, ...], dims: Optional[Tuple[int, ...]]) -> int:
    if dims is None:
        return int(np.prod(shape, dtype=np.int64))
    return int(np.prod([shape[d] for d in dims], dtype=np.int64))


class Sum(Function):
    @staticmethod
    def forward(ctx, a, dims, keepdim):
        ctx.args = (a.shape, dims, keepdim)
        return np.asarray(np.sum(a, axis=dims, keepdims=keepdim))

    @staticmethod
    def backward(ctx, g):
        shape, dims, keepdim = ctx.args
        return _expand_grad(g, shape, dims, keepdim), None, None


class Mean(Function):
    @staticmethod
    def forward(ctx, a, dims, keepdim):
        ctx.args = (a.shape, dims, keepdim)
        return np.asarray(np.mean(a, axis=dims, keepdims=keepdim), dtype=a.dtype)

    @staticmethod
    def backward(ctx, g):
        shape, dims, keepdim = ctx.args
        n = builtins.max(_count(shape, dims), 1)
        return _expand_grad(g / n, shape, dims, keepdim), None, None


class MaxAll(Function):
    """max/min over every element; ties share the gradient evenly (as PyTorch)."""

    @staticmethod
    def forward(ctx, a, is_max):
        out = np.asarray(a.max() if is_max else a.min())
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved_tensors
        mask = a == out
        return g * mask / mask.sum(), None


class MaxDim(Function):
    """max/min along one dim at precomputed indices; the gradient goes to those indices."""

    @staticmethod
    def forward(ctx, a, dim, idx, keepdim):
        values = np.take_along_axis(a, idx, axis=dim)
        ctx.args = (a.shape, dim, idx, keepdim)
        return values if keepdim else np.squeeze(values, dim)

    @staticmethod
    def backward(ctx, g):
        shape, dim, idx, keepdim = ctx.args
        if not keepdim:
            g = np.expand_dims(g, dim)
        grad = np.zeros(shape, dtype=g.dtype)
        np.put_along_axis(grad, idx, g, axis=dim)
        return grad, None, None, None


class Var(Function):
    """Variance with ``correction`` (1 = unbiased, as PyTorch's default)."""

    @staticmethod
    def forward(ctx, a, dims, correction, keepdim):
        mean = np.mean(a, axis=dims, keepdims=True)
        centered = a - mean
        n = _count(a.shape, dims)
        denom = builtins.max(n - correction, 0)
        ctx.save_for_backward(centered)
        ctx.args = (a.shape, dims, keepdim, denom)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.sum(centered * centered, axis=dims, keepdims=keepdim) / denom
        return np.asarray(out, dtype=a.dtype)

    @staticmethod
    def backward(ctx, g):
        (centered,) = ctx.saved_tensors
        shape, dims, keepdim, denom = ctx.args
        g = _expand_grad(g, shape, dims, keepdim)
        with np.errstate(divide="ignore", invalid="ignore"):
            return g * (2.0 / denom if denom else float("inf")) * centered, None, None, None


def _reduce_input(op: str, x) -> Tensor:
    x = operand(x)
    if not isinstance(x, Tensor):
        x = Tensor(x)
    return x


def sum(x, dim: Dim = None, keepdim: bool = False, *, axis: Dim = None) -> Tensor:
    """Sum over ``dim`` (int or tuple; ``axis`` is an alias), or over everything."""
    x = _reduce_input("sum", x)
    return Sum.apply(x, norm_dims("sum", x.ndim, dim, axis), keepdim)


def mean(x, dim: Dim = None, keepdim: bool = False, *, axis: Dim = None) -> Tensor:
    """Arithmetic mean over ``dim`` (int or tuple), or over everything."""
    x = _reduce_input("mean", x)
    if x.dtype.kind != "f":
        raise TypeError(f"mean: expected a floating-point tensor, got {x.dtype}")
    return Mean.apply(x, norm_dims("mean", x.ndim, dim, axis), keepdim)


def _maxmin(op: str, is_max: bool, x, dim, keepdim, axis):
    x = _reduce_input(op, x)
    if axis is not None:
        if dim is not None:
            raise TypeError(f"{op}: pass either dim or axis, not both")
        dim = axis
    if dim is None:
        if x.data.size == 0:
            raise ValueError(f"{op}: cannot reduce an empty tensor of shape {tuple(x.shape)}")
        return MaxAll.apply(x, is_max)
    if not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{op}: dim must be a single int (got {dim!r}); the result holds "
                        "(values, indices)")
    d = _wrap_dim(dim, x.ndim, op)
    if x.ndim and x.shape[d] == 0:
        raise ValueError(f"{op}: cannot reduce over dimension {d} of size 0 (shape "
                         f"{tuple(x.shape)})")
    if x.ndim == 0:
        return MaxMin(x, Tensor._wrap(np.zeros((), dtype=np.int64)))
    idx = np.expand_dims((np.argmax if is_max else np.argmin)(x.data, axis=d), d)
    values = MaxDim.apply(x, d, idx, keepdim)
    indices = idx if keepdim else np.squeeze(idx, d)
    return MaxMin(values, Tensor._wrap(indices.astype(np.int64, copy=False)))


def max(x, dim: Optional[int] = None, keepdim: bool = False, *, axis: Optional[int] = None):
    """Max of all elements, or ``(values, indices)`` along ``dim`` (as torch.max)."""
    return _maxmin("max", True, x, dim, keepdim, axis)


def min(x, dim: Optional[int] = None, keepdim: bool = False, *, axis: Optional[int] = None):
    """Min of all elements, or ``(values, indices)`` along ``dim`` (as torch.min)."""
    return _maxmin("min", False, x, dim, keepdim, axis)


def var(x, dim: Dim = None, unbiased: bool = True, keepdim: bool = False, *,
        correction: Optional[int] = None, axis: Dim = None, _op: str = "var") -> Tensor:
    """Variance over ``dim``; unbiased (divide by n - 1) by default, as PyTorch."""
    x = _reduce_input(_op, x)
    if x.dtype.kind != "f":
        raise TypeError(f"{_op}: expected a floating-point tensor, got {x.dtype}")
    corr = (1 if unbiased else 0) if correction is None else int(correction)
    return Var.apply(x, norm_dims(_op, x.ndim, dim, axis), corr, keepdim)


def std(x, dim: Dim = None, unbiased: bool = True, keepdim: bool = False, *,
        correction: Optional[int] = None, axis: Dim = None) -> Tensor:
    """Standard deviation: sqrt of :func:`var`."""
    from ember.ops.elementwise import sqrt

    return sqrt(var(x, dim, unbiased, keepdim, correction=correction, axis=axis, _op="std"))


def _arg(op: str, fn, x, dim, keepdim, axis) -> Tensor:
    x = _reduce_input(op, x)
    if axis is not None:
        dim = axis
    if dim is None:
        out = np.asarray(fn(x.data.reshape(-1)))
        if keepdim:
            out = out.reshape((1,) * x.ndim)
        return Tensor._wrap(out.astype(np.int64))
    d = _wrap_dim(dim, x.ndim, op)
    out = fn(x.data, axis=d)
    if keepdim:
        out = np.expand_dims(out, d)
    return Tensor._wrap(np.asarray(out, dtype=np.int64))


def argmax(x, dim: Optional[int] = None, keepdim: bool = False, *,
           axis: Optional[int] = None) -> Tensor:
    """Index of the maximum (of the flattened tensor when dim is None); not differentiable."""
    return _arg("argmax", np.argmax, x, dim, keepdim, axis)


def argmin(x, dim: Optional[int] = None, keepdim: bool = False, *,
           axis: Optional[int] = None) -> Tensor:
    """Index of the minimum (of the flattened tensor when dim is None); not differentiable."""
    return _arg("argmin", np.argmin, x, dim, keepdim, axis)
