"""Which implementation runs an element-wise array operation: ember's threaded C++ kernels
(``ember._C``) for C-contiguous float32/float64 arrays, NumPy otherwise.

The C++ kernels take every thread from ``_C.min_parallel_elements`` elements on (the
threading policy of csrc/ember/parallel.h); below that a NumPy ufunc is as fast, so
:func:`add` calls the kernel only on arrays at least that large.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ember import _C

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_MIN_PARALLEL = int(_C.min_parallel_elements)


def is_native(a: Any) -> bool:
    """A C-contiguous float32/float64 ndarray (what the C++ element-wise kernels take)."""
    return type(a) is np.ndarray and a.dtype in _FLOATS and a.flags.c_contiguous


def is_native_pair(a: Any, b: Any) -> bool:
    """Two same-shape, same-dtype, C-contiguous float arrays: what the C++ binary kernels
    take (an activation's backward on gradient and saved output; add)."""
    return (is_native(a) and type(b) is np.ndarray and a.dtype == b.dtype
            and a.shape == b.shape and b.flags.c_contiguous)


def add(a: Any, b: Any) -> Any:
    """a + b, threaded in C++ for a large native pair; never writes into a or b."""
    if is_native_pair(a, b) and a.size >= _MIN_PARALLEL:
        return _C.add(a, b)
    return np.add(a, b)
