"""Loss functions: cross_entropy (class indices or probabilities, weight, label_smoothing,
ignore_index, N-d inputs), nll_loss, multi_margin_loss, mse_loss, l1_loss,
binary_cross_entropy, binary_cross_entropy_with_logits. NumPy reference, float64 gradcheck,
torch oracle, error messages."""
import itertools

import numpy as np
import pytest

import ember
from ember.ops import loss as L
from helpers import (assert_close, away_from, check_grad, helper_test_op, ids, import_torch,
                     uniform)

REDUCTIONS = ["mean", "sum", "none"]


# ------------------------------------------------------------------------ NumPy references
def reduce_ref(losses, reduction, denom):
    if reduction == "none":
        return losses
    with np.errstate(invalid="ignore", divide="ignore"):
        return losses.sum() / denom if reduction == "mean" else losses.sum()


def log_softmax_ref(x, dim):
    s = x - x.max(axis=dim, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=dim, keepdims=True))


def _class_dim(x):
    return 0 if x.ndim == 1 else 1


def _along_classes(w, x):
    """Class weights (C,) shaped to broadcast along the class dim of ``x``."""
    return w.reshape([-1 if d == _class_dim(x) else 1 for d in range(x.ndim)])


def nll_ref(logp, target, weight=None, ignore_index=-100, reduction="mean"):
    cdim = _class_dim(logp)
    w = np.ones(logp.shape[cdim]) if weight is None else np.asarray(weight, np.float64)
    valid = target != ignore_index
    t = np.where(valid, target, 0)
    picked = np.take_along_axis(logp, np.expand_dims(t, cdim), axis=cdim).squeeze(cdim)
    wt = w[t] * valid
    return reduce_ref(-picked * wt, reduction, wt.sum())


def ce_ref(x, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    cdim = _class_dim(x)
    c = x.shape[cdim]
    logp = log_softmax_ref(x, cdim)
    w = np.ones(c) if weight is None else np.asarray(weight, np.float64)
    ls = label_smoothing
    if target.dtype.kind == "f":  # class probabilities
        p = target * (1 - ls) + ls / c
        losses = -(_along_classes(w, x) * p * logp).sum(axis=cdim)
        return reduce_ref(losses, reduction, losses.size)
    valid = target != ignore_index
    t = np.where(valid, target, 0)
    wt = w[t] * valid
    nll = nll_ref(logp, target, weight, ignore_index, "none")
    smooth = -(_along_classes(w, x) * logp).sum(axis=cdim) * valid
    return reduce_ref((1 - ls) * nll + (ls / c) * smooth, reduction, wt.sum())


def multi_margin_ref(x, target, p=1, margin=1.0, weight=None, reduction="mean"):
    x2 = x[None, :] if x.ndim == 1 else x
    t = np.asarray(target).reshape(-1)
    n, c = x2.shape
    losses = np.zeros(n)
    for i in range(n):
        y = t[i]
        for j in range(c):
            if j != y:
                h = max(0.0, margin - x2[i, y] + x2[i, j]) ** p
                losses[i] += h * (1.0 if weight is None else weight[y])
    losses = (losses / c).reshape(x.shape[:-1])
    return reduce_ref(losses, reduction, n)


def mse_ref(x, y, reduction="mean"):
    return reduce_ref((x - y) ** 2, reduction, np.size(x))


def l1_ref(x, y, reduction="mean"):
    return reduce_ref(np.abs(x - y), reduction, np.size(x))


def bce_ref(x, t, weight=None, reduction="mean"):
    with np.errstate(divide="ignore"):
        lx, l1mx = np.maximum(np.log(x), -100), np.maximum(np.log(1 - x), -100)
    losses = -(t * lx + (1 - t) * l1mx)
    if weight is not None:
        losses = losses * weight
    return reduce_ref(losses, reduction, np.size(x))


def bce_logits_ref(x, t, weight=None, reduction="mean", pos_weight=None):
    pw = 1.0 if pos_weight is None else pos_weight
    # log(sigmoid(x)) = -log(1 + exp(-x)); log(1 - sigmoid(x)) = -log(1 + exp(x))
    losses = pw * t * np.logaddexp(0, -x) + (1 - t) * np.logaddexp(0, x)
    if weight is not None:
        losses = losses * weight
    return reduce_ref(losses, reduction, np.size(x))


# ------------------------------------------------------------------------ samplers
def class_targets(shape, c, seed, ignore_index=None, frac=0.3):
    """Seeded int64 class indices of ``shape``; about ``frac`` set to ``ignore_index``
    (never all of them)."""
    rng = np.random.default_rng(seed)
    t = rng.integers(0, c, size=shape).astype(np.int64)
    if ignore_index is not None and t.size > 1:
        mask = rng.random(shape) < frac
        mask.flat[0], mask.flat[-1] = True, False
        t[mask] = ignore_index
    return t


def prob_targets(shape, seed):
    """Seeded class probabilities (softmax along the class dim)."""
    z = uniform(shape, seed, -2, 2)
    e = np.exp(z)
    cdim = 0 if len(shape) == 1 else 1
    return e / e.sum(axis=cdim, keepdims=True)


def class_weight(c, seed):
    return uniform((c,), seed, 0.2, 2.0)


def _dtypes(reduction):
    """float64 always; float32 once per configuration (with the 'mean' reduction)."""
    return (np.float64, np.float32) if reduction == "mean" else (np.float64,)


def _torch_long(t):
    torch = import_torch()
    return torch.tensor(t, dtype=torch.int64)


# ------------------------------------------------------------------------ cross_entropy: indices
# (input shape, weighted, label_smoothing, ignore_index or None)
CE_CASES = [
    (shape, weighted, ls, ig)
    for shape in [(4, 5), (5,), (3, 4, 2)]
    for weighted in [False, True]
    for ls in [0.0, 0.3]
    for ig in ([None] if len(shape) == 1 else [None, -100, 2])
]


def _ce_setup(shape, weighted, ls, ig, seed):
    c = shape[0] if len(shape) == 1 else shape[1]
    tshape = () if len(shape) == 1 else (shape[0],) + shape[2:]
    x = uniform(shape, seed, -3, 3)
    t = class_targets(tshape, c, seed + 1, ig)
    w = class_weight(c, seed + 2) if weighted else None
    kw = {"label_smoothing": ls}
    if ig is not None:
        kw["ignore_index"] = ig
    return x, t, w, kw


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape,weighted,ls,ig", CE_CASES, ids=ids(CE_CASES))
def test_cross_entropy_forward_matches_numpy(shape, weighted, ls, ig, reduction):
    x, t, w, kw = _ce_setup(shape, weighted, ls, ig, 1)
    out = L.cross_entropy(ember.tensor(x), ember.tensor(t),
                          None if w is None else ember.tensor(w), reduction=reduction, **kw)
    ref = ce_ref(x, t, w, reduction=reduction, **kw)
    assert_close(out, ref, 1e-12, 1e-10, msg=f"cross_entropy {shape} w={weighted} {kw}")
    x32 = x.astype(np.float32)
    out32 = L.cross_entropy(ember.tensor(x32), ember.tensor(t),
                            None if w is None else ember.tensor(w.astype(np.float32)),
                            reduction=reduction, **kw)
    assert out32.dtype == np.float32
    assert_close(out32, ref, 1e-5, 1e-5, msg=f"cross_entropy float32 {shape} {kw}")


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape,weighted,ls,ig", CE_CASES, ids=ids(CE_CASES))
def test_cross_entropy_gradcheck(shape, weighted, ls, ig, reduction):
    x, t, w, kw = _ce_setup(shape, weighted, ls, ig, 2)
    tt = ember.tensor(t)
    wt = None if w is None else ember.tensor(w)
    check_grad(lambda a: L.cross_entropy(a, tt, wt, reduction=reduction, **kw), x)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape,weighted,ls,ig", CE_CASES, ids=ids(CE_CASES))
def test_cross_entropy_vs_torch(shape, weighted, ls, ig, reduction):
    x, t, w, kw = _ce_setup(shape, weighted, ls, ig, 3)
    torch = import_torch()

    def run(dtype):
        tw = None if w is None else torch.tensor(w.astype(dtype))
        ew = None if w is None else ember.tensor(w.astype(dtype))
        helper_test_op(
            [x],
            lambda a: torch.nn.functional.cross_entropy(a, _torch_long(t), tw,
                                                        reduction=reduction, **kw),
            lambda a: L.cross_entropy(a, ember.tensor(t), ew, reduction=reduction, **kw),
            dtype=dtype, msg=f"cross_entropy w={weighted} {kw} {reduction}")

    for dtype in _dtypes(reduction):
        run(dtype)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("ls", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_all_targets_ignored_like_torch(reduction, ls, weighted):
    """torch: mean over zero weight is nan (0/0), sum is 0; the gradient is 0 everywhere."""
    x = uniform((3, 4), 4)
    t = np.full(3, -100, dtype=np.int64)
    w = class_weight(4, 5) if weighted else None
    xe = ember.tensor(x, requires_grad=True)
    L.cross_entropy(xe, ember.tensor(t), None if w is None else ember.tensor(w),
                    reduction=reduction, label_smoothing=ls).sum().backward()
    assert_close(xe.grad, np.zeros((3, 4)), 0, 0, msg="gradient with every target ignored")
    torch = import_torch()
    tw, ew = (None, None) if w is None else (torch.tensor(w), ember.tensor(w))
    out = helper_test_op(
        [x],
        lambda a: torch.nn.functional.cross_entropy(a, _torch_long(t), tw, reduction=reduction,
                                                    label_smoothing=ls),
        lambda a: L.cross_entropy(a, ember.tensor(t), ew, reduction=reduction,
                                  label_smoothing=ls),
        msg=f"cross_entropy all ignored {reduction} ls={ls}")
    if reduction == "mean":
        assert np.isnan(out[0].item())
    else:
        assert not np.any(out[0].data)


def test_cross_entropy_1d_input_with_0d_target():
    torch = import_torch()
    x = uniform((5,), 6)
    for target in (3, 0):
        t = np.array(target, dtype=np.int64)
        out = L.cross_entropy(ember.tensor(x), ember.tensor(t))
        assert out.shape == ()
        assert_close(out, -log_softmax_ref(x, 0)[target], 1e-12, 1e-12)
        helper_test_op([x], lambda a, t=t: torch.nn.functional.cross_entropy(a, _torch_long(t)),
                       lambda a, t=t: L.cross_entropy(a, ember.tensor(t)))


def test_cross_entropy_targets_as_lists_and_integer_dtypes():
    x = uniform((4, 3), 7)
    ref = ce_ref(x, np.array([0, 2, 1, 2]))
    for t in ([0, 2, 1, 2], ember.tensor(np.array([0, 2, 1, 2], np.int64)),
              ember.tensor(np.array([0, 2, 1, 2], np.int32)),
              ember.tensor(np.array([0, 2, 1, 2], np.uint8))):
        assert_close(L.cross_entropy(ember.tensor(x), t), ref, 1e-12, 1e-12, msg=str(t))


def test_cross_entropy_uint8_targets_vs_torch():
    x = uniform((4, 3), 8)
    t = np.array([0, 2, 1, 2], np.uint8)
    torch = import_torch()
    helper_test_op([x], lambda a: torch.nn.functional.cross_entropy(a, torch.tensor(t)),
                   lambda a: L.cross_entropy(a, ember.tensor(t)))


def test_cross_entropy_is_stable_for_large_logits():
    x = np.array([[1000.0, -1000.0, 0.0], [-500.0, 500.0, 499.0]])
    t = np.array([0, 2])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = L.cross_entropy(ember.tensor(x), ember.tensor(t), reduction="none")
    assert_close(out, [0.0, 1.0 + np.log1p(np.exp(-1.0))], 1e-12, 1e-12)


def test_cross_entropy_mean_is_weighted_mean_over_targets():
    x = uniform((3, 2), 9)
    t = np.array([0, 1, 1])
    w = np.array([1.0, 3.0])
    per = L.cross_entropy(ember.tensor(x), ember.tensor(t), reduction="none").data
    mean = L.cross_entropy(ember.tensor(x), ember.tensor(t), ember.tensor(w)).item()
    assert_close(mean, (per[0] + 3 * per[1] + 3 * per[2]) / 7.0, 1e-12, 1e-12)


def test_cross_entropy_tensor_output_properties():
    x = ember.tensor(uniform((4, 3), 10), requires_grad=True)
    out = L.cross_entropy(x, ember.tensor([0, 1, 2, 0]))
    assert out.shape == () and out.requires_grad and out.dtype == np.float64
    out.backward()
    assert x.grad.shape == (4, 3)
    assert_close(x.grad.data.sum(axis=1), np.zeros(4), 1e-12, 1e-12)  # softmax - onehot


# ------------------------------------------------------------------------ cross_entropy: probs
CE_PROB_CASES = list(itertools.product([(4, 5), (5,), (2, 3, 2)], [False, True], [0.0, 0.25]))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape,weighted,ls", CE_PROB_CASES, ids=ids(CE_PROB_CASES))
def test_cross_entropy_prob_targets(shape, weighted, ls, reduction):
    c = shape[0] if len(shape) == 1 else shape[1]
    x, p = uniform(shape, 11, -3, 3), prob_targets(shape, 12)
    w = class_weight(c, 13) if weighted else None
    ew = None if w is None else ember.tensor(w)
    out = L.cross_entropy(ember.tensor(x), ember.tensor(p), ew, reduction=reduction,
                          label_smoothing=ls)
    assert_close(out, ce_ref(x, p, w, reduction=reduction, label_smoothing=ls), 1e-12, 1e-10,
                 msg=f"cross_entropy probs {shape} w={weighted} ls={ls}")
    pt = ember.tensor(p)
    check_grad(lambda a: L.cross_entropy(a, pt, ew, reduction=reduction, label_smoothing=ls), x)
    torch = import_torch()
    tw = None if w is None else torch.tensor(w)
    helper_test_op(
        [x],
        lambda a: torch.nn.functional.cross_entropy(a, torch.tensor(p), tw, reduction=reduction,
                                                    label_smoothing=ls),
        lambda a: L.cross_entropy(a, ember.tensor(p), ew, reduction=reduction,
                                  label_smoothing=ls),
        msg=f"cross_entropy probs w={weighted} ls={ls}")


def test_cross_entropy_prob_targets_float32_vs_torch():
    x, p = uniform((4, 5), 14), prob_targets((4, 5), 15)
    torch = import_torch()
    helper_test_op([x], lambda a: torch.nn.functional.cross_entropy(a, torch.tensor(p)),
                   lambda a: L.cross_entropy(a, ember.tensor(p)), dtype=np.float32)


def test_cross_entropy_prob_targets_ignore_index_has_no_effect_like_torch():
    x, p = uniform((3, 4), 16), prob_targets((3, 4), 17)
    a = L.cross_entropy(ember.tensor(x), ember.tensor(p), ignore_index=1)
    b = L.cross_entropy(ember.tensor(x), ember.tensor(p))
    assert_close(a, b, 0, 0)


def test_cross_entropy_prob_targets_gradient_wrt_target_like_torch():
    """torch differentiates the loss with respect to soft targets (distillation)."""
    torch = import_torch()
    helper_test_op([uniform((3, 4), 18), prob_targets((3, 4), 19)],
                   torch.nn.functional.cross_entropy, L.cross_entropy)


# ------------------------------------------------------------------------ cross_entropy: errors
def test_cross_entropy_errors():
    x = ember.tensor(uniform((4, 5), 20))
    t = ember.tensor([0, 1, 2, 3])
    with pytest.raises(TypeError, match=r"cross_entropy: target must hold class indices \(an "
                                        r"integer tensor\), got bool"):
        L.cross_entropy(x, ember.tensor([True, False, True, False]))
    with pytest.raises(ValueError, match=r"cross_entropy: input has shape \(4, 5\) but target "
                                         r"has shape \(4,\); they must match"):
        L.cross_entropy(x, ember.tensor([0.0, 1.0, 2.0, 3.0]))
    with pytest.raises(IndexError, match="cross_entropy: target 5 is out of bounds for 5 "
                                         r"classes \(valid: 0..4, or ignore_index=-100\)"):
        L.cross_entropy(x, ember.tensor([0, 5, 1, 1]))
    with pytest.raises(IndexError, match="cross_entropy: target -1 is out of bounds"):
        L.cross_entropy(x, ember.tensor([0, -1, 1, 1]))
    with pytest.raises(IndexError, match="cross_entropy: target -100 is out of bounds .*"
                                         "ignore_index=3"):
        L.cross_entropy(x, ember.tensor([0, -100, 1, 1]), ignore_index=3)
    with pytest.raises(ValueError, match=r"cross_entropy: input has shape \(4, 5\) so target "
                                         r"must have shape \(4,\), got \(3,\)"):
        L.cross_entropy(x, ember.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match=r"cross_entropy: input has shape \(2, 3, 4\) so target "
                                         r"must have shape \(2, 4\), got \(2, 3\)"):
        L.cross_entropy(ember.ones(2, 3, 4), ember.tensor(np.zeros((2, 3), np.int64)))
    with pytest.raises(ValueError, match=r"cross_entropy: input has shape \(5,\) so target must "
                                         r"have shape \(\), got \(1,\)"):
        L.cross_entropy(ember.ones(5), ember.tensor([1]))
    with pytest.raises(ValueError, match="cross_entropy: reduction must be 'mean', 'sum' or "
                                         "'none', got 'avg'"):
        L.cross_entropy(x, t, reduction="avg")
    with pytest.raises(ValueError, match="cross_entropy: input must have at least 1 dimension"):
        L.cross_entropy(ember.tensor(1.0), ember.tensor(0))
    with pytest.raises(ValueError, match="cross_entropy: label_smoothing must be in "
                                         r"\[0, 1\], got 1.5"):
        L.cross_entropy(x, t, label_smoothing=1.5)
    with pytest.raises(ValueError, match="cross_entropy: label_smoothing .* got -0.1"):
        L.cross_entropy(x, t, label_smoothing=-0.1)
    with pytest.raises(ValueError, match=r"cross_entropy: weight must have shape \(5,\), got "
                                         r"\(4,\)"):
        L.cross_entropy(x, t, weight=ember.ones(4))
    with pytest.raises(TypeError, match="cross_entropy: input must be a floating-point tensor, "
                                        "got int64"):
        L.cross_entropy(ember.tensor([[1, 2], [3, 4]]), ember.tensor([0, 1]))


# ------------------------------------------------------------------------ nll_loss
NLL_CASES = [(shape, weighted, ig) for shape in [(4, 5), (5,), (3, 4, 2)]
             for weighted in [False, True]
             for ig in ([None] if len(shape) == 1 else [None, -100, 2])]


def _nll_setup(shape, weighted, ig, seed):
    x, t, w, kw = _ce_setup(shape, weighted, 0.0, ig, seed)
    kw.pop("label_smoothing")
    return log_softmax_ref(x, _class_dim(x)), t, w, kw


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape,weighted,ig", NLL_CASES, ids=ids(NLL_CASES))
def test_nll_loss(shape, weighted, ig, reduction):
    logp, t, w, kw = _nll_setup(shape, weighted, ig, 21)
    ew = None if w is None else ember.tensor(w)
    out = L.nll_loss(ember.tensor(logp), ember.tensor(t), ew, reduction=reduction, **kw)
    assert_close(out, nll_ref(logp, t, w, reduction=reduction, **kw), 1e-12, 1e-12,
                 msg=f"nll_loss {shape} w={weighted} {kw}")
    tt = ember.tensor(t)
    check_grad(lambda a: L.nll_loss(a, tt, ew, reduction=reduction, **kw), logp)
    torch = import_torch()

    def run(dtype):
        tw = None if w is None else torch.tensor(w.astype(dtype))
        ew = None if w is None else ember.tensor(w.astype(dtype))
        helper_test_op(
            [logp],
            lambda a: torch.nn.functional.nll_loss(a, _torch_long(t), tw, reduction=reduction,
                                                   **kw),
            lambda a: L.nll_loss(a, ember.tensor(t), ew, reduction=reduction, **kw),
            dtype=dtype, msg=f"nll_loss w={weighted} {kw} {reduction}")

    for dtype in _dtypes(reduction):
        run(dtype)


def test_nll_loss_of_log_softmax_equals_cross_entropy():
    x = uniform((4, 3, 2), 22)
    t = class_targets((4, 2), 3, 23, -100)
    a = ember.tensor(x)
    ce = L.cross_entropy(a, ember.tensor(t), reduction="none")
    nll = L.nll_loss(ember.log_softmax(a, 1), ember.tensor(t), reduction="none")
    assert_close(ce, nll, 1e-12, 1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_all_targets_ignored_like_torch(reduction):
    t = np.full((2, 2), 1, dtype=np.int64)
    xe = ember.tensor(uniform((2, 3, 2), 24), requires_grad=True)
    out = L.nll_loss(xe, ember.tensor(t), ignore_index=1, reduction=reduction)
    assert np.isnan(out.item()) if reduction == "mean" else not np.any(out.data)
    out.sum().backward()
    assert_close(xe.grad, np.zeros((2, 3, 2)), 0, 0, msg="gradient with every target ignored")
    torch = import_torch()
    helper_test_op(
        [uniform((2, 3, 2), 24)],
        lambda a: torch.nn.functional.nll_loss(a, _torch_long(t), ignore_index=1,
                                               reduction=reduction),
        lambda a: L.nll_loss(a, ember.tensor(t), ignore_index=1, reduction=reduction),
        msg=f"nll_loss all ignored {reduction}")


def test_nll_loss_errors():
    x = ember.tensor(uniform((4, 5), 25))
    t = ember.tensor([0, 1, 2, 3])
    with pytest.raises(TypeError, match=r"nll_loss: target must hold class indices .*got "
                                        "float32"):
        L.nll_loss(x, ember.tensor([0.0, 1.0, 2.0, 3.0]))
    with pytest.raises(IndexError, match="nll_loss: target 7 is out of bounds for 5 classes"):
        L.nll_loss(x, ember.tensor([0, 1, 7, 3]))
    with pytest.raises(ValueError, match=r"nll_loss: input has shape \(4, 5\) so target must "
                                         r"have shape \(4,\), got \(4, 1\)"):
        L.nll_loss(x, ember.tensor([[0], [1], [2], [3]]))
    with pytest.raises(ValueError, match="nll_loss: reduction must be 'mean', 'sum' or 'none', "
                                         "got 'batchmean'"):
        L.nll_loss(x, t, reduction="batchmean")
    with pytest.raises(ValueError, match=r"nll_loss: weight must have shape \(5,\), got \(5, "
                                         r"1\)"):
        L.nll_loss(x, t, weight=ember.ones(5, 1))
    with pytest.raises(TypeError, match="nll_loss: input must be a floating-point tensor"):
        L.nll_loss(ember.tensor([[1, 2]]), ember.tensor([0]))


def test_nll_loss_zero_dim_input_error_names_op():
    """torch: ValueError 'Expected 1 or more dimensions (got 0)'."""
    with pytest.raises(ValueError, match="nll_loss: .*dimension"):
        L.nll_loss(ember.tensor(np.float64(-0.5)), ember.tensor(np.int64(0)))


# ------------------------------------------------------------------------ multi_margin_loss
def margin_sample(shape, target, margin, seed, gap=0.05):
    """Seeded scores whose hinge arguments margin - x_y + x_j all stay ``gap`` from 0."""
    t = np.asarray(target).reshape(-1)
    for s in range(seed, seed + 1000):
        x = uniform(shape, s, -1.5, 1.5)
        x2 = x.reshape(-1, shape[-1])
        z = margin - x2[np.arange(len(t)), t][:, None] + x2
        z[np.arange(len(t)), t] = 1.0
        if np.all(np.abs(z) > gap):
            return x
    raise AssertionError("no sample found")


# (input shape, p, margin, weighted)
MM_CASES = [((4, 5), 1, 1.0, False), ((4, 5), 2, 1.0, False), ((4, 5), 1, 0.5, True),
            ((4, 5), 2, 2.0, True), ((3, 3), 1, 0.0, False), ((5,), 1, 1.0, False),
            ((5,), 2, 0.7, True)]


def _mm_setup(shape, p, margin, weighted, seed):
    c = shape[-1]
    t = class_targets(shape[:-1], c, seed)
    x = margin_sample(shape, t, margin, seed + 1)
    w = class_weight(c, seed + 2) if weighted else None
    return x, t, w


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape,p,margin,weighted", MM_CASES, ids=ids(MM_CASES))
def test_multi_margin_loss(shape, p, margin, weighted, reduction):
    x, t, w = _mm_setup(shape, p, margin, weighted, 26)
    ew = None if w is None else ember.tensor(w)
    kw = {"p": p, "margin": margin, "reduction": reduction}
    out = L.multi_margin_loss(ember.tensor(x), ember.tensor(t), weight=ew, **kw)
    assert_close(out, multi_margin_ref(x, t, weight=w, **kw), 1e-12, 1e-12,
                 msg=f"multi_margin_loss {shape} {kw} w={weighted}")
    tt = ember.tensor(t)
    check_grad(lambda a: L.multi_margin_loss(a, tt, weight=ew, **kw), x)
    torch = import_torch()

    def run(dtype):
        tw = None if w is None else torch.tensor(w.astype(dtype))
        ew = None if w is None else ember.tensor(w.astype(dtype))
        helper_test_op(
            [x],
            lambda a: torch.nn.functional.multi_margin_loss(a, _torch_long(t), weight=tw, **kw),
            lambda a: L.multi_margin_loss(a, ember.tensor(t), weight=ew, **kw),
            dtype=dtype, msg=f"multi_margin_loss {kw} w={weighted}")

    for dtype in _dtypes(reduction):
        run(dtype)


def test_multi_margin_loss_zero_when_margins_are_met():
    x = np.array([[5.0, 0.0, 1.0], [0.0, 0.0, 3.0]])
    out = L.multi_margin_loss(ember.tensor(x), ember.tensor([0, 2]), reduction="none")
    assert_close(out, [0.0, 0.0], 0, 0)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multi_margin_loss_1d_input_with_1_element_target_like_torch(reduction):
    """torch accepts a (1,) target for a (C,) input (and returns shape (1,) for 'none')."""
    x = margin_sample((4,), [2], 1.0, 27)
    t = np.array([2], dtype=np.int64)
    out = L.multi_margin_loss(ember.tensor(x), ember.tensor(t), reduction=reduction)
    assert out.shape == ((1,) if reduction == "none" else ())
    assert_close(out.data.reshape(()), multi_margin_ref(x, t[0], reduction="sum"), 1e-12, 1e-12)
    torch = import_torch()
    helper_test_op(
        [x],
        lambda a: torch.nn.functional.multi_margin_loss(a, _torch_long(t), reduction=reduction),
        lambda a: L.multi_margin_loss(a, ember.tensor(t), reduction=reduction),
        msg=f"multi_margin_loss (C,) input (1,) target {reduction}")


def test_multi_margin_loss_errors():
    x = ember.tensor(uniform((3, 4), 28))
    t = ember.tensor([0, 1, 2])
    with pytest.raises(ValueError, match="multi_margin_loss: p must be 1 or 2, got 3"):
        L.multi_margin_loss(x, t, p=3)
    with pytest.raises(ValueError, match=r"multi_margin_loss: input must be \(N, C\) or \(C,\), "
                                         r"got shape \(2, 3, 4\)"):
        L.multi_margin_loss(ember.ones(2, 3, 4), ember.tensor(np.zeros((2, 4), np.int64)))
    with pytest.raises(TypeError, match="multi_margin_loss: target must hold class indices"):
        L.multi_margin_loss(x, ember.tensor([0.0, 1.0, 2.0]))
    with pytest.raises(IndexError, match="multi_margin_loss: target 4 is out of bounds for 4 "
                                         "classes"):
        L.multi_margin_loss(x, ember.tensor([0, 4, 1]))
    with pytest.raises(IndexError, match="multi_margin_loss: target -1 is out of bounds"):
        L.multi_margin_loss(x, ember.tensor([0, -1, 1]))
    with pytest.raises(ValueError, match=r"multi_margin_loss: input has shape \(3, 4\) so target "
                                         r"must have shape \(3,\), got \(2,\)"):
        L.multi_margin_loss(x, ember.tensor([0, 1]))
    with pytest.raises(ValueError, match="multi_margin_loss: reduction must be 'mean', 'sum' or "
                                         "'none', got 'max'"):
        L.multi_margin_loss(x, t, reduction="max")
    with pytest.raises(ValueError, match=r"multi_margin_loss: weight must have shape \(4,\), got "
                                         r"\(3,\)"):
        L.multi_margin_loss(x, t, weight=ember.ones(3))
    with pytest.raises(TypeError, match="multi_margin_loss: input must be a floating-point"):
        L.multi_margin_loss(ember.tensor([[1, 2]]), ember.tensor([0]))


# ------------------------------------------------------------------------ mse / l1
POINTWISE = {"mse_loss": (L.mse_loss, mse_ref), "l1_loss": (L.l1_loss, l1_ref)}
POINTWISE_SHAPES = [(), (5,), (3, 4), (2, 3, 2)]


def _pair(shape, seed):
    x = np.asarray(uniform(shape, seed))
    return x, np.asarray(x + away_from(shape, seed + 1, gap=0.05, high=1.5))  # |x - y| >= gap


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", POINTWISE_SHAPES, ids=ids(POINTWISE_SHAPES))
@pytest.mark.parametrize("name", list(POINTWISE))
def test_pointwise_loss(name, shape, reduction):
    fn, ref = POINTWISE[name]
    x, y = _pair(shape, 29)
    out = fn(ember.tensor(x), ember.tensor(y), reduction=reduction)
    assert_close(out, ref(x, y, reduction), 1e-12, 1e-12, msg=f"{name} {shape} {reduction}")
    check_grad(lambda a, b: fn(a, b, reduction=reduction), x, y)
    torch = import_torch()
    tfn = getattr(torch.nn.functional, name)
    for dtype in _dtypes(reduction):
        helper_test_op([x, y], lambda a, b: tfn(a, b, reduction=reduction),
                       lambda a, b: fn(a, b, reduction=reduction), dtype=dtype,
                       msg=f"{name} {reduction}")


def test_l1_loss_gradient_at_zero_difference_like_torch():
    x = np.array([1.0, 2.0, -0.5])
    y = np.array([1.0, 0.0, -0.5])
    torch = import_torch()
    helper_test_op([x, y], torch.nn.functional.l1_loss, L.l1_loss)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", list(POINTWISE) + ["binary_cross_entropy",
                                                    "binary_cross_entropy_with_logits"])
def test_losses_on_empty_input_like_torch(name, reduction):
    """torch: 'mean' over zero elements is nan, 'sum' is 0, 'none' is empty."""
    z = np.zeros((0, 3))
    out = getattr(L, name)(ember.tensor(z), ember.tensor(z), reduction=reduction)
    if reduction == "mean":
        assert np.isnan(out.item()), f"{name}: mean of no elements is {out.item()}, not nan"
    torch = import_torch()
    helper_test_op([z, z], lambda a, b: getattr(torch.nn.functional, name)(a, b,
                                                                           reduction=reduction),
                   lambda a, b: getattr(L, name)(a, b, reduction=reduction),
                   msg=f"{name} empty {reduction}")


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
def test_classification_losses_on_empty_batch_like_torch(name, reduction):
    t = np.zeros(0, dtype=np.int64)
    torch = import_torch()
    helper_test_op([(0, 3)],
                   lambda a: getattr(torch.nn.functional, name)(a, _torch_long(t),
                                                                reduction=reduction),
                   lambda a: getattr(L, name)(a, ember.tensor(t), reduction=reduction),
                   msg=f"{name} empty batch {reduction}")
    if name == "cross_entropy":
        p = np.zeros((0, 3))
        helper_test_op([(0, 3)],
                       lambda a: torch.nn.functional.cross_entropy(a, torch.tensor(p),
                                                                   reduction=reduction),
                       lambda a: L.cross_entropy(a, ember.tensor(p), reduction=reduction),
                       msg=f"{name} empty batch, probabilities {reduction}")


@pytest.mark.parametrize("name", list(POINTWISE))
def test_pointwise_loss_errors(name):
    fn = POINTWISE[name][0]
    with pytest.raises(ValueError, match=rf"{name}: input has shape \(3,\) but target has shape "
                                         r"\(4,\); they must match"):
        fn(ember.ones(3), ember.ones(4))
    with pytest.raises(ValueError, match=rf"{name}: input has shape \(2, 3\) but target has "
                                         r"shape \(3,\)"):
        fn(ember.ones(2, 3), ember.ones(3))
    with pytest.raises(TypeError, match=f"{name}: target must be a floating-point tensor, got "
                                        "int64"):
        fn(ember.ones(3), ember.tensor([1, 2, 3]))
    with pytest.raises(TypeError, match=f"{name}: input must be a floating-point tensor"):
        fn(ember.tensor([1, 2, 3]), ember.ones(3))
    with pytest.raises(ValueError, match=f"{name}: reduction must be 'mean', 'sum' or 'none', "
                                         "got 'elementwise_mean'"):
        fn(ember.ones(3), ember.ones(3), reduction="elementwise_mean")


# ------------------------------------------------------------------------ binary_cross_entropy
# weight shapes: None, full, broadcast over the last dim, broadcast over rows, scalar
BCE_WEIGHTS = [None, (3, 4), (4,), (3, 1), ()]


def _bce_setup(seed, weight_shape, hard=False):
    x = uniform((3, 4), seed, 0.05, 0.95)
    t = (uniform((3, 4), seed + 1, 0, 1) > 0.5).astype(np.float64) if hard else \
        uniform((3, 4), seed + 1, 0, 1)
    w = None if weight_shape is None else np.asarray(uniform(weight_shape, seed + 2, 0.2, 2.0))
    return x, t, w


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight_shape", BCE_WEIGHTS, ids=ids(BCE_WEIGHTS))
@pytest.mark.parametrize("hard", [False, True], ids=["soft", "hard"])
def test_binary_cross_entropy(hard, weight_shape, reduction):
    x, t, w = _bce_setup(30, weight_shape, hard)
    ew = None if w is None else ember.tensor(w)
    out = L.binary_cross_entropy(ember.tensor(x), ember.tensor(t), ew, reduction=reduction)
    assert_close(out, bce_ref(x, t, w, reduction), 1e-12, 1e-12,
                 msg=f"bce w={weight_shape} {reduction}")
    check_grad(lambda a, b: L.binary_cross_entropy(a, b, ew, reduction=reduction), x, t)
    torch = import_torch()

    def run(dtype):
        tw = None if w is None else torch.tensor(w.astype(dtype))
        ew = None if w is None else ember.tensor(w.astype(dtype))
        helper_test_op(
            [x, t],
            lambda a, b: torch.nn.functional.binary_cross_entropy(a, b, tw, reduction=reduction),
            lambda a, b: L.binary_cross_entropy(a, b, ew, reduction=reduction),
            dtype=dtype, msg=f"bce w={weight_shape} {reduction}")

    for dtype in _dtypes(reduction):
        run(dtype)


def test_binary_cross_entropy_at_0_and_1_clamps_logs_like_torch():
    x = np.array([0.0, 1.0, 0.0, 1.0, 0.5])
    t = np.array([0.0, 1.0, 1.0, 0.0, 0.3])
    out = L.binary_cross_entropy(ember.tensor(x), ember.tensor(t), reduction="none")
    assert_close(out, [0.0, 0.0, 100.0, 100.0, -(0.3 * np.log(0.5) + 0.7 * np.log(0.5))],
                 1e-12, 1e-12)
    torch = import_torch()
    helper_test_op(
        [x],
        lambda a: torch.nn.functional.binary_cross_entropy(a, torch.tensor(t), reduction="sum"),
        lambda a: L.binary_cross_entropy(a, ember.tensor(t), reduction="sum"),
        grad_rtol=1e-6)


def test_binary_cross_entropy_errors():
    x, t = ember.tensor([0.2, 0.7]), ember.tensor([0.0, 1.0])
    for bad in ([0.2, 1.5], [-0.1, 0.5], [float("nan"), 0.5], [0.2, float("inf")]):
        with pytest.raises(ValueError, match=r"binary_cross_entropy: all elements of input "
                                             r"should be probabilities in \[0, 1\] \(no NaN\)"):
            L.binary_cross_entropy(ember.tensor(bad), t)
    with pytest.raises(ValueError, match=r"binary_cross_entropy: input has shape \(2,\) but "
                                         r"target has shape \(3,\)"):
        L.binary_cross_entropy(x, ember.tensor([0.0, 1.0, 1.0]))
    with pytest.raises(TypeError, match="binary_cross_entropy: target must be a floating-point "
                                        "tensor, got int64"):
        L.binary_cross_entropy(x, ember.tensor([0, 1]))
    with pytest.raises(TypeError, match="binary_cross_entropy: input must be a floating-point"):
        L.binary_cross_entropy(ember.tensor([0, 1]), t)
    with pytest.raises(ValueError, match="binary_cross_entropy: reduction must be 'mean', 'sum' "
                                         "or 'none', got 'Mean'"):
        L.binary_cross_entropy(x, t, reduction="Mean")


# ------------------------------------------------------------------------ bce with logits
# (weight shape, pos_weight shape)
BCEL_CASES = [(None, None), ((3, 4), None), (None, (4,)), ((4,), (4,)), ((3, 1), ()),
              (None, (1,))]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight_shape,pw_shape", BCEL_CASES, ids=ids(BCEL_CASES))
def test_binary_cross_entropy_with_logits(weight_shape, pw_shape, reduction):
    x = uniform((3, 4), 31, -4, 4)
    t = uniform((3, 4), 32, 0, 1)
    w = None if weight_shape is None else np.asarray(uniform(weight_shape, 33, 0.2, 2.0))
    pw = None if pw_shape is None else np.asarray(uniform(pw_shape, 34, 0.2, 3.0))
    ew = None if w is None else ember.tensor(w)
    epw = None if pw is None else ember.tensor(pw)
    kw = {"reduction": reduction}
    out = L.binary_cross_entropy_with_logits(ember.tensor(x), ember.tensor(t), ew,
                                             pos_weight=epw, **kw)
    assert_close(out, bce_logits_ref(x, t, w, pos_weight=pw, **kw), 1e-12, 1e-12,
                 msg=f"bce_with_logits w={weight_shape} pw={pw_shape} {reduction}")
    check_grad(lambda a, b: L.binary_cross_entropy_with_logits(a, b, ew, pos_weight=epw, **kw),
               x, t)
    torch = import_torch()

    def run(dtype):
        tw = None if w is None else torch.tensor(w.astype(dtype))
        tpw = None if pw is None else torch.tensor(pw.astype(dtype))
        ew = None if w is None else ember.tensor(w.astype(dtype))
        epw = None if pw is None else ember.tensor(pw.astype(dtype))
        helper_test_op(
            [x, t],
            lambda a, b: torch.nn.functional.binary_cross_entropy_with_logits(
                a, b, tw, pos_weight=tpw, **kw),
            lambda a, b: L.binary_cross_entropy_with_logits(a, b, ew, pos_weight=epw, **kw),
            dtype=dtype, msg=f"bce_with_logits w={weight_shape} pw={pw_shape} {reduction}")

    for dtype in _dtypes(reduction):
        run(dtype)


def test_binary_cross_entropy_with_logits_is_stable_for_large_logits():
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    t = np.array([1.0, 0.0, 0.5, 1.0, 0.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = L.binary_cross_entropy_with_logits(ember.tensor(x), ember.tensor(t),
                                                 reduction="none")
    assert_close(out, [1000.0, np.log1p(np.exp(-50.0)), np.log(2.0), np.log1p(np.exp(-50.0)),
                       1000.0], 1e-12, 1e-12)
    torch = import_torch()
    helper_test_op([x, t], lambda a, b: torch.nn.functional.binary_cross_entropy_with_logits(
        a, b, reduction="sum"), lambda a, b: L.binary_cross_entropy_with_logits(
        a, b, reduction="sum"))


def test_binary_cross_entropy_with_logits_matches_bce_of_sigmoid():
    x, t = uniform((2, 5), 35), uniform((2, 5), 36, 0, 1)
    a = L.binary_cross_entropy_with_logits(ember.tensor(x), ember.tensor(t))
    b = L.binary_cross_entropy(ember.sigmoid(ember.tensor(x)), ember.tensor(t))
    assert_close(a, b, 1e-12, 1e-10)


def test_binary_cross_entropy_with_logits_errors():
    name = "binary_cross_entropy_with_logits"
    x, t = ember.tensor([0.2, -3.0]), ember.tensor([0.0, 1.0])
    with pytest.raises(ValueError, match=rf"{name}: input has shape \(2,\) but target has shape "
                                         r"\(2, 1\)"):
        L.binary_cross_entropy_with_logits(x, ember.tensor([[0.0], [1.0]]))
    with pytest.raises(TypeError, match=f"{name}: target must be a floating-point tensor, got "
                                        "bool"):
        L.binary_cross_entropy_with_logits(x, ember.tensor([False, True]))
    with pytest.raises(TypeError, match=f"{name}: input must be a floating-point tensor"):
        L.binary_cross_entropy_with_logits(ember.tensor([1, 2]), t)
    with pytest.raises(ValueError, match=f"{name}: reduction must be 'mean', 'sum' or 'none', "
                                         "got None"):
        L.binary_cross_entropy_with_logits(x, t, reduction=None)


# ------------------------------------------------------------------------ dtypes
@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss", "multi_margin_loss", "mse_loss",
                                  "l1_loss", "binary_cross_entropy",
                                  "binary_cross_entropy_with_logits"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_losses_keep_input_dtype(name, reduction):
    for dtype in (np.float32, np.float64):
        x = ember.tensor(uniform((3, 4), 37, 0.1, 0.9).astype(dtype), requires_grad=True)
        if name in ("cross_entropy", "nll_loss", "multi_margin_loss"):
            target = ember.tensor([0, 3, 1])
        else:
            target = ember.tensor(uniform((3, 4), 38, 0, 1).astype(dtype))
        out = getattr(L, name)(x, target, reduction=reduction)
        assert out.dtype == dtype, f"{name} {reduction}: {dtype.__name__} in, {out.dtype} out"
        out.sum().backward()
        assert x.grad.dtype == dtype, f"{name} {reduction}: grad dtype {x.grad.dtype}"


def test_functional_namespace_exports_the_losses():
    from ember.nn import functional as F
    for name in ("cross_entropy", "nll_loss", "multi_margin_loss", "mse_loss", "l1_loss",
                 "binary_cross_entropy", "binary_cross_entropy_with_logits"):
        assert getattr(F, name) is getattr(L, name), name


@pytest.mark.parametrize("shape", [(3, 5, 20, 17), (700, 10), (2, 11, 48, 48)])
@pytest.mark.parametrize("threads", [1, 2])
def test_cross_entropy_fused_kernel_large_shapes(shape, threads):
    """The fused C++ kernel over blocks of positions (> 256 per image) and on two threads,
    against the log-softmax formula in float64, with weights, smoothing and ignored targets."""
    before = ember.get_num_threads()
    ember.set_num_threads(threads)
    try:
        rng = np.random.default_rng(sum(shape))
        c = shape[1]
        x = rng.standard_normal(shape) * 3
        t = rng.integers(0, c, (shape[0],) + shape[2:])
        t.flat[::7] = -100
        w = rng.uniform(0.5, 2.0, c)
        xe = ember.tensor(x, requires_grad=True)
        out = L.cross_entropy(xe, ember.tensor(t), ember.tensor(w), label_smoothing=0.2)
        out.backward()
        x2 = np.moveaxis(x, 1, -1).reshape(-1, c)
        t2 = t.reshape(-1)
        logp = x2 - x2.max(1, keepdims=True)
        logp -= np.log(np.exp(logp).sum(1, keepdims=True))
        valid = t2 != -100
        ts = np.where(valid, t2, 0)
        coef = np.zeros_like(logp)
        coef[np.arange(len(t2)), ts] = 0.8 * w[ts]
        coef += 0.2 / c * w[None, :]
        coef *= valid[:, None]
        denom = (w[ts] * valid).sum()
        want = -(coef * logp).sum() / denom
        np.testing.assert_allclose(out.item(), want, rtol=1e-12)
        grad = (np.exp(logp) * coef.sum(1, keepdims=True) - coef) / denom
        want_g = np.moveaxis(grad.reshape((shape[0],) + shape[2:] + (c,)), -1, 1)
        np.testing.assert_allclose(xe.grad.numpy(), want_g, rtol=1e-10, atol=1e-14)
    finally:
        ember.set_num_threads(before)


def test_cross_entropy_kernel_checks_its_arguments():
    from ember import _C

    x = np.zeros((2, 3), np.float32)
    with pytest.raises(IndexError, match="cross_entropy: target 3 is out of bounds for 3"):
        _C.cross_entropy_forward(x, np.array([0, 3]), None, -100, 0.0)
    with pytest.raises(TypeError, match="argument 'target' must be int64"):
        _C.cross_entropy_forward(x, np.array([0, 1], np.int32), None, -100, 0.0)
    with pytest.raises(ValueError, match="must have 2 elements"):
        _C.cross_entropy_forward(x, np.array([0, 1, 2]), None, -100, 0.0)
    with pytest.raises(ValueError, match="argument 'input' must be at least 2-D"):
        _C.cross_entropy_forward(np.zeros(3, np.float32), np.array([0]), None, -100, 0.0)
    with pytest.raises(ValueError, match="label_smoothing' must be in"):
        _C.cross_entropy_forward(x, np.array([0, 1]), None, -100, 1.5)
    with pytest.raises(ValueError, match="argument 'weight' must have shape"):
        _C.cross_entropy_forward(x, np.array([0, 1]), np.ones(4, np.float32), -100, 0.0)
    loss, lse, _ = _C.cross_entropy_forward(x, np.array([0, 1]), None, -100, 0.0)
    with pytest.raises(ValueError, match="argument 'grad' must have 1 or 2 elements"):
        _C.cross_entropy_backward(x, np.array([0, 1]), None, -100, 0.0, lse, np.ones(3))
