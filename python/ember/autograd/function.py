"""``Function``: one differentiable operation, its forward and its backward side by side.

A subclass implements ``forward(ctx, *args, **kwargs)`` on NumPy arrays (Tensor arguments
arrive as their ``.data``) returning one array, and ``backward(ctx, grad)`` returning one
gradient (array or None) per positional argument of ``forward``. ``Function.apply`` runs
forward, and when grad mode is on and an input requires grad, links the output to a new
graph node (the ``ctx`` itself) holding its parent tensors.

``ctx.save_for_backward(*arrays_or_tensors)`` records what backward needs together with the
tensors' version counters; ``ctx.saved_tensors`` refuses to hand back a tensor that was
modified in place after it was saved, rather than return a wrong gradient. A view (reshape,
slice, transpose, ``detach()``...) shares its base's version counter, as in PyTorch, so an
in-place change through any alias is seen. The node keeps the counters, not the tensors, so
an output that saves itself forms no reference cycle and is freed as soon as it is dropped.
"""
from __future__ import annotations

from typing import Any, Tuple

import numpy as np

from ember import _device
from ember.autograd import anomaly as _anomaly
from ember.autograd.anomaly import _state as _anomaly_state
from ember.autograd.grad_mode import _state as _grad_state
from ember.autograd.hooks import HOOKS as _HOOKS


class Function:
    """Base class of every differentiable op. Instances are the graph's nodes (``ctx``)."""

    # Set on nodes that are part of a graph.
    parents: Tuple[Any, ...] = ()
    needs_input_grad: Tuple[bool, ...] = ()
    freed: bool = False
    # True on ops whose backward returns only arrays it has just allocated (C++ kernel
    # results), each for one input: the engine then hands a leaf such an array as its .grad
    # instead of copying it (a leaf's first gradient is otherwise copied, since it may be a
    # view of, or the same array as, another node's gradient).
    fresh_grads: bool = False

    @staticmethod
    def forward(ctx: "Function", *args: Any, **kwargs: Any) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    @staticmethod
    def backward(ctx: "Function", grad: np.ndarray) -> Any:  # pragma: no cover
        raise NotImplementedError

    @property
    def name(self) -> str:
        return type(self).__name__

    def save_for_backward(self, *arrays: Any) -> None:
        """Keep arrays for backward. Those that are an input's or the output's data are
        checked, when backward reads them, against in-place changes of that tensor."""
        self._saved = arrays

    @property
    def saved_tensors(self) -> Tuple[Any, ...]:
        if self.freed:
            raise RuntimeError(
                f"{self.name}: trying to backward through the graph a second time (its saved "
                "values were freed after the first backward); pass retain_graph=True to the "
                "first backward() if you need to backward twice")
        for counter, version, shape in self.__dict__.get("_saved_versions", ()):
            if counter[0] != version:
                raise RuntimeError(
                    f"{self.name} backward: a tensor of shape {shape} needed for the gradient "
                    f"was modified by an in-place operation (version {version} -> "
                    f"{counter[0]}); use the out-of-place form or clone() it first")
        return self._saved

    def release(self) -> None:
        """Free everything saved for backward; the node can no longer be backpropagated."""
        parents, needs = self.parents, self.needs_input_grad
        self.__dict__.clear()
        self.parents, self.needs_input_grad, self.freed = parents, needs, True

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> "Tensor":
        # The hot path of every op: kept free of calls that are not needed (measured by
        # benchmarks/bench_overhead.py).
        ctx = cls()
        raw = [a.data if isinstance(a, Tensor) else a for a in args]
        if _device.GPU_USED:
            _device.same(cls.__name__, [a.data for a in args if isinstance(a, Tensor)])
        prof = _HOOKS.profiler
        if prof is None:
            out = cls.forward(ctx, *raw, **kwargs)
        else:
            out = prof.timed(cls.__name__, "forward", cls.forward, ctx, *raw, **kwargs)
        if _anomaly_state.enabled:
            _anomaly.check_forward(cls.__name__, raw, out)
        result = Tensor._wrap(out)
        if type(out) is not np.ndarray or out.base is not None:
            if isinstance(out, np.ndarray):
                _share_version_with_base(result, out, args)
        if _grad_state.enabled:
            needs = tuple([isinstance(a, Tensor) and a._requires_grad for a in args])
            if True in needs:
                ctx.parents = tuple([a if n else None for a, n in zip(args, needs)])
                ctx.needs_input_grad = needs
                result._ctx = ctx
                result._requires_grad = True
                saved = ctx.__dict__.get("_saved")
                if saved:
                    ctx._saved_versions = _saved_owners(saved, args, raw, out, result)
        tracer = _HOOKS.tracer
        if tracer is not None:
            tracer(cls, args, kwargs, result)
        return result


def _share_version_with_base(result, out: np.ndarray, args) -> None:
    """A view of an input's memory shares that input's version counter (PyTorch's rule)."""
    for arg in args:
        if isinstance(arg, Tensor) and np.may_share_memory(out, arg.data):
            result._vc = arg._vc
            result._is_view = True
            return


def _saved_owners(saved, args, raw, out, result) -> tuple:
    """(counter, version, shape) for each saved array that is an input's or the output's data."""
    owners = []
    for item in saved:
        if item is out:
            owners.append((result._vc, result._vc[0], tuple(out.shape)))
            continue
        for arg, arr in zip(args, raw):
            if item is arr and isinstance(arg, Tensor):
                owners.append((arg._vc, arg._vc[0], tuple(arr.shape)))
                break
    return tuple(owners)


from ember.tensor import Tensor  # noqa: E402  (Function and Tensor refer to each other)
