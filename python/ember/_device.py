"""Devices: ``ember.device`` with PyTorch's names and rules, and moving arrays between them.

A tensor's device is where its array lives: a NumPy array is on ``cpu``, a CuPy array on
``cuda:<its device id>``. Nothing here imports CuPy until a CUDA device is asked for, so a
CPU-only install never needs it (``ember.cuda.is_available()`` says whether one can be used).
"""
from __future__ import annotations

from typing import Any, Optional, Union

import numpy as np

_TYPES = ("cpu", "cuda")


class device:  # noqa: N801  (torch.device)
    """Where a tensor lives: ``device('cpu')``, ``device('cuda')``, ``device('cuda:1')``,
    ``device('cuda', 1)``. Equal devices compare equal and hash alike; ``str`` gives the
    string PyTorch prints ('cpu', 'cuda:0')."""

    __slots__ = ("type", "index")

    def __init__(self, type: Union[str, "device"], index: Optional[int] = None) -> None:  # noqa: A002
        if isinstance(type, device):
            if index is not None:
                raise TypeError("device: an index cannot be given with a device object")
            self.type, self.index = type.type, type.index
            return
        if not isinstance(type, str):
            raise TypeError(f"device: expected a string or a device, got {_kind(type)}")
        name, sep, idx = type.partition(":")
        if name not in _TYPES:
            raise RuntimeError(f"device: expected one of {', '.join(_TYPES)} device type at "
                               f"start of device string: {type!r}")
        parsed: Optional[int] = None
        if sep:
            if not idx.isdigit() or (len(idx) > 1 and idx[0] == "0"):
                raise RuntimeError(f"device: invalid device string {type!r}")
            parsed = int(idx)
        if index is not None:
            if parsed is not None:
                raise RuntimeError(f"device: type {type!r} already holds an index, and "
                                   f"index={index} was given too")
            if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
                raise TypeError(f"device: index must be an int, got {_kind(index)}")
            if index < 0:
                raise RuntimeError(f"device: index must be non-negative, got {index}")
            parsed = int(index)
        if name == "cpu" and parsed not in (None, 0):
            raise RuntimeError(f"device: the cpu device has index 0 only, got {type!r}")
        self.type, self.index = name, (None if name == "cpu" else parsed)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except (RuntimeError, TypeError):
                return False
        return (isinstance(other, device) and self.type == other.type
                and self.index == other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type={self.type!r})"
        return f"device(type={self.type!r}, index={self.index})"


CPU = device("cpu")

# Set once any array has been put on a GPU: from then on every op checks that its inputs
# share a device (Function.apply); a process that never used a GPU pays one flag test.
GPU_USED = False


def _kind(x: Any) -> str:
    return type(x).__name__


def as_device(d: Any, op: str) -> device:
    """``d`` (a device, a string such as 'cuda:0', or an int meaning that CUDA device) as a
    device; anything else is refused naming ``op``."""
    if isinstance(d, device):
        return d
    if isinstance(d, str):
        return device(d)
    if isinstance(d, (int, np.integer)) and not isinstance(d, bool):
        return device("cuda", int(d))
    raise TypeError(f"{op}: device must be a device, a string or an int, got {_kind(d)}")


def is_device_like(x: Any) -> bool:
    """Whether ``x`` names a device (for ``Tensor.to``'s positional argument)."""
    if isinstance(x, device):
        return True
    if isinstance(x, str):
        return x.partition(":")[0] in _TYPES
    return False


def of(array: Any) -> device:
    """The device an array lives on."""
    if isinstance(array, np.ndarray):
        return CPU
    dev = getattr(array, "device", None)
    ident = getattr(dev, "id", None)
    if ident is None:
        raise TypeError(f"not an array ember can hold: {_kind(array)}")
    return device("cuda", int(ident))


def is_on(array: Any, dest: device) -> bool:
    """Whether ``array`` lives on ``dest`` ('cuda' without an index: on any CUDA device)."""
    src = of(array)
    return src == dest or (dest.type == "cuda" and dest.index is None and src.type == "cuda")


def move(array: Any, dest: device, op: str) -> Any:
    """``array`` on ``dest``: the same array when it is there already, else a copy."""
    if is_on(array, dest):
        return array
    if dest.type == "cpu":
        return array.get()  # CuPy -> NumPy, synchronising with the array's stream
    from ember import cuda

    cp = cuda._require(op)
    index = cuda.current_device() if dest.index is None else dest.index
    if index >= cuda.device_count():
        raise RuntimeError(f"{op}: invalid device {dest}: only {cuda.device_count()} CUDA "
                           f"device(s) available")
    global GPU_USED
    GPU_USED = True
    with cp.cuda.Device(index):
        return cp.asarray(array)


def same(op: str, arrays: Any) -> device:
    """The one device every array lives on; mixing devices raises naming two of them."""
    first: Optional[device] = None
    for a in arrays:
        d = of(a)
        if first is None:
            first = d
        elif d != first:
            raise RuntimeError(f"{op}: expected all tensors to be on the same device, but "
                               f"found at least two devices, {first} and {d}")
    return first or CPU


def host_only(op: str, *tensors: Any) -> None:
    """Refuse GPU tensors in an op whose CUDA kernel is not written yet (docs/cuda.md),
    rather than let a CPU kernel fail on an array it cannot read."""
    if not GPU_USED:
        return
    for t in tensors:
        data = getattr(t, "data", None)
        if data is not None and not isinstance(data, np.ndarray):
            raise NotImplementedError(f"{op}: no CUDA kernel yet for a tensor on {of(data)}; "
                                      "move it to the CPU with .cpu() (docs/cuda.md lists "
                                      "the GPU kernels)")
