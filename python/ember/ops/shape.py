"""Shape ops: reshape/view, flatten, transpose/permute, squeeze/unsqueeze, expand, indexing,
cat/stack, split/chunk/unbind, pad."""
from __future__ import annotations

import math
from typing import Any, List, Sequence, Tuple, Union

import numpy as np

from ember.autograd.function import Function
from ember._limits import check_shape
from ember.ops._args import ints
from ember.ops._util import operand, unbroadcast
from ember.tensor import Tensor, _wrap_dim


def _as_tensor(x: Any) -> Tensor:
    x = operand(x)
    return x if isinstance(x, Tensor) else Tensor(x)


def _shape_args(op: str, shape: Sequence[Any]) -> Tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return ints(op, "shape", tuple(shape))


class Reshape(Function):
    @staticmethod
    def forward(ctx, a, shape):
        ctx.in_shape = a.shape
        return a.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.in_shape), None


def reshape(x: Any, *shape: Any) -> Tensor:
    """The same elements in a new shape (one dimension may be -1)."""
    x = _as_tensor(x)
    shape = _shape_args("reshape", shape)
    known = 1
    for s in shape:
        if s != -1:
            known *= s
    if shape.count(-1) > 1 or any(s < -1 for s in shape) or (
            -1 not in shape and known != x.numel()) or (
            -1 in shape and (known == 0 or x.numel() % known != 0)):
        raise ValueError(f"reshape: shape {shape} is invalid for input of shape "
                         f"{tuple(x.shape)} ({x.numel()} elements)")
    if shape == x.shape:
        return x
    return Reshape.apply(x, shape)


def view(x: Any, *shape: Any) -> Tensor:
    """Alias of :func:`reshape` (NumPy returns a view whenever the layout allows)."""
    return reshape(x, *shape)


def flatten(x: Any, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dimensions start_dim..end_dim into one."""
    x = _as_tensor(x)
    if x.ndim == 0:
        return reshape(x, 1)
    s = _wrap_dim(start_dim, x.ndim, "flatten")
    e = _wrap_dim(end_dim, x.ndim, "flatten")
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    shape = x.shape[:s] + (math.prod(x.shape[s:e + 1]),) + x.shape[e + 1:]
    return reshape(x, shape)


class Permute(Function):
    @staticmethod
    def forward(ctx, a, dims):
        ctx.inverse = tuple(np.argsort(dims))
        return np.transpose(a, dims)

    @staticmethod
    def backward(ctx, g):
        return np.transpose(g, ctx.inverse), None


def permute(x: Any, *dims: Any) -> Tensor:
    """Reorder dimensions (a strided view; no copy)."""
    x = _as_tensor(x)
    dims = _shape_args("permute", dims)
    if len(dims) != x.ndim:
        raise ValueError(f"permute: got {len(dims)} dims {dims} for a tensor with {x.ndim} "
                         "dimensions")
    dims = tuple(_wrap_dim(d, x.ndim, "permute") for d in dims)
    if sorted(dims) != list(range(x.ndim)):
        raise ValueError(f"permute: dims {dims} are not a permutation of 0..{x.ndim - 1}")
    if dims == tuple(range(x.ndim)):
        return x
    return Permute.apply(x, dims)


def transpose(x: Any, dim0: int, dim1: int) -> Tensor:
    """Swap two dimensions."""
    x = _as_tensor(x)
    if x.ndim < 2 and dim0 in (0, -1) and dim1 in (0, -1):
        return x
    d0, d1 = _wrap_dim(dim0, x.ndim, "transpose"), _wrap_dim(dim1, x.ndim, "transpose")
    dims = list(range(x.ndim))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return permute(x, *dims)


def t(x: Any) -> Tensor:
    """Transpose of a tensor with at most 2 dimensions."""
    x = _as_tensor(x)
    if x.ndim > 2:
        raise ValueError(f"t: expects a tensor with <= 2 dimensions, got {x.ndim}-D; use "
                         "transpose(dim0, dim1) or permute")
    return transpose(x, 0, -1) if x.ndim == 2 else x


def squeeze(x: Any, dim: Union[None, int, Sequence[int]] = None) -> Tensor:
    """Remove dimensions of size 1 (all of them, or those in ``dim`` that have size 1)."""
    x = _as_tensor(x)
    if dim is None:
        shape = tuple(s for s in x.shape if s != 1)
    else:
        dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
        dims = {_wrap_dim(d, x.ndim, "squeeze") for d in dims} if x.ndim else set()
        shape = tuple(s for i, s in enumerate(x.shape) if not (i in dims and s == 1))
    return reshape(x, shape)


def unsqueeze(x: Any, dim: int) -> Tensor:
    """Insert a dimension of size 1 at ``dim`` (in [-ndim-1, ndim])."""
    x = _as_tensor(x)
    d = _wrap_dim(dim, x.ndim + 1, "unsqueeze")
    return reshape(x, x.shape[:d] + (1,) + x.shape[d:])


class Expand(Function):
    @staticmethod
    def forward(ctx, a, shape):
        ctx.in_shape = a.shape
        return np.broadcast_to(a, shape)

    @staticmethod
    def backward(ctx, g):
        from ember.ops._util import unbroadcast

        return unbroadcast(g, ctx.in_shape), None


def expand(x: Any, *sizes: Any) -> Tensor:
    """Broadcast to ``sizes`` without copying (-1 keeps a dimension)."""
    x = _as_tensor(x)
    sizes = _shape_args("expand", sizes)
    if len(sizes) < x.ndim:
        raise ValueError(f"expand: the number of sizes {len(sizes)} must be >= the tensor's "
                         f"{x.ndim} dimensions")
    lead = len(sizes) - x.ndim
    shape = tuple(x.shape[i - lead] if (s == -1 and i >= lead) else s
                  for i, s in enumerate(sizes))
    try:
        np.broadcast_shapes(x.shape, shape)
        if np.broadcast_shapes(x.shape, shape) != shape:
            raise ValueError
    except ValueError:
        raise ValueError(f"expand: cannot expand shape {tuple(x.shape)} to {sizes}") from None
    if shape == x.shape:
        return x
    return Expand.apply(x, shape)


# ------------------------------------------------------------------------ indexing
def normalize_index(index: Any) -> Any:
    """Replace tensors (and lists) inside an index by NumPy arrays."""
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, list):
        return np.asarray([i.item() if isinstance(i, Tensor) else i for i in index])
    if isinstance(index, tuple):
        return tuple(normalize_index(i) for i in index)
    return index


def _is_basic(index: Any) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or isinstance(i, (slice, int, np.integer))
               for i in items)


class GetItem(Function):
    @staticmethod
    def forward(ctx, a, index, basic):
        ctx.args = (a.shape, a.dtype, index, basic)
        return np.asarray(a[index])

    @staticmethod
    def backward(ctx, g):
        shape, dtype, index, basic = ctx.args
        grad = np.zeros(shape, dtype=g.dtype)
        if basic:
            grad[index] = g
        else:
            np.add.at(grad, index, g)  # repeated indices accumulate
        return grad, None, None


def getitem(x: Tensor, index: Any) -> Tensor:
    """``x[index]`` with NumPy semantics (basic slicing and integer/bool array indexing)."""
    index = normalize_index(index)
    try:
        x.data[index]  # validate early for a clear error (cheap: views or small copies)
    except IndexError as exc:
        raise IndexError(f"index {index!r} is invalid for a tensor of shape "
                         f"{tuple(x.shape)}: {exc}") from None
    return GetItem.apply(x, index, _is_basic(index))


class SetItem(Function):
    """``out = a`` with ``out[index] = value`` (the out-of-place form of ``a[index] = value``,
    used for differentiable assignment into a non-leaf tensor)."""

    @staticmethod
    def forward(ctx, a, value, index):
        ctx.args = (index, np.shape(value))
        out = a.copy()
        out[index] = value
        return out

    @staticmethod
    def backward(ctx, g):
        index, vshape = ctx.args
        na, nv = ctx.needs_input_grad[:2]
        ga = gv = None
        if na:
            ga = g.copy()
            ga[index] = 0
        if nv:
            gv = unbroadcast(np.asarray(g[index]), vshape)
        return ga, gv, None


def setitem(x: Tensor, index: Any, value: Any) -> Tensor:
    """A copy of ``x`` with ``[index] = value`` (differentiable in both)."""
    index = normalize_index(index)
    if not isinstance(value, Tensor):
        value = Tensor._wrap(np.asarray(value, dtype=x.dtype))
    try:
        return SetItem.apply(x, value, index)
    except (IndexError, ValueError) as exc:
        raise type(exc)(f"__setitem__: cannot assign a value of shape {tuple(value.shape)} to "
                        f"index {index!r} of a tensor of shape {tuple(x.shape)}: {exc}") from None


# ------------------------------------------------------------------------ joining
class Cat(Function):
    @staticmethod
    def forward(ctx, *arrays, dim):
        ctx.dim = dim
        ctx.bounds = np.cumsum([a.shape[dim] for a in arrays])[:-1]
        return np.concatenate(arrays, axis=dim)

    @staticmethod
    def backward(ctx, g):
        return tuple(np.split(g, ctx.bounds, axis=ctx.dim))


def _tensors(op: str, tensors: Sequence[Any]) -> List[Tensor]:
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{op}: expected a sequence of tensors, got {type(tensors).__name__}")
    if len(tensors) == 0:
        raise ValueError(f"{op}: expected a non-empty sequence of tensors")
    return [_as_tensor(t) for t in tensors]


def cat(tensors: Sequence[Any], dim: int = 0) -> Tensor:
    """Concatenate along an existing dimension; other dimensions must match."""
    ts = _tensors("cat", tensors)
    ndim = ts[0].ndim
    if ndim == 0:
        raise ValueError("cat: zero-dimensional tensors cannot be concatenated")
    d = _wrap_dim(dim, ndim, "cat")
    ref = ts[0].shape
    for i, t in enumerate(ts):
        if t.ndim != ndim or t.shape[:d] + t.shape[d + 1:] != ref[:d] + ref[d + 1:]:
            raise ValueError(f"cat: tensor {i} has shape {tuple(t.shape)} but tensor 0 has "
                             f"shape {tuple(ref)}; sizes must match except in dimension {d}")
    return Cat.apply(*ts, dim=d)


def stack(tensors: Sequence[Any], dim: int = 0) -> Tensor:
    """Join along a new dimension; all shapes must be equal."""
    ts = _tensors("stack", tensors)
    for i, t in enumerate(ts):
        if t.shape != ts[0].shape:
            raise ValueError(f"stack: tensor {i} has shape {tuple(t.shape)} but tensor 0 has "
                             f"shape {tuple(ts[0].shape)}; all must be equal")
    d = _wrap_dim(dim, ts[0].ndim + 1, "stack")
    return cat([unsqueeze(t, d) for t in ts], dim=d)


def split(x: Tensor, split_size_or_sections: Union[int, Sequence[int]],
          dim: int = 0) -> Tuple[Tensor, ...]:
    """Split into chunks of ``split_size`` (last may be smaller) or of the given sizes."""
    x = _as_tensor(x)
    d = _wrap_dim(dim, x.ndim, "split")
    n = x.shape[d]
    if isinstance(split_size_or_sections, (int, np.integer)):
        size = int(split_size_or_sections)
        if size <= 0:
            raise ValueError(f"split: split_size must be positive, got {size}")
        sizes = [min(size, n - s) for s in range(0, n, size)] or [0]
    else:
        sizes = list(ints("split", "split_size_or_sections", split_size_or_sections))
        if sum(sizes) != n or any(s < 0 for s in sizes):
            raise ValueError(f"split: sections {sizes} do not add up to the size {n} of "
                             f"dimension {d}")
    out, start = [], 0
    for s in sizes:
        idx = (slice(None),) * d + (slice(start, start + s),)
        out.append(getitem(x, idx))
        start += s
    return tuple(out)


def chunk(x: Tensor, chunks: int, dim: int = 0) -> Tuple[Tensor, ...]:
    """Split into ``chunks`` pieces of ceil(n / chunks) (the last may be smaller)."""
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    x = _as_tensor(x)
    n = x.shape[_wrap_dim(dim, x.ndim, "chunk")]
    return split(x, max(1, -(-n // chunks)), dim)


def unbind(x: Tensor, dim: int = 0) -> Tuple[Tensor, ...]:
    """The slices along ``dim``, with that dimension removed."""
    x = _as_tensor(x)
    d = _wrap_dim(dim, x.ndim, "unbind")
    return tuple(getitem(x, (slice(None),) * d + (i,)) for i in range(x.shape[d]))


# ------------------------------------------------------------------------ padding
_NP_PAD_MODE = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _source_index(n: int, before: int, after: int, mode: str) -> np.ndarray:
    """For each position of a padded axis, the input position it copies."""
    pos = np.arange(-before, n + after)
    if mode == "replicate":
        return np.clip(pos, 0, n - 1)
    if mode == "circular":
        return pos % n
    period = 2 * (n - 1)  # reflect (edge not repeated)
    pos = np.abs(pos) % period if period else np.zeros_like(pos)
    return np.where(pos >= n, period - pos, pos)


class Pad(Function):
    @staticmethod
    def forward(ctx, a, widths, mode, value):
        ctx.args = (a.shape, widths, mode)
        if mode == "constant":
            return np.pad(a, widths, mode="constant", constant_values=value)
        return np.pad(a, widths, mode=_NP_PAD_MODE[mode])

    @staticmethod
    def backward(ctx, g):
        shape, widths, mode = ctx.args
        if mode == "constant":
            idx = tuple(slice(b, b + n) for (b, _), n in zip(widths, shape))
            return g[idx], None, None, None
        for axis, ((b, e), n) in enumerate(zip(widths, shape)):
            if b == 0 and e == 0:
                continue
            src = _source_index(n, b, e, mode)
            moved = np.moveaxis(g, axis, 0)
            acc = np.zeros((n,) + moved.shape[1:], dtype=g.dtype)
            np.add.at(acc, src, moved)
            g = np.moveaxis(acc, 0, axis)
        return g, None, None, None


def pad(x: Tensor, pad: Sequence[int], mode: str = "constant", value: float = 0.0) -> Tensor:
    """Pad the last len(pad)/2 dimensions, PyTorch order: (left, right, top, bottom, ...).

    Modes: 'constant' (with ``value``), 'reflect', 'replicate', 'circular'.
    """
    x = _as_tensor(x)
    pad = list(ints("pad", "pad", pad))
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: pad {tuple(pad)} must have an even length of at most 2 x "
                         f"ndim ({2 * x.ndim})")
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise ValueError(f"pad: mode must be 'constant', 'reflect', 'replicate' or "
                         f"'circular', got {mode!r}")
    if any(p < 0 for p in pad):
        raise ValueError(f"pad: negative padding {tuple(pad)} is not supported")
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    for axis, (b, e) in enumerate(widths):
        n = x.shape[axis]
        if mode == "reflect" and (b >= n or e >= n):
            raise ValueError(f"pad: reflect padding ({b}, {e}) must be smaller than the size "
                             f"{n} of dimension {axis}")
        if mode == "circular" and (b > n or e > n):
            raise ValueError(f"pad: circular padding ({b}, {e}) must be at most the size {n} "
                             f"of dimension {axis}")
        if mode == "replicate" and n == 0 and (b or e):
            raise ValueError(f"pad: cannot replicate-pad an empty dimension {axis}")
    check_shape("pad", [n + b + e for n, (b, e) in zip(x.shape, widths)])
    return Pad.apply(x, tuple(widths), mode, value)
