"""Activation ops beyond the elementwise basics: softmax/log_softmax (numerically stable),
leaky_relu, elu, selu, prelu, maxout, crelu."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ember.autograd.function import Function
from ember.ops._util import operand, unbroadcast
from ember.tensor import Tensor, _wrap_dim


def _t(x: Any, op: str = "tensor") -> Tensor:
    x = operand(x, op=op)
    return x if isinstance(x, Tensor) else Tensor(x)


def _float(op: str, x: Tensor) -> None:
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point tensor, got {x.dtype}")


def log_softmax_array(a: np.ndarray, dim: int) -> np.ndarray:
    """log(softmax(a)) along ``dim`` computed as a - max - log(sum(exp(a - max)))."""
    if a.size == 0:
        return a.copy()
    shifted = a - a.max(axis=dim, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=dim, keepdims=True))


class Softmax(Function):
    @staticmethod
    def forward(ctx, a, dim):
        if a.size == 0:
            out = a.copy()
        else:
            e = np.exp(a - a.max(axis=dim, keepdims=True))
            out = e / e.sum(axis=dim, keepdims=True)
        ctx.save_for_backward(out)
        ctx.dim = dim
        return out

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return y * (g - (g * y).sum(axis=ctx.dim, keepdims=True)), None


class LogSoftmax(Function):
    @staticmethod
    def forward(ctx, a, dim):
        out = log_softmax_array(a, dim)
        ctx.save_for_backward(out)
        ctx.dim = dim
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g - np.exp(out) * g.sum(axis=ctx.dim, keepdims=True), None


def _softmax_dim(ndim: int, dim: Optional[int]) -> int:
    # PyTorch's implicit choice when dim is None (legacy): 0 for 0-, 1- and 3-D, else 1.
    if dim is None:
        return 0 if ndim in (0, 1, 3) else 1
    return dim


def softmax(x: Any, dim: Optional[int] = None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim``, stable for large inputs."""
    x = _t(x, "softmax")
    _float("softmax", x)
    d = _wrap_dim(_softmax_dim(x.ndim, dim), x.ndim, "softmax")
    return Softmax.apply(x, d)


def log_softmax(x: Any, dim: Optional[int] = None) -> Tensor:
    """log(softmax(x)) along ``dim``, computed without overflow or log(0)."""
    x = _t(x, "log_softmax")
    _float("log_softmax", x)
    d = _wrap_dim(_softmax_dim(x.ndim, dim), x.ndim, "log_softmax")
    return LogSoftmax.apply(x, d)


class LeakyRelu(Function):
    @staticmethod
    def forward(ctx, a, slope):
        pos = a > 0
        ctx.args = (pos, slope)
        return np.where(pos, a, a * slope).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        pos, slope = ctx.args
        return np.where(pos, g, g * slope).astype(g.dtype, copy=False), None


def leaky_relu(x: Any, negative_slope: float = 0.01) -> Tensor:
    """x for x > 0, negative_slope * x otherwise."""
    x = _t(x, "leaky_relu")
    _float("leaky_relu", x)
    return LeakyRelu.apply(x, float(negative_slope))


class Elu(Function):
    """scale * (x if x > 0 else alpha * (exp(x) - 1)); SELU is scale != 1."""

    @staticmethod
    def forward(ctx, a, alpha, scale):
        pos = a > 0
        neg = alpha * np.expm1(np.minimum(a, 0))
        ctx.args = (pos, neg, alpha, scale)
        return (scale * np.where(pos, a, neg)).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        pos, neg, alpha, scale = ctx.args
        return (g * scale * np.where(pos, 1, neg + alpha)).astype(g.dtype, copy=False), None, None


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def elu(x: Any, alpha: float = 1.0) -> Tensor:
    """Exponential linear unit."""
    x = _t(x, "elu")
    _float("elu", x)
    return Elu.apply(x, float(alpha), 1.0)


def selu(x: Any) -> Tensor:
    """Scaled ELU with the self-normalising constants of Klambauer et al. (2017)."""
    x = _t(x, "selu")
    _float("selu", x)
    return Elu.apply(x, _SELU_ALPHA, _SELU_SCALE)


def _channel_weight(w: np.ndarray, ndim: int) -> np.ndarray:
    """PReLU's weight shaped to broadcast over dim 1 (channels) of an ``ndim``-D input; below
    2-D there is no channel dim and the (single) weight is a scalar, as in PyTorch."""
    return w.reshape((1, -1) + (1,) * (ndim - 2)) if ndim >= 2 else w.reshape(())


class Prelu(Function):
    """max(0, x) + w * min(0, x) with w broadcast over dim 1 (channels)."""

    @staticmethod
    def forward(ctx, a, w):
        ctx.save_for_backward(a, w)
        return np.where(a > 0, a, _channel_weight(w, a.ndim) * a).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        a, w = ctx.saved_tensors
        wb = _channel_weight(w, a.ndim)
        nx, nw = ctx.needs_input_grad
        pos = a > 0
        gx = np.where(pos, g, g * wb).astype(g.dtype, copy=False) if nx else None
        gw = None
        if nw:
            gw = unbroadcast(np.where(pos, 0, g * a), np.shape(wb)).reshape(w.shape)
        return gx, gw


def prelu(x: Any, weight: Tensor) -> Tensor:
    """Parametric ReLU; ``weight`` has 1 element or one per channel (dim 1)."""
    x = _t(x, "prelu")
    _float("prelu", x)
    n = weight.numel()
    channels = x.shape[1] if x.ndim >= 2 else 1
    if weight.ndim > 1 or (n != 1 and n != channels):
        raise ValueError(f"prelu: weight has {n} elements but the input has {channels} "
                         f"channels (dim 1 of shape {tuple(x.shape)}); expected 1 or {channels}")
    return Prelu.apply(x, weight)


def maxout(x: Any, pool_size: int, dim: int = 1) -> Tensor:
    """Maxout (Goodfellow et al. 2013): max over groups of ``pool_size`` consecutive features
    of ``dim``; (N, C * pool_size, ...) -> (N, C, ...)."""
    from ember.ops.reduce import max as _max
    from ember.ops.shape import reshape

    x = _t(x, "maxout")
    d = _wrap_dim(dim, x.ndim, "maxout")
    c = x.shape[d]
    if pool_size <= 0 or c % pool_size:
        raise ValueError(f"maxout: dimension {d} has size {c}, not divisible by pool_size "
                         f"{pool_size}")
    grouped = reshape(x, x.shape[:d] + (c // pool_size, pool_size) + x.shape[d + 1:])
    return _max(grouped, d + 1).values


def crelu(x: Any, dim: int = 1) -> Tensor:
    """Concatenated ReLU (Shang et al. 2016): cat(relu(x), relu(-x)) along ``dim``."""
    from ember.ops.elementwise import neg, relu
    from ember.ops.shape import cat

    x = _t(x, "crelu")
    return cat([relu(x), relu(neg(x))], dim=dim)
