"""``optimize_for_inference``: a model traced into a flat list of kernel calls, with batch
norm folded into the convolutions and each convolution's following ReLU, or residual add
and ReLU, done inside the convolution (the idea of torch.jit.optimize_for_inference).

The eager forward of a ResNet block, ``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut)``,
makes five passes over activations that a fused convolution makes in two: batch norm folds
into the weights (``fuse_conv_bn``), and the ReLU and the residual add are applied by the
convolution to each part of its output while that part is still in cache (``_C.conv2d_forward``
with ``residual`` / ``relu``). Model code cannot say which ReLU follows which convolution
(``F.relu`` calls, one ``nn.ReLU`` module used twice), so the model is traced: one forward
with a hook on every op (``Function.apply``) records which op consumed which result. The
trace is then rewritten and replayed on NumPy arrays, without modules, autograd or Tensor
wrappers in between.

A trace holds for one input signature (shapes and dtypes); a call with another signature
traces again (kept in a small cache). As with ``torch.jit.trace``, a forward whose ops depend
on the input's *values* (data-dependent branches) is not what a trace captures, and work done
outside ember's ops (NumPy on ``.data``, in-place changes) is not recorded: every new trace is
therefore checked against the eager model on its input and on a second, perturbed input, and
raises RuntimeError instead of returning a wrong model.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ember import _C
from ember.autograd import function as _function
from ember.autograd.grad_mode import no_grad
from ember.nn.module import Module
from ember.ops.conv import Conv2d as _ConvFn
from ember.ops.elementwise import Add as _AddFn, Relu as _ReluFn
from ember.ops.linalg import Linear as _LinearFn, linear_forward
from ember.tensor import Tensor
from ember.utils.fusion import _output_tensors, _outputs_close, fuse_conv_bn

__all__ = ["optimize_for_inference", "InferenceModule"]

_SLOT, _CONST = 0, 1
_MAX_SIGNATURES = 8


class _Untraceable(RuntimeError):
    pass


class _Node:
    """One kernel call of a plan: out_slot = fn(*args, **kwargs), each arg a (kind, value)
    pair: (_SLOT, index) names an earlier result, (_CONST, value) a value fixed at trace
    time (weights, shapes, flags)."""

    __slots__ = ("op", "fn", "args", "kwargs", "out", "relu", "residual", "layers")

    def __init__(self, op: Any, args: List[Tuple[int, Any]], kwargs: Dict[str, Any],
                 out: int) -> None:
        self.op, self.args, self.kwargs, self.out = op, args, kwargs, out
        self.relu = False
        self.residual: Optional[int] = None  # slot added by a fused convolution
        self.layers: Optional[List["_LinearConst"]] = None  # a chain of Linear layers
        self.fn: Callable[..., Any] = _forward_of(op)

    def name(self) -> str:
        if self.layers is not None:  # a chain of Linear (+ ReLU) layers
            return f"LinearChain x{len(self.layers)}"
        return self.op.__name__ + ("+Add" if self.residual is not None else "") + (
            "+Relu" if self.relu else "")

    def slots(self) -> List[int]:
        used = [v for k, v in self.args if k == _SLOT]
        return used + ([self.residual] if self.residual is not None else [])


def _forward_of(op: Any) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        return op.forward(op(), *args, **kwargs)
    return run


def _fused_linear(x: Any, w: Any, b: Any) -> Any:
    return linear_forward(x, w, b, relu=True)


class _LinearConst:
    """A Linear (+ ReLU) node whose weights are constants, as one call taking x alone: the
    weight stored once as W^T (in, out), so that the GEMM reads its rows in place instead of
    packing a transposed copy of W on every call, and a 2-D contiguous x straight to the
    GEMM (positional arguments; the replay's per-node Python cost is a few percent of a
    small MLP's inference). W^T's rows are 16 elements longer than its out columns: at a
    power-of-two stride (256 floats, 1 KiB) the rows a register tile reads in turn share a
    few L1 sets and evict each other (the MLP's three products, median of interleaved runs:
    W packed on every call 302 / 286 / 306 us, W^T contiguous 302 / 294 / 310, W^T padded
    284 / 278 / 297)."""

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
    back only the rows it wrote (the MLP's inference: three GEMMs 274 / 280 / 283 us, the
    chain 252 / 252 / 255 us, interleaved)."""

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


class _Tracer:
    """Records every op run while it is installed as ``function._TRACER``."""

    def __init__(self, inputs: Sequence[Tensor]) -> None:
        self.slot_of: Dict[int, int] = {}  # id(tensor) -> slot
        # Every slot's tensor and its version at creation: kept alive, so that ids stay
        # unique during the trace, and checked afterwards for in-place changes.
        self.tensors: List[Tuple[Tensor, int]] = []
        self.meta: List[Tuple[Tuple[int, ...], Any]] = []  # every slot's shape and dtype
        self.nodes: List[_Node] = []
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
            return (_SLOT, s) if s is not None else (_CONST, a.data)
        if isinstance(a, (list, tuple, dict)) and any(
                isinstance(e, Tensor) for e in (a.values() if isinstance(a, dict) else a)):
            raise _Untraceable(f"{op.__name__} takes tensors inside a {type(a).__name__}, "
                               "which the trace does not follow")
        return (_CONST, a)

    def __call__(self, op: Any, args: tuple, kwargs: dict, result: Tensor) -> None:
        spec = [self._arg(op, a) for a in args]
        kw = {}
        for k, v in kwargs.items():
            kind, val = self._arg(op, v)
            if kind == _SLOT:
                raise _Untraceable(f"{op.__name__} takes a traced tensor as keyword '{k}'")
            kw[k] = val
        self.nodes.append(_Node(op, spec, kw, self._slot(result)))

    def check_unmodified(self) -> None:
        for t, version in self.tensors:
            if t._vc[0] != version:
                raise _Untraceable("the forward modifies a tensor in place (e.g. out += x), "
                                   "which the trace does not record")


class _Plan:
    """A trace rewritten for inference: nodes in run order, the slots to drop after each,
    where the outputs come from and how to rebuild the model's output structure."""

    def __init__(self, n_inputs: int, n_slots: int, nodes: List[_Node],
                 outputs: List[Tuple[int, Any]], structure: str) -> None:
        self.n_inputs, self.n_slots, self.nodes = n_inputs, n_slots, nodes
        self.outputs, self.structure = outputs, structure
        out_slots = {v for k, v in outputs if k == _SLOT}
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
        prof = _function._PROFILER
        for node, drop in zip(self.nodes, self.drop):
            args = [env[v] if k == _SLOT else v for k, v in node.args]
            kwargs = node.kwargs
            if node.residual is not None:
                kwargs = dict(kwargs, residual=env[node.residual])
            if prof is None:
                env[node.out] = node.fn(*args, **kwargs)
            else:  # recorded under the fused op's name, e.g. Conv2d+Add+Relu
                token = prof._begin()
                env[node.out] = out = node.fn(*args, **kwargs)
                prof._end(prof.key(node.name(), args), "forward", token,
                          _function._nbytes(args) + _function._nbytes((out,)))
            for s in drop:
                env[s] = None
        return [env[v] if k == _SLOT else np.array(v, copy=True) for k, v in self.outputs]

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


def _readers(nodes: List[_Node], out_slots: set) -> Tuple[Dict[int, int], Dict[int, _Node]]:
    """How many times each slot is read (a model output counts as one read), and its last
    reader (its only one where the count is 1)."""
    uses: Dict[int, int] = {s: 1 for s in out_slots}
    last: Dict[int, _Node] = {}
    for n in nodes:
        for s in n.slots():
            uses[s] = uses.get(s, 0) + 1
            last[s] = n
    return uses, last


def _fuse(nodes: List[_Node], meta: List[Tuple[Tuple[int, ...], Any]],
          output_slots: set) -> List[_Node]:
    """Convolution + add (+ ReLU) and convolution + ReLU, where the convolution's result has
    no other use. The fused convolution runs where the add ran: its own inputs exist by
    then, and so does the add's other operand (the shortcut, often computed after it)."""
    producer: Dict[int, _Node] = {n.out: n for n in nodes}
    uses, consumer = _readers(nodes, output_slots)

    def lone_producer(slot: int, ops: tuple = (_ConvFn,)) -> Optional[_Node]:
        p = producer.get(slot)
        if (p is not None and p.op in ops and not p.relu and p.residual is None
                and uses.get(slot) == 1 and not p.kwargs and meta[slot][1] in
                (np.float32, np.float64)):
            return p
        return None

    removed: set = set()
    out_nodes: List[_Node] = []
    for n in nodes:
        if id(n) in removed:
            continue
        if n.op is _AddFn and not n.kwargs and all(k == _SLOT for k, _ in n.args):
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
        if n.op is _ReluFn and not n.kwargs and n.args[0][0] == _SLOT:
            conv = lone_producer(n.args[0][1], (_ConvFn, _LinearFn))
            if conv is not None:
                conv.relu = True
                conv.out = n.out
                conv.fn = _fused_conv(True) if conv.op is _ConvFn else _fused_linear
                continue
        out_nodes.append(n)
    return out_nodes


def _specialize(nodes: List[_Node]) -> None:
    """Linear nodes with constant weights (parameters) become single-input calls."""
    for n in nodes:
        if (n.op is _LinearFn and not n.kwargs and len(n.args) == 3 and n.args[0][0] == _SLOT
                and n.args[1][0] == _CONST and n.args[2][0] == _CONST
                and isinstance(n.args[1][1], np.ndarray) and n.args[1][1].ndim == 2):
            n.fn = _LinearConst(n.args[1][1], n.args[2][1], n.relu)
            n.args = n.args[:1]


def _chain(nodes: List[_Node], out_slots: set) -> List[_Node]:
    """Runs of specialised Linear nodes where each result is read only by the next node of
    the run (not an output, no other reader) become one chain node."""
    uses, _ = _readers(nodes, out_slots)
    kept: List[_Node] = []
    for n in nodes:
        prev = kept[-1] if kept else None
        if (isinstance(n.fn, _LinearConst) and prev is not None
                and isinstance(prev.fn, (_LinearConst, _LinearChain))
                and n.args[0] == (_SLOT, prev.out) and uses.get(prev.out, 0) == 1):
            layers = prev.layers if prev.layers is not None else [prev.fn]
            prev.layers = layers + [n.fn]
            prev.fn = _LinearChain(prev.layers)
            prev.out, prev.relu = n.out, n.relu
            continue
        kept.append(n)
    return kept


def _live(nodes: List[_Node], out_slots: set) -> List[_Node]:
    """The nodes an output depends on (ops whose results nothing reads are dropped)."""
    needed, kept = set(out_slots), []
    for n in reversed(nodes):
        if n.out in needed:
            kept.append(n)
            needed.update(n.slots())
    return kept[::-1]


def _perturbed(a: np.ndarray) -> np.ndarray:
    """A second input of the same signature and different values."""
    if not np.issubdtype(a.dtype, np.floating) or a.size == 0:
        return np.flip(a, 0).copy() if a.ndim else a.copy()
    rng = np.random.default_rng(1234)
    std = float(np.std(a)) or 1.0
    flipped = np.flip(a, 0) if a.ndim else a
    return (flipped * 0.5 + rng.standard_normal(a.shape) * std).astype(a.dtype)


def _input_array(t: Any) -> np.ndarray:
    """An input's array: a Tensor's data, an ndarray itself, anything else as ember.Tensor
    converts it (lists of floats become float32, as for the eager model)."""
    if isinstance(t, Tensor):
        return t.data
    return t if type(t) is np.ndarray else Tensor(t).data


class InferenceModule(Module):
    """The traced, fused form of a model (see ``optimize_for_inference``). Its weights are
    those of ``model`` (batch norm folded in) when a signature was first traced; outputs
    carry no autograd history."""

    def __init__(self, model: Module, rtol: float, atol: float) -> None:
        super().__init__()
        self.model = model
        self.rtol, self.atol = rtol, atol
        self._plans: "OrderedDict[tuple, _Plan]" = OrderedDict()

    def forward(self, *inputs: Any) -> Any:
        arrays = [_input_array(t) for t in inputs]
        plan = self._plan(arrays)
        outs = [Tensor._wrap(o) for o in plan.run(arrays)]
        if plan.structure == "tensor":
            return outs[0]
        return tuple(outs) if plan.structure == "tuple" else outs

    def plan_for(self, *inputs: Any) -> _Plan:
        """The plan that runs inputs of this signature (traced now if needed)."""
        return self._plan([_input_array(t) for t in inputs])

    def _plan(self, arrays: List[np.ndarray]) -> _Plan:
        key = tuple([(a.shape, a.dtype) for a in arrays])
        plan = self._plans.get(key)
        if plan is None:
            plan = self._trace([Tensor._wrap(a) for a in arrays])
            self._plans[key] = plan
            if len(self._plans) > _MAX_SIGNATURES:
                self._plans.popitem(last=False)
        return plan

    def _trace(self, inputs: List[Tensor]) -> _Plan:
        model = self.model
        tracer = _Tracer(inputs)
        if _function._TRACER is not None:
            raise RuntimeError("optimize_for_inference: another trace is running")
        try:
            _function._TRACER = tracer
            with no_grad():
                out = model(*inputs)
            tracer.check_unmodified()
        except _Untraceable as e:
            raise RuntimeError(f"optimize_for_inference: cannot trace this model: {e}") from None
        finally:
            _function._TRACER = None
        outs, structure = _output_tensors(out)
        outputs = [(_SLOT, tracer.slot_of[id(t)]) if id(t) in tracer.slot_of
                   else (_CONST, t.data) for t in outs]
        want = [np.array(t.data, copy=True) for t in outs]
        out_slots = {v for k, v in outputs if k == _SLOT}
        nodes = _live(_fuse(tracer.nodes, tracer.meta, out_slots), out_slots)
        _specialize(nodes)
        nodes = _chain(nodes, out_slots)
        plan = _Plan(len(inputs), len(tracer.tensors), nodes, outputs, structure)
        arrays = [t.data for t in inputs]
        ok = _outputs_close(plan.run(arrays), want, self.rtol, self.atol)
        if ok:  # a second input: catches values computed outside the traced ops
            other = [_perturbed(a) for a in arrays]
            with no_grad():
                eager, _ = _output_tensors(model(*[Tensor(a) for a in other]))
            ok = _outputs_close(plan.run(other), [t.data for t in eager], self.rtol,
                                self.atol)
        if not ok:
            raise RuntimeError(
                "optimize_for_inference: the traced model's output differs from the eager "
                "model's; its forward probably depends on the input's values (branches) or "
                "computes outside ember's ops (NumPy on .data). Run the model itself, or "
                "fuse_conv_bn for batch-norm folding alone")
        return plan


def optimize_for_inference(model: Module, example_inputs: Any = None, rtol: float = 1e-4,
                           atol: float = 1e-5) -> InferenceModule:
    """A frozen, eval-mode copy of ``model`` for fast inference (``model`` is unchanged):
    batch norm folded into the convolutions before it (``fuse_conv_bn``), the model traced
    into a list of kernel calls, every convolution followed only by a ReLU, or by an add of
    a same-shaped tensor (a residual shortcut) and possibly a ReLU, run as one fused
    convolution, and every Linear followed only by a ReLU as one GEMM. ``example_inputs`` (a
    Tensor / array or a tuple of them) is used for the batch-norm folding check and traced
    at once; other input shapes are traced on first use. Each trace is checked against the
    eager model (``rtol``, and ``atol`` relative to the output's largest value) and raises
    RuntimeError if it differs."""
    if example_inputs is None:
        raise TypeError("optimize_for_inference: example_inputs is required (one batch of "
                        "the shape the model takes)")
    inputs = example_inputs if isinstance(example_inputs, tuple) else (example_inputs,)
    fused = fuse_conv_bn(model, inputs, rtol=rtol, atol=atol)
    module = InferenceModule(fused, rtol, atol)
    module(*inputs)
    return module
