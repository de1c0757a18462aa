"""Collectives over the MPI world: parameter and optimizer-state broadcasts, the bucketed
gradient allreduce, metric averages. Each is a no-op in a world of one rank."""
from __future__ import annotations

import json
from typing import Any, Dict, Iterable, List, Sequence

import numpy as np

from ember.distributed.process_group import get_comm, get_rank, get_world_size, in_place
from ember.tensor import Tensor

__all__ = ["broadcast_parameters", "broadcast_optimizer_state", "allreduce_gradients",
           "all_average"]


def _arrays_of(obj: Any) -> List[np.ndarray]:
    """The parameter and buffer arrays of a Module (in a fixed order), or of tensors."""
    if hasattr(obj, "state_dict") and hasattr(obj, "parameters"):
        return [t.data for t in obj.state_dict().values() if isinstance(t, Tensor)]
    return [t.data if isinstance(t, Tensor) else t for t in obj]


def broadcast_parameters(model: Any, root: int = 0) -> None:
    """Copy ``root``'s parameters and buffers (batch-norm statistics) into every rank's
    model, in place. Call once after building the model (and after loading a checkpoint on
    ``root``)."""
    if get_world_size() == 1:
        return
    for arr in _arrays_of(model):
        if not arr.flags.c_contiguous:
            raise ValueError("broadcast_parameters: parameters must be C-contiguous arrays")
        get_comm().Bcast(arr, root=root)


def _bcast_bytes(data: bytes, root: int) -> bytes:
    n = np.array([len(data)], np.int64)
    get_comm().Bcast(n, root=root)
    buf = np.frombuffer(data, np.uint8).copy() if get_rank() == root else \
        np.empty(int(n[0]), np.uint8)
    get_comm().Bcast(buf, root=root)
    return buf.tobytes()


def broadcast_optimizer_state(optimizer: Any, root: int = 0) -> None:
    """Give every rank ``root``'s optimizer state (momentum buffers, Adam moments, steps,
    hyper-parameters): its structure travels as JSON, its arrays as raw buffers; nothing is
    pickled."""
    if get_world_size() == 1:
        return
    arrays: List[np.ndarray] = []

    def encode(obj: Any) -> Any:
        if isinstance(obj, Tensor):
            obj = obj.numpy()
        if isinstance(obj, np.ndarray):
            arrays.append(np.ascontiguousarray(obj))
            a = arrays[-1]
            return {"__array__": len(arrays) - 1, "dtype": a.dtype.str, "shape": list(a.shape)}
        if isinstance(obj, dict):
            return {"__dict__": [[encode(k), encode(v)] for k, v in obj.items()]}
        if isinstance(obj, (list, tuple)):
            return {"__list__": [encode(v) for v in obj]}
        if isinstance(obj, (np.generic,)):
            return obj.item()
        return obj

    meta = json.dumps(encode(optimizer.state_dict())).encode() if get_rank() == root else b""
    spec = json.loads(_bcast_bytes(meta, root).decode())

    def decode(obj: Any) -> Any:
        if isinstance(obj, dict) and "__array__" in obj:
            i = obj["__array__"]
            if get_rank() == root:
                a = arrays[i]
            else:
                a = np.empty(obj["shape"], np.dtype(obj["dtype"]))
            get_comm().Bcast(a, root=root)
            return a.copy()
        if isinstance(obj, dict) and "__dict__" in obj:
            return {decode(k): decode(v) for k, v in obj["__dict__"]}
        if isinstance(obj, dict) and "__list__" in obj:
            return [decode(v) for v in obj["__list__"]]
        return obj

    state = decode(spec)
    if get_rank() != root:
        optimizer.load_state_dict(state)


def allreduce_gradients(params: Iterable[Any], bucket_mb: float = 25.0,
                        average: bool = True) -> None:
    """Sum (``average``: then divide by the world size) every parameter's gradient across
    ranks, in place, through buckets of about ``bucket_mb`` MB of the parameters' dtype
    (float32 for models in float32; float64 parameters, e.g. in gradient checks, keep their
    precision): one MPI_Allreduce per bucket instead of one per tensor. A parameter without
    a gradient on this rank counts as zeros (and gets a zero gradient), so ranks stay in step.
    """
    size = get_world_size()
    if size == 1:
        return
    by_dtype: Dict[Any, List[Any]] = {}
    for p in params:
        if p.requires_grad:
            by_dtype.setdefault(np.dtype(p.dtype), []).append(p)
    for dtype, group in sorted(by_dtype.items(), key=lambda kv: kv[0].str):
        cap = max(1, int(bucket_mb * 2**20 / dtype.itemsize))
        i = 0
        while i < len(group):
            j, n = i, 0
            while j < len(group) and (n == 0 or n + group[j].numel() <= cap):
                n += group[j].numel()
                j += 1
            _allreduce_bucket(group[i:j], n, dtype, size if average else 1)
            i = j


def _allreduce_bucket(params: Sequence[Any], n: int, dtype: np.dtype, divide: int) -> None:
    bucket = np.empty(n, dtype)
    off = 0
    for p in params:
        k = p.numel()
        if p.grad is None:
            bucket[off:off + k] = 0
        else:
            bucket[off:off + k] = p.grad.numpy().reshape(-1)
        off += k
    get_comm().Allreduce(in_place(), bucket)
    if divide != 1:
        bucket *= dtype.type(1.0 / divide)
    off = 0
    for p in params:
        k = p.numel()
        g = bucket[off:off + k].reshape(p.shape)
        if p.grad is None:
            p.grad = Tensor(g.copy())
        else:
            np.copyto(p.grad.data, g)
        off += k


def all_average(value: Any) -> Any:
    """The mean over ranks of a number or array (metrics: loss, accuracy)."""
    if get_world_size() == 1:
        return value
    arr = np.array(value, dtype=np.float64)
    out = np.empty_like(arr)
    get_comm().Allreduce(np.ascontiguousarray(arr), out)
    out /= get_world_size()
    return float(out) if out.ndim == 0 else out
