"""``Optimizer`` base: parameter groups, zero_grad, state_dict (PyTorch's layout), and the
plumbing that hands a whole group to one fused C++ update (``ember._C.optim_*``)."""
from __future__ import annotations

import copy
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

import numpy as np

from ember import _device
from ember.autograd.hooks import HOOKS
from ember.autograd.grad_mode import no_grad
from ember.nn.utils import zero_grads
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
        if isinstance(params, (set, frozenset)):
            # Stricter than PyTorch (which accepts a bare set): a set's order changes between
            # runs, and state_dict() numbers parameters by order.
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs; use "
                            "a list")
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
        if isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs; use "
                            "a list")
        group["params"] = [params] if isinstance(params, Tensor) else list(params)
        seen = set()
        for p in group["params"]:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is "
                                f"{type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
            if p.dtype not in (np.float32, np.float64):
                raise TypeError(f"optimizer can only optimize float32 or float64 tensors, got "
                                f"{p.dtype}")
            if id(p) in seen:
                raise ValueError("optimizer got a parameter group with duplicate parameters "
                                 f"(a tensor of shape {tuple(p.shape)} is listed twice)")
            seen.add(id(p))
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
        zero_grads([p for g in self.param_groups for p in g["params"]], set_to_none)

    def _state_for(self, p: Tensor) -> Dict[str, Any]:
        return self.state.setdefault(id(p), {})

    @staticmethod
    def _with_grad(group: Dict[str, Any]) -> Tuple[List[Tensor], List[np.ndarray]]:
        """The group's parameters that have a gradient, and those gradients as contiguous
        arrays of the parameter's dtype (what the fused kernels take)."""
        params, grads = [], []
        for p in group["params"]:
            if p.grad is None:
                continue
            g = p.grad.data
            if not isinstance(g, np.ndarray) or g.dtype != p.data.dtype \
                    or not g.flags.c_contiguous:
                g = np.ascontiguousarray(g, dtype=p.data.dtype)
            params.append(p)
            grads.append(g)
        return params, grads

    @staticmethod
    def _fused(kernel: Callable[..., Any], params: List[Tensor], *args: Any) -> None:
        """Call the fused C++ update ``kernel(param_arrays, *args)``. A parameter whose data
        is not C-contiguous (a transposed view, Fortran order) is updated in a contiguous copy
        that is written back, so any layout works, as in PyTorch."""
        _device.host_only(getattr(kernel, "__name__", "optimizer step"), *params)
        arrays = [p.data for p in params]
        strided = [i for i, a in enumerate(arrays) if not a.flags.c_contiguous]
        for i in strided:
            arrays[i] = np.ascontiguousarray(arrays[i])
        kernel(arrays, *args)
        for i in strided:
            np.copyto(params[i].data, arrays[i])
        for p in params:
            p._vc[0] += 1

    def _state_arrays(self, params: List[Tensor], key: str, fill: float = 0.0) -> List[np.ndarray]:
        """Per-parameter state array ``key`` (created filled with ``fill`` the first time)."""
        out = []
        for p in params:
            st = self._state_for(p)
            a = st.get(key)
            if a is None:
                a = st[key] = np.full(p.shape, fill, dtype=p.data.dtype)
            out.append(a)
        return out

    def _next_steps(self, params: List[Tensor]) -> List[float]:
        """Increment and return each parameter's step count (state['step'], as PyTorch)."""
        steps = []
        for p in params:
            st = self._state_for(p)
            st["step"] = float(st.get("step", 0.0)) + 1.0
            steps.append(st["step"])
        return steps



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
        # Only state of parameters still in the optimizer (a dict keyed by id() could hold a
        # dead parameter whose id was reused).
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        """Restore state saved by :meth:`state_dict`. Everything is checked before anything
        changes, so a mismatched state dict leaves the optimizer as it was."""
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
        new_state: Dict[int, Dict[str, Any]] = {}
        for idx, p in params:
            if idx not in state_dict["state"]:
                continue
            saved_state = state_dict["state"][idx]
            for k, v in saved_state.items():
                if isinstance(v, np.ndarray) and v.ndim and v.shape != tuple(p.shape):
                    raise ValueError(
                        f"loaded state dict: state {k!r} of parameter {idx} has shape "
                        f"{v.shape} but the parameter has shape {tuple(p.shape)}")
            new_state[id(p)] = {
                k: (np.array(v, dtype=p.dtype) if isinstance(v, np.ndarray) and v.ndim else
                    copy.deepcopy(v))
                for k, v in saved_state.items()}
        self.state = new_state
        for saved, own in zip(groups, self.param_groups):
            for k, v in saved.items():
                if k != "params":
                    own[k] = copy.deepcopy(v)

    @no_grad()
    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        """One update of every parameter that has a gradient; returns ``closure()``'s value
        (the closure, if given, runs first with grad mode on)."""
        loss = _closure_loss(closure)
        prof = HOOKS.profiler
        if prof is None:
            self._update_all()
        else:
            prof.timed(f"{type(self).__name__}.step", "region", self._update_all)
        return loss

    def _update_all(self) -> None:
        for group in self.param_groups:
            params, grads = self._with_grad(group)
            if params:
                self._update_group(group, params, grads)

    def _update_group(self, group: Dict[str, Any], params: List[Tensor],
                      grads: List[np.ndarray]) -> None:  # pragma: no cover - abstract
        """Update ``params`` (those of ``group`` with a gradient) given their ``grads``."""
        raise NotImplementedError

    def __repr__(self) -> str:
        lines = [type(self).__name__ + " ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(k for k in g if k != "params"):
                lines.append(f"    {k}: {g[k]}")
        lines.append(")")
        return "\n".join(lines)


def check_hyper(opt: str, what: str, value: Any, ok: bool) -> None:
    """ValueError naming the optimizer and the bad hyper-parameter (PyTorch's wording)."""
    if not ok:
        raise ValueError(f"{opt}: Invalid {what}: {value}")


def _closure_loss(closure: Optional[Callable[[], Any]]) -> Any:
    if closure is None:
        return None
    from ember.autograd.grad_mode import enable_grad

    with enable_grad():
        return closure()


__all__ = ["Optimizer", "required", "no_grad"]
