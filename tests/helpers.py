"""Shared test helpers: seeded inputs, value comparison, the torch oracle and gradcheck.

``helper_test_op(shapes, torch_fn, ember_fn)`` (after tinygrad's ``test/test_ops.py``) builds
the same seeded inputs for torch and ember, runs both, and compares outputs and the gradients
of every input, so that most op tests are one line. torch is optional: tests that need it skip
when it is not importable. Never import torch from ``python/ember``.
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence, Union

import numpy as np
import pytest

import ember
from ember.autograd import gradcheck

ShapeOrArray = Union[Sequence[int], np.ndarray]

TOL = {  # (atol, rtol) for forward values and gradients
    np.dtype(np.float64): (1e-9, 1e-7),
    np.dtype(np.float32): (1e-5, 1e-4),
}


def import_torch():
    """torch, or skip the calling test when it is not installed."""
    return pytest.importorskip("torch")


def uniform(shape: Sequence[int], seed: int = 0, low: float = -2.0, high: float = 2.0,
            dtype: Any = np.float64) -> np.ndarray:
    """Seeded uniform samples in [low, high)."""
    return np.random.default_rng(seed).uniform(low, high, tuple(shape)).astype(dtype)


def away_from(shape: Sequence[int], seed: int = 0, gap: float = 0.1, high: float = 2.0,
              center: float = 0.0, dtype: Any = np.float64) -> np.ndarray:
    """Seeded samples in [center-high, center-gap] U [center+gap, center+high]: no value sits
    on the kink at ``center`` (relu, abs, clamp bounds ...) for finite differences."""
    rng = np.random.default_rng(seed)
    mag = rng.uniform(gap, high, tuple(shape))
    sign = rng.choice([-1.0, 1.0], tuple(shape))
    return (center + sign * mag).astype(dtype)


def distinct(shape: Sequence[int], seed: int = 0, spacing: float = 0.05,
             dtype: Any = np.float64) -> np.ndarray:
    """A seeded random permutation of well-separated values (no ties for max/min/sort)."""
    n = int(np.prod(shape, dtype=np.int64))
    vals = (np.arange(n) - n / 2) * spacing
    return np.random.default_rng(seed).permutation(vals).reshape(tuple(shape)).astype(dtype)


def to_numpy(x: Any) -> np.ndarray:
    """ember.Tensor / torch.Tensor / array-like -> ndarray (detached)."""
    if isinstance(x, ember.Tensor):
        return np.asarray(x.data)
    if hasattr(x, "detach") and hasattr(x, "numpy"):  # torch.Tensor
        return x.detach().cpu().numpy()
    return np.asarray(x)


def assert_close(actual: Any, expected: Any, atol: float = 1e-6, rtol: float = 1e-5,
                 msg: str = "", check_dtype: bool = False) -> None:
    """Shapes equal and values close; ``msg`` (the configuration) is in every failure."""
    a, e = to_numpy(actual), to_numpy(expected)
    assert a.shape == e.shape, f"{msg}: shape {a.shape} != expected {e.shape}"
    if check_dtype:
        assert a.dtype == e.dtype, f"{msg}: dtype {a.dtype} != expected {e.dtype}"
    if a.dtype.kind in "biu" and e.dtype.kind in "biu":
        np.testing.assert_array_equal(a, e, err_msg=msg)
    else:
        np.testing.assert_allclose(a, e, atol=atol, rtol=rtol, err_msg=msg, equal_nan=True)


def _outputs(out: Any) -> list:
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _make(x: ShapeOrArray, i: int, seed: int, low: float, high: float, dtype) -> np.ndarray:
    if isinstance(x, np.ndarray):
        return x.astype(dtype)
    return uniform(x, seed + 101 * i, low, high, dtype)


def helper_test_op(shapes: Sequence[ShapeOrArray], torch_fn: Callable,
                   ember_fn: Optional[Callable] = None, *, low: float = -2.0, high: float = 2.0,
                   seed: int = 0, dtype: Any = np.float64, atol: Optional[float] = None,
                   rtol: Optional[float] = None, grad_atol: Optional[float] = None,
                   grad_rtol: Optional[float] = None, forward_only: bool = False,
                   msg: str = "") -> list:
    """Compare ``ember_fn`` (default: ``torch_fn``, for method-style lambdas) with ``torch_fn``.

    Args:
        shapes: one entry per input: a shape (seeded uniform values in [low, high)) or an
            array (used as given). All inputs require grad unless ``forward_only``.
        torch_fn, ember_fn: the same computation on torch and ember tensors; may return a
            tensor or a tuple of tensors (non-float outputs are compared, not differentiated).
        dtype: float64 by default (tight tolerances); float32 exercises the float32 kernels.
    Returns the ember outputs.
    """
    torch = import_torch()
    ember_fn = ember_fn or torch_fn
    dtype = np.dtype(dtype)
    d_atol, d_rtol = TOL[dtype]
    atol, rtol = atol if atol is not None else d_atol, rtol if rtol is not None else d_rtol
    g_atol = grad_atol if grad_atol is not None else atol * 10
    g_rtol = grad_rtol if grad_rtol is not None else rtol * 10
    arrays = [_make(s, i, seed, low, high, dtype) for i, s in enumerate(shapes)]
    cfg = f"{msg} shapes={[a.shape for a in arrays]} dtype={dtype} seed={seed}".strip()

    tt = [torch.tensor(a.copy(), requires_grad=not forward_only) for a in arrays]
    et = [ember.tensor(a.copy(), requires_grad=not forward_only) for a in arrays]
    t_out, e_out = _outputs(torch_fn(*tt)), _outputs(ember_fn(*et))
    assert len(t_out) == len(e_out), f"{cfg}: {len(e_out)} outputs, torch has {len(t_out)}"
    for k, (e, t) in enumerate(zip(e_out, t_out)):
        assert isinstance(e, ember.Tensor), f"{cfg}: output {k} is {type(e).__name__}"
        assert e.dtype == to_numpy(t).dtype or e.dtype.kind == to_numpy(t).dtype.kind, (
            f"{cfg}: output {k} dtype {e.dtype} vs torch {to_numpy(t).dtype}")
        assert_close(e, t, atol, rtol, f"{cfg}: output {k} forward")
    if forward_only:
        return e_out

    # Backward of sum_k <out_k, G_k> with seeded random upstream gradients G_k.
    rng = np.random.default_rng(seed + 7)
    t_loss, e_loss = None, None
    for e, t in zip(e_out, t_out):
        if not getattr(t, "requires_grad", False) or not e.requires_grad:
            assert not e.requires_grad or to_numpy(t).dtype.kind != "f", (
                f"{cfg}: ember output requires grad but torch's does not")
            continue
        up = rng.standard_normal(e.shape).astype(dtype)
        tl = (t * torch.tensor(up)).sum()
        el = (e * ember.tensor(up)).sum()
        t_loss = tl if t_loss is None else t_loss + tl
        e_loss = el if e_loss is None else e_loss + el
    if t_loss is None:
        return e_out
    t_loss.backward()
    e_loss.backward()
    for i, (e, t) in enumerate(zip(et, tt)):
        if t.grad is None:
            assert e.grad is None or not np.any(e.grad.data), f"{cfg}: input {i} grad"
            continue
        assert e.grad is not None, f"{cfg}: input {i} got no gradient (torch has one)"
        assert e.grad.dtype == dtype, f"{cfg}: input {i} grad dtype {e.grad.dtype} != {dtype}"
        assert_close(e.grad, t.grad, g_atol, g_rtol, f"{cfg}: input {i} gradient")
    return e_out


def check_grad(fn: Callable, *inputs: ShapeOrArray, seed: int = 0, low: float = -2.0,
               high: float = 2.0, grad: Optional[Sequence[bool]] = None, **kw: Any) -> None:
    """ember.autograd.gradcheck of ``fn`` on float64 inputs (shapes become seeded uniform
    values; arrays are used as given). ``grad[i]`` False leaves input i constant."""
    tensors = []
    for i, x in enumerate(inputs):
        arr = _make(x, i, seed, low, high, np.float64)
        rg = True if grad is None else grad[i]
        tensors.append(ember.tensor(arr, dtype=np.float64, requires_grad=rg))
    assert gradcheck(fn, tensors, **kw), f"gradcheck failed for inputs {inputs} seed={seed}"


def ids(values: Sequence[Any]) -> list:
    """Readable pytest ids for parametrized configurations."""
    return [str(v).replace(" ", "") for v in values]


def randomise_bn(model, seed=0):
    """Non-trivial running statistics and affine parameters (as after training)."""
    rng = np.random.default_rng(seed)
    for m in model.modules():
        if isinstance(m, ember.nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(rng.standard_normal(c).astype(m.running_mean.dtype))
            m.running_var.copy_(rng.uniform(0.5, 2.0, c).astype(m.running_var.dtype))
            if m.affine:
                m.weight.data[...] = rng.uniform(0.5, 1.5, c)
                m.bias.data[...] = rng.standard_normal(c)


def available_isas():
    """The ISA tiers this build and CPU can run (the `isa` fixture of conftest.py sets each)."""
    from ember import _C

    out = ["generic"]
    if _C.built_with_avx2() and _C.cpu_supports_avx2():
        out.append("avx2")
    if _C.built_with_avx512() and _C.cpu_supports_avx512():
        out.append("avx512")
    return out
