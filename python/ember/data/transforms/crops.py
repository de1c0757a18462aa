"""Crops: centre, random (with padding), random resized, and the five- and ten-crop views
of test-time augmentation."""
from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ember.data import _rng
from ember.data.transforms._checks import (_Fill, _as_array, _check_fill, _check_interpolation,
                                           _check_ndim, _check_padding_mode, _fmt, _is_number,
                                           _pad_batch, _pad_scratch, _padding4, _size_pair)
from ember.data.transforms.base import Transform
from ember.data.transforms.geometric import _resize_boxes

__all__ = ["CenterCrop", "RandomCrop", "RandomResizedCrop", "FiveCrop", "TenCrop"]


class CenterCrop(Transform):
    """Crop the centre (torchvision's ``CenterCrop``; pads with zeros if the image is smaller).

    Args:
        size: an int (square crop) or (h, w).
    """

    def __init__(self, size: Union[int, Sequence[int]]) -> None:
        self.size = _size_pair(size, "CenterCrop")

    @staticmethod
    def _crop(x: np.ndarray, th: int, tw: int) -> np.ndarray:
        h, w = x.shape[2:]
        if tw > w or th > h:
            pad = ((tw - w) // 2 if tw > w else 0, (th - h) // 2 if th > h else 0,
                   (tw - w + 1) // 2 if tw > w else 0, (th - h + 1) // 2 if th > h else 0)
            x = _pad_batch(x, pad, 0, "constant", "CenterCrop")
            h, w = x.shape[2:]
        top = int(round((h - th) / 2.0))
        left = int(round((w - tw) / 2.0))
        return x[:, :, top:top + th, left:left + tw].copy()

    def _apply(self, x: np.ndarray) -> np.ndarray:
        return self._crop(x, *self.size)

    def extra_repr(self) -> str:
        return f"size={self.size}"


class RandomCrop(Transform):
    """Crop at a random position (torchvision's ``RandomCrop``), a different one per sample.

    The batch is padded once, then all crops are gathered through one sliding-window view.

    Args:
        size: an int (square crop) or (h, w).
        padding: optional padding applied first: an int, (left/right, top/bottom) or
            (left, top, right, bottom).
        pad_if_needed: pad an image smaller than ``size`` (otherwise that is an error).
        fill: value for ``padding_mode='constant'`` (or one per channel).
        padding_mode: ``'constant'``, ``'edge'``, ``'reflect'`` or ``'symmetric'``.
    """

    def __init__(self, size: Union[int, Sequence[int]],
                 padding: Optional[Union[int, Sequence[int]]] = None,
                 pad_if_needed: bool = False, fill: _Fill = 0,
                 padding_mode: str = "constant") -> None:
        self.size = _size_pair(size, "RandomCrop")
        self.padding = padding
        self._ltrb = None if padding is None else _padding4(padding, "RandomCrop")
        self.pad_if_needed = bool(pad_if_needed)
        self.fill = _check_fill(fill, "RandomCrop")
        self.padding_mode = _check_padding_mode(padding_mode, "RandomCrop")

    def _prepare(self, x: np.ndarray) -> np.ndarray:
        """Apply ``padding`` and ``pad_if_needed`` as torchvision does."""
        name = "RandomCrop"
        if self._ltrb is not None and any(self._ltrb):
            if self.padding_mode == "constant":
                x = _pad_scratch(x, self._ltrb, self.fill, name)
            else:
                x = _pad_batch(x, self._ltrb, self.fill, self.padding_mode, name)
        th, tw = self.size
        if self.pad_if_needed and x.shape[3] < tw:
            d = tw - x.shape[3]
            x = _pad_batch(x, (d, 0, d, 0), self.fill, self.padding_mode, name)
        if self.pad_if_needed and x.shape[2] < th:
            d = th - x.shape[2]
            x = _pad_batch(x, (0, d, 0, d), self.fill, self.padding_mode, name)
        h, w = x.shape[2:]
        if th > h or tw > w:
            raise ValueError(f"RandomCrop: required crop size {(th, tw)} is larger than the "
                             f"(padded) input image size {(h, w)}; pass pad_if_needed=True "
                             "or a padding")
        return x

    def get_params(self, n: int, h: int, w: int) -> Tuple[np.ndarray, np.ndarray]:
        """Draw the top-left corners ``(i, j)`` (two (n,) int arrays) for an (h, w) input."""
        rng = _rng.current()
        th, tw = self.size
        i = rng.integers(0, h - th + 1, size=n)
        j = rng.integers(0, w - tw + 1, size=n)
        return i, j

    def _apply(self, x: np.ndarray) -> np.ndarray:
        x = self._prepare(x)
        n, _, h, w = x.shape
        th, tw = self.size
        if (h, w) == (th, tw):
            return x.copy()
        i, j = self.get_params(n, h, w)
        win = sliding_window_view(x, (th, tw), axis=(2, 3))  # (N, C, h-th+1, w-tw+1, th, tw)
        return win[np.arange(n), :, i, j]

    def extra_repr(self) -> str:
        return (f"size={self.size}, padding={_fmt(self.padding)}, "
                f"pad_if_needed={self.pad_if_needed}, fill={self.fill}, "
                f"padding_mode={self.padding_mode}")


class RandomResizedCrop(Transform):
    """Crop a random area and aspect ratio, then resize (torchvision's ``RandomResizedCrop``).

    Parameters are drawn as torchvision does (10 tries per sample, then a central crop), all
    samples at once; cropping and resizing are one warp (no antialiasing).

    Args:
        size: output size, an int or (h, w).
        scale: range of the crop area as a fraction of the image area.
        ratio: range of the crop aspect ratio (width / height), sampled log-uniformly.
        interpolation: ``'bilinear'`` (default) or ``'nearest'``.
    """

    def __init__(self, size: Union[int, Sequence[int]],
                 scale: Tuple[float, float] = (0.08, 1.0),
                 ratio: Tuple[float, float] = (3.0 / 4.0, 4.0 / 3.0),
                 interpolation: str = "bilinear") -> None:
        name = "RandomResizedCrop"
        self.size = _size_pair(size, name)
        for arg, v in (("scale", scale), ("ratio", ratio)):
            if not (isinstance(v, (tuple, list)) and len(v) == 2
                    and all(_is_number(t) for t in v)):
                raise TypeError(f"{name}: {arg} must be a sequence of 2 numbers, got {v!r}")
            if v[0] > v[1]:
                raise ValueError(f"{name}: {arg} must be (min, max) with min <= max, got {v}")
            if v[0] <= 0:
                raise ValueError(f"{name}: {arg} values must be positive, got {v}")
        self.scale = (float(scale[0]), float(scale[1]))
        self.ratio = (float(ratio[0]), float(ratio[1]))
        self.interpolation = _check_interpolation(interpolation, name)

    def get_params(self, n: int, h: int, w: int) -> np.ndarray:
        """Draw crop boxes: an (n, 4) int array of ``(top, left, height, width)``."""
        rng = _rng.current()
        tries = 10
        area = h * w
        target = area * rng.uniform(self.scale[0], self.scale[1], size=(n, tries))
        log_r = np.log(self.ratio)
        aspect = np.exp(rng.uniform(log_r[0], log_r[1], size=(n, tries)))
        cw = np.round(np.sqrt(target * aspect)).astype(np.int64)
        ch = np.round(np.sqrt(target / aspect)).astype(np.int64)
        ok = (cw > 0) & (cw <= w) & (ch > 0) & (ch <= h)
        first = np.argmax(ok, axis=1)
        rows = np.arange(n)
        cw, ch, found = cw[rows, first], ch[rows, first], ok[rows, first]
        # fallback: central crop of the whole image clipped to the ratio range
        in_ratio = w / h
        if in_ratio < min(self.ratio):
            fw, fh = w, int(round(w / min(self.ratio)))
        elif in_ratio > max(self.ratio):
            fw, fh = int(round(h * max(self.ratio))), h
        else:
            fw, fh = w, h
        ch = np.where(found, ch, fh)
        cw = np.where(found, cw, fw)
        top = rng.integers(0, h - ch + 1)
        left = rng.integers(0, w - cw + 1)
        top = np.where(found, top, (h - fh) // 2)
        left = np.where(found, left, (w - fw) // 2)
        return np.stack([top, left, ch, cw], axis=1)

    def _apply(self, x: np.ndarray) -> np.ndarray:
        n, _, h, w = x.shape
        p = self.get_params(n, h, w)
        box = np.stack([p[:, 1], p[:, 0], p[:, 3], p[:, 2]], axis=1)  # (x0, y0, w, h)
        return _resize_boxes(x, box, self.size, self.interpolation)

    def extra_repr(self) -> str:
        return (f"size={self.size}, scale={self.scale}, ratio={self.ratio}, "
                f"interpolation={self.interpolation}")


# ------------------------------------------------------------------------------ multi-crop
class FiveCrop(Transform):
    """The four corner crops and the centre crop (torchvision's ``FiveCrop``).

    ``t(img)`` returns the tuple ``(top_left, top_right, bottom_left, bottom_right, centre)``;
    ``t.batch(imgs)`` returns one array of shape (5, N, C, h, w) in that order.

    Args:
        size: an int (square crops) or (h, w).
    """

    ncrops = 5

    def __init__(self, size: Union[int, Sequence[int]]) -> None:
        self.size = _size_pair(size, type(self).__name__)

    def _crops(self, x: np.ndarray) -> List[np.ndarray]:
        h, w = x.shape[2:]
        th, tw = self.size
        if th > h or tw > w:
            raise ValueError(f"{type(self).__name__}: requested crop size {(th, tw)} is bigger "
                             f"than the input size {(h, w)}")
        return [x[:, :, :th, :tw], x[:, :, :th, w - tw:], x[:, :, h - th:, :tw],
                x[:, :, h - th:, w - tw:], CenterCrop._crop(x, th, tw)]

    def __call__(self, img: Any) -> Tuple[np.ndarray, ...]:
        """The crops of one (C, H, W) sample, as a tuple."""
        name = type(self).__name__
        x = _as_array(img, name)
        _check_ndim(x, 3, name)
        return tuple(c[0].copy() for c in self._crops(x[None]))

    def _apply(self, x: np.ndarray) -> np.ndarray:
        return np.stack(self._crops(x))

    def extra_repr(self) -> str:
        return f"size={self.size}"


class TenCrop(FiveCrop):
    """Five crops of the image and five of its flipped copy (torchvision's ``TenCrop``).

    ``batch`` returns an array of shape (10, N, C, h, w).

    Args:
        size: an int (square crops) or (h, w).
        vertical_flip: flip top-bottom instead of left-right for the second five.
    """

    ncrops = 10

    def __init__(self, size: Union[int, Sequence[int]], vertical_flip: bool = False) -> None:
        super().__init__(size)
        self.vertical_flip = bool(vertical_flip)

    def _crops(self, x: np.ndarray) -> List[np.ndarray]:
        flipped = x[:, :, ::-1, :] if self.vertical_flip else x[:, :, :, ::-1]
        return super()._crops(x) + super()._crops(flipped)

    def extra_repr(self) -> str:
        return f"size={self.size}, vertical_flip={self.vertical_flip}"
