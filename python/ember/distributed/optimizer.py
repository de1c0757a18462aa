"""``DistributedOptimizer``: Horovod's design, the allreduce on the optimizer's step."""
from __future__ import annotations

from typing import Any

from ember.distributed.collectives import allreduce_gradients

__all__ = ["DistributedOptimizer"]


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
