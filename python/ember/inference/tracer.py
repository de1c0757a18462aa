"""Recording a model's forward: every op run while the tracer is installed
(``ember.autograd.hooks.tracing``) becomes a ``Node`` over slots."""
from __future__ import annotations

from typing import Any, Dict, List, Sequence, Tuple

from ember.inference.graph import CONST, SLOT, Node, Untraceable
from ember.tensor import Tensor


class Tracer:
    """Records every op run while it is installed as the op tracer (``hooks.tracing``)."""

    def __init__(self, inputs: Sequence[Tensor]) -> None:
        self.slot_of: Dict[int, int] = {}  # id(tensor) -> slot
        # Every slot's tensor and its version at creation: kept alive, so that ids stay
        # unique during the trace, and checked afterwards for in-place changes.
        self.tensors: List[Tuple[Tensor, int]] = []
        self.meta: List[Tuple[Tuple[int, ...], Any]] = []  # every slot's shape and dtype
        self.nodes: List[Node] = []
        for t in inputs:
            self._slot(t)

    def _slot(self, t: Tensor) -> int:
        self.slot_of[id(t)] = len(self.tensors)
        self.tensors.append((t, t._vc[0]))
        self.meta.append((tuple(t.shape), t.dtype))
        return len(self.tensors) - 1

    def _arg(self, op: Any, a: Any) -> Tuple[int, Any]:
        if isinstance(a, Tensor):
            s = self.slot_of.get(id(a))
            return (SLOT, s) if s is not None else (CONST, a.data)
        if isinstance(a, (list, tuple, dict)) and any(
                isinstance(e, Tensor) for e in (a.values() if isinstance(a, dict) else a)):
            raise Untraceable(f"{op.__name__} takes tensors inside a {type(a).__name__}, "
                               "which the trace does not follow")
        return (CONST, a)

    def __call__(self, op: Any, args: tuple, kwargs: dict, result: Tensor) -> None:
        spec = [self._arg(op, a) for a in args]
        kw = {}
        for k, v in kwargs.items():
            kind, val = self._arg(op, v)
            if kind == SLOT:
                raise Untraceable(f"{op.__name__} takes a traced tensor as keyword '{k}'")
            kw[k] = val
        self.nodes.append(Node(op, spec, kw, self._slot(result)))

    def check_unmodified(self) -> None:
        for t, version in self.tensors:
            if t._vc[0] != version:
                raise Untraceable("the forward modifies a tensor in place (e.g. out += x), "
                                   "which the trace does not record")
