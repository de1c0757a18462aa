"""ember's CUDA kernels (``ember._C_cuda``) on CuPy arrays, with the CPU kernels' signatures.

Each function reads its arrays' device pointers, shapes and strides, lets the binding check
them, and queues the kernel on CuPy's current stream; outputs come from CuPy's memory pool.
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

from ember import cuda


def _matrix(op: str, arg: str, x: Any) -> Tuple[Any, int]:
    """(x with a unit column stride, its row stride in elements)."""
    if x.ndim != 2:
        raise ValueError(f"{op}: argument '{arg}' must be 2-D, got shape {tuple(x.shape)}")
    item = x.dtype.itemsize
    if x.strides[1] != item or x.strides[0] < 0 or x.strides[0] % item:
        x = cuda._require(op).ascontiguousarray(x)
    return x, max(x.strides[0] // item, x.shape[1], 1)


def gemm(a: Any, b: Any, out: Optional[Any] = None, trans_a: bool = False,
         trans_b: bool = False, alpha: float = 1.0, beta: float = 0.0) -> Any:
    """op(a) @ op(b) * alpha + beta * out for 2-D float32/float64 CuPy arrays (``_C.gemm``'s
    contract: ``out``, when given, is C-contiguous and is written in place)."""
    cp, ext = cuda._require("gemm"), cuda._extension("gemm")
    if a.dtype != b.dtype or a.dtype.name not in ("float32", "float64"):
        raise TypeError(f"gemm: arguments 'a' and 'b' must both be float32 or float64, got "
                        f"{a.dtype} and {b.dtype}")
    a, lda = _matrix("gemm", "a", a)
    b, ldb = _matrix("gemm", "b", b)
    m, k = (a.shape[1], a.shape[0]) if trans_a else a.shape
    kb, n = (b.shape[1], b.shape[0]) if trans_b else b.shape
    if k != kb:
        raise ValueError(f"gemm: inner dimensions differ: op(a) is {m}x{k}, op(b) is {kb}x{n}")
    if out is None:
        out = cp.empty((m, n), dtype=a.dtype)
        beta = 0.0
    elif out.shape != (m, n) or out.dtype != a.dtype or not out.flags.c_contiguous:
        raise ValueError(f"gemm: argument 'out' must be a C-contiguous {a.dtype} array of "
                         f"shape ({m}, {n}), got {out.dtype} {tuple(out.shape)}")
    ext.gemm(a.dtype.name, trans_a, trans_b, m, n, k, float(alpha), a.data.ptr, lda, 0,
             b.data.ptr, ldb, 0, float(beta), out.data.ptr, max(n, 1), 0, 1,
             cp.cuda.get_current_stream().ptr)
    return out


def bmm(a: Any, b: Any) -> Any:
    """a[i] @ b[i] for 3-D C-contiguous float arrays of one dtype (``_C.bmm``'s contract)."""
    cp, ext = cuda._require("bmm"), cuda._extension("bmm")
    if a.ndim != 3 or b.ndim != 3 or a.shape[0] != b.shape[0] or a.shape[2] != b.shape[1]:
        raise ValueError(f"bmm: expected (B, M, K) and (B, K, N), got {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    if a.dtype != b.dtype or a.dtype.name not in ("float32", "float64"):
        raise TypeError(f"bmm: arguments must both be float32 or float64, got {a.dtype} and "
                        f"{b.dtype}")
    a, b = cp.ascontiguousarray(a), cp.ascontiguousarray(b)
    batch, m, k = a.shape
    n = b.shape[2]
    out = cp.empty((batch, m, n), dtype=a.dtype)
    ext.gemm(a.dtype.name, False, False, m, n, k, 1.0, a.data.ptr, max(k, 1), m * k,
             b.data.ptr, max(n, 1), k * n, 0.0, out.data.ptr, max(n, 1), m * n, batch,
             cp.cuda.get_current_stream().ptr)
    return out
