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
from typing import Any, List

import numpy as np

from ember.autograd.grad_mode import no_grad
from ember.autograd.hooks import tracing
from ember.inference.conv_bn import fuse_conv_bn, output_tensors, outputs_close
from ember.inference.graph import CONST, SLOT, Untraceable, live
from ember.inference.passes import chain, fuse, specialize
from ember.inference.plan import Plan
from ember.inference.tracer import Tracer
from ember.nn.module import Module
from ember.tensor import Tensor

__all__ = ["optimize_for_inference", "InferenceModule"]

_MAX_SIGNATURES = 8


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
        self._plans: "OrderedDict[tuple, Plan]" = OrderedDict()

    def forward(self, *inputs: Any) -> Any:
        arrays = [_input_array(t) for t in inputs]
        plan = self._plan(arrays)
        outs = [Tensor._wrap(o) for o in plan.run(arrays)]
        if plan.structure == "tensor":
            return outs[0]
        return tuple(outs) if plan.structure == "tuple" else outs

    def plan_for(self, *inputs: Any) -> Plan:
        """The plan that runs inputs of this signature (traced now if needed)."""
        return self._plan([_input_array(t) for t in inputs])

    def _plan(self, arrays: List[np.ndarray]) -> Plan:
        key = tuple([(a.shape, a.dtype) for a in arrays])
        plan = self._plans.get(key)
        if plan is None:
            plan = self._trace([Tensor._wrap(a) for a in arrays])
            self._plans[key] = plan
            if len(self._plans) > _MAX_SIGNATURES:
                self._plans.popitem(last=False)
        return plan

    def _trace(self, inputs: List[Tensor]) -> Plan:
        model = self.model
        tracer = Tracer(inputs)
        try:
            with tracing(tracer), no_grad():
                out = model(*inputs)
            tracer.check_unmodified()
        except Untraceable as e:
            raise RuntimeError(f"optimize_for_inference: cannot trace this model: {e}") from None
        outs, structure = output_tensors(out)
        outputs = [(SLOT, tracer.slot_of[id(t)]) if id(t) in tracer.slot_of
                   else (CONST, t.data) for t in outs]
        want = [np.array(t.data, copy=True) for t in outs]
        out_slots = {v for k, v in outputs if k == SLOT}
        nodes = live(fuse(tracer.nodes, tracer.meta, out_slots), out_slots)
        specialize(nodes)
        nodes = chain(nodes, out_slots)
        plan = Plan(len(inputs), len(tracer.tensors), nodes, outputs, structure)
        arrays = [t.data for t in inputs]
        ok = outputs_close(plan.run(arrays), want, self.rtol, self.atol)
        if ok:  # a second input: catches values computed outside the traced ops
            other = [_perturbed(a) for a in arrays]
            with no_grad():
                eager, _ = output_tensors(model(*[Tensor(a) for a in other]))
            ok = outputs_close(plan.run(other), [t.data for t in eager], self.rtol,
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
