"""Photometric transforms: noise and colour jitter."""
from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple, Union

import numpy as np

from ember.data import _rng
from ember.data.transforms._checks import (_GRAY_WEIGHTS, _check_number, _check_prob, _is_number,
                                           _require_float, _work_dtype)
from ember.data.transforms.base import Transform

__all__ = ["GaussianNoise", "SaltAndPepperNoise", "ColorJitter"]


class GaussianNoise(Transform):
    """Add Gaussian noise ``N(mean, std**2)`` to every value (torchvision v2's ``GaussianNoise``).

    Args:
        mean: noise mean.
        std: noise standard deviation (non-negative); torchvision calls it ``sigma``.
        clip: clip the result to [0, 1].
    """

    def __init__(self, mean: float = 0.0, std: float = 0.1, clip: bool = True) -> None:
        self.mean = _check_number(mean, "GaussianNoise", "mean")
        self.std = _check_number(std, "GaussianNoise", "std")
        if self.std < 0:
            raise ValueError(f"GaussianNoise: std must be non-negative, got {self.std}")
        self.clip = bool(clip)

    def _apply(self, x: np.ndarray) -> np.ndarray:
        _require_float(x, "GaussianNoise")
        noise = _rng.current().standard_normal(x.shape, dtype=x.dtype)
        noise *= x.dtype.type(self.std)
        noise += x.dtype.type(self.mean)
        noise += x
        if self.clip:
            np.clip(noise, 0, 1, out=noise)
        return noise

    def extra_repr(self) -> str:
        return f"mean={self.mean}, std={self.std}, clip={self.clip}"


class SaltAndPepperNoise(Transform):
    """Set a random fraction of pixels to ``high`` (salt) or ``low`` (pepper).

    A pixel position is hit with probability ``amount``; all its channels get the same value.

    Args:
        amount: the probability of a pixel being replaced, in [0, 1].
        salt_vs_pepper: the share of replaced pixels that become salt, in [0, 1].
        low: the pepper value (0.0 for [0, 1] images; use 0 and 255 for uint8).
        high: the salt value.
    """

    def __init__(self, amount: float = 0.05, salt_vs_pepper: float = 0.5, low: float = 0.0,
                 high: float = 1.0) -> None:
        self.amount = _check_prob(amount, "SaltAndPepperNoise", "amount")
        self.salt_vs_pepper = _check_prob(salt_vs_pepper, "SaltAndPepperNoise",
                                          "salt_vs_pepper")
        self.low = _check_number(low, "SaltAndPepperNoise", "low")
        self.high = _check_number(high, "SaltAndPepperNoise", "high")

    def _apply(self, x: np.ndarray) -> np.ndarray:
        n, _, h, w = x.shape
        u = _rng.current().random((n, 1, h, w))
        cut = self.amount * (1.0 - self.salt_vs_pepper)
        out = x.copy()
        np.copyto(out, np.asarray(self.low).astype(x.dtype), where=u < cut)
        np.copyto(out, np.asarray(self.high).astype(x.dtype),
                  where=(u >= cut) & (u < self.amount))
        return out

    def extra_repr(self) -> str:
        return (f"amount={self.amount}, salt_vs_pepper={self.salt_vs_pepper}, "
                f"low={self.low}, high={self.high}")


def _jitter_range(v: Any, arg: str) -> Optional[Tuple[float, float]]:
    """torchvision's ColorJitter ``_check_input``: None when the factor is always 1."""
    name = "ColorJitter"
    if _is_number(v):
        if v < 0:
            raise ValueError(f"{name}: if {arg} is a single number it must be non-negative, "
                             f"got {v}")
        rng = (max(0.0, 1.0 - float(v)), 1.0 + float(v))
    elif isinstance(v, (tuple, list)) and len(v) == 2 and all(_is_number(t) for t in v):
        rng = (float(v[0]), float(v[1]))
        if not 0.0 <= rng[0] <= rng[1]:
            raise ValueError(f"{name}: {arg} values should be (min, max) with "
                             f"0 <= min <= max, got {v}")
    else:
        raise TypeError(f"{name}: {arg} should be a number or a sequence of 2 numbers, "
                        f"got {v!r}")
    return None if rng == (1.0, 1.0) else rng


class ColorJitter(Transform):
    """Randomly change brightness, contrast and saturation (torchvision's ``ColorJitter``).

    Each factor is drawn uniformly from ``[max(0, 1 - v), 1 + v]`` (or the given (min, max));
    the enabled adjustments run in a random order per sample, as in torchvision:

    * brightness: ``x * f``;
    * contrast: blend with the image's mean grayscale value;
    * saturation: blend with the grayscale image (a no-op for 1-channel images).

    Results are clipped to [0, 1] (float) or [0, 255] (uint8, truncated like torchvision).
    Inputs must have 1 or 3 channels. Hue jitter is not implemented.
    """

    def __init__(self, brightness: Union[float, Sequence[float]] = 0,
                 contrast: Union[float, Sequence[float]] = 0,
                 saturation: Union[float, Sequence[float]] = 0) -> None:
        self.brightness = _jitter_range(brightness, "brightness")
        self.contrast = _jitter_range(contrast, "contrast")
        self.saturation = _jitter_range(saturation, "saturation")

    @staticmethod
    def _gray(x: np.ndarray, dtype: np.dtype) -> np.ndarray:
        """torchvision's rgb_to_grayscale (truncated to integer dtypes), (N, 1, H, W)."""
        wd = _work_dtype(x.dtype)
        r, g, b = (x[:, k:k + 1].astype(wd, copy=False) for k in range(3))
        gray = (_GRAY_WEIGHTS[0] * r + _GRAY_WEIGHTS[1] * g + _GRAY_WEIGHTS[2] * b)
        return gray.astype(dtype)

    @staticmethod
    def _blend(a: np.ndarray, b: Any, f: np.ndarray, bound: float,
               dtype: np.dtype) -> np.ndarray:
        out = f * a + (1 - f) * b
        np.clip(out, 0, bound, out=out)
        return out if out.dtype == dtype else out.astype(dtype)

    def _apply(self, x: np.ndarray) -> np.ndarray:
        n, c = x.shape[:2]
        if c not in (1, 3):
            raise ValueError(f"ColorJitter: input must have 1 or 3 channels, got {c}")
        ops = [(k, r) for k, r in (("brightness", self.brightness),
                                   ("contrast", self.contrast),
                                   ("saturation", self.saturation)) if r is not None]
        if not ops:
            return x.copy()
        rng = _rng.current()
        wd = _work_dtype(x.dtype)
        factors = {k: rng.uniform(r[0], r[1], size=n).astype(wd).reshape(n, 1, 1, 1)
                   for k, r in ops}
        order = (np.argsort(rng.random((n, len(ops))), axis=1) if len(ops) > 1
                 else np.zeros((n, 1), dtype=np.intp))
        codes, inverse = np.unique(order, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        bound = 255.0 if x.dtype == np.uint8 else 1.0
        out = np.empty_like(x)
        for g, code in enumerate(codes):
            sel = slice(None) if len(codes) == 1 else np.flatnonzero(inverse == g)
            y = x[sel]
            for k in code:
                name = ops[k][0]
                f = factors[name][sel]
                if name == "brightness":
                    y = self._blend(y, 0, f, bound, x.dtype)
                elif name == "contrast":
                    gray = self._gray(y, x.dtype) if c == 3 else y
                    mean = gray.astype(wd).mean(axis=(1, 2, 3), keepdims=True, dtype=wd)
                    y = self._blend(y, mean, f, bound, x.dtype)
                elif c == 3:  # saturation
                    y = self._blend(y, self._gray(y, x.dtype), f, bound, x.dtype)
            out[sel] = y
        return out

    def extra_repr(self) -> str:
        return (f"brightness={self.brightness}, contrast={self.contrast}, "
                f"saturation={self.saturation}")
