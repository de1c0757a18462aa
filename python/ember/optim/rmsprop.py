"""RMSprop (Hinton's lecture 6e; centered variant of Graves 2013)."""
from __future__ import annotations

from typing import Any, Dict, Iterable, List

import numpy as np

from ember import _C
from ember.optim.optimizer import Optimizer, check_hyper
from ember.tensor import Tensor


class RMSprop(Optimizer):
    """PyTorch's RMSprop: s = alpha s + (1 - alpha) g^2; centered: a = alpha a + (1 - alpha) g
    and den = sqrt(s - a^2) + eps, else den = sqrt(s) + eps; with momentum b = momentum b +
    g / den, p -= lr b, else p -= lr g / den. One fused C++ call per group."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False, *, maximize: bool = False) -> None:
        check_hyper("RMSprop", "learning rate", lr, lr >= 0.0)
        check_hyper("RMSprop", "epsilon value", eps, eps >= 0.0)
        check_hyper("RMSprop", "momentum value", momentum, momentum >= 0.0)
        check_hyper("RMSprop", "weight_decay value", weight_decay, weight_decay >= 0.0)
        check_hyper("RMSprop", "alpha value", alpha, alpha >= 0.0)
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))

    def _update_group(self, group: Dict[str, Any], params: List[Tensor],
                      grads: List[np.ndarray]) -> None:
        self._next_steps(params)
        sq = self._state_arrays(params, "square_avg")
        ga = self._state_arrays(params, "grad_avg") if group["centered"] else None
        mb = (self._state_arrays(params, "momentum_buffer") if group["momentum"] > 0
              else None)
        self._fused(_C.optim_rmsprop, params, grads, sq, ga, mb, group["lr"],
                    group["alpha"], group["eps"], group["weight_decay"],
                    group["momentum"], group["centered"], group["maximize"])
