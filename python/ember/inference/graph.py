"""The traced graph of ``ember.inference``: nodes (one kernel call each) over numbered slots
(each op's result, each model input), and the slot bookkeeping the passes share."""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Tuple

SLOT, CONST = 0, 1


class Untraceable(RuntimeError):
    """The model does something a trace cannot record."""


class Node:
    """One kernel call of a plan: out_slot = fn(*args, **kwargs), each arg a (kind, value)
    pair: (SLOT, index) names an earlier result, (CONST, value) a value fixed at trace
    time (weights, shapes, flags)."""

    __slots__ = ("op", "fn", "args", "kwargs", "out", "relu", "residual", "layers")

    def __init__(self, op: Any, args: List[Tuple[int, Any]], kwargs: Dict[str, Any],
                 out: int) -> None:
        self.op, self.args, self.kwargs, self.out = op, args, kwargs, out
        self.relu = False
        self.residual: Optional[int] = None  # slot added by a fused convolution
        self.layers: Optional[List[Any]] = None  # a chain of Linear layers
        self.fn: Callable[..., Any] = forward_of(op)

    def name(self) -> str:
        if self.layers is not None:  # a chain of Linear (+ ReLU) layers
            return f"LinearChain x{len(self.layers)}"
        return self.op.__name__ + ("+Add" if self.residual is not None else "") + (
            "+Relu" if self.relu else "")

    def slots(self) -> List[int]:
        used = [v for k, v in self.args if k == SLOT]
        return used + ([self.residual] if self.residual is not None else [])


def forward_of(op: Any) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        return op.forward(op(), *args, **kwargs)
    return run


def readers(nodes: List[Node], out_slots: set) -> Tuple[Dict[int, int], Dict[int, Node]]:
    """How many times each slot is read (a model output counts as one read), and its last
    reader (its only one where the count is 1)."""
    uses: Dict[int, int] = {s: 1 for s in out_slots}
    last: Dict[int, Node] = {}
    for n in nodes:
        for s in n.slots():
            uses[s] = uses.get(s, 0) + 1
            last[s] = n
    return uses, last


def live(nodes: List[Node], out_slots: set) -> List[Node]:
    """The nodes an output depends on (ops whose results nothing reads are dropped)."""
    needed, kept = set(out_slots), []
    for n in reversed(nodes):
        if n.out in needed:
            kept.append(n)
            needed.update(n.slots())
    return kept[::-1]
