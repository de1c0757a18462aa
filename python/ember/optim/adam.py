"""Adam (Kingma & Ba 2015) and AdamW (Loshchilov & Hutter 2019, decoupled weight decay)."""
from __future__ import annotations

from typing import Any, Dict, Iterable, List, Tuple

import numpy as np

from ember import _C
from ember.optim.optimizer import Optimizer, check_hyper
from ember.tensor import Tensor


def _check_adam(name: str, lr: float, betas: Tuple[float, float], eps: float,
                weight_decay: float) -> None:
    check_hyper(name, "learning rate", lr, lr >= 0.0)
    check_hyper(name, "epsilon value", eps, eps >= 0.0)
    check_hyper(name, "beta parameter at index 0", betas[0], 0.0 <= betas[0] < 1.0)
    check_hyper(name, "beta parameter at index 1", betas[1], 0.0 <= betas[1] < 1.0)
    check_hyper(name, "weight_decay value", weight_decay, weight_decay >= 0.0)


class Adam(Optimizer):
    """PyTorch's Adam: with g = grad + weight_decay * p, m = b1 m + (1 - b1) g,
    v = b2 v + (1 - b2) g^2 (amsgrad: v^ = max of all v), p -= lr / (1 - b1^t) * m /
    (sqrt(v^) / sqrt(1 - b2^t) + eps). One fused C++ call per group."""

    _decoupled = False

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: Tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        name = type(self).__name__
        _check_adam(name, lr, betas, eps, weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize))

    def _update_group(self, group: Dict[str, Any], params: List[Tensor],
                      grads: List[np.ndarray]) -> None:
        m = self._state_arrays(params, "exp_avg")
        v = self._state_arrays(params, "exp_avg_sq")
        vmax = self._state_arrays(params, "max_exp_avg_sq") if group["amsgrad"] else None
        steps = self._next_steps(params)
        b1, b2 = group["betas"]
        self._fused(_C.optim_adam, params, grads, m, v, vmax, steps, group["lr"], b1,
                    b2, group["eps"], group["weight_decay"], group["amsgrad"],
                    self._decoupled, group["maximize"])


class AdamW(Adam):
    """Adam with decoupled weight decay: p *= 1 - lr * weight_decay before the Adam update
    (the gradient itself is not decayed). Default weight_decay 1e-2, as PyTorch."""

    _decoupled = True

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: Tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)
