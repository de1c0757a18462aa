"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""
from __future__ import annotations

from typing import Any, Callable, Iterable, Optional

import numpy as np

from ember.autograd.grad_mode import no_grad
from ember.optim.optimizer import Optimizer, _closure_loss, required


class SGD(Optimizer):
    """PyTorch's SGD: with g = grad + weight_decay * p,
    b = momentum * b + (1 - dampening) * g (b = g on the first step),
    g = g + momentum * b if nesterov else b;  p -= lr * g."""

    def __init__(self, params: Iterable[Any], lr: float = required, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0,
                 nesterov: bool = False) -> None:
        if lr is not required and lr < 0.0:
            raise ValueError(f"SGD: invalid learning rate {lr}")
        if momentum < 0.0:
            raise ValueError(f"SGD: invalid momentum {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"SGD: invalid weight_decay {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))

    @no_grad()
    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        loss = _closure_loss(closure)
        for group in self.param_groups:
            lr, mom, damp = group["lr"], group["momentum"], group["dampening"]
            wd, nesterov = group["weight_decay"], group["nesterov"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad.data
                if wd:
                    g = g + wd * p.data
                if mom:
                    state = self._state_for(p)
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = state["momentum_buffer"] = np.array(g, dtype=p.dtype, copy=True)
                    else:
                        buf *= mom
                        buf += (1 - damp) * g
                    g = g + mom * buf if nesterov else buf
                p.data -= (lr * g).astype(p.dtype, copy=False)
                p._version += 1
        return loss
