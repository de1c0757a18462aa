"""Argument normalisation for the convolution and pooling families."""
from __future__ import annotations

from typing import Any, Sequence, Tuple

import numpy as np

Pair = Tuple[int, int]


def pair(op: str, name: str, value: Any, minimum: int = None) -> Pair:
    """An int or a 2-sequence of ints as a pair, optionally checked against ``minimum``."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        out = (int(value), int(value))
    elif isinstance(value, Sequence) and len(value) == 2 and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value):
        out = (int(value[0]), int(value[1]))
    else:
        raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    if minimum is not None and min(out) < minimum:
        raise ValueError(f"{op}: {name} must be >= {minimum}, got {out}")
    return out


def is_int(value: Any) -> bool:
    """A Python or NumPy integer (not a bool, not a float however integral)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def ints(op: str, name: str, values: Any) -> Tuple[int, ...]:
    """A sequence of integers as a tuple of ints; a float or any other kind is refused (as
    PyTorch refuses it) instead of being truncated."""
    if not isinstance(values, (list, tuple)):
        raise TypeError(f"{op}: {name} must be a sequence of ints, got {values!r}")
    for i, v in enumerate(values):
        if not is_int(v):
            raise TypeError(f"{op}: {name} must be a sequence of ints, got {values!r} (element "
                            f"{i} is a {type(v).__name__})")
    return tuple(int(v) for v in values)


def single(op: str, name: str, value: Any, minimum: int = None) -> int:
    """An int or a 1-sequence of ints as an int."""
    if isinstance(value, Sequence) and len(value) == 1:
        value = value[0]
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        raise TypeError(f"{op}: {name} must be an int, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{op}: {name} must be >= {minimum}, got {value}")
    return int(value)


def check_ndim(op: str, x, allowed: Sequence[int], what: str) -> None:
    if x.ndim not in allowed:
        exp = " or ".join(f"{n}-D" for n in allowed)
        raise ValueError(f"{op}: expected {exp} input ({what}), got {x.ndim}-D input of shape "
                         f"{tuple(x.shape)}")


def check_float(op: str, x) -> None:
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(f"{op}: expected a float32 or float64 input, got {x.dtype}")


def check_nonempty(op: str, x) -> None:
    if x.shape[0] == 0:
        raise ValueError(f"{op}: the batch is empty (input shape {tuple(x.shape)})")
