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
from typing import Any, Dict

import numpy as np

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
        tensors[key] = np.ascontiguousarray(arr)
        # The shape is kept here too: safetensors stores a 0-d array as shape (1,).
        return {"__array__": key, "tensor": isinstance(obj, Tensor), "shape": list(arr.shape)}
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


def _unflatten(obj: Any, tensors: Dict[str, np.ndarray]) -> Any:
    if isinstance(obj, dict):
        if "__array__" in obj:
            arr = tensors[obj["__array__"]]
            if "shape" in obj:
                arr = arr.reshape(obj["shape"])
            return Tensor(arr) if obj.get("tensor") else arr
        if "__tuple__" in obj:
            return tuple(_unflatten(v, tensors) for v in obj["__tuple__"])
        if "__dict__" in obj:
            ints = set(obj.get("int_keys", ()))
            return {(int(k) if k in ints else k): _unflatten(v, tensors)
                    for k, v in obj["__dict__"].items()}
        return {k: _unflatten(v, tensors) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_unflatten(v, tensors) for v in obj]
    return obj


def save(obj: Any, path: PathLike) -> None:
    """Save ``obj`` (see the module docstring) to ``path`` as safetensors, atomically."""
    from safetensors.numpy import save as st_save

    tensors: Dict[str, np.ndarray] = {}
    structure = _flatten(obj, tensors, "")
    meta = json.dumps({"format": FORMAT_VERSION, "object": structure})
    payload = st_save(tensors, metadata={_META_KEY: meta})
    atomic_write(path, lambda f: f.write(payload))


def load(path: PathLike) -> Any:
    """Load what :func:`save` wrote. Raises ``ValueError`` naming the file when it is not an
    ember file (or is damaged); never unpickles."""
    from safetensors import SafetensorError
    from safetensors.numpy import load as st_load

    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise FileNotFoundError(f"load: cannot read {path!r} ({exc.strerror or exc})") from None
    try:
        tensors = st_load(raw)
        meta = _metadata(raw)
    except (SafetensorError, ValueError, json.JSONDecodeError) as exc:
        raise ValueError(f"load: {path!r} is not a valid ember/safetensors file ({exc})") from None
    if _META_KEY not in meta:
        # A plain safetensors file (e.g. exported from torch): a flat dict of arrays.
        return dict(tensors)
    info = json.loads(meta[_META_KEY])
    if info.get("format", 0) > FORMAT_VERSION:
        raise ValueError(f"load: {path!r} was written by a newer ember (format "
                         f"{info.get('format')}, this one reads {FORMAT_VERSION})")
    return _unflatten(info["object"], tensors)


def _metadata(raw: bytes) -> Dict[str, str]:
    """The ``__metadata__`` of a safetensors byte string (an 8-byte header length, then a
    JSON header)."""
    if len(raw) < 8:
        raise ValueError("file too short")
    n = int.from_bytes(raw[:8], "little")
    if n > len(raw) - 8:
        raise ValueError("header length exceeds the file")
    header = json.loads(raw[8:8 + n])
    return header.get("__metadata__", {}) or {}
