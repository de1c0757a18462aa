"""Adagrad (Duchi et al. 2011) and Adadelta (Zeiler 2012)."""
from __future__ import annotations

from typing import Any, Dict, Iterable, List

import numpy as np

from ember import _C
from ember.optim.optimizer import Optimizer, check_hyper
from ember.tensor import Tensor


class Adagrad(Optimizer):
    """PyTorch's Adagrad: sum += g^2; p -= lr / (1 + (t - 1) lr_decay) * g / (sqrt(sum) + eps),
    the sum starting at initial_accumulator_value. One fused C++ call per group."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10, *, maximize: bool = False) -> None:
        check_hyper("Adagrad", "learning rate", lr, lr >= 0.0)
        check_hyper("Adagrad", "lr_decay value", lr_decay, lr_decay >= 0.0)
        check_hyper("Adagrad", "weight_decay value", weight_decay, weight_decay >= 0.0)
        check_hyper("Adagrad", "initial_accumulator_value", initial_accumulator_value,
                    initial_accumulator_value >= 0.0)
        check_hyper("Adagrad", "epsilon value", eps, eps >= 0.0)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps, maximize=maximize))
        for group in self.param_groups:  # PyTorch creates the state eagerly
            for p in group["params"]:
                st = self._state_for(p)
                st.setdefault("step", 0.0)
                self._state_arrays([p], "sum", group["initial_accumulator_value"])

    def _update_group(self, group: Dict[str, Any], params: List[Tensor],
                      grads: List[np.ndarray]) -> None:
        steps = self._next_steps(params)
        sums = self._state_arrays(params, "sum", group["initial_accumulator_value"])
        self._fused(_C.optim_adagrad, params, grads, sums, steps, group["lr"],
                    group["lr_decay"], group["weight_decay"], group["eps"],
                    group["maximize"])


class Adadelta(Optimizer):
    """PyTorch's Adadelta: s = rho s + (1 - rho) g^2; d = sqrt(u + eps) / sqrt(s + eps) * g;
    u = rho u + (1 - rho) d^2; p -= lr d (lr 1.0 by default). One fused C++ call per group."""

    def __init__(self, params: Iterable[Any], lr: float = 1.0, rho: float = 0.9,
                 eps: float = 1e-6, weight_decay: float = 0.0, *,
                 maximize: bool = False) -> None:
        check_hyper("Adadelta", "learning rate", lr, lr >= 0.0)
        check_hyper("Adadelta", "rho value", rho, 0.0 <= rho <= 1.0)
        check_hyper("Adadelta", "epsilon value", eps, eps >= 0.0)
        check_hyper("Adadelta", "weight_decay value", weight_decay, weight_decay >= 0.0)
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                                      maximize=maximize))

    def _update_group(self, group: Dict[str, Any], params: List[Tensor],
                      grads: List[np.ndarray]) -> None:
        self._next_steps(params)
        sq = self._state_arrays(params, "square_avg")
        acc = self._state_arrays(params, "acc_delta")
        self._fused(_C.optim_adadelta, params, grads, sq, acc, group["lr"],
                    group["rho"], group["eps"], group["weight_decay"],
                    group["maximize"])
