"""Saving and loading without pickle: ``ember.save(obj, path)`` / ``ember.load(path)``.

``obj`` is a nest of dicts (string keys), lists and tuples whose leaves are Tensors, NumPy
arrays, numbers, strings, booleans or None: a model's ``state_dict()``, or a checkpoint such
as ``{"model": ..., "optimizer": opt.state_dict(), "epoch": 3}``. The file is a safetensors
file (https://github.com/huggingface/safetensors): every array is a named tensor, and the
structure with the non-array leaves is JSON in the file's metadata (key ``ember``), so
loading never executes code. ``ember.load`` returns the same structure (Tensors as Tensors,
arrays as arrays, tuples as tuples).

Files are written atomically: the bytes go to a temporary file in the same folder, which is
flushed and fsync'ed, then renamed over the destination (and the folder fsync'ed), so a crash
or a kill in the middle of a save leaves the previous file intact.
"""
from __future__ import annotations

import json
import os
from typing import Any, Callable, Dict, Optional

import numpy as np

from ember import _device
from ember._files import PathLike, atomic_write
from ember.tensor import Tensor

__all__ = ["save", "load", "FORMAT_VERSION"]

FORMAT_VERSION = 1
_META_KEY = "ember"


def _flatten(obj: Any, tensors: Dict[str, np.ndarray], path: str) -> Any:
    """JSON-able structure with arrays replaced by references into ``tensors``."""
    if isinstance(obj, Tensor) or isinstance(obj, np.ndarray):
        arr = obj.data if isinstance(obj, Tensor) else obj
        key = f"t{len(tensors)}"
        where = _device.of(arr)
        tensors[key] = np.ascontiguousarray(_device.move(arr, _device.CPU, "save"))
        # The shape is kept here too: safetensors stores a 0-d array as shape (1,).
        entry = {"__array__": key, "tensor": isinstance(obj, Tensor), "shape": list(arr.shape)}
        if where != _device.CPU:
            entry["device"] = str(where)  # load() puts it back there unless told otherwise
        return entry
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if not isinstance(k, (str, int)) or isinstance(k, bool):
                raise TypeError(f"save: dict keys must be str or int, got {type(k).__name__} "
                                f"at {path or '<root>'}")
            out[str(k)] = _flatten(v, tensors, f"{path}/{k}")
        int_keys = [k for k in obj if isinstance(k, int)]
        return {"__dict__": out, "int_keys": [str(k) for k in int_keys]} if int_keys else out
    if isinstance(obj, tuple):
        return {"__tuple__": [_flatten(v, tensors, f"{path}/{i}") for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_flatten(v, tensors, f"{path}/{i}") for i, v in enumerate(obj)]
    if isinstance(obj, (np.integer, np.floating, np.bool_)):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"save: cannot save an object of type {type(obj).__name__} at "
                    f"{path or '<root>'} (supported: dict, list, tuple, Tensor, numpy array, "
                    "number, str, bool, None)")


_MAX_DEPTH = 200  # nesting a checkpoint may have (a deeper file is refused, not recursed)


class _Bad(ValueError):
    """A malformed structure; load() adds the file name."""


def _placement(map_location: Any) -> Callable[[str], _device.device]:
    """Where a tensor saved on device ``saved`` (a string) goes, by ``load``'s argument."""
    if map_location is None:
        return lambda saved: _device.device(saved)
    if isinstance(map_location, dict):
        table = {_device.as_device(k, "load"): _device.as_device(v, "load")
                 for k, v in map_location.items()}
        return lambda saved: table.get(_device.device(saved), _device.device(saved))
    dest = _device.as_device(map_location, "load")
    return lambda saved: dest


def _unflatten(obj: Any, tensors: Dict[str, np.ndarray], depth: int = 0,
               place: Optional[Callable[[str], _device.device]] = None) -> Any:
    if place is None:
        place = _placement(None)
    if depth > _MAX_DEPTH:
        raise _Bad(f"the structure is nested more than {_MAX_DEPTH} levels deep")
    if isinstance(obj, dict):
        if "__array__" in obj:
            key = obj["__array__"]
            if not isinstance(key, str) or key not in tensors:
                raise _Bad(f"the structure refers to a tensor {key!r} the file does not hold")
            arr = tensors[key]
            if "shape" in obj:
                want = obj["shape"]
                if not isinstance(want, list) or not all(
                        isinstance(d, int) and not isinstance(d, bool) for d in want):
                    raise _Bad(f"tensor {key!r} has a malformed shape {want!r}")
                # The one reshape save() relies on: a 0-d array stored as shape (1,).
                if tuple(want) != arr.shape and not (want == [] and arr.shape == (1,)):
                    raise _Bad(f"tensor {key!r} is stored with shape {arr.shape} but the "
                               f"structure says {tuple(want)}")
                arr = arr.reshape(want)
            saved = obj.get("device", "cpu")
            if not isinstance(saved, str):
                raise _Bad(f"tensor {key!r} has a malformed device {saved!r}")
            try:
                dest = place(saved)
            except (RuntimeError, TypeError) as exc:
                raise _Bad(f"tensor {key!r}: {exc}") from None
            if dest != _device.CPU:
                arr = _device.move(arr, dest, "load")  # no device: RuntimeError, as torch
            return Tensor(arr) if obj.get("tensor") else arr
        if "__tuple__" in obj:
            return tuple(_unflatten(v, tensors, depth + 1, place)
                         for v in _items(obj["__tuple__"]))
        if "__dict__" in obj:
            body = obj["__dict__"]
            if not isinstance(body, dict):
                raise _Bad("a '__dict__' entry is not a JSON object")
            int_keys = obj.get("int_keys", [])
            if not isinstance(int_keys, list) or not all(isinstance(k, str) for k in int_keys):
                raise _Bad("an 'int_keys' entry is not a list of strings")
            ints = set(int_keys)
            try:
                return {(int(k) if k in ints else k): _unflatten(v, tensors, depth + 1, place)
                        for k, v in body.items()}
            except ValueError as exc:
                if isinstance(exc, _Bad):
                    raise
                raise _Bad(f"an int key is not an integer ({exc})") from None
        return {k: _unflatten(v, tensors, depth + 1, place) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_unflatten(v, tensors, depth + 1, place) for v in obj]
    return obj


def _items(v: Any) -> list:
    if not isinstance(v, list):
        raise _Bad("a '__tuple__' entry is not a JSON list")
    return v


def save(obj: Any, path: PathLike) -> None:
    """Save ``obj`` (see the module docstring) to ``path`` as safetensors, atomically."""
    from safetensors.numpy import save as st_save

    tensors: Dict[str, np.ndarray] = {}
    structure = _flatten(obj, tensors, "")
    meta = json.dumps({"format": FORMAT_VERSION, "object": structure})
    payload = st_save(tensors, metadata={_META_KEY: meta})
    atomic_write(path, lambda f: f.write(payload))


def load(path: PathLike, map_location: Any = None) -> Any:
    """Load what :func:`save` wrote, or a plain safetensors file (a dict of arrays). The
    file's header is validated (dtypes, shapes, offsets within the file) before anything it
    describes is allocated; a damaged file, a dtype ember cannot read or a structure that
    does not match the stored tensors raises ``ValueError`` naming the file. Never
    unpickles.

    Tensors saved on a GPU load back onto that device; ``map_location`` (a device, a string
    such as ``'cpu'``, or a dict such as ``{'cuda:0': 'cpu'}``) puts them elsewhere, as in
    ``torch.load``."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise FileNotFoundError(f"load: cannot read {path!r} ({exc.strerror or exc})") from None
    return _parse(raw, path, _placement(map_location))


def _parse(raw: bytes, path: str, place: Optional[Callable[[str], _device.device]] = None) -> Any:
    """What :func:`load` returns for the file contents ``raw`` (``path`` names it)."""
    from safetensors import SafetensorError
    from safetensors.numpy import load as st_load

    try:
        meta = _validated_header(raw)
        tensors = st_load(raw)
    except (SafetensorError, ValueError) as exc:
        raise ValueError(f"load: {path!r} is not a valid ember/safetensors file: {exc}") \
            from None
    if _META_KEY not in meta:
        # A plain safetensors file (e.g. exported from torch): a flat dict of arrays.
        return dict(tensors)
    try:
        info = json.loads(meta[_META_KEY])
        if not isinstance(info, dict) or "object" not in info:
            raise _Bad("its ember metadata has no 'object' entry")
        version = info.get("format", 0)
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise ValueError(f"load: {path!r} was written by a newer ember (format "
                             f"{version!r}, this one reads {FORMAT_VERSION})")
        return _unflatten(info["object"], tensors, place=place)
    except _Bad as exc:
        raise ValueError(f"load: {path!r} is damaged: {exc}") from None
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"load: {path!r} is damaged: its ember metadata cannot be read "
                         f"({type(exc).__name__}: {exc})") from None


# safetensors dtypes ember reads, by name; others (BF16, F8_*) are refused by name.
_DTYPES = {"F64": 8, "F32": 4, "F16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1,
           "U16": 2, "U32": 4, "U64": 8, "BOOL": 1}
_MAX_HEADER = 100 << 20


def _validated_header(raw: bytes) -> Dict[str, str]:
    """Check a safetensors byte string's header (an 8-byte length, then a JSON object of
    tensors {dtype, shape, data_offsets} and an optional ``__metadata__``) against the file,
    and return the metadata. Raises ValueError saying what is wrong."""
    if len(raw) < 8:
        raise ValueError(f"the file is too short ({len(raw)} bytes) for a safetensors header")
    n = int.from_bytes(raw[:8], "little")
    if n > len(raw) - 8 or n > _MAX_HEADER:
        raise ValueError(f"the header length {n} exceeds the file ({len(raw)} bytes)")
    try:
        header = json.loads(raw[8:8 + n])
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise ValueError(f"the header is not valid JSON ({exc})") from None
    if not isinstance(header, dict):
        raise ValueError("the header is not a JSON object")
    body = len(raw) - 8 - n
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise ValueError("the header's __metadata__ is not a map of strings")
    for name, info in header.items():
        if not isinstance(info, dict):
            raise ValueError(f"tensor {name!r}: its header entry is not an object")
        dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        if not isinstance(dtype, str) or dtype not in _DTYPES:
            raise ValueError(f"tensor {name!r} has dtype {dtype!r}, which ember cannot read "
                             f"(unsupported dtype; supported: {', '.join(_DTYPES)})")
        if not isinstance(shape, list) or not all(
                isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
            raise ValueError(f"tensor {name!r} has a malformed shape {shape!r}")
        if (not isinstance(offsets, list) or len(offsets) != 2
                or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
                or not 0 <= offsets[0] <= offsets[1] <= body):
            raise ValueError(f"tensor {name!r} has data offsets {offsets!r} outside the "
                             f"{body} bytes of data")
        size = _DTYPES[dtype]
        for d in shape:
            size *= d
        if offsets[1] - offsets[0] != size:
            raise ValueError(f"tensor {name!r} of dtype {dtype} and shape {tuple(shape)} needs "
                             f"{size} bytes but its offsets span {offsets[1] - offsets[0]}")
    return meta
