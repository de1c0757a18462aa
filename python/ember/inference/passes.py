"""The rewrites of a traced graph: convolution + add + ReLU and convolution / Linear + ReLU
fused into one kernel call, Linear nodes with constant weights specialised to one GEMM call,
and runs of them chained into one ``_C.linear_chain``."""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from ember import _C
from ember.inference.graph import CONST, SLOT, Node, readers
from ember.ops.conv import Conv2d as _ConvFn
from ember.ops.elementwise import Add as _AddFn, Relu as _ReluFn
from ember.ops.linalg import Linear as _LinearFn, linear_forward


def _fused_linear(x: Any, w: Any, b: Any) -> Any:
    return linear_forward(x, w, b, relu=True)


class _LinearConst:
    """A Linear (+ ReLU) node whose weights are constants, as one call taking x alone: the
    weight stored once as W^T (in, out), so that the GEMM reads its rows in place instead of
    packing a transposed copy of W on every call, and a 2-D contiguous x straight to the
    GEMM (positional arguments: the replay's per-node Python cost shows in a small MLP's
    inference). W^T's rows are 16 elements longer than its out columns: at a power-of-two
    stride the rows a register tile reads in turn share a few L1 sets and evict each other
    (docs/results.md has the measurement)."""

    __slots__ = ("w", "wt", "b", "relu", "n_out")

    def __init__(self, w: np.ndarray, b: Optional[np.ndarray], relu: bool) -> None:
        self.n_out, n_in = w.shape
        self.w, self.relu = w, relu
        self.wt = np.zeros((n_in, self.n_out + 16), dtype=w.dtype)[:, :self.n_out]
        self.wt[...] = w.T
        self.b = None if b is None else np.ascontiguousarray(b)

    def fast(self, x: np.ndarray) -> bool:
        """x goes straight to the kernels: 2-D, C-contiguous, non-empty, of W's dtype."""
        return (x.ndim == 2 and x.size > 0 and x.dtype == self.wt.dtype
                and x.flags.c_contiguous)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.fast(x):
            return _C.gemm(x, self.wt, np.empty((x.shape[0], self.n_out), x.dtype), False,
                           False, 1.0, 0.0, self.b, self.relu)
        return linear_forward(x, self.w, self.b, self.relu)


class _LinearChain:
    """Consecutive Linear (+ ReLU) layers, each result read only by the next layer, as one
    ``_C.linear_chain`` call: the threads split the batch's rows and run every layer on their
    own rows in one parallel region, with no barrier between layers and each thread reading
    back only the rows it wrote."""

    def __init__(self, layers: List[_LinearConst]) -> None:
        self.layers = layers
        self.wts = [layer.wt for layer in layers]
        self.bs = [layer.b for layer in layers]
        self.relus = [layer.relu for layer in layers]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.layers[0].fast(x):
            return _C.linear_chain(x, self.wts, self.bs, self.relus)
        for layer in self.layers:
            x = layer(x)
        return x


def _fused_conv(relu: bool) -> Callable[..., Any]:
    def run(x: Any, w: Any, b: Any, stride: Any, padding: Any, dilation: Any, groups: int,
            residual: Any = None) -> Any:
        return _C.conv2d_forward(np.ascontiguousarray(x), np.ascontiguousarray(w),
                                 None if b is None else np.ascontiguousarray(b), stride,
                                 padding, dilation, groups,
                                 None if residual is None else np.ascontiguousarray(residual),
                                 relu)
    return run


def fuse(nodes: List[Node], meta: List[Tuple[Tuple[int, ...], Any]],
          output_slots: set) -> List[Node]:
    """Convolution + add (+ ReLU) and convolution + ReLU, where the convolution's result has
    no other use. The fused convolution runs where the add ran: its own inputs exist by
    then, and so does the add's other operand (the shortcut, often computed after it)."""
    producer: Dict[int, Node] = {n.out: n for n in nodes}
    uses, consumer = readers(nodes, output_slots)

    def lone_producer(slot: int, ops: tuple = (_ConvFn,)) -> Optional[Node]:
        p = producer.get(slot)
        if (p is not None and p.op in ops and not p.relu and p.residual is None
                and uses.get(slot) == 1 and not p.kwargs and meta[slot][1] in
                (np.float32, np.float64)):
            return p
        return None

    removed: set = set()
    out_nodes: List[Node] = []
    for n in nodes:
        if id(n) in removed:
            continue
        if n.op is _AddFn and not n.kwargs and all(k == SLOT for k, _ in n.args):
            (_, a), (_, b) = n.args
            same = meta[a] == meta[b] == meta[n.out] and a != b
            conv = lone_producer(a) if same else None
            other = b
            if conv is None and same:
                conv, other = lone_producer(b), a
            if conv is not None:  # moves from its place in out_nodes to the add's
                out_nodes = [m for m in out_nodes if m is not conv]
                conv.residual = other
                conv.out = n.out
                relu = consumer.get(n.out)
                if (relu is not None and relu.op is _ReluFn and uses.get(n.out) == 1
                        and not relu.kwargs):
                    conv.relu = True
                    conv.out = relu.out
                    removed.add(id(relu))
                conv.fn = _fused_conv(conv.relu)
                out_nodes.append(conv)
                continue
        if n.op is _ReluFn and not n.kwargs and n.args[0][0] == SLOT:
            conv = lone_producer(n.args[0][1], (_ConvFn, _LinearFn))
            if conv is not None:
                conv.relu = True
                conv.out = n.out
                conv.fn = _fused_conv(True) if conv.op is _ConvFn else _fused_linear
                continue
        out_nodes.append(n)
    return out_nodes


def specialize(nodes: List[Node]) -> None:
    """Linear nodes with constant weights (parameters) become single-input calls."""
    for n in nodes:
        if (n.op is _LinearFn and not n.kwargs and len(n.args) == 3 and n.args[0][0] == SLOT
                and n.args[1][0] == CONST and n.args[2][0] == CONST
                and isinstance(n.args[1][1], np.ndarray) and n.args[1][1].ndim == 2):
            n.fn = _LinearConst(n.args[1][1], n.args[2][1], n.relu)
            n.args = n.args[:1]


def chain(nodes: List[Node], out_slots: set) -> List[Node]:
    """Runs of specialised Linear nodes where each result is read only by the next node of
    the run (not an output, no other reader) become one chain node."""
    uses, _ = readers(nodes, out_slots)
    kept: List[Node] = []
    for n in nodes:
        prev = kept[-1] if kept else None
        if (isinstance(n.fn, _LinearConst) and prev is not None
                and isinstance(prev.fn, (_LinearConst, _LinearChain))
                and n.args[0] == (SLOT, prev.out) and uses.get(prev.out, 0) == 1):
            layers = prev.layers if prev.layers is not None else [prev.fn]
            prev.layers = layers + [n.fn]
            prev.fn = _LinearChain(prev.layers)
            prev.out, prev.relu = n.out, n.relu
            continue
        kept.append(n)
    return kept
