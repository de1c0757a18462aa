"""A rewritten trace as a runnable plan: nodes in order, each slot dropped after its last
use, replayed on NumPy arrays without modules, autograd or Tensor wrappers."""
from __future__ import annotations

from typing import Any, Dict, List, Sequence, Tuple

import numpy as np

from ember.autograd.hooks import HOOKS
from ember.inference.graph import SLOT, Node
from ember.ops.conv import Conv2d as _ConvFn
from ember.ops.linalg import Linear as _LinearFn


class Plan:
    """A trace rewritten for inference: nodes in run order, the slots to drop after each,
    where the outputs come from and how to rebuild the model's output structure."""

    def __init__(self, n_inputs: int, n_slots: int, nodes: List[Node],
                 outputs: List[Tuple[int, Any]], structure: str) -> None:
        self.n_inputs, self.n_slots, self.nodes = n_inputs, n_slots, nodes
        self.outputs, self.structure = outputs, structure
        out_slots = {v for k, v in outputs if k == SLOT}
        last: Dict[int, int] = {}
        for i, node in enumerate(nodes):
            for s in node.slots():
                last[s] = i
        self.drop: List[List[int]] = [[] for _ in nodes]
        for s, i in last.items():
            if s not in out_slots:
                self.drop[i].append(s)

    def run(self, arrays: Sequence[np.ndarray]) -> List[np.ndarray]:
        env: List[Any] = [None] * self.n_slots
        env[:self.n_inputs] = arrays
        prof = HOOKS.profiler
        for node, drop in zip(self.nodes, self.drop):
            args = [env[v] if k == SLOT else v for k, v in node.args]
            kwargs = node.kwargs
            if node.residual is not None:
                kwargs = dict(kwargs, residual=env[node.residual])
            if prof is None:
                env[node.out] = node.fn(*args, **kwargs)
            else:  # recorded under the fused op's name, e.g. Conv2d+Add+Relu
                env[node.out] = prof.timed(node.name(), "forward", node.fn, *args, **kwargs)
            for s in drop:
                env[s] = None
        return [env[v] if k == SLOT else np.array(v, copy=True) for k, v in self.outputs]

    def count(self, what: str) -> int:
        if what == "conv_relu":
            return sum(n.op is _ConvFn and n.relu and n.residual is None for n in self.nodes)
        if what == "conv_add":
            return sum(n.op is _ConvFn and n.residual is not None for n in self.nodes)
        if what == "linear_relu":
            return sum(sum(layer.relu for layer in n.layers) if n.layers is not None
                       else n.op is _LinearFn and n.relu for n in self.nodes)
        if what == "linear_chain":  # Linear layers run inside chain nodes
            return sum(len(n.layers) for n in self.nodes if n.layers is not None)
        raise ValueError(what)
