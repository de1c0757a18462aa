"""Normalisation: batch norm on ember's C++ kernels; local response normalisation."""
from __future__ import annotations

import math
from typing import Optional

import numpy as np

from ember import _C, _device
from ember.autograd.function import Function
from ember.ops._args import check_float
from ember.tensor import Tensor


class BatchNorm(Function):
    """Batch statistics (training) or given running statistics (eval); the running
    statistics arrays are updated in place during training, as PyTorch does."""

    fresh_grads = True  # dx (a reshape of a new array: copied if a leaf), dw, db are new

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, training, momentum, eps):
        x3 = np.ascontiguousarray(x.reshape(x.shape[0], x.shape[1], -1))
        if training:
            y, mean, var, invstd = _C.batch_norm_forward_train(x3, weight, bias, eps)
            if running_mean is not None:
                m = x3.shape[0] * x3.shape[2]
                running_mean *= 1 - momentum
                running_mean += momentum * mean
                running_var *= 1 - momentum
                running_var += momentum * var * (m / (m - 1))
        else:
            invstd = (1.0 / np.sqrt(running_var + eps)).astype(x.dtype)
            mean = np.ascontiguousarray(running_mean, dtype=x.dtype)
            y = _C.batch_norm_apply(x3, mean, invstd, weight, bias)
        ctx.save_for_backward(x3, mean, invstd, weight)
        ctx.training = training
        ctx.shape = x.shape
        return y.reshape(x.shape)

    @staticmethod
    def backward(ctx, g):
        x3, mean, invstd, weight = ctx.saved_tensors
        nx, nw, nb = ctx.needs_input_grad[:3]
        g3 = np.ascontiguousarray(g.reshape(x3.shape))
        dx, dw, db = _C.batch_norm_backward(x3, g3, mean, invstd, weight, ctx.training, nx,
                                            nw, nb)
        if dx is not None:
            dx = dx.reshape(ctx.shape)
        return dx, dw, db, None, None, None, None, None


def batch_norm(input: Tensor, running_mean: Optional[Tensor], running_var: Optional[Tensor],
               weight: Optional[Tensor] = None, bias: Optional[Tensor] = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalisation over dim 1 of an (N, C, ...) input.

    training=True normalises with the batch's mean and biased variance and (if given) updates
    running_mean/running_var in place with ``momentum`` (running variance unbiased);
    training=False uses the running statistics.
    """
    _device.host_only("batch_norm", input)
    op = "batch_norm"
    # The binding checks the input's and the affine parameters' dtypes and shapes; checked
    # here is what Python itself uses (the running statistics, eps in eval mode).
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    if input.ndim < 2:
        raise ValueError(f"{op}: expected input of at least 2 dimensions (N, C, ...), got "
                         f"shape {tuple(input.shape)}")
    c = input.shape[1]
    if not (isinstance(eps, (int, float)) and math.isfinite(eps) and eps >= 0):
        raise ValueError(f"{op}: eps must be a finite non-negative number, got {eps!r}")
    if (running_mean is None) != (running_var is None):
        raise ValueError(f"{op}: running_mean and running_var must both be given or both be "
                         "None")
    if not training and running_mean is None:
        raise ValueError(f"{op}: running statistics are required when training=False")
    for name, t in (("running_mean", running_mean), ("running_var", running_var)):
        if t is not None and tuple(t.shape) != (c,):
            raise ValueError(f"{op}: {name} must have shape ({c},) for an input with {c} "
                             f"channels, got {tuple(t.shape)}")
    if input.numel() == 0:
        return _empty_batch_norm(op, input, weight, bias)
    if training and input.numel() // c <= 1:
        raise ValueError(f"{op}: expected more than 1 value per channel when training, got "
                         f"input shape {tuple(input.shape)}")
    rm = None if running_mean is None else running_mean.data
    rv = None if running_var is None else running_var.data
    if training and rm is not None:
        running_mean._version += 1
        running_var._version += 1
    return BatchNorm.apply(input, weight, bias, rm, rv, bool(training), float(momentum),
                           float(eps))


def _empty_batch_norm(op: str, x: Tensor, weight: Optional[Tensor],
                      bias: Optional[Tensor]) -> Tensor:
    """Batch norm of an input with no values, as torch gives it: an empty result of the
    input's shape, running statistics untouched, zero gradients for weight and bias."""
    c = x.shape[1]
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (c,):
            raise ValueError(f"{op}: {name} must have shape ({c},), got {tuple(t.shape)}")
    shape = (1, c) + (1,) * (x.ndim - 2)
    out = x * 1.0
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def _window_sum(a: np.ndarray, before: int, after: int, axis: int = 1) -> np.ndarray:
    """s[i] = sum of a[i - before .. i + after] along ``axis`` (zeros outside)."""
    a = np.moveaxis(a, axis, 0)
    n = a.shape[0]
    csum = np.concatenate([np.zeros((1,) + a.shape[1:], dtype=a.dtype), np.cumsum(a, axis=0)])
    lo = np.clip(np.arange(n) - before, 0, n)
    hi = np.clip(np.arange(n) + after + 1, 0, n)
    return np.moveaxis(csum[hi] - csum[lo], 0, axis)


class LocalResponseNorm(Function):
    """y_c = x_c / (k + alpha / n * sum_{c' in window(c)} x_{c'}^2) ^ beta, the window being
    channels c - n//2 .. c + (n-1)//2 (AlexNet; PyTorch's definition)."""

    @staticmethod
    def forward(ctx, x, size, alpha, beta, k):
        before, after = size // 2, (size - 1) // 2
        d = k + alpha / size * _window_sum(x * x, before, after)
        y = x * d ** -beta
        ctx.save_for_backward(x, d)
        ctx.args = (size, alpha, beta, before, after)
        return y.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        x, d = ctx.saved_tensors
        size, alpha, beta, before, after = ctx.args
        t = g * x * d ** (-beta - 1)
        # x_i appears in window(c) for c in i - after .. i + before
        gx = g * d ** -beta - 2 * alpha * beta / size * x * _window_sum(t, after, before)
        return gx.astype(x.dtype, copy=False), None, None, None, None


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    """Local response normalisation across channels (dim 1)."""
    op = "local_response_norm"
    check_float(op, input)
    if input.ndim < 3:
        raise ValueError(f"{op}: expected input of at least 3 dimensions (N, C, ...), got "
                         f"shape {tuple(input.shape)}")
    if not isinstance(size, int) or size < 1:
        raise ValueError(f"{op}: size must be a positive int, got {size!r}")
    return LocalResponseNorm.apply(input, size, float(alpha), float(beta), float(k))
