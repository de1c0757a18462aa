"""``DistributedSampler``: each rank's disjoint share of a data set's indices."""
from __future__ import annotations

from typing import Iterator, Optional, Sized

import numpy as np

from ember.data.sampler import Sampler
from ember.distributed.process_group import get_rank, get_world_size

__all__ = ["DistributedSampler"]


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
