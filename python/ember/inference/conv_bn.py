"""Inference-time folding of batch norm into the convolution before it.

In eval mode a BatchNorm2d is an affine map per channel, y = (x - mean) * s + beta with
s = gamma / sqrt(var + eps); when x is a Conv2d's output the map folds into that conv's
weights and bias: w' = w * s (per output channel), b' = (b - mean) * s + beta. The fused
network computes the same function with one pass over each activation instead of two.
"""
from __future__ import annotations

import copy
from typing import Any, Dict, List, Tuple

import numpy as np

from ember.autograd.grad_mode import no_grad
from ember.nn.linear import Identity
from ember.nn.module import Module
from ember.nn.parameter import Parameter
from ember.tensor import Tensor

__all__ = ["fuse_conv_bn", "fuse_conv_bn_eval", "output_tensors", "outputs_close"]


def fuse_conv_bn_eval(conv: Any, bn: Any) -> Any:
    """A copy of ``conv`` with eval-mode ``bn`` (its running statistics) folded in."""
    from ember.nn.conv import Conv2d
    from ember.nn.normalization import BatchNorm2d

    if not isinstance(conv, Conv2d) or not isinstance(bn, BatchNorm2d):
        raise TypeError(f"fuse_conv_bn_eval: expected a Conv2d and a BatchNorm2d, got "
                        f"{type(conv).__name__} and {type(bn).__name__}")
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError("fuse_conv_bn_eval: the batch norm has no running statistics "
                         "(track_running_stats=False), so it has no fixed eval-mode map")
    if bn.num_features != conv.out_channels:
        raise ValueError(f"fuse_conv_bn_eval: batch norm over {bn.num_features} channels "
                         f"cannot follow a convolution with {conv.out_channels} outputs")
    fused = copy.deepcopy(conv)
    w = conv.weight.numpy().astype(np.float64)
    mean = bn.running_mean.numpy().astype(np.float64)
    scale = 1.0 / np.sqrt(bn.running_var.numpy().astype(np.float64) + bn.eps)
    if bn.affine:
        scale = scale * bn.weight.numpy().astype(np.float64)
    beta = bn.bias.numpy().astype(np.float64) if bn.affine else 0.0
    b = conv.bias.numpy().astype(np.float64) if conv.bias is not None else 0.0
    dt = conv.weight.dtype
    fused.weight = Parameter((w * scale.reshape(-1, *([1] * (w.ndim - 1)))).astype(dt))
    fused.bias = Parameter(((b - mean) * scale + beta).astype(dt))
    return fused


def fuse_conv_bn(model: Module, example_input: Any, rtol: float = 1e-4,
                 atol: float = 1e-5) -> Module:
    """A copy of ``model``, in eval mode, with every BatchNorm2d whose input is the output of
    a Conv2d folded into that Conv2d (the BatchNorm2d becomes an Identity). The model is
    left unchanged.

    Which conv feeds which batch norm is found by running ``example_input`` (one batch of
    the shape the model takes, or a tuple of the model's inputs) through the model; a conv
    or batch norm called more than once is left alone. The fused copy is then checked on the
    same input against the original (a conv whose output also feeds something other than
    its batch norm would change that other use): a difference beyond ``rtol``/``atol``
    (relative to the output's largest value) raises RuntimeError rather than return a wrong
    model."""
    from ember.nn.conv import Conv2d
    from ember.nn.normalization import BatchNorm2d

    fused = copy.deepcopy(model)
    fused.eval()
    inputs = example_input if isinstance(example_input, tuple) else (example_input,)
    xs = tuple(t if isinstance(t, Tensor) else Tensor(t) for t in inputs)
    modules = dict(fused.named_modules())
    calls: Dict[str, int] = {}
    produced: Dict[int, Tuple[str, Tensor]] = {}  # id(output) -> (conv name, output kept alive)
    pairs: List[Tuple[str, str]] = []
    handles = []

    def conv_hook(name: str):
        def hook(m: Module, inputs: tuple, out: Any) -> None:
            calls[name] = calls.get(name, 0) + 1
            produced[id(out)] = (name, out)
        return hook

    def bn_hook(name: str):
        def hook(m: Module, inputs: tuple, out: Any) -> None:
            calls[name] = calls.get(name, 0) + 1
            src = produced.get(id(inputs[0]))
            if src is not None and src[1] is inputs[0]:
                pairs.append((src[0], name))
        return hook

    for name, m in modules.items():
        if isinstance(m, Conv2d):
            handles.append(m.register_forward_hook(conv_hook(name)))
        elif isinstance(m, BatchNorm2d) and m.running_mean is not None:
            handles.append(m.register_forward_hook(bn_hook(name)))
    try:
        with no_grad():
            want = [np.array(t.numpy(), copy=True) for t in output_tensors(fused(*xs))[0]]
    finally:
        for h in handles:
            h.remove()
    produced.clear()
    conv_uses: Dict[str, int] = {}
    for conv_name, _ in pairs:
        conv_uses[conv_name] = conv_uses.get(conv_name, 0) + 1
    for conv_name, bn_name in pairs:
        if calls[conv_name] != 1 or calls[bn_name] != 1 or conv_uses[conv_name] != 1:
            continue
        _set_submodule(fused, conv_name, fuse_conv_bn_eval(modules[conv_name],
                                                           modules[bn_name]))
        _set_submodule(fused, bn_name, Identity())
    with no_grad():
        got = [t.numpy() for t in output_tensors(fused(*xs))[0]]
    if not outputs_close(got, want, rtol, atol):
        worst = max(float(np.max(np.abs(g - w))) for g, w in zip(got, want) if w.size)
        raise RuntimeError(
            f"fuse_conv_bn: the fused model's output differs from the original's by up to "
            f"{worst:.3g} on the example input; a convolution's "
            "output is probably also used by something besides its batch norm. Fuse pairs "
            "by hand with fuse_conv_bn_eval instead")
    return fused


def output_tensors(out: Any) -> Tuple[List[Tensor], str]:
    """A model's output as a list of Tensors and its structure ('tensor', 'tuple', 'list')."""
    if isinstance(out, Tensor):
        return [out], "tensor"
    if isinstance(out, (tuple, list)) and all(isinstance(t, Tensor) for t in out):
        return list(out), type(out).__name__
    raise TypeError(f"the model returns a {type(out).__name__}; expected a Tensor or a "
                    "tuple/list of Tensors")


def outputs_close(got: List[np.ndarray], want: List[np.ndarray], rtol: float,
                   atol: float) -> bool:
    """Same shapes and dtypes; floats within rtol, and atol relative to the largest value of
    each expected output (NaN where NaN is expected); other dtypes equal."""
    for g, w in zip(got, want):
        g, w = np.asarray(g), np.asarray(w)
        if g.shape != w.shape or g.dtype != w.dtype:
            return False
        if not np.issubdtype(w.dtype, np.floating):
            if not np.array_equal(g, w):
                return False
            continue
        scale = float(np.max(np.abs(w))) if w.size else 0.0
        if not np.allclose(g, w, rtol=rtol, atol=atol * max(scale, 1.0), equal_nan=True):
            return False
    return True


def _set_submodule(root: Module, dotted: str, new: Module) -> None:
    parent = root
    *path, last = dotted.split(".")
    for part in path:
        parent = getattr(parent, part)
    setattr(parent, last, new)
