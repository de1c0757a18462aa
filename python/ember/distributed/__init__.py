"""``ember.distributed``: synchronous data-parallel training over MPI (mpi4py).

    mpiexec -n 4 python train.py

    import ember.distributed as dist
    world = dist.init()                          # MPI world: rank, size, local rank
    dist.broadcast_parameters(model)             # every rank starts from rank 0's weights
    opt = dist.DistributedOptimizer(ember.optim.SGD(model.parameters(), lr=0.1 * world.size))
    sampler = dist.DistributedSampler(train_set, shuffle=True, seed=0)
    loader = DataLoader(train_set, batch_size=64, sampler=sampler)
    for epoch in range(epochs):
        sampler.set_epoch(epoch)                 # a new shared shuffle each epoch
        for x, y in loader:
            loss = loss_fn(model(x), y)
            opt.zero_grad(); loss.backward()
            opt.step()                           # allreduce-averages the gradients, then steps
        acc = dist.all_average(local_accuracy)   # metrics averaged across ranks
        if dist.is_main_process(): ...           # logs, checkpoints, progress bars: rank 0 only

Design (Horovod's): the wrapper is on the optimizer, not the module. ``step()`` packs every
gradient into a few large float32 buffers (``bucket_mb``, default 25 MB), allreduces each
buffer in place (MPI_SUM) and divides by the world size, so all ranks apply the same
averaged gradient and their parameters stay identical. With equal per-rank batches this is
exactly the gradient of the global batch (B = ranks x per-rank batch) for models whose loss is
a mean over samples. Batch norm keeps per-rank statistics (over the per-rank batch), as
PyTorch's DDP without SyncBatchNorm; use ``SyncBatchNorm`` to normalise with the global
batch's statistics.

Failures: ``init()`` installs an exception hook that, in a job of more than one rank,
prints the traceback and calls ``MPI_Abort``, so one rank's error ends every rank with a
non-zero exit instead of leaving the others blocked in a collective.

MPI comes from mpi4py (``pip install ember[distributed]``; ``pip install mpi4py mpich``
brings an MPI to a machine without one; a system MPI works too). Nothing here is imported
by ``import ember``; without mpi4py, ``init()`` raises ImportError naming the fix, and
single-process code that calls the helpers without ``init()`` runs as a world of size 1.
"""
from __future__ import annotations

import json
import os
import sys
import traceback
from dataclasses import dataclass
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Sized

import numpy as np

from ember.data.sampler import Sampler
from ember.tensor import Tensor

__all__ = ["World", "init", "is_initialized", "get_rank", "get_world_size", "is_main_process",
           "barrier", "broadcast_parameters", "broadcast_optimizer_state", "allreduce_gradients",
           "all_average", "DistributedOptimizer", "DistributedSampler", "SyncBatchNorm"]


@dataclass(frozen=True)
class World:
    """rank (0..size-1), size (processes), local_rank / local_size (on this machine)."""

    rank: int
    size: int
    local_rank: int
    local_size: int


_world: Optional[World] = None
_comm: Any = None
_SINGLE = World(0, 1, 0, 1)


def _mpi() -> Any:
    try:
        from mpi4py import MPI
    except ImportError as exc:
        raise ImportError("ember.distributed needs mpi4py: pip install 'ember[distributed]' "
                          "(or pip install mpi4py mpich for an MPI too)") from exc
    return MPI


def init() -> World:
    """Join the MPI world (idempotent); returns this process's World. Installs the abort-on-
    error hook when the world has more than one rank."""
    global _world, _comm
    if _world is not None:
        return _world
    MPI = _mpi()
    comm = MPI.COMM_WORLD
    local = comm.Split_type(MPI.COMM_TYPE_SHARED, key=comm.Get_rank())
    _comm = comm
    _world = World(comm.Get_rank(), comm.Get_size(), local.Get_rank(), local.Get_size())
    local.Free()
    if _world.size > 1:
        _install_abort_hook(comm)
    return _world


def _install_abort_hook(comm: Any) -> None:
    previous = sys.excepthook

    def hook(kind: Any, value: Any, tb: Any) -> None:
        rank = comm.Get_rank()
        sys.stderr.write(f"ember.distributed: rank {rank} failed; aborting all ranks\n")
        sys.stderr.write("".join(traceback.format_exception(kind, value, tb)))
        sys.stderr.flush()
        try:
            comm.Abort(1)
        finally:
            previous(kind, value, tb)

    sys.excepthook = hook


def is_initialized() -> bool:
    return _world is not None


def _get_world() -> World:
    return _world if _world is not None else _SINGLE


def get_rank() -> int:
    """This process's rank (0 without init())."""
    return _get_world().rank


def get_world_size() -> int:
    """Number of ranks (1 without init())."""
    return _get_world().size


def is_main_process() -> bool:
    """True on rank 0: the one that prints, logs and writes files."""
    return get_rank() == 0


def barrier() -> None:
    if _comm is not None and get_world_size() > 1:
        _comm.Barrier()


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
        _comm.Bcast(arr, root=root)


def _bcast_bytes(data: bytes, root: int) -> bytes:
    n = np.array([len(data)], np.int64)
    _comm.Bcast(n, root=root)
    buf = np.frombuffer(data, np.uint8).copy() if get_rank() == root else \
        np.empty(int(n[0]), np.uint8)
    _comm.Bcast(buf, root=root)
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
            _comm.Bcast(a, root=root)
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
    _comm.Allreduce(_in_place(), bucket)
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


def _in_place() -> Any:
    return _mpi().IN_PLACE


def all_average(value: Any) -> Any:
    """The mean over ranks of a number or array (metrics: loss, accuracy)."""
    if get_world_size() == 1:
        return value
    arr = np.array(value, dtype=np.float64)
    out = np.empty_like(arr)
    _comm.Allreduce(np.ascontiguousarray(arr), out)
    out /= get_world_size()
    return float(out) if out.ndim == 0 else out


class DistributedOptimizer:
    """Wraps an optimizer: ``step()`` averages the gradients of all its parameters across
    ranks (bucketed allreduce), then runs the wrapped step. Everything else (zero_grad,
    param_groups, state_dict, schedulers) goes to the wrapped optimizer."""

    def __init__(self, optimizer: Any, bucket_mb: float = 25.0) -> None:
        self.optimizer = optimizer
        self.bucket_mb = bucket_mb

    def step(self, closure: Any = None) -> Any:
        allreduce_gradients((p for g in self.optimizer.param_groups for p in g["params"]),
                            self.bucket_mb)
        return self.optimizer.step(closure) if closure is not None else self.optimizer.step()

    def __getattr__(self, name: str) -> Any:
        if name == "optimizer":  # not set yet (copy, unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.optimizer, name)


class DistributedSampler(Sampler):
    """Each rank's disjoint share of the indices (torch.utils.data.DistributedSampler's
    rules): with ``shuffle``, a permutation drawn from ``seed + epoch`` (the same on every
    rank; call ``set_epoch`` each epoch); the index list is padded by repeating its start
    to a multiple of the world size (``drop_last`` drops the tail instead), and rank r takes
    every size-th index from r. Every sample is seen once per epoch across ranks (plus the
    padding repeats)."""

    def __init__(self, dataset: Sized, num_replicas: Optional[int] = None,
                 rank: Optional[int] = None, shuffle: bool = True, seed: int = 0,
                 drop_last: bool = False) -> None:
        self.num_replicas = get_world_size() if num_replicas is None else int(num_replicas)
        self.rank = get_rank() if rank is None else int(rank)
        if self.num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be >= 1, got "
                             f"{self.num_replicas}")
        if not 0 <= self.rank < self.num_replicas:
            raise ValueError(f"DistributedSampler: rank must be in [0, {self.num_replicas}), "
                             f"got {self.rank}")
        self.n = len(dataset)
        self.shuffle, self.seed, self.drop_last = shuffle, int(seed), drop_last
        self.epoch = 0
        if drop_last:
            self.num_samples = self.n // self.num_replicas
        else:
            self.num_samples = -(-self.n // self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __iter__(self) -> Iterator[int]:
        if self.shuffle:
            idx = np.random.default_rng(self.seed + self.epoch).permutation(self.n)
        else:
            idx = np.arange(self.n)
        if self.drop_last:
            idx = idx[:self.total_size]
        elif self.total_size > self.n:
            reps = -(-(self.total_size - self.n) // max(self.n, 1))
            idx = np.concatenate([idx] + [idx] * reps)[:self.total_size]
        return iter(idx[self.rank:self.total_size:self.num_replicas].tolist())

    def __len__(self) -> int:
        return self.num_samples


from ember.distributed.sync_batchnorm import SyncBatchNorm  # noqa: E402
