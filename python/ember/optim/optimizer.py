"""``Optimizer`` base: parameter groups, zero_grad, state_dict (PyTorch's layout)."""
from __future__ import annotations

import copy
from typing import Any, Callable, Dict, Iterable, List, Optional

import numpy as np

from ember.autograd.grad_mode import no_grad
from ember.tensor import Tensor


class _Required:
    def __repr__(self) -> str:
        return "<required parameter>"


required = _Required()


class Optimizer:
    """Holds ``param_groups`` (dicts with 'params' and per-group options) and per-parameter
    ``state``. Subclasses implement ``step``."""

    def __init__(self, params: Iterable[Any], defaults: Dict[str, Any]) -> None:
        self.defaults = defaults
        self.state: Dict[int, Dict[str, Any]] = {}
        self.param_groups: List[Dict[str, Any]] = []
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got a Tensor")
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, param_group: Dict[str, Any]) -> None:
        """Add a group of parameters with its own options (others fall back to defaults)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param group must be a dict, got {type(param_group).__name__}")
        group = dict(param_group)
        params = group["params"]
        group["params"] = [params] if isinstance(params, Tensor) else list(params)
        for p in group["params"]:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            group.setdefault(name, default)
        existing = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in existing for p in group["params"]):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient (to None by default, as PyTorch 2)."""
        for g in self.param_groups:
            for p in g["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.data[...] = 0

    def _state_for(self, p: Tensor) -> Dict[str, Any]:
        return self.state.setdefault(id(p), {})

    def state_dict(self) -> Dict[str, Any]:
        """{'state': {index: {...arrays...}}, 'param_groups': [{options, 'params': [index]}]}
        with parameters numbered in group order (as PyTorch)."""
        index: Dict[int, int] = {}
        groups = []
        for g in self.param_groups:
            packed = {k: v for k, v in g.items() if k != "params"}
            ids = []
            for p in g["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            packed["params"] = ids
            groups.append(packed)
        state = {index[pid]: {k: (v.copy() if isinstance(v, np.ndarray) else v)
                              for k, v in s.items()}
                 for pid, s in self.state.items() if pid in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has {len(groups)} parameter groups but the "
                             f"optimizer has {len(self.param_groups)}")
        params = []
        for saved, own in zip(groups, self.param_groups):
            if len(saved["params"]) != len(own["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't "
                                 "match the size of optimizer's group")
            params.extend(zip(saved["params"], own["params"]))
        self.state = {}
        for idx, p in params:
            if idx in state_dict["state"]:
                self.state[id(p)] = {
                    k: (np.array(v, dtype=p.dtype) if isinstance(v, np.ndarray) else
                        copy.deepcopy(v))
                    for k, v in state_dict["state"][idx].items()}
        for saved, own in zip(groups, self.param_groups):
            for k, v in saved.items():
                if k != "params":
                    own[k] = v

    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:  # pragma: no cover
        raise NotImplementedError

    def __repr__(self) -> str:
        lines = [type(self).__name__ + " ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(k for k in g if k != "params"):
                lines.append(f"    {k}: {g[k]}")
        lines.append(")")
        return "\n".join(lines)


def _closure_loss(closure: Optional[Callable[[], Any]]) -> Any:
    if closure is None:
        return None
    from ember.autograd.grad_mode import enable_grad

    with enable_grad():
        return closure()


__all__ = ["Optimizer", "required", "no_grad"]
