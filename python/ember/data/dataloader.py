"""``DataLoader``: batches from a dataset, in a reproducible order, optionally prefetched by
background threads so that loading and augmentation overlap the training step.

Differences from PyTorch, by design:

- ``num_workers`` are threads, not processes: ember's loading and its batched augmentations
  are NumPy calls that release the GIL for their heavy work, a thread needs no pickling of
  the dataset, and results arrive in order. ``num_workers=0`` (the default) loads on the
  calling thread.
- Datasets backed by arrays (``ArrayDataset``, ``TensorDataset`` and subsets of them, with no
  per-sample transform) are fetched a batch at a time by fancy indexing, and
  ``batch_transform`` applies a transform to the whole batch (``transform.batch(images)``),
  so no per-sample Python runs on the hot path.
- Randomness: every epoch draws a base seed from ``generator`` (or ember's default generator,
  i.e. ``ember.manual_seed``); batch ``i`` then draws its augmentation from a generator seeded
  by (base seed, i) on whichever thread builds it, so results do not depend on threading.
"""
from __future__ import annotations

import concurrent.futures
import itertools
import threading
from collections import deque
from typing import Any, Callable, Iterator, Optional, Sequence

import numpy as np

from ember._random import Generator, get_generator
from ember.data import _rng
from ember.data.dataset import Dataset
from ember.data.sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler
from ember.tensor import Tensor

__all__ = ["DataLoader", "default_collate"]


def _to_tensor(x: Any) -> Any:
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray):
        return Tensor._wrap(x)
    return x


def default_collate(batch: Sequence[Any]) -> Any:
    """Stack a list of samples into batched Tensors: arrays/Tensors are stacked along a new
    first dimension; ints become int64, floats float64 (as PyTorch); tuples and lists are
    collated element by element (returning a list), dicts key by key."""
    if len(batch) == 0:
        raise ValueError("default_collate: empty batch")
    elem = batch[0]
    if isinstance(elem, Tensor):
        return Tensor._wrap(np.stack([b.data for b in batch]))
    if isinstance(elem, np.ndarray):
        return Tensor._wrap(np.stack(batch))
    if isinstance(elem, (bool, np.bool_)):
        return Tensor._wrap(np.asarray(batch, dtype=np.bool_))
    if isinstance(elem, (int, np.integer)):
        return Tensor._wrap(np.asarray(batch, dtype=np.int64))
    if isinstance(elem, (float, np.floating)):
        dt = elem.dtype if isinstance(elem, np.floating) else np.float64
        return Tensor._wrap(np.asarray(batch, dtype=dt))
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, dict):
        return {k: default_collate([b[k] for b in batch]) for k in elem}
    if isinstance(elem, (tuple, list)):
        if any(len(b) != len(elem) for b in batch):
            raise ValueError("default_collate: samples in a batch have different lengths")
        return [default_collate(list(field)) for field in zip(*batch)]
    raise TypeError(f"default_collate: cannot collate samples of type {type(elem).__name__}; "
                    "pass a collate_fn")


class DataLoader:
    """Iterate over ``dataset`` in batches.

    Args:
        dataset: a map-style dataset (``__getitem__`` + ``__len__``).
        batch_size: samples per batch (None: yield single samples, uncollated).
        shuffle: a new random order every epoch.
        sampler / batch_sampler: custom orders (exclusive with shuffle / batch options).
        num_workers: background threads that prefetch batches (0: load on the caller).
        collate_fn: merges a list of samples into a batch (default: :func:`default_collate`).
        drop_last: drop the last incomplete batch.
        timeout: seconds to wait for a prefetched batch (0: forever).
        worker_init_fn: called with the worker index on each worker thread when it starts.
        generator: ``ember.Generator`` for the order and the augmentation seeds.
        prefetch_factor: batches in flight per worker (default 2).
        batch_transform: transform applied to the first field of each collated batch (the
            images), through its ``batch`` method when it has one.
        pin_memory, persistent_workers: accepted for compatibility; no effect on the CPU.
    """

    def __init__(self, dataset: Dataset, batch_size: Optional[int] = 1, shuffle: bool = False,
                 sampler: Optional[Sampler] = None, batch_sampler: Optional[Sampler] = None,
                 num_workers: int = 0, collate_fn: Optional[Callable] = None,
                 pin_memory: bool = False, drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Optional[Callable[[int], None]] = None,
                 generator: Optional[Generator] = None, *, prefetch_factor: Optional[int] = None,
                 persistent_workers: bool = False,
                 batch_transform: Optional[Callable] = None) -> None:
        if not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers option should be a non-negative integer, "
                             f"got {num_workers!r}")
        if prefetch_factor is not None and num_workers == 0:
            raise ValueError("DataLoader: prefetch_factor option could only be specified with "
                             "num_workers > 0")
        if prefetch_factor is not None and prefetch_factor < 1:
            raise ValueError(f"DataLoader: prefetch_factor must be >= 1, got {prefetch_factor}")
        if timeout < 0:
            raise ValueError(f"DataLoader: timeout option should be non-negative, got {timeout}")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler option is mutually exclusive with "
                                 "batch_size, shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("DataLoader: batch_size=None option disables auto-batching and is "
                             "mutually exclusive with drop_last")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if sampler is None:
            sampler = (RandomSampler(dataset, generator=generator) if shuffle
                       else SequentialSampler(dataset))
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.dataset = dataset
        self.batch_size, self.drop_last = batch_size, drop_last
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.num_workers, self.timeout = num_workers, timeout
        self.collate_fn = collate_fn
        self.worker_init_fn = worker_init_fn
        self.generator = generator
        self.prefetch_factor = prefetch_factor if prefetch_factor is not None else 2
        self.batch_transform = batch_transform
        self.pin_memory, self.persistent_workers = pin_memory, persistent_workers

    def __len__(self) -> int:
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)

    # ------------------------------------------------------------------ one batch
    def _fetch(self, indices: Any) -> Any:
        if self.batch_sampler is None:  # batch_size=None: single samples, no collation
            sample = self.dataset[indices]
            return self.collate_fn(sample) if self.collate_fn is not None else sample
        getitems = getattr(self.dataset, "__getitems__", None)
        if getitems is not None and self.collate_fn is None:
            got = getitems(list(indices))
            if isinstance(got, tuple):  # already batched arrays (array-backed datasets)
                batch = [_to_tensor(a) for a in got]
            else:
                batch = default_collate(got)
        else:
            samples = [self.dataset[i] for i in indices]
            batch = (self.collate_fn or default_collate)(samples)
        if self.batch_transform is not None:
            batch = self._apply_batch_transform(batch)
        return batch

    def _apply_batch_transform(self, batch: Any) -> Any:
        t = self.batch_transform
        apply = getattr(t, "batch", t)
        if isinstance(batch, list) and batch:
            first = batch[0].data if isinstance(batch[0], Tensor) else batch[0]
            return [_to_tensor(np.asarray(apply(first)))] + batch[1:]
        data = batch.data if isinstance(batch, Tensor) else batch
        return _to_tensor(np.asarray(apply(data)))

    def _fetch_seeded(self, base_seed: int, index: int, indices: Any) -> Any:
        with _rng.using(_rng.for_batch(base_seed, index)):
            return self._fetch(indices)

    # ------------------------------------------------------------------ iteration
    def __iter__(self) -> Iterator[Any]:
        base_seed = int(get_generator(self.generator).integers(0, 2**63 - 1))
        order = self.batch_sampler if self.batch_sampler is not None else self.sampler
        if self.num_workers == 0:
            for i, indices in enumerate(order):
                yield self._fetch_seeded(base_seed, i, indices)
            return
        yield from self._prefetching(base_seed, order)

    def _prefetching(self, base_seed: int, order: Any) -> Iterator[Any]:
        counter = itertools.count()
        lock = threading.Lock()

        def init() -> None:
            with lock:
                worker_id = next(counter)
            if self.worker_init_fn is not None:
                self.worker_init_fn(worker_id)

        pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=self.num_workers, thread_name_prefix="ember-loader", initializer=init)
        pending: deque = deque()
        batches = enumerate(order)
        depth = self.num_workers * self.prefetch_factor
        try:
            for i, indices in itertools.islice(batches, depth):
                pending.append(pool.submit(self._fetch_seeded, base_seed, i, indices))
            while pending:
                future = pending.popleft()
                try:
                    batch = future.result(timeout=self.timeout or None)
                except concurrent.futures.TimeoutError:
                    raise RuntimeError(f"DataLoader timed out after {self.timeout} seconds "
                                       "waiting for a batch") from None
                nxt = next(batches, None)
                if nxt is not None:
                    pending.append(pool.submit(self._fetch_seeded, base_seed, *nxt))
                yield batch
        finally:
            for f in pending:
                f.cancel()
            pool.shutdown(wait=True, cancel_futures=True)

    def __repr__(self) -> str:
        return (f"DataLoader(dataset={type(self.dataset).__name__}, batch_size={self.batch_size}, "
                f"batches={len(self)}, num_workers={self.num_workers})")
