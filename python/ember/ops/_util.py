"""Helpers shared by the op families."""
from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple, Union

import numpy as np

from ember.tensor import Tensor, _refuse_tensor_sequence, _wrap_dim

Dim = Union[None, int, Sequence[int]]


def unbroadcast(grad: np.ndarray, shape: Tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` over the dimensions that broadcasting added or stretched to reach it."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, s in enumerate(shape) if s == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad.reshape(shape)


def operand(x: Any, like: Optional[Tensor] = None, op: str = "tensor") -> Any:
    """Tensors pass; Python/NumPy scalars stay scalars; arrays and lists of numbers become
    tensors. A list or tuple holding Tensors (a (values, indices) pair) is refused, naming
    ``op``."""
    if isinstance(x, np.generic):  # NumPy scalars act as Python scalars (weakly typed)
        return x.item()
    if isinstance(x, Tensor) or isinstance(x, (int, float, bool)):
        return x
    if isinstance(x, np.ndarray):
        return Tensor._wrap(x)
    if isinstance(x, (list, tuple)):
        _refuse_tensor_sequence(op, x)
    return Tensor(x)


def norm_dims(op: str, ndim: int, dim: Dim, axis: Dim = None) -> Optional[Tuple[int, ...]]:
    """Normalise ``dim`` (or its NumPy alias ``axis``) to a sorted tuple, None meaning all."""
    if axis is not None:
        if dim is not None:
            raise TypeError(f"{op}: pass either dim or axis, not both")
        dim = axis
    if dim is None:
        return None
    if not isinstance(dim, (tuple, list)):
        dim = (dim,)  # a single dim; _wrap_dim rejects what is not an int
    dims = tuple(sorted({_wrap_dim(d, ndim, op) for d in dim}))
    if len(dims) != len(tuple(dim)):
        raise ValueError(f"{op}: dim {tuple(dim)} repeats a dimension")
    return () if ndim == 0 else dims  # a 0-d tensor accepts dim 0 / -1 and reduces nothing


def check_same_shape(op: str, a: Tensor, b: Tensor, names=("input", "target")) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{op}: {names[0]} has shape {tuple(a.shape)} but {names[1]} has shape "
                         f"{tuple(b.shape)}; they must match")


def broadcast_shapes(op: str, *shapes: Tuple[int, ...]) -> Tuple[int, ...]:
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        raise ValueError(f"{op}: shapes {', '.join(str(tuple(s)) for s in shapes)} cannot be "
                         "broadcast together") from None
