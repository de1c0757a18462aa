"""Finite-difference gradient check in float64."""
from __future__ import annotations

from typing import Callable, Sequence, Union

import numpy as np


def _outputs(fn: Callable, inputs: Sequence) -> list:
    out = fn(*inputs)
    if isinstance(out, Tensor):
        out = (out,)
    return [o for o in out if isinstance(o, Tensor) and o.data.dtype.kind == "f"]


def gradcheck(fn: Callable, inputs: Union[Sequence, "Tensor"], eps: float = 1e-6,
              atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True) -> bool:
    """Compare analytic gradients of ``fn(*inputs)`` with central differences.

    Every float input with ``requires_grad=True`` must be float64. The full Jacobian is
    checked: one backward per output element (analytic rows), two forwards per input element
    (numerical columns). Returns True, or raises ``GradcheckError`` (``raise_exception``) /
    returns False naming the input, the element and both values on a mismatch.
    """
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    diff_idx = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not diff_idx:
        raise ValueError("gradcheck: no input has requires_grad=True")
    for i in diff_idx:
        if inputs[i].data.dtype != np.float64:
            raise TypeError(f"gradcheck: input {i} must be float64 for a meaningful finite-"
                            f"difference check, got {inputs[i].data.dtype}")

    outs = _outputs(fn, inputs)
    sizes = [o.data.size for o in outs]
    n_out = sum(sizes)

    # Analytic Jacobian, one row per output element.
    analytic = {i: np.zeros((n_out, inputs[i].data.size)) for i in diff_idx}
    row = 0
    for o_idx, size in enumerate(sizes):
        for k in range(size):
            for i in diff_idx:
                inputs[i].grad = None
            outs = _outputs(fn, inputs)
            seed = np.zeros(size)
            seed[k] = 1.0
            if outs[o_idx].requires_grad:
                outs[o_idx].backward(seed.reshape(outs[o_idx].shape))
            for i in diff_idx:
                g = inputs[i].grad
                if g is not None:
                    analytic[i][row] = g.data.reshape(-1)
            row += 1

    # Numerical Jacobian, one column per input element.
    ok = True
    message = ""
    for i in diff_idx:
        x = inputs[i].data
        flat = x.reshape(-1)  # a view: x is contiguous-or-copied below
        if not x.flags.c_contiguous:
            raise ValueError(f"gradcheck: input {i} must be C-contiguous")
        numerical = np.zeros_like(analytic[i])
        for j in range(flat.size):
            orig = flat[j]
            flat[j] = orig + eps
            plus = np.concatenate([o.data.reshape(-1) for o in _outputs(fn, inputs)])
            flat[j] = orig - eps
            minus = np.concatenate([o.data.reshape(-1) for o in _outputs(fn, inputs)])
            flat[j] = orig
            numerical[:, j] = (plus - minus) / (2 * eps)
        bad = ~np.isclose(analytic[i], numerical, atol=atol, rtol=rtol)
        if bad.any():
            r, c = np.argwhere(bad)[0]
            ok = False
            message = (f"gradcheck: Jacobian mismatch for input {i} (shape {x.shape}) at output "
                       f"element {r}, input element {c}: analytic {analytic[i][r, c]:.8g} vs "
                       f"numerical {numerical[r, c]:.8g} ({int(bad.sum())} of {bad.size} "
                       f"entries differ; max abs diff "
                       f"{np.abs(analytic[i] - numerical).max():.3g})")
            break
    for i in diff_idx:
        inputs[i].grad = None
    if not ok and raise_exception:
        raise GradcheckError(message)
    return ok


class GradcheckError(AssertionError):
    """Raised by :func:`gradcheck` when analytic and numerical gradients disagree."""


from ember.tensor import Tensor  # noqa: E402
