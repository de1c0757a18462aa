"""Conversions and normalisation: HWC images to CHW float arrays, per-channel
normalisation, min-max scaling."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ember import _C
from ember.tensor import Tensor
from ember.data.transforms._checks import _check_number, _is_number, _require_float, _work_dtype
from ember.data.transforms.base import Transform

__all__ = ["ToTensor", "Normalize", "MinMaxScale"]


class ToTensor(Transform):
    """HWC image -> CHW float32 array in [0, 1] (torchvision's ``ToTensor``).

    ``uint8`` input is divided by 255; other dtypes are only transposed (as torchvision does
    for non-uint8 arrays). Accepts (H, W, C) or (H, W) arrays, ember Tensors and PIL images;
    ``batch`` takes (N, H, W, C) or (N, H, W) and returns (N, C, H, W).
    """

    @staticmethod
    def _to_array(pic: Any, where: str) -> np.ndarray:
        if isinstance(pic, np.ndarray):
            return pic
        if isinstance(pic, Tensor):
            return pic.numpy()
        if hasattr(pic, "__array_interface__") or hasattr(pic, "__array__"):  # PIL.Image
            return np.asarray(pic)
        raise TypeError(f"{where}: expected a numpy.ndarray, ember.Tensor or PIL image, "
                        f"got {type(pic).__name__}")

    @staticmethod
    def _convert(x: np.ndarray) -> np.ndarray:
        """(N, H, W, C) -> (N, C, H, W), uint8 scaled to float32 [0, 1]."""
        src = np.ascontiguousarray(x.transpose(0, 3, 1, 2))  # no copy when C == 1
        if x.dtype == np.uint8:
            out = np.empty(src.shape, dtype=np.float32)
            np.divide(src, np.float32(255.0), out=out)
            return out
        return src

    def __call__(self, pic: Any) -> np.ndarray:
        """Convert one (H, W, C) or (H, W) image to (C, H, W)."""
        x = self._to_array(pic, "ToTensor")
        if x.ndim == 2:
            x = x[:, :, None]
        if x.ndim != 3:
            raise ValueError(f"ToTensor: expected an (H, W, C) or (H, W) image, "
                             f"got shape {x.shape}")
        return self._convert(x[None])[0]

    def batch(self, imgs: Any) -> np.ndarray:
        """Convert an (N, H, W, C) or (N, H, W) batch to (N, C, H, W)."""
        x = self._to_array(imgs, "ToTensor.batch")
        if x.ndim == 3:
            x = x[..., None]
        if x.ndim != 4:
            raise ValueError(f"ToTensor.batch: expected an (N, H, W, C) or (N, H, W) batch, "
                             f"got shape {x.shape}")
        return self._convert(x)


class Normalize(Transform):
    """Per-channel ``(x - mean) / std`` (torchvision's ``Normalize``).

    Args:
        mean: one value per channel (or a single value for all channels).
        std: one value per channel (or a single value), none of them zero.
        inplace: write the result into the input array.
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float],
                 inplace: bool = False) -> None:
        self.mean = self._vector(mean, "mean")
        self.std = self._vector(std, "std")
        if np.any(self.std == 0):
            raise ValueError(f"Normalize: std evaluated to zero, leading to division by zero "
                             f"(std={tuple(self.std.tolist())})")
        self.inplace = bool(inplace)

    @staticmethod
    def _vector(v: Any, arg: str) -> np.ndarray:
        if _is_number(v):
            v = (v,)
        if isinstance(v, Tensor):
            v = v.numpy()
        try:
            a = np.asarray(v, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise TypeError(f"Normalize: {arg} must be a sequence of numbers, "
                            f"got {v!r}") from None
        if a.size == 0:
            raise ValueError(f"Normalize: {arg} must not be empty")
        return a

    def _apply(self, x: np.ndarray) -> np.ndarray:
        _require_float(x, "Normalize")
        c = x.shape[1]
        for arg, v in (("mean", self.mean), ("std", self.std)):
            if v.size not in (1, c):
                raise ValueError(f"Normalize: {arg} has {v.size} values but the input has "
                                 f"{c} channels")
        n, h, w = x.shape[0], x.shape[2], x.shape[3]
        if x.dtype in (np.float32, np.float64) and x.flags.c_contiguous and n * h * w > 0:
            # One fused pass in C++, (x - mean) * (1 / std), instead of NumPy's two
            # broadcast passes; it may differ from (x - mean) / std in the last bit.
            m = np.broadcast_to(self.mean, (c,)).astype(x.dtype)
            inv = np.broadcast_to(1.0 / self.std, (c,)).astype(x.dtype)
            y = _C.batch_norm_apply(x.reshape(n, c, h * w), m, inv, None, None)
            y = y.reshape(x.shape)
            if self.inplace:
                np.copyto(x, y)
                return x
            return y
        m = self.mean.astype(x.dtype).reshape(-1, 1, 1)
        s = self.std.astype(x.dtype).reshape(-1, 1, 1)
        out = x if self.inplace else np.empty_like(x)
        np.subtract(x, m, out=out)
        np.divide(out, s, out=out)
        return out

    def extra_repr(self) -> str:
        return f"mean={self.mean.tolist()}, std={self.std.tolist()}"


class MinMaxScale(Transform):
    """Rescale each sample linearly so its minimum is ``min`` and its maximum ``max``.

    A constant sample becomes ``min``. Integer input gives float32 output.

    Args:
        min: the new minimum (default 0).
        max: the new maximum (default 1), larger than ``min``.
    """

    def __init__(self, min: float = 0.0, max: float = 1.0) -> None:
        self.min = _check_number(min, "MinMaxScale", "min")
        self.max = _check_number(max, "MinMaxScale", "max")
        if not self.min < self.max:
            raise ValueError(f"MinMaxScale: min must be smaller than max, got min={self.min}, "
                             f"max={self.max}")

    def _apply(self, x: np.ndarray) -> np.ndarray:
        x = x.astype(_work_dtype(x.dtype), copy=False)
        lo = x.min(axis=(1, 2, 3), keepdims=True)
        hi = x.max(axis=(1, 2, 3), keepdims=True)
        span = hi - lo
        scale = np.where(span > 0, (self.max - self.min) / np.where(span > 0, span, 1), 0)
        return ((x - lo) * scale.astype(x.dtype) + x.dtype.type(self.min)).astype(x.dtype)

    def extra_repr(self) -> str:
        return f"min={self.min}, max={self.max}"
