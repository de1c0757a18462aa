"""``Tensor``: a NumPy array plus what autograd needs (``requires_grad``, ``grad``, the node
that produced it). Operations live in ``ember.ops``; the methods here delegate to them."""
from __future__ import annotations

import weakref
from typing import Any, Callable, Optional, Sequence, Tuple, Union

import numpy as np

from ember import _device, _limits
from ember.autograd.grad_mode import is_grad_enabled

DEFAULT_DTYPE = np.dtype(np.float32)
_ALLOWED_KINDS = "fiub"  # float, signed int, unsigned int, bool

DTypeLike = Any
Shape = Tuple[int, ...]


def _to_dtype(dtype: DTypeLike) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"unsupported dtype {dtype!r}") from exc
    if dt.kind not in _ALLOWED_KINDS:
        raise TypeError(f"unsupported dtype {dt} (expected a float, integer or bool type)")
    return dt


def _as_array(data: Any, dtype: DTypeLike = None, copy: bool = True) -> np.ndarray:
    """NumPy array for ``data`` with PyTorch's dtype inference: Python floats -> float32."""
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, (np.ndarray, np.generic)):  # NumPy keeps its dtype (float64 stays)
        arr = np.array(data, dtype=dtype, copy=True) if copy else np.asarray(data, dtype=dtype)
    else:
        if isinstance(data, (list, tuple)) and any(isinstance(x, Tensor) for x in data):
            _refuse_tensor_sequence("tensor", data)
            data = [x.data if isinstance(x, Tensor) else x for x in data]
        arr = np.array(data, dtype=dtype)
        if dtype is None and arr.dtype == np.float64:
            arr = arr.astype(DEFAULT_DTYPE)
    if arr.dtype.kind not in _ALLOWED_KINDS:
        raise TypeError(f"tensor: unsupported data type {arr.dtype} (expected numbers)")
    return arr


def _refuse_tensor_sequence(op: str, seq: Sequence[Any]) -> None:
    """A list/tuple holding Tensors of more than one value is not data to convert: stacking
    it silently would give a wrong shape and cut the gradient (as torch.tensor refuses)."""
    for x in seq:
        if isinstance(x, Tensor) and x.data.size != 1:
            raise TypeError(
                f"{op}: expected a Tensor (or numbers), got a {type(seq).__name__} of "
                f"{len(seq)} elements holding a Tensor of shape {tuple(x.shape)}; unpack a "
                "(values, indices) pair from max/min/sort first, or stack tensors with "
                "ember.stack")


def _norm_size(size: Sequence[Any], op: str) -> Shape:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    shape = []
    for s in size:
        if isinstance(s, Tensor) and s.ndim == 0 and s.dtype.kind in "iu":
            s = s.item()
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
            raise TypeError(f"{op}: size must be a sequence of integers, got {tuple(size)!r} (an "
                            f"element of type {type(s).__name__})")
        shape.append(int(s))
    shape = tuple(shape)
    if any(s < 0 for s in shape):
        raise ValueError(f"{op}: size must be non-negative, got {shape}")
    _limits.check_shape(op, shape, "the tensor")
    return shape


class Tensor:
    """An n-dimensional array that can record the operations applied to it.

    Args:
        data: array-like (lists, scalars, NumPy arrays). NumPy arrays are wrapped without a copy.
        dtype: NumPy dtype or ``ember.float32`` etc.; Python floats default to float32.
        requires_grad: record operations so that ``backward()`` fills ``.grad``.
    """

    __slots__ = ("data", "grad", "_requires_grad", "_ctx", "_vc", "_is_view", "_retains_grad",
                 "__weakref__")
    __array_priority__ = 1000  # ndarray <op> Tensor defers to Tensor's reflected operator

    def __init__(self, data: Any, dtype: DTypeLike = None, requires_grad: bool = False) -> None:
        self.data = _as_array(data, dtype, copy=False)
        self.grad: Optional[Tensor] = None
        self._ctx = None
        self._vc = [0]  # version counter, shared with views (see autograd/function.py)
        self._is_view = False
        self._retains_grad = False
        self._requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, arr: np.ndarray) -> "Tensor":
        """Wrap an array without checks or copies (internal fast path)."""
        t = object.__new__(cls)
        if not isinstance(arr, np.ndarray) and not hasattr(arr, "__cuda_array_interface__"):
            arr = np.asarray(arr)  # NumPy scalars; GPU (CuPy) arrays stay as they are
        t.data = arr
        t.grad = None
        t._ctx = None
        t._vc = [0]
        t._is_view = False
        t._retains_grad = False
        t._requires_grad = False
        return t

    # ----------------------------------------------------------------- basic properties
    @property
    def shape(self) -> Shape:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def device(self) -> "_device.device":
        """Where the data lives: ``device(type='cpu')`` or ``device(type='cuda', index=i)``."""
        return _device.of(self.data)

    @property
    def is_cuda(self) -> bool:
        return not isinstance(self.data, np.ndarray)

    @property
    def ndim(self) -> int:
        return self.data.ndim

    def dim(self) -> int:
        return self.data.ndim

    def size(self, dim: Optional[int] = None) -> Union[Shape, int]:
        """The shape, or the size of one dimension."""
        if dim is None:
            return self.data.shape
        return self.data.shape[_wrap_dim(dim, self.ndim, "size")]

    def numel(self) -> int:
        return int(self.data.size)

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    @property
    def requires_grad(self) -> bool:
        """Whether operations on this tensor are recorded for backward."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self.requires_grad_(value)

    @property
    def _version(self) -> int:
        """How many in-place changes this tensor (or a view sharing its memory) has seen."""
        return self._vc[0]

    @_version.setter
    def _version(self, value: int) -> None:
        self._vc[0] = value

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    @property
    def grad_fn(self):
        """The graph node (a ``Function``) that produced this tensor, or None for a leaf."""
        return self._ctx

    @property
    def is_floating_point(self) -> bool:
        return self.data.dtype.kind == "f"

    # ----------------------------------------------------------------- conversion
    def numpy(self) -> np.ndarray:
        """The underlying array (shared memory, no copy). For a tensor that requires grad the
        view is read-only: writing into it would silently corrupt gradients computed from
        it (use ``detach().numpy()``, which shares the memory writably, or ``clone()``)."""
        if not isinstance(self.data, np.ndarray):
            raise TypeError(f"numpy: can't convert {self.device} device type tensor to numpy; "
                            "use Tensor.cpu() to copy the tensor to host memory first")
        if self._requires_grad:
            view = self.data.view()
            view.flags.writeable = False
            return view
        return self.data

    def __array__(self, dtype: DTypeLike = None, copy: Optional[bool] = None) -> np.ndarray:
        if dtype is None and not copy:
            return self.numpy()
        return np.array(self.data, dtype=dtype, copy=True if copy is None else copy)

    def __dlpack__(self, *args: Any, **kwargs: Any) -> Any:
        """A DLPack capsule of the data (zero-copy; ``np.from_dlpack``, ``torch.from_dlpack``
        and CuPy read it). Refused for a tensor that requires grad, as torch does."""
        if self._requires_grad:
            raise RuntimeError("__dlpack__: can't export a tensor that requires grad; use "
                               "tensor.detach()")
        return self.data.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self) -> Tuple[int, int]:
        return self.data.__dlpack_device__()

    @property
    def __cuda_array_interface__(self) -> dict:
        """The GPU array's interface (CuPy, Numba, torch read it); absent on the CPU."""
        iface = getattr(self.data, "__cuda_array_interface__", None)
        if iface is None:
            raise AttributeError("__cuda_array_interface__: the tensor is on the CPU")
        if self._requires_grad:
            raise RuntimeError("__cuda_array_interface__: can't export a tensor that requires "
                               "grad; use tensor.detach()")
        return iface

    def item(self) -> Union[float, int, bool]:
        if self.data.size != 1:
            raise ValueError(f"item: only one-element tensors can be converted to Python "
                             f"scalars, got shape {self.shape}")
        return self.data.reshape(()).item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.data.dtype.kind not in "iu":
            raise TypeError("only integer tensors can be used as an index")
        return int(self.item())

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise RuntimeError(f"the truth value of a tensor with {self.data.size} elements is "
                               "ambiguous; use .any() or .all()")
        return bool(self.data.reshape(()))

    def to(self, *args: Any, **kwargs: Any) -> "Tensor":
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other)`` (other's device
        and dtype), or the keywords ``device=`` / ``dtype=``, as in PyTorch. Differentiable
        (between float types for a cast); returns ``self`` when nothing changes."""
        dev, dtype = _to_args("to", args, kwargs)
        out = self
        if dev is not None:
            out = ops.elementwise.to_device(out, dev)
        if dtype is not None:
            out = ops.elementwise.cast(out, _to_dtype(dtype))
        return out

    def cuda(self, device: Any = None) -> "Tensor":
        """A copy on a CUDA device (the current one by default); self when already there."""
        dev = _device.device("cuda") if device is None else _device.as_device(device, "cuda")
        if dev.type != "cuda":
            raise RuntimeError(f"cuda: expected a CUDA device, got {dev}")
        return ops.elementwise.to_device(self, dev)

    def float(self) -> "Tensor":
        return self.to(np.float32)

    def double(self) -> "Tensor":
        return self.to(np.float64)

    def long(self) -> "Tensor":
        return self.to(np.int64)

    def int(self) -> "Tensor":
        return self.to(np.int32)

    def bool(self) -> "Tensor":
        return self.to(np.bool_)

    def cpu(self) -> "Tensor":
        """A copy in host memory; self when already there."""
        return ops.elementwise.to_device(self, _device.CPU)

    def detach(self) -> "Tensor":
        """The same data, cut from the graph (shares memory and the version counter)."""
        t = Tensor._wrap(self.data)
        t._vc = self._vc
        t._is_view = True
        return t

    def clone(self) -> "Tensor":
        """A differentiable copy."""
        return ops.elementwise.clone(self)

    def contiguous(self) -> "Tensor":
        if self.data.flags.c_contiguous:
            return self
        return ops.elementwise.clone(self)

    def is_contiguous(self) -> bool:
        return bool(self.data.flags.c_contiguous)

    # ----------------------------------------------------------------- autograd
    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"only floating-point tensors can require gradients, got "
                            f"{self.data.dtype}")
        if not requires_grad and self._ctx is not None:
            raise RuntimeError("requires_grad can only be changed on leaf tensors (this one was "
                               "computed by an operation); use detach()")
        self._requires_grad = bool(requires_grad)
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after backward."""
        if not self._requires_grad:
            raise RuntimeError("retain_grad: the tensor does not require grad")
        if self._ctx is not None:
            self._ctx._retained = weakref.ref(self)  # weak: no tensor <-> node cycle
        self._retains_grad = True

    def backward(self, gradient: Any = None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into each leaf's ``.grad``.

        Args:
            gradient: upstream gradient, same shape as self; may be omitted for a scalar.
            retain_graph: keep the graph's saved values so that backward can run again.
        """
        if isinstance(gradient, Tensor):
            gradient = gradient.data
        from ember.autograd.engine import backward

        backward(self, gradient, retain_graph)

    # ----------------------------------------------------------------- in-place
    def _apply_inplace(self, op: str, compute: Callable[["Tensor"], Any],
                       others: Sequence[Any] = ()) -> "Tensor":
        """Overwrite this tensor's memory with ``compute(self)``.

        Without autograd involvement (grad mode off, or no tensor requiring grad) this is a
        plain in-place write. Otherwise, as in PyTorch: a leaf that requires grad is refused;
        any other tensor takes the new value *and* its history (the previous history moves to
        a stand-in holding a copy of the old values), so ``out += identity`` or
        ``y[0] = 0`` inside a model stay differentiable. Either way the version counter moves,
        so a backward that saved the old values raises instead of using the new ones.
        """
        tracked = is_grad_enabled() and (
            self._requires_grad or any(isinstance(o, Tensor) and o._requires_grad
                                       for o in others))
        if not tracked:
            from ember.autograd.grad_mode import no_grad

            with no_grad():
                new = compute(self)
            np.copyto(self.data, new.data if isinstance(new, Tensor) else new,
                      casting="same_kind")
            self._vc[0] += 1
            return self
        if self._requires_grad and self._ctx is None:
            raise RuntimeError(
                f"{op}: a leaf tensor that requires grad cannot be modified in place while grad "
                "mode is on; use the out-of-place form, or wrap it in ember.no_grad()")
        if self._is_view:
            raise RuntimeError(
                f"{op}: in-place change of a view (slice, reshape, transpose, detach ...) is "
                "not differentiable in ember; use the out-of-place form")
        old = Tensor._wrap(self.data.copy())
        old._ctx, old._requires_grad = self._ctx, self._requires_grad
        new = compute(old)
        if new.shape != self.shape:
            raise RuntimeError(f"{op}: the result has shape {tuple(new.shape)} but the tensor "
                               f"being modified has shape {tuple(self.shape)}")
        np.copyto(self.data, new.data, casting="same_kind")
        self._vc[0] += 1
        self._ctx, self._requires_grad = new._ctx, new._requires_grad
        return self

    def _overwrite(self, op: str, values: Any, others: Sequence[Any] = ()) -> "Tensor":
        """In-place write of ``values`` (broadcast); the old values get no gradient."""
        if not (is_grad_enabled() and (self._requires_grad or any(
                isinstance(o, Tensor) and o._requires_grad for o in others))):
            np.copyto(self.data, values.data if isinstance(values, Tensor) else values,
                      casting="same_kind")
            self._vc[0] += 1
            return self
        keep_new = np.ones(self.shape, dtype=bool)
        return self._apply_inplace(
            op, lambda old: ops.elementwise.where(keep_new, values, old), others)

    @staticmethod
    def _raw(x: Any) -> Any:
        return x.data if isinstance(x, Tensor) else x

    def add_(self, other: Any, alpha: float = 1.0) -> "Tensor":
        return self._apply_inplace("add_", lambda t: t + (other if alpha == 1 else other * alpha),
                                   (other,))

    def sub_(self, other: Any, alpha: float = 1.0) -> "Tensor":
        return self._apply_inplace("sub_", lambda t: t - (other if alpha == 1 else other * alpha),
                                   (other,))

    def mul_(self, other: Any) -> "Tensor":
        return self._apply_inplace("mul_", lambda t: t * other, (other,))

    def div_(self, other: Any) -> "Tensor":
        return self._apply_inplace("div_", lambda t: t / other, (other,))

    def clamp_(self, min: Any = None, max: Any = None) -> "Tensor":
        return self._apply_inplace("clamp_", lambda t: ops.elementwise.clamp(t, min, max))

    def relu_(self) -> "Tensor":
        return self._apply_inplace("relu_", lambda t: ops.elementwise.relu(t))

    def zero_(self) -> "Tensor":
        return self._overwrite("zero_", 0)

    def fill_(self, value: float) -> "Tensor":
        return self._overwrite("fill_", value, (value,))

    def copy_(self, src: Any) -> "Tensor":
        if np.shape(self._raw(src)) != self.shape:
            try:
                np.broadcast_to(self._raw(src), self.shape)
            except ValueError:
                raise ValueError(f"copy_: source of shape {np.shape(self._raw(src))} cannot be "
                                 f"broadcast to {self.shape}") from None
        if isinstance(src, Tensor) and src.dtype != self.dtype and src.dtype.kind == "f" \
                and self.dtype.kind == "f":
            src = src.to(self.dtype)
        return self._overwrite("copy_", src, (src,))

    def uniform_(self, a: float = 0.0, b: float = 1.0, generator=None) -> "Tensor":
        rng = _random.get_generator(generator)
        return self._overwrite("uniform_", rng.uniform(a, b, self.shape).astype(self.dtype))

    def normal_(self, mean: float = 0.0, std: float = 1.0, generator=None) -> "Tensor":
        rng = _random.get_generator(generator)
        return self._overwrite("normal_", rng.normal(mean, std, self.shape).astype(self.dtype))

    def __setitem__(self, index: Any, value: Any) -> None:
        if not (is_grad_enabled() and (self._requires_grad or (
                isinstance(value, Tensor) and value._requires_grad))):
            self.data[ops.shape.normalize_index(index)] = self._raw(value)
            self._vc[0] += 1
            return
        self._apply_inplace("__setitem__", lambda t: ops.shape.setitem(t, index, value),
                            (value,))

    # ----------------------------------------------------------------- arithmetic
    def __add__(self, o): return ops.elementwise.add(self, o)
    def __radd__(self, o): return ops.elementwise.add(o, self)
    def __sub__(self, o): return ops.elementwise.sub(self, o)
    def __rsub__(self, o): return ops.elementwise.sub(o, self)
    def __mul__(self, o): return ops.elementwise.mul(self, o)
    def __rmul__(self, o): return ops.elementwise.mul(o, self)
    def __truediv__(self, o): return ops.elementwise.div(self, o)
    def __rtruediv__(self, o): return ops.elementwise.div(o, self)
    def __pow__(self, o): return ops.elementwise.pow(self, o)
    def __rpow__(self, o): return ops.elementwise.pow(o, self)
    def __neg__(self): return ops.elementwise.neg(self)
    def __pos__(self): return self
    def __abs__(self): return ops.elementwise.abs(self)
    def __matmul__(self, o): return ops.linalg.matmul(self, o)
    def __rmatmul__(self, o): return ops.linalg.matmul(o, self)

    def __iadd__(self, o): return self.add_(o)
    def __isub__(self, o): return self.sub_(o)
    def __imul__(self, o): return self.mul_(o)
    def __itruediv__(self, o): return self.div_(o)

    # comparisons (not differentiable): bool tensors
    def __lt__(self, o): return Tensor._wrap(self.data < self._raw(o))
    def __le__(self, o): return Tensor._wrap(self.data <= self._raw(o))
    def __gt__(self, o): return Tensor._wrap(self.data > self._raw(o))
    def __ge__(self, o): return Tensor._wrap(self.data >= self._raw(o))
    def __eq__(self, o):
        return Tensor._wrap(np.equal(self.data, self._raw(o)))  # type: ignore[override]
    def __ne__(self, o):
        return Tensor._wrap(np.not_equal(self.data, self._raw(o)))  # type: ignore[override]
    __hash__ = object.__hash__

    def eq(self, o): return self == o
    def ne(self, o): return self != o
    def lt(self, o): return self < o
    def le(self, o): return self <= o
    def gt(self, o): return self > o
    def ge(self, o): return self >= o

    def equal(self, o: Any) -> bool:
        """True when shapes and all values are equal."""
        o = self._raw(o)
        return self.shape == np.shape(o) and bool(np.array_equal(self.data, o))

    def allclose(self, o: Any, rtol: float = 1e-5, atol: float = 1e-8) -> bool:
        return bool(np.allclose(self.data, self._raw(o), rtol=rtol, atol=atol))

    def any(self) -> "Tensor":
        return Tensor._wrap(np.asarray(self.data.any()))

    def all(self) -> "Tensor":
        return Tensor._wrap(np.asarray(self.data.all()))

    # ----------------------------------------------------------------- methods -> ops
    def add(self, o, alpha=1.0): return self + (o if alpha == 1 else o * alpha)
    def sub(self, o, alpha=1.0): return self - (o if alpha == 1 else o * alpha)
    def mul(self, o): return self * o
    def div(self, o): return self / o
    def pow(self, o): return self ** o
    def neg(self): return -self
    def matmul(self, o): return ops.linalg.matmul(self, o)
    def mm(self, o): return ops.linalg.matmul(self, o)
    def exp(self): return ops.elementwise.exp(self)
    def log(self): return ops.elementwise.log(self)
    def sqrt(self): return ops.elementwise.sqrt(self)
    def abs(self): return ops.elementwise.abs(self)
    def tanh(self): return ops.elementwise.tanh(self)
    def sigmoid(self): return ops.elementwise.sigmoid(self)
    def relu(self): return ops.elementwise.relu(self)
    def clamp(self, min=None, max=None): return ops.elementwise.clamp(self, min, max)
    clip = clamp
    def maximum(self, o): return ops.elementwise.maximum(self, o)
    def minimum(self, o): return ops.elementwise.minimum(self, o)
    def sum(self, dim=None, keepdim=False, *, axis=None):
        return ops.reduce.sum(self, dim, keepdim, axis=axis)
    def mean(self, dim=None, keepdim=False, *, axis=None):
        return ops.reduce.mean(self, dim, keepdim, axis=axis)
    def max(self, dim=None, keepdim=False, *, axis=None):
        return ops.reduce.max(self, dim, keepdim, axis=axis)
    def min(self, dim=None, keepdim=False, *, axis=None):
        return ops.reduce.min(self, dim, keepdim, axis=axis)
    def var(self, dim=None, unbiased=True, keepdim=False, *, correction=None, axis=None):
        return ops.reduce.var(self, dim, unbiased, keepdim, correction=correction, axis=axis)
    def std(self, dim=None, unbiased=True, keepdim=False, *, correction=None, axis=None):
        return ops.reduce.std(self, dim, unbiased, keepdim, correction=correction, axis=axis)
    def argmax(self, dim=None, keepdim=False, *, axis=None):
        return ops.reduce.argmax(self, dim, keepdim, axis=axis)
    def argmin(self, dim=None, keepdim=False, *, axis=None):
        return ops.reduce.argmin(self, dim, keepdim, axis=axis)
    def softmax(self, dim): return ops.activation.softmax(self, dim)
    def log_softmax(self, dim): return ops.activation.log_softmax(self, dim)
    def reshape(self, *shape): return ops.shape.reshape(self, *shape)
    def view(self, *shape): return ops.shape.view(self, *shape)
    def flatten(self, start_dim=0, end_dim=-1): return ops.shape.flatten(self, start_dim, end_dim)
    def transpose(self, dim0, dim1): return ops.shape.transpose(self, dim0, dim1)
    def t(self): return ops.shape.t(self)
    def permute(self, *dims): return ops.shape.permute(self, *dims)
    def squeeze(self, dim=None): return ops.shape.squeeze(self, dim)
    def unsqueeze(self, dim): return ops.shape.unsqueeze(self, dim)
    def expand(self, *sizes): return ops.shape.expand(self, *sizes)
    def expand_as(self, other): return ops.shape.expand(self, *other.shape)
    def view_as(self, other): return ops.shape.view(self, *other.shape)
    def reshape_as(self, other): return ops.shape.reshape(self, *other.shape)
    def split(self, split_size_or_sections, dim=0):
        return ops.shape.split(self, split_size_or_sections, dim)
    def chunk(self, chunks, dim=0): return ops.shape.chunk(self, chunks, dim)
    def unbind(self, dim=0): return ops.shape.unbind(self, dim)

    @property
    def T(self) -> "Tensor":
        """All dimensions reversed (the transpose for 2-D)."""
        return ops.shape.permute(self, *range(self.ndim - 1, -1, -1))

    def __getitem__(self, index: Any) -> "Tensor":
        return ops.shape.getitem(self, index)

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    # ----------------------------------------------------------------- repr
    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="tensor(", precision=4)
        extras = []
        if self.data.dtype not in (DEFAULT_DTYPE, np.dtype(np.int64), np.dtype(np.bool_)):
            extras.append(f"dtype=ember.{self.data.dtype}")
        if self._ctx is not None:
            extras.append(f"grad_fn=<{self._ctx.name}Backward>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"


def _wrap_dim(dim: int, ndim: int, op: str = "dim") -> int:
    """Normalise a possibly negative dimension index, with a clear error when out of range."""
    n = max(ndim, 1)
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}")
    if dim < -n or dim >= n:
        raise IndexError(f"{op}: dimension out of range (expected to be in range of "
                         f"[{-n}, {n - 1}], but got {dim})")
    return int(dim) % n


def _to_args(op: str, args: tuple, kwargs: dict) -> Tuple[Any, Any]:
    """(device or None, dtype or None) from ``to``'s PyTorch-style arguments."""
    unknown = set(kwargs) - {"device", "dtype", "non_blocking", "copy"}
    if unknown:
        raise TypeError(f"{op}: unexpected keyword argument {sorted(unknown)[0]!r}")
    dev, dtype = kwargs.get("device"), kwargs.get("dtype")
    rest = list(args)
    if rest and isinstance(rest[0], Tensor):
        other = rest.pop(0)
        dev, dtype = other.device, other.dtype
    elif rest and (_device.is_device_like(rest[0]) or isinstance(rest[0], int)
                   and not isinstance(rest[0], bool)):
        dev = rest.pop(0)
    if rest and dtype is None:
        dtype = rest.pop(0)
    if rest:
        raise TypeError(f"{op}: too many positional arguments ({len(args)}); expected "
                        "(dtype), (device[, dtype]) or (tensor)")
    if dev is not None:
        dev = _device.as_device(dev, op)
    if isinstance(dtype, str):  # a device string given where the dtype goes
        raise TypeError(f"{op}: expected a dtype, got the string {dtype!r}")
    return dev, dtype


def _placed(t: Tensor, device: Any, op: str) -> Tensor:
    """``t`` (just made in host memory) on ``device``; the factories' device= argument."""
    if device is None:
        return t
    dev = _device.as_device(device, op)
    if dev.type == "cpu":
        return t
    moved = Tensor._wrap(_device.move(t.data, dev, op))
    if t.requires_grad:
        moved.requires_grad_(True)
    return moved


# ------------------------------------------------------------------------ factories
def tensor(data: Any, dtype: DTypeLike = None, device: Any = None,
           requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (Python floats become float32, ints int64)."""
    if isinstance(data, Tensor):
        data = data.detach().cpu().data
    return _placed(Tensor(_as_array(data, dtype, copy=True), requires_grad=requires_grad),
                   device, "tensor")


def as_tensor(data: Any, dtype: DTypeLike = None, device: Any = None) -> Tensor:
    """``data`` as a tensor, without a copy when it already is an array of that dtype."""
    if isinstance(data, Tensor):
        if device is None and (dtype is None or data.dtype == np.dtype(dtype)):
            return data  # the common case, without to()'s argument parsing
        return data.to(device=device, dtype=dtype)
    return _placed(Tensor(_as_array(data, dtype, copy=False)), device, "as_tensor")


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array`` (zero-copy; changes show in both)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected numpy.ndarray, got {type(array).__name__}")
    if array.dtype.kind not in _ALLOWED_KINDS:
        raise TypeError(f"from_numpy: unsupported dtype {array.dtype}")
    return Tensor._wrap(array)


def from_dlpack(obj: Any) -> Tensor:
    """A tensor sharing memory with ``obj`` (anything with ``__dlpack__``: a torch tensor, a
    NumPy or CuPy array, another framework's tensor), on the device the data is on."""
    if not hasattr(obj, "__dlpack__"):
        raise TypeError(f"from_dlpack: expected an object with __dlpack__, got "
                        f"{type(obj).__name__}")
    kind, _ = obj.__dlpack_device__()
    if kind == 1:  # kDLCPU
        arr = np.from_dlpack(obj)
    else:
        from ember import cuda

        arr = cuda._require("from_dlpack").from_dlpack(obj)
    if arr.dtype.kind not in _ALLOWED_KINDS:
        raise TypeError(f"from_dlpack: unsupported dtype {arr.dtype}")
    return Tensor._wrap(arr)


def _factory(fill, size, dtype, requires_grad, device) -> Tensor:
    dt = _to_dtype(dtype) if dtype is not None else DEFAULT_DTYPE
    return _placed(Tensor(fill(_norm_size(size, fill.__name__), dt),
                          requires_grad=requires_grad), device, fill.__name__)


def zeros(*size: Any, dtype: DTypeLike = None, device: Any = None,
          requires_grad: bool = False) -> Tensor:
    """A tensor of zeros of the given size."""
    return _factory(np.zeros, size, dtype, requires_grad, device)


def ones(*size: Any, dtype: DTypeLike = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    """A tensor of ones of the given size."""
    return _factory(np.ones, size, dtype, requires_grad, device)


def empty(*size: Any, dtype: DTypeLike = None, device: Any = None,
          requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor of the given size."""
    return _factory(np.empty, size, dtype, requires_grad, device)


def full(size: Sequence[int], fill_value: Any, dtype: DTypeLike = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value`` (dtype inferred like ``tensor``)."""
    if dtype is None:
        dtype = _as_array(fill_value).dtype
    return _placed(Tensor(np.full(_norm_size((size,), "full"), fill_value,
                                  dtype=_to_dtype(dtype)), requires_grad=requires_grad),
                   device, "full")


def _float_dtype(op: str, dtype: DTypeLike) -> np.dtype:
    dt = _to_dtype(dtype) if dtype is not None else DEFAULT_DTYPE
    if dt.kind != "f":
        raise TypeError(f"{op}: dtype must be a floating-point type, got {dt} (use randint for "
                        "integers)")
    return dt


def rand(*size: Any, dtype: DTypeLike = None, device: Any = None,
         requires_grad: bool = False, generator=None) -> Tensor:
    """Uniform samples in [0, 1) from ember's (seeded) generator."""
    dt = _float_dtype("rand", dtype)
    arr = _random.get_generator(generator).random(_norm_size(size, "rand")).astype(dt)
    return _placed(Tensor(arr, requires_grad=requires_grad), device, "rand")


def randn(*size: Any, dtype: DTypeLike = None, device: Any = None,
          requires_grad: bool = False, generator=None) -> Tensor:
    """Standard normal samples from ember's (seeded) generator."""
    dt = _float_dtype("randn", dtype)
    arr = _random.get_generator(generator).standard_normal(_norm_size(size, "randn")).astype(dt)
    return _placed(Tensor(arr, requires_grad=requires_grad), device, "randn")


def randint(low: int, high: Any = None, size: Sequence[int] = (), dtype=np.int64,
            generator=None, device: Any = None) -> Tensor:
    """Integers uniform in [low, high); as in PyTorch ``randint(high, size)`` means low = 0."""
    if isinstance(high, (tuple, list)) and not size:  # randint(high, size)
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    if high <= low:
        raise ValueError(f"randint: expected low < high, got low={low}, high={high}")
    arr = _random.get_generator(generator).integers(low, high, _norm_size((size,), "randint"))
    return _placed(Tensor(arr.astype(_to_dtype(dtype))), device, "randint")


def randperm(n: int, generator=None, device: Any = None) -> Tensor:
    """A random permutation of 0..n-1 (int64)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"randperm: n must be an int, got {type(n).__name__}")
    if n < 0:
        raise ValueError(f"randperm: n must be non-negative, got {n}")
    return _placed(Tensor(_random.get_generator(generator).permutation(int(n)).astype(np.int64)),
                   device, "randperm")


def arange(start: float, end: Optional[float] = None, step: float = 1, dtype: DTypeLike = None,
           device: Any = None, requires_grad: bool = False) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive) by ``step``; int64 when all are ints."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        is_int = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = np.int64 if is_int else DEFAULT_DTYPE
    return _placed(Tensor(np.arange(start, end, step, dtype=_to_dtype(dtype)),
                          requires_grad=requires_grad), device, "arange")


def linspace(start: float, end: float, steps: int, dtype: DTypeLike = None,
             device: Any = None) -> Tensor:
    """``steps`` evenly spaced values from start to end inclusive."""
    return _placed(Tensor(np.linspace(start, end, steps, dtype=_to_dtype(dtype or DEFAULT_DTYPE))),
                   device, "linspace")


def eye(n: int, m: Optional[int] = None, dtype: DTypeLike = None, device: Any = None) -> Tensor:
    """The identity matrix."""
    return _placed(Tensor(np.eye(n, m, dtype=_to_dtype(dtype or DEFAULT_DTYPE))), device, "eye")


def _like(fill, t: Tensor, dtype, requires_grad, device=None, **kw) -> Tensor:
    return fill(*t.shape, dtype=dtype if dtype is not None else t.dtype,
                device=t.device if device is None else device, requires_grad=requires_grad,
                **kw)


def zeros_like(t: Tensor, dtype: DTypeLike = None, device: Any = None,
               requires_grad: bool = False) -> Tensor:
    return _like(zeros, t, dtype, requires_grad, device)


def ones_like(t: Tensor, dtype: DTypeLike = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
    return _like(ones, t, dtype, requires_grad, device)


def empty_like(t: Tensor, dtype: DTypeLike = None, device: Any = None,
               requires_grad: bool = False) -> Tensor:
    return _like(empty, t, dtype, requires_grad, device)


def full_like(t: Tensor, fill_value: Any, dtype: DTypeLike = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
    return full(t.shape, fill_value, dtype=dtype if dtype is not None else t.dtype,
                device=t.device if device is None else device, requires_grad=requires_grad)


def rand_like(t: Tensor, dtype: DTypeLike = None, device: Any = None,
              requires_grad: bool = False, generator=None) -> Tensor:
    return _like(rand, t, dtype, requires_grad, device, generator=generator)


def randn_like(t: Tensor, dtype: DTypeLike = None, device: Any = None,
               requires_grad: bool = False, generator=None) -> Tensor:
    return _like(randn, t, dtype, requires_grad, device, generator=generator)


from ember import _random, ops  # noqa: E402  (ops import Tensor)
