"""Geometric transforms: one vectorised inverse-mapping warp (``warp_affine``) shared by
resizing, rotation and affine maps; padding and flips."""
from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple, Union

import numpy as np

from ember.data import _rng
from ember.data.transforms._checks import (_Fill, _as_array, _cast_like, _check_fill,
                                           _check_interpolation, _check_ndim, _check_padding_mode,
                                           _check_prob, _degrees_range, _fill_array, _fmt,
                                           _is_number, _pad_batch, _padding4, _size_pair,
                                           _work_dtype)
from ember.data.transforms.base import Transform

__all__ = [
    "warp_affine", "Resize", "Pad", "RandomHorizontalFlip", "RandomVerticalFlip", "RandomRotation",
    "RandomAffine",
]


def warp_affine(batch: Any, matrices: Any, out_hw: Tuple[int, int],
                interpolation: str = "bilinear", fill: _Fill = 0, *,
                padding_mode: str = "constant", src_box: Optional[np.ndarray] = None
                ) -> np.ndarray:
    """Warp a batch by inverse mapping: output pixel (x, y) samples the input at ``M @ (x, y, 1)``.

    Coordinates are pixel indices (x = column, y = row, pixel centres at integers). All samples
    are warped in one vectorised pass; when every matrix is axis-aligned (resizing, cropping,
    translating) the warp is done separably, rows then columns.

    Args:
        batch: (N, C, H, W) array (or ember Tensor).
        matrices: (N, 2, 3) or (2, 3) output-to-input affine matrices.
        out_hw: the output size (height, width).
        interpolation: ``'nearest'`` (the nearest pixel, ``floor(v + 0.5)``) or ``'bilinear'``.
        fill: value (or one value per channel) for samples outside the input
            (``padding_mode='constant'``).
        padding_mode: ``'constant'`` (outside is ``fill``; a bilinear sample blends the in-image
            neighbours with ``fill``, as torchvision) or ``'border'`` (coordinates are clamped to
            the image, as ``torch.nn.functional.interpolate`` does).
        src_box: optional (N, 4) ``(x_min, y_min, x_max, y_max)`` integer boxes inside the
            image that replace its bounds for ``'border'`` clamping (to resize a crop without
            cropping first).

    Returns:
        (N, C, out_h, out_w) array of the input dtype (integers are rounded).
    """
    name = "warp_affine"
    x = _as_array(batch, name)
    _check_ndim(x, 4, name)
    interpolation = _check_interpolation(interpolation, name)
    if padding_mode not in ("constant", "border"):
        raise ValueError(f"{name}: padding_mode must be 'constant' or 'border', "
                         f"got {padding_mode!r}")
    oh, ow = _size_pair(out_hw if isinstance(out_hw, (int, np.integer)) else tuple(out_hw),
                        name, "out_hw")
    n, c, h, w = x.shape
    m = np.asarray(matrices, dtype=np.float64)
    if m.shape == (2, 3):
        m = np.broadcast_to(m, (n, 2, 3))
    if m.shape != (n, 2, 3):
        raise ValueError(f"{name}: matrices must have shape ({n}, 2, 3) or (2, 3), "
                         f"got {m.shape}")
    bilinear = interpolation == "bilinear"
    wd = _work_dtype(x.dtype)
    src = x.astype(wd, copy=False) if bilinear else x
    # Pad so that every index used below is valid without masks: 'constant' adds a ring of
    # fill (coordinates are clamped onto it, index -1 and w) plus one more column/row on the
    # right/bottom for the second bilinear neighbour; 'border' needs only that extra one.
    if padding_mode == "constant":
        src = _pad_batch(src, (1, 1, 2, 2), _check_fill(fill, name), "constant", name)
        lo_x, lo_y, hi_x, hi_y = -1.0, -1.0, float(w), float(h)
        off = 1
    else:
        src = _pad_batch(src, (0, 0, 1, 1), 0, "edge", name)
        if src_box is None:
            lo_x, lo_y, hi_x, hi_y = 0.0, 0.0, float(w - 1), float(h - 1)
        else:
            bx = np.asarray(src_box, dtype=np.float64).reshape(n, 4)
            if (bx[:, :2] < 0).any() or (bx[:, 2] > w - 1).any() or (bx[:, 3] > h - 1).any():
                raise ValueError(f"{name}: src_box must lie inside the {h}x{w} image")
            lo_x, lo_y, hi_x, hi_y = (bx[:, k:k + 1] for k in range(4))
        off = 0
    hp, wp = src.shape[2], src.shape[3]

    def coords(s: np.ndarray, lo: Any, hi: Any) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        """Padded integer index of the (first) neighbour and the bilinear weight; ``s`` is
        overwritten (it becomes the weight)."""
        if isinstance(lo, np.ndarray) and s.ndim == 3:
            lo, hi = lo[:, :, None], hi[:, :, None]
        np.clip(s, lo, hi, out=s)
        if not bilinear:
            s += 0.5
            np.floor(s, out=s)
            i = s.astype(np.intp)
            if off:
                i += off
            return i, None
        i0 = np.floor(s)
        s -= i0
        i = i0.astype(np.intp)
        if off:
            i += off
        return i, s.astype(wd, copy=False)

    def lerp(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> np.ndarray:
        b -= a
        b *= f
        b += a
        return b

    xs = np.arange(ow, dtype=np.float64)
    ys = np.arange(oh, dtype=np.float64)
    if not m[:, 0, 1].any() and not m[:, 1, 0].any():
        # axis-aligned: rows then columns, each a gather along one axis
        ix, fx = coords(m[:, 0, 0, None] * xs + m[:, 0, 2, None], lo_x, hi_x)  # (N, ow)
        iy, fy = coords(m[:, 1, 1, None] * ys + m[:, 1, 2, None], lo_y, hi_y)  # (N, oh)
        shared = bool((ix == ix[0]).all() and (iy == iy[0]).all()
                      and (not bilinear or ((fx == fx[0]).all() and (fy == fy[0]).all())))

        if bilinear:
            # interpolation matrices (N, out, in): one BLAS product per axis, far cheaper
            # than gathers and broadcast lerps.
            def weights(i: np.ndarray, f: np.ndarray, size: int) -> np.ndarray:
                a = np.zeros(i.shape + (size,), dtype=wd)
                k = np.arange(i.shape[0])[:, None]
                o = np.arange(i.shape[1])[None, :]
                a[k, o, i] = 1 - f
                a[k, o, i + 1] += f
                return a

            if shared:
                ax, ay = weights(ix[:1], fx[:1], wp)[0], weights(iy[:1], fy[:1], hp)[0]
                cols = (src.reshape(-1, wp) @ ax.T).reshape(n * c, hp, ow)
                out = np.matmul(ay, cols).reshape(n, c, oh, ow)
            else:
                ax, ay = weights(ix, fx, wp), weights(iy, fy, hp)
                cols = np.matmul(src, ax.transpose(0, 2, 1)[:, None])
                out = np.matmul(ay[:, None], cols)
            return _cast_like(out, x.dtype)
        if shared:
            return np.take(np.take(src, iy[0], axis=2), ix[0], axis=3)
        rows = np.take_along_axis(src, iy.reshape(n, 1, oh, 1), axis=2)
        return np.take_along_axis(rows, ix.reshape(n, 1, 1, ow), axis=3)

    # general case: per-pixel coordinates, in the working precision (float32 for float32 and
    # integer images: 1e-6 of a pixel at 32 px, like torch's grid_sample)
    sx = ((m[:, 0, 0, None, None] * xs).astype(wd)
          + (m[:, 0, 1, None, None] * ys[:, None] + m[:, 0, 2, None, None]).astype(wd))
    sy = ((m[:, 1, 0, None, None] * xs).astype(wd)
          + (m[:, 1, 1, None, None] * ys[:, None] + m[:, 1, 2, None, None]).astype(wd))
    ix, fx = coords(sx, lo_x, hi_x)  # (N, oh, ow)
    iy, fy = coords(sy, lo_y, hi_y)
    iy *= wp
    iy += ix
    iy += (np.arange(n, dtype=np.intp) * (c * hp * wp))[:, None, None]
    lin = iy.reshape(n, 1, -1)
    if c > 1:
        lin = lin + (np.arange(c, dtype=np.intp) * (hp * wp))[None, :, None]
    flat = src.reshape(-1)
    if not bilinear:
        return np.take(flat, lin).reshape(n, c, oh, ow)
    fx = fx.reshape(n, 1, -1)
    fy = fy.reshape(n, 1, -1)
    # the other neighbours are at +1, +wp, +wp+1: gather from shifted views of the same array
    top = lerp(np.take(flat, lin), np.take(flat[1:], lin), fx)
    bot = lerp(np.take(flat[wp:], lin), np.take(flat[wp + 1:], lin), fx)
    return _cast_like(lerp(top, bot, fy).reshape(n, c, oh, ow), x.dtype)


def _inverse_affine(angle: np.ndarray, tx: np.ndarray, ty: np.ndarray, scale: np.ndarray,
                    shear_x: np.ndarray, shear_y: np.ndarray,
                    center: Tuple[float, float]) -> np.ndarray:
    """torchvision's ``_get_inverse_affine_matrix``, vectorised: (N, 2, 3), centred coords."""
    rot = np.radians(angle)
    sx = np.radians(shear_x)
    sy = np.radians(shear_y)
    cx, cy = center
    a = np.cos(rot - sy) / np.cos(sy)
    b = -np.cos(rot - sy) * np.tan(sx) / np.cos(sy) - np.sin(rot)
    c = np.sin(rot - sy) / np.cos(sy)
    d = -np.sin(rot - sy) * np.tan(sx) / np.cos(sy) + np.cos(rot)
    m = np.empty(angle.shape + (2, 3), dtype=np.float64)
    m[:, 0, 0], m[:, 0, 1] = d / scale, -b / scale
    m[:, 1, 0], m[:, 1, 1] = -c / scale, a / scale
    m[:, 0, 2] = m[:, 0, 0] * (-cx - tx) + m[:, 0, 1] * (-cy - ty) + cx
    m[:, 1, 2] = m[:, 1, 0] * (-cx - tx) + m[:, 1, 1] * (-cy - ty) + cy
    return m


def _centred_to_index(m: np.ndarray, in_hw: Tuple[int, int],
                      out_hw: Tuple[int, int]) -> np.ndarray:
    """Re-express a matrix on coordinates centred on the images as one on pixel indices."""
    cin = np.array([(in_hw[1] - 1) / 2.0, (in_hw[0] - 1) / 2.0])
    cout = np.array([(out_hw[1] - 1) / 2.0, (out_hw[0] - 1) / 2.0])
    out = m.copy()
    out[:, :, 2] = m[:, :, 2] + cin - m[:, :, :2] @ cout
    return out


def _centre_arg(center: Any, h: int, w: int) -> Tuple[float, float]:
    """torchvision's center (x, y) in continuous image coordinates -> centred coordinates."""
    if center is None:
        return (0.0, 0.0)
    return (float(center[0]) - w * 0.5, float(center[1]) - h * 0.5)


def _check_center(center: Any, name: str) -> Optional[Tuple[float, float]]:
    if center is None:
        return None
    if not (isinstance(center, (tuple, list)) and len(center) == 2
            and all(_is_number(v) for v in center)):
        raise TypeError(f"{name}: center must be None or a sequence (x, y) of 2 numbers, "
                        f"got {center!r}")
    return (float(center[0]), float(center[1]))


def _resize_matrices(n: int, box: np.ndarray, out_hw: Tuple[int, int],
                     interpolation: str) -> np.ndarray:
    """Matrices mapping an (out_h, out_w) grid onto boxes (x0, y0, w, h) of the input, as
    ``interpolate(align_corners=False)``: bilinear samples at ``(dst + 0.5) * s - 0.5``,
    nearest takes ``floor(dst * s)``."""
    oh, ow = out_hw
    bx = np.broadcast_to(np.asarray(box, dtype=np.float64), (n, 4))
    sx = bx[:, 2] / ow
    sy = bx[:, 3] / oh
    m = np.zeros((n, 2, 3), dtype=np.float64)
    m[:, 0, 0] = sx
    m[:, 1, 1] = sy
    if interpolation == "bilinear":
        m[:, 0, 2] = bx[:, 0] + 0.5 * sx - 0.5
        m[:, 1, 2] = bx[:, 1] + 0.5 * sy - 0.5
    else:  # the warp rounds with floor(v + 0.5)
        m[:, 0, 2] = bx[:, 0] - 0.5
        m[:, 1, 2] = bx[:, 1] - 0.5
    return m


def _resize_boxes(x: np.ndarray, box: np.ndarray, out_hw: Tuple[int, int],
                  interpolation: str) -> np.ndarray:
    """Resize the (x0, y0, w, h) box of every sample to ``out_hw`` (crop-then-resize)."""
    n = x.shape[0]
    bx = np.broadcast_to(np.asarray(box, dtype=np.float64), (n, 4))
    m = _resize_matrices(n, bx, out_hw, interpolation)
    lim = np.stack([bx[:, 0], bx[:, 1], bx[:, 0] + bx[:, 2] - 1, bx[:, 1] + bx[:, 3] - 1], 1)
    return warp_affine(x, m, out_hw, interpolation, padding_mode="border", src_box=lim)



# ------------------------------------------------------------------------------ geometry
class Resize(Transform):
    """Resize to ``size`` (torchvision's ``Resize``, without antialiasing).

    Bilinear resizing equals ``torch.nn.functional.interpolate(mode='bilinear',
    align_corners=False, antialias=False)``; nearest equals mode ``'nearest'`` (source index
    ``floor(dst * in / out)``).

    Args:
        size: an int (the smaller edge becomes ``size``, keeping the aspect ratio) or (h, w).
        interpolation: ``'bilinear'`` (default) or ``'nearest'``.
    """

    def __init__(self, size: Union[int, Sequence[int]],
                 interpolation: str = "bilinear") -> None:
        _size_pair(size, "Resize")
        self.size = size
        self._edge = (isinstance(size, (int, np.integer))
                      or (isinstance(size, (tuple, list)) and len(size) == 1))
        self.interpolation = _check_interpolation(interpolation, "Resize")

    def output_size(self, h: int, w: int) -> Tuple[int, int]:
        """The output (height, width) for an (h, w) input."""
        if not self._edge:
            return _size_pair(self.size, "Resize")
        s = _size_pair(self.size, "Resize")[0]
        short, long = (w, h) if w <= h else (h, w)
        new_short, new_long = s, int(s * long / short)
        return (new_long, new_short) if w <= h else (new_short, new_long)

    def _apply(self, x: np.ndarray) -> np.ndarray:
        h, w = x.shape[2:]
        out_hw = self.output_size(h, w)
        if out_hw == (h, w):
            return x.copy()
        return _resize_boxes(x, np.array([0, 0, w, h]), out_hw, self.interpolation)

    def extra_repr(self) -> str:
        return f"size={_fmt(self.size)}, interpolation={self.interpolation}"


class Pad(Transform):
    """Pad the borders (torchvision's ``Pad``).

    Args:
        padding: an int (all sides), (left/right, top/bottom) or (left, top, right, bottom).
        fill: constant value, or one per channel (``padding_mode='constant'`` only).
        padding_mode: ``'constant'``, ``'edge'``, ``'reflect'`` (mirror without repeating the
            edge) or ``'symmetric'`` (mirror repeating the edge), as ``np.pad``'s modes.
    """

    def __init__(self, padding: Union[int, Sequence[int]], fill: _Fill = 0,
                 padding_mode: str = "constant") -> None:
        self.padding = padding
        self._ltrb = _padding4(padding, "Pad")
        self.fill = _check_fill(fill, "Pad")
        self.padding_mode = _check_padding_mode(padding_mode, "Pad")

    def _apply(self, x: np.ndarray) -> np.ndarray:
        out = _pad_batch(x, self._ltrb, self.fill, self.padding_mode, "Pad")
        return out.copy() if out is x else out

    def extra_repr(self) -> str:
        return f"padding={_fmt(self.padding)}, fill={self.fill}, padding_mode={self.padding_mode}"


class _RandomFlip(Transform):
    _axis = -1

    def __init__(self, p: float = 0.5) -> None:
        self.p = _check_prob(p, type(self).__name__)

    def _apply(self, x: np.ndarray) -> np.ndarray:
        return self._flip_inplace(x.copy())

    def _batch_owned(self, imgs: np.ndarray) -> np.ndarray:
        _check_ndim(imgs, 4, f"{type(self).__name__}.batch")
        return self._flip_inplace(imgs)

    def _flip_inplace(self, x: np.ndarray) -> np.ndarray:
        idx = np.flatnonzero(_rng.current().random(x.shape[0]) < self.p)
        if idx.size == x.shape[0]:
            x[...] = np.flip(x, self._axis).copy()
        elif idx.size:
            x[idx] = np.flip(x[idx], self._axis)
        return x

    def extra_repr(self) -> str:
        return f"p={self.p}"


class RandomHorizontalFlip(_RandomFlip):
    """Flip left-right with probability ``p`` (default 0.5), independently per sample.

    Args:
        p: the probability of a flip, in [0, 1].
    """

    _axis = -1


class RandomVerticalFlip(_RandomFlip):
    """Flip top-bottom with probability ``p`` (default 0.5), independently per sample.

    Args:
        p: the probability of a flip, in [0, 1].
    """

    _axis = -2


class RandomRotation(Transform):
    """Rotate by a random angle, counter-clockwise (torchvision's ``RandomRotation``).

    Args:
        degrees: a number d (angles from [-d, d]) or (min, max).
        interpolation: ``'nearest'`` (default) or ``'bilinear'``.
        expand: must be False (an expanded output would differ in size per sample).
        center: (x, y) rotation centre in continuous image coordinates (the top-left corner of
            the image is (0, 0), a pixel is 1 wide); default the image centre (w/2, h/2).
        fill: value (or one per channel) for the area outside the rotated image.
    """

    def __init__(self, degrees: Union[float, Sequence[float]], interpolation: str = "nearest",
                 expand: bool = False, center: Optional[Sequence[float]] = None,
                 fill: _Fill = 0) -> None:
        self.degrees = _degrees_range(degrees, "RandomRotation")
        self.interpolation = _check_interpolation(interpolation, "RandomRotation")
        if expand:
            raise ValueError("RandomRotation: expand=True is not supported (samples of a batch "
                             "would get different output sizes); use expand=False")
        self.expand = False
        self.center = _check_center(center, "RandomRotation")
        self.fill = _check_fill(fill, "RandomRotation")

    def _apply(self, x: np.ndarray) -> np.ndarray:
        n, _, h, w = x.shape
        angle = _rng.current().uniform(self.degrees[0], self.degrees[1], size=n)
        zeros = np.zeros(n)
        # torchvision's rotate passes -angle to the (clockwise) affine matrix
        m = _inverse_affine(-angle, zeros, zeros, np.ones(n), zeros, zeros,
                            _centre_arg(self.center, h, w))
        m = _centred_to_index(m, (h, w), (h, w))
        _fill_array(self.fill, x.shape[1], x.dtype, type(self).__name__)  # names us on error
        return warp_affine(x, m, (h, w), self.interpolation, self.fill)

    def extra_repr(self) -> str:
        return (f"degrees={list(self.degrees)}, interpolation={self.interpolation}, "
                f"expand={self.expand}, center={self.center}, fill={self.fill}")


class RandomAffine(Transform):
    """Random rotation, translation, scale and shear (torchvision's ``RandomAffine``).

    As in torchvision, a positive angle of this transform turns the image clockwise (the ranges
    are usually symmetric); translations are whole pixels.

    Args:
        degrees: a number d (angles from [-d, d]) or (min, max); 0 for none.
        translate: optional (a, b): horizontal shift from [-a*W, a*W], vertical from
            [-b*H, b*H], with a, b in [0, 1].
        scale: optional (min, max) scale factor range, both positive.
        shear: optional: a number s (x-shear from [-s, s]), (min, max) for the x-shear, or
            (xmin, xmax, ymin, ymax), in degrees.
        interpolation: ``'nearest'`` (default) or ``'bilinear'``.
        fill: value (or one per channel) for the area outside the transformed image.
        center: (x, y) centre in continuous image coordinates; default the image centre.
    """

    def __init__(self, degrees: Union[float, Sequence[float]],
                 translate: Optional[Sequence[float]] = None,
                 scale: Optional[Sequence[float]] = None,
                 shear: Optional[Union[float, Sequence[float]]] = None,
                 interpolation: str = "nearest", fill: _Fill = 0,
                 center: Optional[Sequence[float]] = None) -> None:
        name = "RandomAffine"
        self.degrees = _degrees_range(degrees, name)
        if translate is not None:
            if not (isinstance(translate, (tuple, list)) and len(translate) == 2
                    and all(_is_number(t) for t in translate)):
                raise TypeError(f"{name}: translate must be a sequence of 2 numbers, "
                                f"got {translate!r}")
            if not all(0.0 <= t <= 1.0 for t in translate):
                raise ValueError(f"{name}: translate values must be in [0, 1], got {translate}")
            translate = (float(translate[0]), float(translate[1]))
        self.translate = translate
        if scale is not None:
            if not (isinstance(scale, (tuple, list)) and len(scale) == 2
                    and all(_is_number(s) for s in scale)):
                raise TypeError(f"{name}: scale must be a sequence of 2 numbers, got {scale!r}")
            if not (0 < scale[0] <= scale[1]):
                raise ValueError(f"{name}: scale must be (min, max) with 0 < min <= max, "
                                 f"got {scale}")
            scale = (float(scale[0]), float(scale[1]))
        self.scale = scale
        if shear is not None:
            if _is_number(shear):
                shear = _degrees_range(shear, name, "shear")
            elif isinstance(shear, (tuple, list)) and len(shear) == 4:
                shear = (_degrees_range(tuple(shear[:2]), name, "shear")
                         + _degrees_range(tuple(shear[2:]), name, "shear"))
            else:
                shear = _degrees_range(shear, name, "shear")
        self.shear = shear
        self.interpolation = _check_interpolation(interpolation, name)
        self.fill = _check_fill(fill, name)
        self.center = _check_center(center, name)

    def get_params(self, n: int, h: int, w: int) -> dict:
        """Draw (n,) arrays ``angle, tx, ty, scale, shear_x, shear_y`` for an (h, w) input."""
        rng = _rng.current()
        zeros = np.zeros(n)
        angle = rng.uniform(self.degrees[0], self.degrees[1], size=n)
        tx = ty = zeros
        if self.translate is not None:
            mx, my = self.translate[0] * w, self.translate[1] * h
            tx = np.round(rng.uniform(-mx, mx, size=n))
            ty = np.round(rng.uniform(-my, my, size=n))
        sc = np.ones(n) if self.scale is None else rng.uniform(*self.scale, size=n)
        shx = shy = zeros
        if self.shear is not None:
            shx = rng.uniform(self.shear[0], self.shear[1], size=n)
            if len(self.shear) == 4:
                shy = rng.uniform(self.shear[2], self.shear[3], size=n)
        return {"angle": angle, "tx": tx, "ty": ty, "scale": sc, "shear_x": shx,
                "shear_y": shy}

    def _apply(self, x: np.ndarray) -> np.ndarray:
        n, _, h, w = x.shape
        p = self.get_params(n, h, w)
        m = _inverse_affine(p["angle"], p["tx"], p["ty"], p["scale"], p["shear_x"],
                            p["shear_y"], _centre_arg(self.center, h, w))
        m = _centred_to_index(m, (h, w), (h, w))
        _fill_array(self.fill, x.shape[1], x.dtype, type(self).__name__)  # names us on error
        return warp_affine(x, m, (h, w), self.interpolation, self.fill)

    def extra_repr(self) -> str:
        return (f"degrees={list(self.degrees)}, translate={self.translate}, "
                f"scale={self.scale}, shear={self.shear}, "
                f"interpolation={self.interpolation}, fill={self.fill}")
