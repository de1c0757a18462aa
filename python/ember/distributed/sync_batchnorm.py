"""``SyncBatchNorm``: batch norm whose training statistics are those of the global batch
(all ranks), as ``torch.nn.SyncBatchNorm``.

Forward allreduces each channel's (count, sum, sum of squares) in float64, normalises with
the global mean and biased variance and updates the running statistics with the global
unbiased variance; backward allreduces the channel sums of dy and dy * x_hat, so each rank's
input gradient is that of the global batch's normalisation. The weight and bias gradients
are the rank's own sums, which DistributedOptimizer then averages like every gradient.
Outside training, or in a world of one rank, it is BatchNorm2d.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ember.distributed.process_group import get_comm, get_world_size
from ember.autograd.function import Function
from ember.nn.normalization import BatchNorm2d, _BatchNorm
from ember.tensor import Tensor


def _allreduce(arr: np.ndarray) -> np.ndarray:
    out = np.empty_like(arr)
    get_comm().Allreduce(np.ascontiguousarray(arr), out)
    return out


def _global_stats(x: np.ndarray, eps: float) -> Any:
    """(count, mean, biased var, invstd) per channel over every rank's batch (float64)."""
    axes = (0,) + tuple(range(2, x.ndim))
    c = x.shape[1]
    x64 = x.astype(np.float64)
    tot = _allreduce(np.concatenate([[x.size / c], x64.sum(axis=axes),
                                     (x64 * x64).sum(axis=axes)]))
    count, mean = tot[0], tot[1:1 + c] / tot[0]
    var = np.maximum(tot[1 + c:] / count - mean * mean, 0.0)
    return count, mean, var, 1.0 / np.sqrt(var + eps)


class _SyncBN(Function):
    @staticmethod
    def forward(ctx, x, weight, bias, mean, invstd, count):
        axes = (0,) + tuple(range(2, x.ndim))
        shape = (1, -1) + (1,) * (x.ndim - 2)
        c = x.shape[1]
        xhat = (x.astype(np.float64) - mean.reshape(shape)) * invstd.reshape(shape)
        w = np.ones(c) if weight is None else weight.astype(np.float64)
        b = np.zeros(c) if bias is None else bias.astype(np.float64)
        ctx.save_for_backward(xhat, invstd, w)
        ctx.count, ctx.axes, ctx.shape = count, axes, shape
        return (xhat * w.reshape(shape) + b.reshape(shape)).astype(x.dtype)

    @staticmethod
    def backward(ctx, g):
        xhat, invstd, w = ctx.saved_tensors
        g64 = g.astype(np.float64)
        axes, shape = ctx.axes, ctx.shape
        local_dy = g64.sum(axis=axes)
        local_dyx = (g64 * xhat).sum(axis=axes)
        tot = _allreduce(np.concatenate([local_dy, local_dyx]))
        c = local_dy.size
        mean_dy, mean_dyx = tot[:c] / ctx.count, tot[c:] / ctx.count
        dx = (w * invstd).reshape(shape) * (g64 - mean_dy.reshape(shape)
                                            - xhat * mean_dyx.reshape(shape))
        needs = ctx.needs_input_grad
        return (dx.astype(g.dtype) if needs[0] else None,
                local_dyx.astype(g.dtype) if needs[1] else None,
                local_dy.astype(g.dtype) if needs[2] else None, None, None, None)


class SyncBatchNorm(BatchNorm2d):
    """BatchNorm2d with global-batch statistics in training (see the module docstring)."""

    _expected_ndim = (2, 3, 4, 5)

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or get_world_size() == 1:
            return super().forward(x)
        if x.shape[1] != self.num_features:
            raise ValueError(f"SyncBatchNorm: expected {self.num_features} channels (dim 1), "
                             f"got input of shape {tuple(x.shape)}")
        count, mean, var, invstd = _global_stats(x.numpy(), self.eps)
        y = _SyncBN.apply(x, self.weight, self.bias, mean, invstd, count)
        if self.track_running_stats:
            self.num_batches_tracked.data[...] += 1
            m = (1.0 / float(self.num_batches_tracked.item()) if self.momentum is None
                 else self.momentum)
            unbiased = var * count / max(count - 1.0, 1.0)
            rm, rv = self.running_mean.data, self.running_var.data
            rm[...] = (1 - m) * rm + m * mean
            rv[...] = (1 - m) * rv + m * unbiased
            self.running_mean._vc[0] += 1
            self.running_var._vc[0] += 1
        return y

    @classmethod
    def convert_sync_batchnorm(cls, module: Any) -> Any:
        """Replace every BatchNorm1d/2d in ``module`` (recursively) by a SyncBatchNorm with
        the same state; returns the (possibly new) module, like torch's."""
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            new = cls(module.num_features, module.eps, module.momentum, module.affine,
                      module.track_running_stats)
            new.load_state_dict(module.state_dict())
            new.train(module.training)
            return new
        for name, child in list(module._modules.items()):
            if child is not None:
                setattr(module, name, cls.convert_sync_batchnorm(child))
        return module
