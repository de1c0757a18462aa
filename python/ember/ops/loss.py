"""Loss functions. Each computes per-element losses, then reduces ('mean', 'sum', 'none'),
and its backward is the closed form (no chain of small ops)."""
from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np

from ember import _C, _device

from ember.autograd.function import Function
from ember.ops._args import is_int
from ember.ops._util import check_same_shape, operand
from ember.ops.activation import log_softmax_array
from ember.tensor import Tensor

_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(op: str, reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _reduce(losses: np.ndarray, reduction: str, denom: float) -> np.ndarray:
    if reduction == "none":
        return losses
    total = losses.sum(dtype=losses.dtype)
    if reduction == "sum":
        return np.asarray(total, dtype=losses.dtype)
    if denom == 0:  # every target ignored: the mean of nothing is nan, quietly (as PyTorch)
        return np.asarray(np.nan, dtype=losses.dtype)
    # (np.errstate is avoided on this per-step path: entering it copies a context variable,
    # which costs a training step more than the division.)
    return np.asarray(total / denom, dtype=losses.dtype)


def _mean_denom(n: int) -> float:
    """Denominator of a mean over n elements: the mean of nothing is nan (as PyTorch)."""
    return float(n) if n else float("nan")


def _reduce_grad(g: np.ndarray, reduction: str, denom: float) -> np.ndarray:
    """d(reduced)/d(per-element loss), broadcastable against the per-element losses."""
    if reduction == "none":
        return g
    if reduction == "mean":
        # An empty mean (every target ignored) is nan in forward, but contributes no
        # gradient: every per-element coefficient is 0 (PyTorch gives zeros, not 0 * inf).
        return g / denom if denom else np.zeros_like(g)
    return g


def _t(x: Any) -> Tensor:
    x = operand(x)
    return x if isinstance(x, Tensor) else Tensor(x)


def _float(op: str, name: str, x: Tensor) -> None:
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: {name} must be a floating-point tensor, got {x.dtype}")


# ------------------------------------------------------------------------ classification
def _class_last(x: np.ndarray) -> np.ndarray:
    """(N, C, d1, ...) -> (N * d1 * ..., C); (N, C) and (C,) pass through as 2-D."""
    if x.ndim == 1:
        return x[None, :]
    if x.ndim == 2:
        return x
    return np.moveaxis(x, 1, -1).reshape(-1, x.shape[1])


def _class_first(g2: np.ndarray, shape: Tuple[int, ...]) -> np.ndarray:
    """Inverse of _class_last for gradients."""
    if len(shape) <= 2:
        return g2.reshape(shape)
    moved = (shape[0],) + shape[2:] + (shape[1],)
    return np.moveaxis(g2.reshape(moved), -1, 1)


def _index_targets(op: str, x: Tensor, target: Tensor,
                   ignore_index: Optional[int] = None) -> None:
    if target.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold class indices (an integer tensor), got "
                        f"{target.dtype}; for class probabilities pass a float tensor shaped "
                        "like the input")
    expect = (x.shape[0],) + x.shape[2:] if x.ndim >= 2 else ()
    if tuple(target.shape) != expect:
        raise ValueError(f"{op}: input has shape {tuple(x.shape)} so target must have shape "
                         f"{expect}, got {tuple(target.shape)}")
    c = x.shape[1] if x.ndim >= 2 else x.shape[0]
    t = target.data
    bad = (t < 0) | (t >= c)
    if ignore_index is not None:
        bad &= t != ignore_index
    if bad.any():
        also = "" if ignore_index is None else f", or ignore_index={ignore_index}"
        raise IndexError(f"{op}: target {int(t[bad].flat[0])} is out of bounds for {c} classes "
                         f"(valid: 0..{c - 1}{also})")


class CrossEntropy(Function):
    """Fused log_softmax + negative log-likelihood with class weights, ignore_index and label
    smoothing (PyTorch's definition). Targets: class indices, or class probabilities."""

    @staticmethod
    def forward(ctx, x, target, weight, ignore_index, reduction, smoothing):
        if _fused_ok(x, target, weight):
            return _fused_forward(ctx, x, target, weight, ignore_index, reduction, smoothing)
        x2 = _class_last(x)
        n, c = x2.shape
        logp = log_softmax_array(x2, 1)
        w = np.ones(c, dtype=x.dtype) if weight is None else weight.astype(x.dtype, copy=False)
        if target.dtype.kind == "f":  # class probabilities
            p = _class_last(target).astype(x.dtype, copy=False)
            if smoothing:
                p = p * (1 - smoothing) + smoothing / c
            coef = p * w  # d loss_i / d (-logp_ic)
            losses = -(coef * logp).sum(axis=1)
            denom = float(n)
        else:
            t = target.reshape(-1)
            valid = t != ignore_index
            t_safe = np.where(valid, t, 0)
            w_t = w[t_safe] * valid
            coef = np.zeros_like(logp)
            coef[np.arange(n), t_safe] = (1 - smoothing) * w_t
            if smoothing:
                coef += (smoothing / c) * w[None, :] * valid[:, None]
            losses = -(coef * logp).sum(axis=1)
            denom = float(w_t.sum())
        ctx.save_for_backward(logp, coef)
        ctx.args = (x.shape, reduction, denom, w, smoothing, target.dtype)
        out_shape = (x.shape[0],) + x.shape[2:] if x.ndim >= 2 else ()
        return _reduce(losses.reshape(out_shape), reduction, denom)

    @staticmethod
    def backward(ctx, g):
        if ctx.__dict__.get("fused"):
            return _fused_backward(ctx, g)
        logp, coef = ctx.saved_tensors
        shape, reduction, denom, w, smoothing, tdtype = ctx.args
        gl = np.asarray(_reduce_grad(g, reduction, denom), dtype=logp.dtype).reshape(-1, 1)
        nx, nt = ctx.needs_input_grad[:2]
        gx = gt = None
        if nx:  # d/dx of -sum_c coef_c logp_c = softmax * sum_c coef_c - coef
            grad = (np.exp(logp) * coef.sum(axis=1, keepdims=True) - coef) * gl
            gx = _class_first(grad, shape)
        if nt:  # probability targets: d/dp_c = -(1 - smoothing) w_c logp_c
            gt = _class_first((-(1 - smoothing) * w[None, :] * logp * gl).astype(tdtype),
                              shape)
        return gx, gt, None, None, None, None


def _fused_ok(x: np.ndarray, target: np.ndarray, weight: Optional[np.ndarray]) -> bool:
    """Class-index targets on (N, C, ...) float logits: the fused C++ kernel's case
    (probability targets and 1-D logits take the NumPy path)."""
    return (x.ndim >= 2 and x.size > 0 and target.dtype.kind in "iu"
            and x.dtype in (np.float32, np.float64)
            and (weight is None or weight.shape == (x.shape[1],)))


def _fused_forward(ctx, x, target, weight, ignore_index, reduction, smoothing):
    """log-softmax + NLL in one C++ pass over the logits, in their (N, C, ...) layout (no
    transpose of segmentation logits)."""
    x = np.ascontiguousarray(x)
    t = np.ascontiguousarray(target.reshape(-1), dtype=np.int64)
    w = None if weight is None else np.ascontiguousarray(weight, dtype=x.dtype)
    losses, lse, denom = _C.cross_entropy_forward(x, t, w, int(ignore_index), float(smoothing))
    ctx.fused = True
    ctx.save_for_backward(x)
    ctx.args = (t, w, int(ignore_index), float(smoothing), lse, reduction, denom)
    out_shape = (x.shape[0],) + x.shape[2:]
    return _reduce(losses.reshape(out_shape), reduction, denom)


def _fused_backward(ctx, g):
    (x,) = ctx.saved_tensors
    t, w, ignore_index, smoothing, lse, reduction, denom = ctx.args
    gl = np.ascontiguousarray(np.asarray(_reduce_grad(g, reduction, denom), dtype=np.float64)
                              .reshape(-1))
    gx = _C.cross_entropy_backward(x, t, w, ignore_index, smoothing, lse, gl)
    return gx, None, None, None, None, None


def cross_entropy(input: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                  ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy between logits ``input`` (N, C[, d1, ...]) and ``target`` class indices
    (N[, d1, ...]) or class probabilities (same shape as input)."""
    _device.host_only("cross_entropy", input)
    x, target = _t(input), _t(target)
    _float("cross_entropy", "input", x)
    _check_reduction("cross_entropy", reduction)
    if x.ndim == 0:
        raise ValueError("cross_entropy: input must have at least 1 dimension (classes)")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got "
                         f"{label_smoothing}")
    c = x.shape[1] if x.ndim >= 2 else x.shape[0]
    if weight is not None and tuple(weight.shape) != (c,):
        raise ValueError(f"cross_entropy: weight must have shape ({c},), got "
                         f"{tuple(weight.shape)}")
    if target.dtype.kind == "f":
        check_same_shape("cross_entropy", x, target)
    else:
        _index_targets("cross_entropy", x, target, ignore_index)
    w = None if weight is None else _t(weight).data
    # Probability targets are differentiable (as in PyTorch); class indices are not.
    tgt = target if target.dtype.kind == "f" else target.data
    return CrossEntropy.apply(x, tgt, w, int(ignore_index), reduction, float(label_smoothing))


class NLL(Function):
    @staticmethod
    def forward(ctx, logp, target, weight, ignore_index, reduction):
        lp = _class_last(logp)
        n, c = lp.shape
        t = target.reshape(-1)
        valid = t != ignore_index
        t_safe = np.where(valid, t, 0)
        w = np.ones(c, dtype=logp.dtype) if weight is None else weight.astype(logp.dtype)
        w_t = w[t_safe] * valid
        losses = -lp[np.arange(n), t_safe] * w_t
        denom = float(w_t.sum())
        ctx.args = (logp.shape, t_safe, w_t, reduction, denom)
        out_shape = (logp.shape[0],) + logp.shape[2:] if logp.ndim >= 2 else ()
        return _reduce(losses.reshape(out_shape), reduction, denom)

    @staticmethod
    def backward(ctx, g):
        shape, t_safe, w_t, reduction, denom = ctx.args
        gl = np.asarray(_reduce_grad(g, reduction, denom), dtype=w_t.dtype).reshape(-1)
        n = t_safe.shape[0]
        c = shape[1] if len(shape) >= 2 else shape[0]
        grad = np.zeros((n, c), dtype=w_t.dtype)
        grad[np.arange(n), t_safe] = -w_t * gl
        return _class_first(grad, shape), None, None, None, None


def nll_loss(input: Tensor, target: Tensor, weight: Optional[Tensor] = None,
             ignore_index: int = -100, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities ``input`` (N, C[, ...]) at ``target``."""
    x, target = _t(input), _t(target)
    _float("nll_loss", "input", x)
    _check_reduction("nll_loss", reduction)
    if x.ndim == 0:
        raise ValueError("nll_loss: input must have at least 1 dimension (classes), got a 0-d "
                         "tensor")
    _index_targets("nll_loss", x, target, ignore_index)
    c = x.shape[1] if x.ndim >= 2 else x.shape[0]
    if weight is not None and tuple(weight.shape) != (c,):
        raise ValueError(f"nll_loss: weight must have shape ({c},), got {tuple(weight.shape)}")
    w = None if weight is None else _t(weight).data
    return NLL.apply(x, target.data, w, int(ignore_index), reduction)


class MultiMargin(Function):
    """Multi-class hinge loss (Crammer-Singer style, as torch.nn.MultiMarginLoss):
    loss_i = sum_{j != y_i} w_{y_i} max(0, margin - x_{i,y_i} + x_{i,j})^p / C."""

    @staticmethod
    def forward(ctx, x, target, p, margin, weight, reduction):
        x2 = x[None, :] if x.ndim == 1 else x
        n, c = x2.shape
        t = target.reshape(-1)
        rows = np.arange(n)
        z = margin - x2[rows, t][:, None] + x2
        z[rows, t] = 0
        active = z > 0
        w_t = np.ones(n, dtype=x.dtype) if weight is None else weight.astype(x.dtype)[t]
        zp = np.where(active, z if p == 1 else z * z, 0)
        losses = (zp.sum(axis=1) * w_t / c).astype(x.dtype, copy=False)
        ctx.args = (x.shape, t, z, active, w_t, p, reduction, float(n))
        return _reduce(losses.reshape(x.shape[:-1]), reduction, float(n))

    @staticmethod
    def backward(ctx, g):
        shape, t, z, active, w_t, p, reduction, n = ctx.args
        c = z.shape[1]
        gl = np.asarray(_reduce_grad(g, reduction, n), dtype=z.dtype).reshape(-1)
        dz = np.where(active, 1.0 if p == 1 else 2 * z, 0).astype(z.dtype)
        dz *= (w_t * gl / c)[:, None]
        rows = np.arange(z.shape[0])
        dz[rows, t] = -dz.sum(axis=1)
        return dz.reshape(shape), None, None, None, None, None


def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0,
                      weight: Optional[Tensor] = None, reduction: str = "mean") -> Tensor:
    """Multi-class SVM hinge loss on scores ``input`` (N, C) with class-index ``target`` (N)."""
    x, target = _t(input), _t(target)
    _float("multi_margin_loss", "input", x)
    _check_reduction("multi_margin_loss", reduction)
    if not is_int(p) or p not in (1, 2):
        raise ValueError(f"multi_margin_loss: p must be 1 or 2, got {p!r}")
    if x.ndim not in (1, 2):
        raise ValueError(f"multi_margin_loss: input must be (N, C) or (C,), got shape "
                         f"{tuple(x.shape)}")
    if x.ndim == 1 and tuple(target.shape) == (1,):  # (C,) with a 1-element target: a batch of 1
        x = x.reshape(1, -1)
    _index_targets("multi_margin_loss", x, target)
    c = x.shape[-1]
    if weight is not None and tuple(weight.shape) != (c,):
        raise ValueError(f"multi_margin_loss: weight must have shape ({c},), got "
                         f"{tuple(weight.shape)}")
    w = None if weight is None else _t(weight).data
    return MultiMargin.apply(x, target.data.astype(np.int64), int(p), float(margin), w,
                             reduction)


# ------------------------------------------------------------------------ regression
class PointwiseLoss(Function):
    """Per-element loss ``kind`` in {'mse', 'l1'} between input and target, then reduced."""

    @staticmethod
    def forward(ctx, x, y, kind, reduction):
        d = x - y
        losses = d * d if kind == "mse" else np.abs(d)
        ctx.save_for_backward(d)
        ctx.args = (kind, reduction, float(d.size))
        return _reduce(losses, reduction, _mean_denom(d.size))

    @staticmethod
    def backward(ctx, g):
        (d,) = ctx.saved_tensors
        kind, reduction, n = ctx.args
        gl = _reduce_grad(g, reduction, n)
        gd = (2 * d if kind == "mse" else np.sign(d)) * gl
        gd = gd.astype(d.dtype, copy=False)
        nx, ny = ctx.needs_input_grad[:2]
        return (gd if nx else None), (-gd if ny else None), None, None


def _pointwise(op: str, kind: str, input: Tensor, target: Tensor, reduction: str) -> Tensor:
    x, y = _t(input), _t(target)
    _float(op, "input", x)
    _float(op, "target", y)
    _check_reduction(op, reduction)
    check_same_shape(op, x, y)
    return PointwiseLoss.apply(x, y, kind, reduction)


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Mean squared error; input and target must have the same shape."""
    return _pointwise("mse_loss", "mse", input, target, reduction)


def l1_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Mean absolute error; input and target must have the same shape."""
    return _pointwise("l1_loss", "l1", input, target, reduction)


# ------------------------------------------------------------------------ binary
class BCE(Function):
    """-w [t log(x) + (1 - t) log(1 - x)], logs clamped at -100 (as PyTorch)."""

    @staticmethod
    def forward(ctx, x, t, w, reduction):
        with np.errstate(divide="ignore"):
            log_x = np.maximum(np.log(x), -100)
            log_1mx = np.maximum(np.log1p(-x), -100)
        losses = -(t * log_x + (1 - t) * log_1mx)
        if w is not None:
            losses = losses * w
        ctx.save_for_backward(x, t)
        ctx.args = (w, reduction, float(x.size))
        return _reduce(losses.astype(x.dtype, copy=False), reduction, _mean_denom(x.size))

    @staticmethod
    def backward(ctx, g):
        x, t = ctx.saved_tensors
        w, reduction, n = ctx.args
        gl = _reduce_grad(g, reduction, n)
        if w is not None:
            gl = gl * w
        nx, nt = ctx.needs_input_grad[:2]
        gx = gt = None
        if nx:
            gx = ((x - t) / np.maximum((1 - x) * x, 1e-12) * gl).astype(x.dtype, copy=False)
        if nt:  # d/dt = -(log x - log(1 - x)), with the forward's clamped logs
            with np.errstate(divide="ignore"):
                logit = np.maximum(np.log(x), -100) - np.maximum(np.log1p(-x), -100)
            gt = (-logit * gl).astype(t.dtype, copy=False)
        return gx, gt, None, None


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                         reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of probabilities ``input`` in [0, 1] against ``target``."""
    x, t = _t(input), _t(target)
    _float("binary_cross_entropy", "input", x)
    _float("binary_cross_entropy", "target", t)
    _check_reduction("binary_cross_entropy", reduction)
    check_same_shape("binary_cross_entropy", x, t)
    if not ((x.data >= 0) & (x.data <= 1)).all():  # NaN fails both comparisons
        raise ValueError("binary_cross_entropy: all elements of input should be probabilities "
                         "in [0, 1] (no NaN); use binary_cross_entropy_with_logits for raw "
                         "scores")
    w = None if weight is None else np.broadcast_to(_t(weight).data, x.shape)
    return BCE.apply(x, t, w, reduction)


def _softplus(z: np.ndarray) -> np.ndarray:
    """log(1 + exp(z)) without overflow."""
    return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))


class BCEWithLogits(Function):
    """w [pw t softplus(-x) + (1 - t) softplus(x)]: sigmoid + BCE in one stable step."""

    @staticmethod
    def forward(ctx, x, t, w, pw, reduction):
        pwt = t if pw is None else pw * t
        losses = pwt * _softplus(-x) + (1 - t) * _softplus(x)
        if w is not None:
            losses = losses * w
        ctx.save_for_backward(x, t)
        ctx.args = (w, pw, reduction, float(x.size))
        return _reduce(losses.astype(x.dtype, copy=False), reduction, _mean_denom(x.size))

    @staticmethod
    def backward(ctx, g):
        x, t = ctx.saved_tensors
        w, pw, reduction, n = ctx.args
        e = np.exp(-np.abs(x))
        sig = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
        pwt = t if pw is None else pw * t
        gl = _reduce_grad(g, reduction, n)
        if w is not None:
            gl = gl * w
        nx, nt = ctx.needs_input_grad[:2]
        gx = ((-pwt * (1 - sig) + (1 - t) * sig) * gl).astype(x.dtype, copy=False) if nx else None
        gt = None
        if nt:  # d/dt = pw softplus(-x) - softplus(x)
            pwb = 1 if pw is None else pw
            gt = ((pwb * _softplus(-x) - _softplus(x)) * gl).astype(t.dtype, copy=False)
        return gx, gt, None, None, None


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,
                                     weight: Optional[Tensor] = None,
                                     reduction: str = "mean",
                                     pos_weight: Optional[Tensor] = None) -> Tensor:
    """Binary cross-entropy on raw scores (logits), numerically stable; ``pos_weight``
    weights positive examples (broadcast over the last dimension, as PyTorch)."""
    x, t = _t(input), _t(target)
    _float("binary_cross_entropy_with_logits", "input", x)
    _float("binary_cross_entropy_with_logits", "target", t)
    _check_reduction("binary_cross_entropy_with_logits", reduction)
    check_same_shape("binary_cross_entropy_with_logits", x, t)
    w = None if weight is None else np.broadcast_to(_t(weight).data, x.shape)
    pw = None if pos_weight is None else np.broadcast_to(_t(pos_weight).data, x.shape)
    return BCEWithLogits.apply(x, t, w, pw, reduction)
