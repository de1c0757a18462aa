"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""
from __future__ import annotations

from typing import Any, Dict, Iterable, List

import numpy as np

from ember import _C
from ember.optim.optimizer import Optimizer, check_hyper, required
from ember.tensor import Tensor


class SGD(Optimizer):
    """PyTorch's SGD. With g = grad + weight_decay * p (-grad if maximize):
    b = g on the first step, else momentum * b + (1 - dampening) * g;
    d = g + momentum * b if nesterov else b (d = g without momentum); p -= lr * d.
    The whole group is updated in one fused C++ call."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False,
                 *, maximize: bool = False) -> None:
        check_hyper("SGD", "learning rate", lr, lr is required or lr >= 0.0)
        check_hyper("SGD", "momentum value", momentum, momentum >= 0.0)
        check_hyper("SGD", "weight_decay value", weight_decay, weight_decay >= 0.0)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    def _update_group(self, group: Dict[str, Any], params: List[Tensor],
                      grads: List[np.ndarray]) -> None:
        mom = group["momentum"]
        bufs, first = None, []
        if mom != 0:
            first = [self._state_for(p).get("momentum_buffer") is None for p in params]
            bufs = self._state_arrays(params, "momentum_buffer")
        self._fused(_C.optim_sgd, params, grads, bufs, first, group["lr"], mom,
                    group["dampening"], group["weight_decay"], group["nesterov"],
                    group["maximize"])
