"""Reverse-mode engine: topological order over the graph of ``Function`` nodes.

Each non-leaf tensor is the single output of its node (``tensor._ctx``), so gradients are
accumulated per node. Leaves that require grad accumulate into ``.grad`` (summing across
uses and across backward calls, as PyTorch does). After a backward without
``retain_graph`` every visited node releases what it saved.
"""
from __future__ import annotations

from typing import Dict, List, Optional

import numpy as np

from ember import kernels
from ember.autograd import anomaly
from ember.autograd.function import Function
from ember.autograd.grad_mode import no_grad
from ember.autograd.hooks import HOOKS


def _toposort(root: Function) -> List[Function]:
    """Nodes reachable from ``root``, each after every node that consumes its output."""
    order: List[Function] = []
    visited = set()
    stack = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        for parent in reversed(node.parents):
            if parent is not None and parent._ctx is not None and id(parent._ctx) not in visited:
                stack.append((parent._ctx, False))
    order.reverse()
    return order


def _accumulate_leaf(tensor, grad: np.ndarray, adopt: bool = False) -> None:
    if tensor.grad is None:
        if adopt:  # an array the node's backward just allocated for this input alone
            tensor.grad = Tensor._wrap(grad)
            return
        # Own the memory (the incoming array may be a view of another node's gradient), as
        # an ndarray even for a 0-d tensor (NumPy arithmetic returns scalars there).
        tensor.grad = Tensor._wrap(np.array(grad, dtype=tensor.data.dtype, copy=True))
    else:
        acc = tensor.grad.data
        if acc.shape == np.shape(grad) and acc.flags.writeable:
            np.add(acc, grad, out=acc, casting="unsafe")  # in place, as PyTorch accumulates
        else:
            tensor.grad.data = np.array(acc + grad, dtype=tensor.data.dtype)


def _adoptable(pg, parent, upstream, input_grads) -> bool:
    """A fresh_grads node's gradient may become a leaf's .grad without a copy: a writeable
    array owning its memory, of the leaf's dtype, neither the upstream gradient nor returned
    for two inputs (checked here as well, so that a mislabelled op cannot alias two .grads)."""
    return (type(pg) is np.ndarray and pg.base is None and pg.flags.writeable
            and pg.dtype == parent.data.dtype and pg is not upstream
            and sum(1 for q in input_grads if q is pg) == 1)


def backward(root, grad: Optional[np.ndarray] = None, retain_graph: bool = False) -> None:
    """Backpropagate from tensor ``root`` with upstream gradient ``grad`` (ones for a scalar)."""
    if not root._requires_grad:
        raise RuntimeError(
            "backward: the tensor does not require grad and has no grad_fn (did you compute it "
            "under ember.no_grad(), or from tensors with requires_grad=False?)")
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"backward: grad can be implicitly created only for scalar outputs, got shape "
                f"{tuple(root.shape)}; pass a gradient of that shape")
        grad = np.ones_like(root.data)
    else:
        grad = np.asarray(grad, dtype=root.data.dtype)
        if grad.shape != root.data.shape:
            raise RuntimeError(
                f"backward: gradient has shape {grad.shape} but the tensor has shape "
                f"{tuple(root.shape)}")
    if root._ctx is None:  # a leaf
        _accumulate_leaf(root, grad)
        return

    order = _toposort(root._ctx)
    grads: Dict[int, np.ndarray] = {id(root._ctx): grad}
    with no_grad():
        for node in order:
            g = grads.pop(id(node), None)
            if node.freed:
                raise RuntimeError(
                    f"{node.name}: trying to backward through the graph a second time (its "
                    "saved values were freed after the first backward); pass retain_graph=True "
                    "to the first backward() if you need to backward twice")
            if g is None:
                continue
            retained = node.__dict__.get("_retained")  # a weak reference (no cycle)
            if retained is not None and retained() is not None:
                _accumulate_leaf(retained(), g)
            prof = HOOKS.profiler
            if prof is None:
                input_grads = node.backward(node, g)
            else:
                input_grads = prof.timed(node.name, "backward", node.backward, node, g)
            if not isinstance(input_grads, tuple):
                input_grads = (input_grads,)
            if anomaly.is_anomaly_enabled():
                anomaly.check_backward(node.name, input_grads)
            fresh = node.fresh_grads
            for parent, pg in zip(node.parents, input_grads):
                if parent is None or pg is None:
                    continue
                if pg.shape != parent.data.shape:
                    raise RuntimeError(
                        f"{node.name}.backward returned a gradient of shape {pg.shape} for an "
                        f"input of shape {tuple(parent.shape)}; backward must return one "
                        "gradient per forward input, each of that input's shape")
                if parent._ctx is None:
                    _accumulate_leaf(parent, pg, fresh and _adoptable(pg, parent, g,
                                                                      input_grads))
                else:
                    key = id(parent._ctx)
                    if key in grads:
                        # A fan-out (a residual block's input): never written in place,
                        # either gradient may be a view of another's or of saved data.
                        grads[key] = kernels.add(grads[key], pg)
                    else:
                        grads[key] = pg
            if not retain_graph:
                node.release()


from ember.tensor import Tensor  # noqa: E402
