"""Argument checks and array helpers the transforms share (private)."""
from __future__ import annotations

import numbers
import threading
from typing import Any, Sequence, Tuple, Union

import numpy as np

from ember.tensor import Tensor


_Number = Union[int, float]
_Fill = Union[_Number, Sequence[_Number]]

_INTERPOLATIONS = ("nearest", "bilinear")
_PADDING_MODES = ("constant", "edge", "reflect", "symmetric")
_GRAY_WEIGHTS = (0.2989, 0.587, 0.114)  # torchvision's rgb_to_grayscale


def _as_array(img: Any, where: str) -> np.ndarray:
    """``img`` as a NumPy array (an ember.Tensor gives its data, without a copy)."""
    if isinstance(img, np.ndarray):
        return img
    if isinstance(img, Tensor):
        return img.numpy()
    raise TypeError(f"{where}: expected a numpy.ndarray or ember.Tensor, "
                    f"got {type(img).__name__}")


_CHANNEL_COUNTS = (1, 3, 4)  # grayscale, RGB, RGBA


def _check_ndim(x: np.ndarray, ndim: int, where: str) -> None:
    """A (C, H, W) image (ndim 3) or an (N, C, H, W) batch (ndim 4). One whose last axis
    looks like channels and whose channel axis does not (the (H, W, C) layout data sets
    yield) is refused: a flip or rotation would silently treat the channels as the width."""
    layout = "(C, H, W) image" if ndim == 3 else "(N, C, H, W) batch"
    if x.ndim != ndim:
        raise ValueError(f"{where}: expected a {layout} ({ndim} dims), got shape {x.shape}")
    if x.shape[-1] in _CHANNEL_COUNTS and x.shape[-3] not in _CHANNEL_COUNTS:
        hwc = "(H, W, C)" if ndim == 3 else "(N, H, W, C)"
        raise ValueError(f"{where}: expected a {layout}, got shape {x.shape}, which looks "
                         f"like the {hwc} layout data sets yield; apply ToTensor() first (it "
                         "also scales uint8 to [0, 1]) or transpose to channels first")


def _is_number(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _check_number(v: Any, name: str, arg: str) -> float:
    if not _is_number(v):
        raise TypeError(f"{name}: {arg} must be a number, got {type(v).__name__}")
    return float(v)


def _check_prob(p: Any, name: str, arg: str = "p") -> float:
    p = _check_number(p, name, arg)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}: {arg} must be in [0, 1], got {p}")
    return p


def _size_pair(size: Any, name: str, arg: str = "size") -> Tuple[int, int]:
    """An int or a sequence of 1 or 2 ints as ``(h, w)``, all positive."""
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        hw = (int(size), int(size))
    elif isinstance(size, (tuple, list)) and len(size) in (1, 2) and all(
            isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in size):
        hw = (int(size[0]), int(size[-1]))
    else:
        raise TypeError(f"{name}: {arg} must be an int or a sequence of 1 or 2 ints, "
                        f"got {size!r}")
    if hw[0] <= 0 or hw[1] <= 0:
        raise ValueError(f"{name}: {arg} must be positive, got {size!r}")
    return hw


def _check_interpolation(interpolation: Any, name: str) -> str:
    if not isinstance(interpolation, str) or interpolation.lower() not in _INTERPOLATIONS:
        raise ValueError(f"{name}: interpolation must be one of {_INTERPOLATIONS}, "
                         f"got {interpolation!r}")
    return interpolation.lower()


def _check_padding_mode(mode: Any, name: str) -> str:
    if mode not in _PADDING_MODES:
        raise ValueError(f"{name}: padding_mode must be one of {_PADDING_MODES}, got {mode!r}")
    return mode


def _check_fill(fill: Any, name: str) -> _Fill:
    if _is_number(fill):
        return fill
    if isinstance(fill, (tuple, list)) and len(fill) > 0 and all(_is_number(f) for f in fill):
        return tuple(fill)
    raise TypeError(f"{name}: fill must be a number or a sequence of numbers, got {fill!r}")


def _fill_array(fill: _Fill, channels: int, dtype: np.dtype, name: str) -> np.ndarray:
    """The fill as a (C, 1, 1) array of ``dtype``."""
    f = np.atleast_1d(np.asarray(fill, dtype=np.float64))
    if f.size not in (1, channels):
        raise ValueError(f"{name}: fill has {f.size} values but the input has {channels} "
                         "channels")
    if np.dtype(dtype).kind in "iu":
        info = np.iinfo(dtype)
        f = np.clip(np.round(f), info.min, info.max)
    return np.broadcast_to(f.astype(dtype), (channels,)).reshape(channels, 1, 1)


def _padding4(padding: Any, name: str) -> Tuple[int, int, int, int]:
    """torchvision padding (int, (lr, tb) or (l, t, r, b)) as (left, top, right, bottom)."""
    if isinstance(padding, (int, np.integer)) and not isinstance(padding, bool):
        p = (int(padding),) * 4
    elif isinstance(padding, (tuple, list)) and len(padding) in (1, 2, 4) and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in padding):
        v = [int(x) for x in padding]
        p = (v[0],) * 4 if len(v) == 1 else (v[0], v[1], v[0], v[1]) if len(v) == 2 \
            else tuple(v)
    else:
        raise TypeError(f"{name}: padding must be an int or a sequence of 1, 2 or 4 ints, "
                        f"got {padding!r}")
    if min(p) < 0:
        raise ValueError(f"{name}: padding must be non-negative, got {padding!r}")
    return p  # type: ignore[return-value]


def _pad_batch(x: np.ndarray, ltrb: Tuple[int, int, int, int], fill: _Fill, mode: str,
               name: str) -> np.ndarray:
    """Pad the last two dims of an (N, C, H, W) batch."""
    left, top, right, bottom = ltrb
    if not any(ltrb):
        return x
    n, c, h, w = x.shape
    if mode == "constant":
        out = np.empty((n, c, h + top + bottom, w + left + right), dtype=x.dtype)
        out[...] = _fill_array(fill, c, x.dtype, name)
        out[:, :, top:top + h, left:left + w] = x
        return out
    if mode == "reflect" and (max(top, bottom) >= h or max(left, right) >= w):
        raise ValueError(f"{name}: padding {ltrb} (left, top, right, bottom) must be smaller "
                         f"than the image size {(h, w)} for padding_mode='reflect'")
    return np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), mode=mode)


_scratch = threading.local()


def _pad_scratch(x: np.ndarray, ltrb: Tuple[int, int, int, int], fill: _Fill,
                 name: str) -> np.ndarray:
    """Constant-pad into a per-thread buffer reused across calls (its border is filled once).

    Only for padding that is read and dropped right away (RandomCrop gathers fresh crops from
    it): it saves an allocation, its page faults and the fill pass on every batch.
    """
    left, top, right, bottom = ltrb
    n, c, h, w = x.shape
    key = (x.shape, x.dtype.str, ltrb, fill)
    cache = getattr(_scratch, "pad", None)
    if cache is None:
        cache = _scratch.pad = {}
    buf = cache.get(key)
    if buf is None:
        if len(cache) >= 4:
            cache.clear()
        buf = np.empty((n, c, h + top + bottom, w + left + right), dtype=x.dtype)
        buf[...] = _fill_array(fill, c, x.dtype, name)
        cache[key] = buf
    buf[:, :, top:top + h, left:left + w] = x
    return buf


def _degrees_range(degrees: Any, name: str, arg: str = "degrees") -> Tuple[float, float]:
    if _is_number(degrees):
        if degrees < 0:
            raise ValueError(f"{name}: if {arg} is a single number it must be non-negative, "
                             f"got {degrees}")
        return (-float(degrees), float(degrees))
    if isinstance(degrees, (tuple, list)) and len(degrees) == 2 and all(
            _is_number(d) for d in degrees):
        lo, hi = float(degrees[0]), float(degrees[1])
        if lo > hi:
            raise ValueError(f"{name}: {arg} must be (min, max) with min <= max, got {degrees}")
        return (lo, hi)
    raise TypeError(f"{name}: {arg} must be a number or a sequence of 2 numbers, "
                    f"got {degrees!r}")


def _cast_like(y: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Float result back to ``dtype``: integers are rounded and clipped to their range."""
    if y.dtype == dtype:
        return y
    if np.dtype(dtype).kind in "iu":
        info = np.iinfo(dtype)
        return np.clip(np.rint(y), info.min, info.max).astype(dtype)
    return y.astype(dtype)


def _work_dtype(dtype: np.dtype) -> np.dtype:
    """The float type computations on ``dtype`` data run in."""
    return np.dtype(dtype) if np.dtype(dtype).kind == "f" else np.dtype(np.float32)


def _require_float(x: np.ndarray, name: str) -> None:
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: expected a floating-point image (use ToTensor first), "
                        f"got dtype {x.dtype}")


def _fmt(v: Any) -> str:
    return repr(tuple(v)) if isinstance(v, list) else repr(v)
