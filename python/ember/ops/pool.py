"""Pooling on ember's C++ kernels: max (indices), average, adaptive average/max, max-unpool."""
from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np

from ember import _C, _device
from ember.autograd.function import Function
from ember._limits import check_shape
from ember.ops._args import check_ndim, ints, is_int, pair
from ember.ops.shape import squeeze, unsqueeze
from ember.tensor import Tensor


def _c(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a)


class IndexPool(Function):
    """Max-type pooling whose result and argmax indices were computed by the caller;
    backward scatters the gradient to those indices."""

    @staticmethod
    def forward(ctx, x, y, idx):
        ctx.idx = idx
        ctx.in_hw = x.shape[2:]
        return y

    @staticmethod
    def backward(ctx, g):
        return _C.pool2d_index_backward(_c(g), ctx.idx, ctx.in_hw), None, None


def _max_pool_arrays(x, kernel, stride, padding, dilation, ceil_mode, size):
    """(values, argmax indices) of max pooling over fixed windows, or to an adaptive output
    ``size`` when it is given."""
    if size is not None:
        return _C.adaptive_max_pool2d_forward(_c(x), size)
    return _C.max_pool2d_forward(_c(x), kernel, stride, padding, dilation, ceil_mode)


class MaxPool2d(Function):
    """Max pooling computed in forward (so a trace of the model records it, see
    ember.inference.optimize_for_inference); the argmax indices stay on ctx for backward."""

    @staticmethod
    def forward(ctx, x, kernel, stride, padding, dilation, ceil_mode, size):
        y, ctx.idx = _max_pool_arrays(x, kernel, stride, padding, dilation, ceil_mode, size)
        ctx.in_hw = x.shape[2:]
        return y

    @staticmethod
    def backward(ctx, g):
        return (IndexPool.backward(ctx, g)[0],) + (None,) * 6


def _max_pool(input: Tensor, return_indices: bool, *geometry: Any):
    if return_indices:  # the indices are a second result, which a Function cannot return
        y, idx = _max_pool_arrays(input.data, *geometry)
        return IndexPool.apply(input, y, idx), Tensor._wrap(idx)
    return MaxPool2d.apply(input, *geometry)


class AvgPool2d(Function):
    @staticmethod
    def forward(ctx, x, kernel, stride, padding, ceil_mode, count_include_pad):
        ctx.args = (x.shape[2:], kernel, stride, padding, ceil_mode, count_include_pad)
        return _C.avg_pool2d_forward(_c(x), kernel, stride, padding, ceil_mode,
                                     count_include_pad)

    @staticmethod
    def backward(ctx, g):
        return (_C.avg_pool2d_backward(_c(g), *ctx.args),) + (None,) * 5


class AdaptiveAvgPool2d(Function):
    @staticmethod
    def forward(ctx, x, out_hw):
        ctx.in_hw = x.shape[2:]
        return _C.adaptive_avg_pool2d_forward(_c(x), out_hw)

    @staticmethod
    def backward(ctx, g):
        return _C.adaptive_avg_pool2d_backward(_c(g), ctx.in_hw), None


def _batched(op: str, x: Tensor) -> bool:
    """True for an (N, C, H, W) batch, False for one (C, H, W) image. The values (dtype,
    sizes, the window against the input) are checked by the binding (csrc/bindings/pool.cpp),
    which names the op and the argument."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    check_ndim(op, x, (3, 4), "N, C, H, W or C, H, W")
    return x.ndim == 4


def _pool_geometry(op: str, x: Tensor, kernel_size: Any, stride: Any, padding: Any,
                   dilation: Any, ceil_mode: bool) -> Tuple[Tuple[int, int], ...]:
    k = pair(op, "kernel_size", kernel_size)
    s = k if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0) \
        else pair(op, "stride", stride)
    return k, s, pair(op, "padding", padding), pair(op, "dilation", dilation)


def max_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = False):
    """2-D max pooling; stride defaults to kernel_size. With ``return_indices`` also returns
    the flat h * W + w position of each maximum (int64), as PyTorch."""
    _device.host_only("max_pool2d", input)
    op = "max_pool2d"
    if not _batched(op, input):
        out = max_pool2d(unsqueeze(input, 0), kernel_size, stride, padding, dilation,
                         ceil_mode, return_indices)
        if return_indices:
            return squeeze(out[0], 0), squeeze(out[1], 0)
        return squeeze(out, 0)
    k, s, p, d = _pool_geometry(op, input, kernel_size, stride, padding, dilation, ceil_mode)
    return _max_pool(input, return_indices, k, s, p, d, bool(ceil_mode), None)


def avg_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: Optional[int] = None) -> Tensor:
    """2-D average pooling; stride defaults to kernel_size."""
    _device.host_only("avg_pool2d", input)
    op = "avg_pool2d"
    if divisor_override is not None:
        raise NotImplementedError("avg_pool2d: divisor_override is not supported")
    if not _batched(op, input):
        return squeeze(avg_pool2d(unsqueeze(input, 0), kernel_size, stride, padding, ceil_mode,
                                  count_include_pad), 0)
    k, s, p, _ = _pool_geometry(op, input, kernel_size, stride, padding, 1, ceil_mode)
    return AvgPool2d.apply(input, k, s, p, bool(ceil_mode), bool(count_include_pad))


def _adaptive_size(op: str, x: Tensor, output_size: Any) -> Tuple[int, int]:
    if is_int(output_size):
        output_size = (output_size, output_size)
    if not isinstance(output_size, (list, tuple)) or len(output_size) != 2 or not all(
            v is None or is_int(v) for v in output_size):
        raise TypeError(f"{op}: output_size must be an int or a pair of ints (or None), got "
                        f"{output_size!r}")
    return tuple(x.shape[-2 + i] if v is None else int(v) for i, v in enumerate(output_size))


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    """Average pooling to a fixed output size (None keeps that input dimension)."""
    _device.host_only("adaptive_avg_pool2d", input)
    op = "adaptive_avg_pool2d"
    if not _batched(op, input):
        return squeeze(adaptive_avg_pool2d(unsqueeze(input, 0), output_size), 0)
    return AdaptiveAvgPool2d.apply(input, _adaptive_size(op, input, output_size))


def adaptive_max_pool2d(input: Tensor, output_size: Any, return_indices: bool = False):
    """Max pooling to a fixed output size; optionally also the argmax indices."""
    _device.host_only("adaptive_max_pool2d", input)
    op = "adaptive_max_pool2d"
    if not _batched(op, input):
        out = adaptive_max_pool2d(unsqueeze(input, 0), output_size, return_indices)
        if return_indices:
            return squeeze(out[0], 0), squeeze(out[1], 0)
        return squeeze(out, 0)
    size = _adaptive_size(op, input, output_size)
    return _max_pool(input, return_indices, None, None, None, None, None, size)


class MaxUnpool2d(Function):
    @staticmethod
    def forward(ctx, x, idx, out_hw):
        n, c = x.shape[:2]
        flat = np.zeros((n, c, out_hw[0] * out_hw[1]), dtype=x.dtype)
        idx2 = idx.reshape(n, c, -1)
        np.put_along_axis(flat, idx2, x.reshape(n, c, -1), axis=2)
        ctx.idx2 = idx2
        ctx.shape = x.shape
        return flat.reshape(n, c, *out_hw)

    @staticmethod
    def backward(ctx, g):
        n, c = ctx.shape[:2]
        gx = np.take_along_axis(g.reshape(n, c, -1), ctx.idx2, axis=2).reshape(ctx.shape)
        return gx, None, None


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size: Any, stride: Any = None,
                 padding: Any = 0, output_size: Optional[Any] = None) -> Tensor:
    """Partial inverse of max_pool2d: values placed at ``indices``, zeros elsewhere."""
    op = "max_unpool2d"
    check_ndim(op, input, (4,), "N, C, H, W")
    k = pair(op, "kernel_size", kernel_size, 1)
    s = k if stride is None else pair(op, "stride", stride, 1)
    p = pair(op, "padding", padding, 0)
    if output_size is None:
        out_hw = tuple((input.shape[2 + i] - 1) * s[i] - 2 * p[i] + k[i] for i in range(2))
    else:
        out_hw = ints(op, "output_size", tuple(output_size)[-2:])
    check_shape(op, tuple(input.shape[:2]) + tuple(out_hw))
    if tuple(indices.shape) != tuple(input.shape) or indices.dtype != np.int64:
        raise ValueError(f"{op}: indices must be int64 with the input's shape "
                         f"{tuple(input.shape)}, got {indices.dtype} {tuple(indices.shape)}")
    idx = indices.data
    if idx.size and (idx.min() < 0 or idx.max() >= out_hw[0] * out_hw[1]):
        raise ValueError(f"{op}: indices out of range for output size {out_hw}")
    return MaxUnpool2d.apply(input, idx, out_hw)


