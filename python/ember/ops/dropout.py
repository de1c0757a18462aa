"""Dropout (inverted: kept values scaled by 1 / (1 - p)) and channel-wise Dropout2d, drawn
from ember's seeded generator."""
from __future__ import annotations

from typing import Tuple

import numpy as np

from ember._random import get_generator
from ember.autograd.function import Function
from ember.tensor import Tensor


class MaskMul(Function):
    """y = x * mask (mask broadcast over x; already scaled)."""

    @staticmethod
    def forward(ctx, x, mask):
        ctx.mask = mask
        return x * mask

    @staticmethod
    def backward(ctx, g):
        return g * ctx.mask, None


def _check(op: str, x: Tensor, p: float) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point input, got {x.dtype}")


def _apply_mask(x: Tensor, p: float, shape: Tuple[int, ...], generator) -> Tensor:
    if p == 1.0:
        mask = np.zeros(shape, dtype=x.dtype)
    else:
        keep = get_generator(generator).random(shape) >= p
        mask = keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - p))
    return MaskMul.apply(x, mask)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, generator=None) -> Tensor:
    """Zero each element with probability p during training; identity in eval."""
    _check("dropout", input, p)
    if not training or p == 0.0:
        return input
    return _apply_mask(input, p, input.shape, generator)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, generator=None) -> Tensor:
    """Zero whole channels (dim 1 of (N, C, H, W), or dim 0 of (C, H, W)) with probability p."""
    _check("dropout2d", input, p)
    if input.ndim not in (3, 4):
        raise ValueError(f"dropout2d: expected a 3-D or 4-D input, got shape "
                         f"{tuple(input.shape)}")
    if not training or p == 0.0:
        return input
    lead = 2 if input.ndim == 4 else 1
    return _apply_mask(input, p, input.shape[:lead] + (1,) * (input.ndim - lead), generator)
