"""``ember.summary(model, input_size)``: a per-layer table (name, type, output shape,
parameters, multiply-accumulates) and totals, from one forward pass of a zero input.

MACs count the multiply-adds of convolutions (incl. transposed) and linear layers, the
convention behind the usual "ResNet-18: 1.82 GMACs" figures; element-wise layers, pooling and
normalisation are reported with 0. FLOPs = 2 x MACs.
"""
from __future__ import annotations

from typing import Any, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from ember.autograd.grad_mode import no_grad
from ember.nn.module import Module
from ember.tensor import Tensor

__all__ = ["summary", "ModelSummary", "LayerInfo"]


class LayerInfo(NamedTuple):
    name: str
    type: str
    output_shape: Tuple[int, ...]
    params: int
    macs: int


def _layer_macs(m: Module, inputs: tuple, out: Any) -> int:
    from ember import nn
    from ember.nn.conv import _ConvNd

    if not isinstance(out, Tensor):
        return 0
    if isinstance(m, nn.Linear):
        return int(out.numel() * m.in_features)
    if isinstance(m, _ConvNd):
        k = int(np.prod(m.kernel_size))
        per_out = (m.in_channels // m.groups) * k
        if getattr(m, "transposed", False):  # ConvTranspose2d: each input pixel, every tap
            x = inputs[0]
            return int(x.numel() * (m.out_channels // m.groups) * k)
        return int(out.numel() * per_out)
    return 0


class ModelSummary:
    """Result of :func:`summary`: ``rows`` (LayerInfo), ``total_params``,
    ``trainable_params``, ``total_macs``; ``str()`` gives the table."""

    def __init__(self, rows: List[LayerInfo], total_params: int, trainable_params: int,
                 input_shape: Tuple[int, ...], output_shape: Tuple[int, ...]) -> None:
        self.rows = rows
        self.total_params, self.trainable_params = total_params, trainable_params
        self.total_macs = sum(r.macs for r in rows)
        self.input_shape, self.output_shape = input_shape, output_shape

    @property
    def total_flops(self) -> int:
        return 2 * self.total_macs

    def __str__(self) -> str:
        head = ("Layer (type)", "Output shape", "Params", "MACs")
        body = [(f"{r.name} ({r.type})", str(list(r.output_shape)), f"{r.params:,}",
                 f"{r.macs:,}") for r in self.rows]
        widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h)
                  for i, h in enumerate(head)]
        line = "  ".join("-" * w for w in widths)

        def fmt(cols: Sequence[str]) -> str:
            return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                             for i, (c, w) in enumerate(zip(cols, widths)))

        out = [fmt(head), line] + [fmt(b) for b in body] + [line]
        out += [f"Input shape: {list(self.input_shape)}   Output shape: "
                f"{list(self.output_shape)}",
                f"Total params: {self.total_params:,}",
                f"Trainable params: {self.trainable_params:,}",
                f"Non-trainable params: {self.total_params - self.trainable_params:,}",
                f"Total MACs: {self.total_macs:,} ({self.total_macs / 1e9:.2f} G; "
                f"FLOPs {self.total_flops / 1e9:.2f} G)"]
        return "\n".join(out)

    __repr__ = __str__


def summary(model: Module, input_size: Union[Sequence[int], Tuple[int, ...]],
            batch_size: int = 1, dtype: Any = np.float32,
            max_depth: Optional[int] = None) -> ModelSummary:
    """Summarise ``model`` for inputs of shape ``(batch_size, *input_size)``.

    Rows are the modules that have parameters of their own or no children (leaves), in
    call order, with dotted names. The forward runs in eval mode under ``no_grad`` (batch
    norm statistics are untouched) and the model's mode is restored afterwards.
    ``max_depth`` limits rows to names with at most that many dots + 1 levels (totals always
    cover the whole model).
    """
    shape = (batch_size,) + tuple(int(s) for s in input_size)
    if any(s <= 0 for s in shape):
        raise ValueError(f"summary: input sizes must be positive, got {shape}")
    names = {id(m): n for n, m in model.named_modules()}
    rows: List[LayerInfo] = []
    handles = []

    def hook(m: Module, inputs: tuple, out: Any) -> None:
        own = sum(p.numel() for p in m._parameters.values() if p is not None)
        leaf = not any(True for _ in m.children())
        if not (own or leaf):
            return
        name = names.get(id(m), "?") or type(m).__name__
        if max_depth is not None and name.count(".") + 1 > max_depth:
            return
        oshape = tuple(out.shape) if isinstance(out, Tensor) else ()
        rows.append(LayerInfo(name, type(m).__name__, oshape, own, _layer_macs(m, inputs, out)))

    for m in model.modules():
        if m is not model or not any(True for _ in model.children()):
            handles.append(m.register_forward_hook(hook))
    modes = {id(m): m.training for m in model.modules()}
    try:
        model.eval()
        with no_grad():
            out = model(Tensor(np.zeros(shape, dtype=dtype)))
    finally:
        for h in handles:
            h.remove()
        for m in model.modules():
            m.training = modes[id(m)]
    params = list(model.parameters())
    total = sum(p.numel() for p in params)
    trainable = sum(p.numel() for p in params if p.requires_grad)
    oshape = tuple(out.shape) if isinstance(out, Tensor) else ()
    return ModelSummary(rows, total, trainable, shape, oshape)
