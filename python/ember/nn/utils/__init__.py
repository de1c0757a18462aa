"""``ember.nn.utils``: gradient clipping, an L1 penalty, parameter/vector conversion."""
from __future__ import annotations

import math
from typing import Iterable, List, Union

import numpy as np

from ember.tensor import Tensor

_Params = Union[Tensor, Iterable[Tensor]]


def _param_list(parameters: _Params) -> List[Tensor]:
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def zero_grads(parameters: _Params, set_to_none: bool = True) -> None:
    """Clear each parameter's gradient: to None (the default, as PyTorch 2) or to zeros in place.

    The one implementation behind ``Module.zero_grad`` and ``Optimizer.zero_grad``.
    """
    for p in _param_list(parameters):
        if p.grad is None:
            continue
        if set_to_none:
            p.grad = None
        else:
            p.grad.data[...] = 0


def clip_grad_norm_(parameters: _Params, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> Tensor:
    """Scale the gradients in place so that their total norm (the norm of all gradients
    concatenated) is at most ``max_norm``; returns the total norm before clipping (a 0-d
    tensor), as torch.nn.utils.clip_grad_norm_. ``norm_type`` may be ``float('inf')``."""
    params = [p for p in _param_list(parameters) if p.grad is not None]
    max_norm, norm_type = float(max_norm), float(norm_type)
    if not params:
        return Tensor(np.asarray(0.0, dtype=np.float32))
    grads = [p.grad.data for p in params]
    if math.isinf(norm_type):
        total = max(float(np.max(np.abs(g))) if g.size else 0.0 for g in grads)
    else:
        total = float(sum(float(np.sum(np.abs(g, dtype=np.float64) ** norm_type))
                          for g in grads)) ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the "
                           "gradients is non-finite, so it cannot be clipped; pass "
                           "error_if_nonfinite=False to clip anyway")
    coef = min(max_norm / (total + 1e-6), 1.0)
    if coef < 1.0:
        for p in params:
            p.grad.data *= np.asarray(coef, dtype=p.grad.data.dtype)
    return Tensor(np.asarray(total, dtype=grads[0].dtype))


def clip_grad_value_(parameters: _Params, clip_value: float) -> None:
    """Clamp every gradient element to [-clip_value, clip_value] in place."""
    clip_value = float(clip_value)
    if clip_value < 0:
        raise ValueError(f"clip_grad_value_: clip_value must be non-negative, got {clip_value}")
    for p in _param_list(parameters):
        if p.grad is not None:
            np.clip(p.grad.data, -clip_value, clip_value, out=p.grad.data)


def l1_penalty(parameters: _Params, weight: float) -> Tensor:
    """``weight * sum_p sum |p|``: add it to the loss to push weights towards exact zeros
    (lasso-style sparsity; the subgradient at 0 is 0). Differentiable."""
    from ember.ops.elementwise import abs as _abs
    from ember.ops.reduce import sum as _sum

    params = _param_list(parameters)
    if weight < 0:
        raise ValueError(f"l1_penalty: weight must be non-negative, got {weight}")
    if not params:
        raise ValueError("l1_penalty: no parameters given")
    total = _sum(_abs(params[0]))
    for p in params[1:]:
        total = total + _sum(_abs(p))
    return total * weight


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and concatenated (a copy)."""
    params: List[Tensor] = list(parameters)
    return Tensor(np.concatenate([p.data.reshape(-1) for p in params]))


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy the slices of ``vec`` back into the parameters (inverse of the above)."""
    from ember.autograd.grad_mode import no_grad

    params = list(parameters)
    total = sum(p.numel() for p in params)
    if vec.ndim != 1 or vec.numel() != total:
        raise ValueError(f"vector_to_parameters: expected a 1-D tensor of {total} elements, got "
                         f"shape {tuple(vec.shape)}")
    offset = 0
    with no_grad():
        for p in params:
            n = p.numel()
            p.copy_(vec.data[offset:offset + n].reshape(p.shape))
            offset += n
