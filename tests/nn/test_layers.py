"""Layers against PyTorch (same weights) and their initialisation statistics."""
import math

import numpy as np
import pytest

import ember
from ember import nn
from ember.autograd import gradcheck

torch = pytest.importorskip  # resolved per test so the module imports without torch


def _torch():
    return pytest.importorskip("torch")


def test_linear_default_init_bounds():
    ember.manual_seed(0)
    lin = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    w = lin.weight.numpy()
    assert w.shape == (300, 400) and lin.bias.shape == (300,)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    # U(-b, b) has std b / sqrt(3)
    assert abs(w.std() - bound / math.sqrt(3)) < 0.02 * bound
    assert np.abs(lin.bias.numpy()).max() <= bound


def test_linear_gradcheck_nd_input():
    lin = nn.Linear(3, 2).double()
    x = ember.randn(2, 4, 3, dtype=ember.float64, requires_grad=True)
    assert gradcheck(lambda x, w, b: nn.functional.linear(x, w, b), [x, lin.weight, lin.bias])


def test_linear_no_bias_and_errors():
    lin = nn.Linear(3, 2, bias=False)
    assert lin.bias is None and len(list(lin.parameters())) == 1
    with pytest.raises(ValueError, match=r"linear: input has shape \(4, 5\) but weight has "
                                         r"shape \(2, 3\)"):
        lin(ember.randn(4, 5))
    with pytest.raises(TypeError, match="linear: input has dtype float64 but weight has dtype "
                                        "float32"):
        lin(ember.randn(4, 3, dtype=ember.float64))


@pytest.mark.parametrize("shape", [(5, 7), (2, 3, 7), (1, 7)])
def test_linear_matches_torch(shape):
    torch = _torch()
    ember.manual_seed(1)
    lin = nn.Linear(7, 4)
    tl = torch.nn.Linear(7, 4)
    with torch.no_grad():
        tl.weight.copy_(torch.from_numpy(lin.weight.detach().numpy()))
        tl.bias.copy_(torch.from_numpy(lin.bias.detach().numpy()))
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    ex = ember.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    ey, ty = lin(ex), tl(tx)
    np.testing.assert_allclose(ey.numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-5)
    g = np.random.default_rng(1).standard_normal(ey.shape).astype(np.float32)
    ey.backward(g)
    ty.backward(torch.from_numpy(g))
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(lin.weight.grad.numpy(), tl.weight.grad.numpy(), rtol=1e-4,
                               atol=1e-5)
    np.testing.assert_allclose(lin.bias.grad.numpy(), tl.bias.grad.numpy(), rtol=1e-4,
                               atol=1e-5)


ACTIVATIONS = [
    (lambda: nn.ReLU(), lambda t: t.nn.ReLU()),
    (lambda: nn.LeakyReLU(0.2), lambda t: t.nn.LeakyReLU(0.2)),
    (lambda: nn.ELU(0.7), lambda t: t.nn.ELU(0.7)),
    (lambda: nn.SELU(), lambda t: t.nn.SELU()),
    (lambda: nn.Sigmoid(), lambda t: t.nn.Sigmoid()),
    (lambda: nn.Tanh(), lambda t: t.nn.Tanh()),
    (lambda: nn.Softmax(dim=1), lambda t: t.nn.Softmax(dim=1)),
    (lambda: nn.LogSoftmax(dim=-1), lambda t: t.nn.LogSoftmax(dim=-1)),
    (lambda: nn.PReLU(), lambda t: t.nn.PReLU()),
    (lambda: nn.PReLU(6, init=0.1), lambda t: t.nn.PReLU(6, init=0.1)),
]


@pytest.mark.parametrize("i", range(len(ACTIVATIONS)))
def test_activation_modules_match_torch(i):
    torch = _torch()
    make_e, make_t = ACTIVATIONS[i]
    em, tm = make_e(), make_t(torch)
    x = np.random.default_rng(i).standard_normal((4, 6, 3)).astype(np.float32)
    ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ey, ty = em(ex), tm(tx)
    np.testing.assert_allclose(ey.numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    g = np.random.default_rng(10 + i).standard_normal(ey.shape).astype(np.float32)
    ey.backward(g)
    ty.backward(torch.from_numpy(g))
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-6)
    for ep, tp in zip(em.parameters(), tm.parameters()):
        np.testing.assert_allclose(ep.grad.numpy(), tp.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_maxout_and_crelu_modules():
    x = ember.tensor(np.arange(12, dtype=np.float32).reshape(1, 6, 2) - 6)
    y = nn.Maxout(3)(x)
    ref = (np.arange(12, dtype=np.float32).reshape(1, 2, 3, 2) - 6).max(axis=2)
    np.testing.assert_array_equal(y.numpy(), ref)
    z = nn.CReLU()(x)
    assert z.shape == (1, 12, 2)
    np.testing.assert_array_equal(z.numpy(), np.concatenate([np.maximum(x.numpy(), 0),
                                                             np.maximum(-x.numpy(), 0)], 1))
    with pytest.raises(ValueError, match="maxout: dimension 1 has size 6, not divisible by "
                                         "pool_size 4"):
        nn.Maxout(4)(x)


LOSSES = [
    (lambda e: nn.CrossEntropyLoss(), lambda t: t.nn.CrossEntropyLoss(), "index"),
    (lambda e: nn.CrossEntropyLoss(label_smoothing=0.1, reduction="sum"),
     lambda t: t.nn.CrossEntropyLoss(label_smoothing=0.1, reduction="sum"), "index"),
    (lambda e: nn.NLLLoss(), lambda t: t.nn.NLLLoss(), "logp"),
    (lambda e: nn.MSELoss(), lambda t: t.nn.MSELoss(), "float"),
    (lambda e: nn.L1Loss(reduction="none"), lambda t: t.nn.L1Loss(reduction="none"), "float"),
    (lambda e: nn.BCEWithLogitsLoss(), lambda t: t.nn.BCEWithLogitsLoss(), "binary"),
    (lambda e: nn.BCELoss(), lambda t: t.nn.BCELoss(), "prob"),
    (lambda e: nn.MultiMarginLoss(), lambda t: t.nn.MultiMarginLoss(), "index"),
    (lambda e: nn.MultiMarginLoss(p=2, margin=0.5), lambda t: t.nn.MultiMarginLoss(p=2, margin=0.5),
     "index"),
]


@pytest.mark.parametrize("i", range(len(LOSSES)))
def test_loss_modules_match_torch(i):
    torch = _torch()
    make_e, make_t, kind = LOSSES[i]
    rng = np.random.default_rng(i)
    x = rng.standard_normal((8, 5)).astype(np.float32)
    if kind == "index":
        y = rng.integers(0, 5, 8)
    elif kind == "logp":
        x = x - np.log(np.exp(x).sum(1, keepdims=True))
        y = rng.integers(0, 5, 8)
    elif kind == "prob":
        x = 1 / (1 + np.exp(-x))
        y = rng.integers(0, 2, (8, 5)).astype(np.float32)
    elif kind == "binary":
        y = rng.integers(0, 2, (8, 5)).astype(np.float32)
    else:
        y = rng.standard_normal((8, 5)).astype(np.float32)
    ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    el = make_e(ember)(ex, ember.tensor(y))
    tl = make_t(torch)(tx, torch.tensor(y))
    np.testing.assert_allclose(el.numpy(), tl.detach().numpy(), rtol=1e-5, atol=1e-6)
    g = np.ones(el.shape, dtype=np.float32)
    el.backward(g)
    tl.backward(torch.from_numpy(g))
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_loss_module_rejects_bad_reduction():
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        nn.MSELoss(reduction="avg")
