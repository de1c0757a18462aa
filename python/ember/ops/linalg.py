"""Matrix products on ember's GEMM: ``matmul`` (1-D, 2-D, batched with broadcasting) and the
fused ``linear`` (y = x W^T + b) used by ``nn.Linear``."""
from __future__ import annotations

import functools
from typing import Any, Optional, Tuple

import numpy as np

from ember import _C
from ember import cuda as _cuda
from ember.autograd.function import Function
from ember.ops._util import operand, unbroadcast
from ember.tensor import Tensor

_GEMM_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _gemm_ok(x: np.ndarray, y: np.ndarray) -> bool:
    return x.dtype == y.dtype and x.dtype in _GEMM_DTYPES


@functools.lru_cache(maxsize=16)
def _ones_row(n: int, dtype: np.dtype) -> np.ndarray:
    """A read-only (1, n) row of ones: ones @ g sums g's columns as a GEMM (Caffe's bias
    multiplier), faster than NumPy's sum(axis=0) for a layer's bias gradient."""
    row = np.ones((1, n), dtype=dtype)
    row.flags.writeable = False
    return row


def _fix_strides(x: np.ndarray) -> np.ndarray:
    """GEMM reads any non-negative strides; only negative ones need a copy."""
    return np.ascontiguousarray(x) if any(s < 0 for s in x.strides) else x


def _kernels(x: Any) -> Tuple[Any, Any, Any]:
    """(array module, gemm, bmm) for the device x lives on: ember's C++ or CUDA kernels."""
    if isinstance(x, np.ndarray):
        return np, _C.gemm, _C.bmm
    from ember.cuda import kernels as ck

    return _cuda._require("matmul"), ck.gemm, ck.bmm


def mm_arrays(x: Any, y: Any) -> Any:
    """x @ y for arrays with ndim >= 2 (batch dims broadcast), on ember's GEMM when possible."""
    xp, gemm, bmm = _kernels(x)
    if not _gemm_ok(x, y) or x.size == 0 or y.size == 0:
        return xp.matmul(x, y)  # other dtypes; empty operands (zeros or empty, as torch)
    if xp is np:
        x, y = _fix_strides(x), _fix_strides(y)
    if x.ndim == 2 and y.ndim == 2:
        return gemm(x, y)
    k = x.shape[-1]
    if y.ndim == 2:  # fold x's batch dims into rows: one large GEMM
        out = gemm(x.reshape(-1, k), y)
        return out.reshape(x.shape[:-1] + (y.shape[1],))
    batch = np.broadcast_shapes(x.shape[:-2], y.shape[:-2])
    xb = xp.broadcast_to(x, batch + x.shape[-2:]).reshape((-1,) + x.shape[-2:])
    yb = xp.broadcast_to(y, batch + y.shape[-2:]).reshape((-1,) + y.shape[-2:])
    out = bmm(xb, yb)
    return out.reshape(batch + out.shape[-2:])


def _swap(x: np.ndarray) -> np.ndarray:
    return np.swapaxes(x, -1, -2)


class MatMul(Function):
    @staticmethod
    def forward(ctx, a, b):
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        ctx.save_for_backward(a, b)
        out = mm_arrays(a2, b2)
        if b.ndim == 1:
            out = out[..., 0]
        if a.ndim == 1:
            out = out[..., 0, :] if b.ndim > 1 else out[..., 0]
        return out

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        # g in the 2-D-promoted shape of the product
        if b.ndim == 1:
            g = g[..., None]
        if a.ndim == 1:
            g = g[..., None, :]
        na, nb = ctx.needs_input_grad
        ga = gb = None
        if na:
            ga = mm_arrays(g, _swap(b2))
            ga = unbroadcast(ga, a2.shape).reshape(a.shape)
        if nb:
            if b2.ndim == 2 and a2.ndim > 2:  # one GEMM over all batch rows
                k, n = a2.shape[-1], g.shape[-1]
                gb = mm_arrays(_swap(a2.reshape(-1, k)), g.reshape(-1, n))
            else:
                gb = unbroadcast(mm_arrays(_swap(a2), g), b2.shape)
            gb = gb.reshape(b.shape)
        return ga, gb


def matmul(a: Any, b: Any) -> Tensor:
    """Matrix product with NumPy/PyTorch semantics (1-D vectors, broadcast batch dims)."""
    a, b = operand(a, op="matmul"), operand(b, op="matmul")
    a = a if isinstance(a, Tensor) else Tensor(a)
    b = b if isinstance(b, Tensor) else Tensor(b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: both arguments need at least 1 dimension, got shapes "
                         f"{tuple(a.shape)} and {tuple(b.shape)}")
    ka = a.shape[-1]
    kb = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if ka != kb:
        raise ValueError(f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} are not aligned "
                         f"(inner dimensions {ka} != {kb})")
    if a.ndim > 2 and b.ndim > 2:
        try:
            np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        except ValueError:
            raise ValueError(f"matmul: batch dimensions of {tuple(a.shape)} and "
                             f"{tuple(b.shape)} cannot be broadcast") from None
    if a.dtype != b.dtype:
        if a.dtype.kind != "f" or b.dtype.kind != "f":
            raise TypeError(f"matmul: both arguments must have the same dtype (or both be "
                            f"floating point), got {a.dtype} and {b.dtype}")
        dt = np.promote_types(a.dtype, b.dtype)
        a, b = a.to(dt), b.to(dt)
    return MatMul.apply(a, b)


def linear_forward(x: np.ndarray, w: np.ndarray, b: Optional[np.ndarray],
                   relu: bool = False) -> np.ndarray:
    """x W^T + b, then max(., 0) with ``relu`` (inference fusion, see
    ember.inference.optimize_for_inference), as one GEMM call that adds the bias and applies the
    ReLU to each register tile of the result as the tile is finished."""
    if x.size == 0 or w.size == 0:  # empty batch or 0 features: NumPy's matmul suffices
        out = np.matmul(x, w.T)
        out = out + b if b is not None else out
        return np.maximum(out, 0) if relu else out
    x2 = x.reshape(-1, x.shape[-1])
    out = np.empty((x2.shape[0], w.shape[0]), dtype=x.dtype)
    _C.gemm(_fix_strides(x2), _fix_strides(w), out=out, trans_b=True,
            bias=None if b is None else np.ascontiguousarray(b), relu=relu)
    return out.reshape(x.shape[:-1] + (w.shape[0],))


class Linear(Function):
    """y = x W^T + b over the last dimension of x; x may have any leading dimensions."""

    fresh_grads = True  # backward's arrays are new GEMM results and sums

    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        return linear_forward(x, w, b)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        nx, nw, nb = ctx.needs_input_grad
        gx = gw = gb = None
        if x.size == 0 or w.size == 0:
            rows = int(np.prod(x.shape[:-1], dtype=np.int64))
            g2 = g.reshape(rows, w.shape[0])
            x2 = x.reshape(rows, w.shape[1])
            gx = np.matmul(g, w) if nx else None
            gw = np.matmul(g2.T, x2) if nw else None
            gb = g2.sum(axis=0) if nb else None
            return gx, gw, gb
        g2 = np.ascontiguousarray(g.reshape(-1, g.shape[-1]))
        if nx:
            gx = _C.gemm(g2, _fix_strides(w)).reshape(x.shape)
        if nw:
            gw = _C.gemm(g2, _fix_strides(x.reshape(-1, x.shape[-1])), trans_a=True)
        if nb:
            # Batch-sized column sums as a GEMM with a ones row; NumPy's pairwise sum for
            # long ones (the GEMM adds its inner dimension sequentially in each lane).
            rows = g2.shape[0]
            gb = (_C.gemm(_ones_row(rows, g2.dtype), g2).reshape(-1) if rows <= 4096
                  else g2.sum(axis=0))
        return gx, gw, gb


def linear(x: Tensor, weight: Tensor, bias: Optional[Tensor] = None) -> Tensor:
    """y = x @ weight.T + bias, with weight of shape (out_features, in_features)."""
    x = operand(x, op="linear")
    x = x if isinstance(x, Tensor) else Tensor(x)
    if weight.ndim != 2:
        raise ValueError(f"linear: weight must be 2-D (out_features, in_features), got shape "
                         f"{tuple(weight.shape)}")
    if x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: input has shape {tuple(x.shape)} but weight has shape "
                         f"{tuple(weight.shape)}; the input's last dimension must be "
                         f"in_features={weight.shape[1]}")
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise ValueError(f"linear: bias must have shape ({weight.shape[0]},), got "
                         f"{tuple(bias.shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.dtype != x.dtype:
            raise TypeError(f"linear: input has dtype {x.dtype} but {name} has dtype {t.dtype}; "
                            "they must match (use .to(dtype) or module.double())")
    if x.dtype not in _GEMM_DTYPES:
        raise TypeError(f"linear: expected float32 or float64 input, got {x.dtype}")
    return Linear.apply(x, weight, bias)
