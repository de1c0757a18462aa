"""Resizing of (N, C, H, W) images: nearest and bilinear (with align_corners), written as
separable linear maps y = A_h x A_w^T, so the backward is exact: dx = A_h^T dy A_w."""
from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

import numpy as np

from ember.autograd.function import Function
from ember._limits import check_shape
from ember.ops._args import check_float, is_int
from ember.tensor import Tensor


def _nearest_matrix(n_in: int, n_out: int, scale: float) -> np.ndarray:
    src = np.minimum(np.floor(np.arange(n_out) * scale).astype(np.int64), n_in - 1)
    m = np.zeros((n_out, n_in))
    m[np.arange(n_out), src] = 1.0
    return m


def _linear_matrix(n_in: int, n_out: int, scale: float, align_corners: bool) -> np.ndarray:
    dst = np.arange(n_out, dtype=np.float64)
    if align_corners:
        src = dst * ((n_in - 1) / (n_out - 1) if n_out > 1 else 0.0)
    else:
        src = np.maximum((dst + 0.5) * scale - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    frac = src - i0
    m = np.zeros((n_out, n_in))
    np.add.at(m, (np.arange(n_out), i0), 1.0 - frac)
    np.add.at(m, (np.arange(n_out), i1), frac)
    return m


class Resize2d(Function):
    @staticmethod
    def forward(ctx, x, ah, aw):
        ah, aw = ah.astype(x.dtype), aw.astype(x.dtype)
        ctx.mats = (ah, aw)
        return np.ascontiguousarray(np.matmul(np.matmul(ah, x), aw.T))

    @staticmethod
    def backward(ctx, g):
        ah, aw = ctx.mats
        return np.matmul(np.matmul(ah.T, g), aw), None, None


def interpolate(input: Tensor, size: Optional[Union[int, Sequence[int]]] = None,
                scale_factor: Optional[Union[float, Sequence[float]]] = None,
                mode: str = "nearest", align_corners: Optional[bool] = None) -> Tensor:
    """Resize the last two dimensions to ``size`` or by ``scale_factor``.

    mode: 'nearest' or 'bilinear'; align_corners (bilinear only, default False) maps corner
    pixel centres onto each other, as PyTorch.
    """
    op = "interpolate"
    check_float(op, input)
    if input.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D (N, C, H, W) input, got shape "
                         f"{tuple(input.shape)}")
    if 0 in input.shape[1:]:
        raise ValueError(f"{op}: expected an input with non-zero channels, height and width "
                         f"(the batch may be empty), got shape {tuple(input.shape)}")
    if mode not in ("nearest", "bilinear"):
        raise ValueError(f"{op}: mode must be 'nearest' or 'bilinear', got {mode!r}")
    if mode == "nearest" and align_corners is not None:
        raise ValueError(f"{op}: align_corners can only be set with mode='bilinear'")
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{op}: give exactly one of size and scale_factor")
    h, w = input.shape[2:]
    scales: Tuple[float, float]
    if size is not None:
        if is_int(size):
            out = (int(size), int(size))
        elif isinstance(size, (list, tuple)) and len(size) == 2 and all(map(is_int, size)):
            out = (int(size[0]), int(size[1]))
        else:
            raise TypeError(f"{op}: size must be an int or a pair of ints, got {size!r}")
        if min(out) < 1:
            raise ValueError(f"{op}: size must be positive, got {size!r}")
        scales = (h / out[0], w / out[1])
    else:
        sf = (scale_factor, scale_factor) if isinstance(scale_factor, (int, float)) \
            else tuple(scale_factor)
        if len(sf) != 2 or not all(np.isfinite(v) and v > 0 for v in sf):
            raise ValueError(f"{op}: scale_factor must be positive and finite, got "
                             f"{scale_factor!r}")
        out = (int(np.floor(h * sf[0])), int(np.floor(w * sf[1])))
        if min(out) < 1:
            raise ValueError(f"{op}: scale_factor {scale_factor} gives an empty output")
        scales = (1.0 / sf[0], 1.0 / sf[1])
    check_shape(op, tuple(input.shape[:-2]) + out)
    if mode == "nearest":
        ah = _nearest_matrix(h, out[0], scales[0])
        aw = _nearest_matrix(w, out[1], scales[1])
    else:
        ac = bool(align_corners)
        ah = _linear_matrix(h, out[0], scales[0], ac)
        aw = _linear_matrix(w, out[1], scales[1], ac)
    return Resize2d.apply(input, ah, aw)


