"""Batch norm and local response norm: NumPy reference, gradcheck, torch oracle (train and
eval), running statistics, and bad arguments."""
import numpy as np
import pytest

import cnn_reference as ref
import ember
from ember import nn
from ember.autograd import gradcheck
from ember.nn import functional as F


@pytest.mark.parametrize("shape", [(4, 3, 5, 5), (6, 4), (3, 2, 7), (2, 1, 1, 3)])
def test_batch_norm_train_reference_and_gradcheck(shape):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape) * 3 + 1
    c = shape[1]
    gamma, beta = rng.standard_normal(c), rng.standard_normal(c)
    y = F.batch_norm(ember.tensor(x), None, None, ember.tensor(gamma), ember.tensor(beta),
                     training=True, eps=1e-5)
    ry, _, _ = ref.batch_norm_train(x, gamma, beta, 1e-5)
    np.testing.assert_allclose(y.numpy(), ry, rtol=1e-10, atol=1e-10)
    small = tuple(min(s, 3) for s in shape)
    args = [ember.tensor(a, requires_grad=True)
            for a in (rng.standard_normal(small), gamma[:small[1]], beta[:small[1]])]
    if np.prod(small) // small[1] > 1:
        assert gradcheck(lambda x, g, b: F.batch_norm(x, None, None, g, b, training=True),
                         args)


def test_batch_norm_eval_gradcheck():
    rng = np.random.default_rng(1)
    rm, rv = ember.tensor(rng.standard_normal(3)), ember.tensor(rng.random(3) + 0.5)
    args = [ember.tensor(a, requires_grad=True)
            for a in (rng.standard_normal((2, 3, 2, 2)), rng.standard_normal(3),
                      rng.standard_normal(3))]
    assert gradcheck(lambda x, g, b: F.batch_norm(x, rm, rv, g, b, training=False), args)


def test_batch_norm_stats_are_stable_for_large_offsets():
    x = (np.random.default_rng(2).standard_normal((8, 2, 64)) + 1e4).astype(np.float32)
    y = F.batch_norm(ember.tensor(x), None, None, training=True)
    out = y.numpy().astype(np.float64)
    np.testing.assert_allclose(out.mean(axis=(0, 2)), 0, atol=2e-3)
    np.testing.assert_allclose(out.std(axis=(0, 2)), 1, atol=2e-3)


def test_batchnorm_modules_match_torch_random_configs():
    """>= 200 configurations: train and eval, affine or not, BatchNorm1d and 2d; outputs,
    gradients and the running statistics after the steps."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    for i in range(200):
        two_d = bool(i % 2)
        c = int(rng.integers(1, 6))
        n = int(rng.integers(2, 5))
        shape = (n, c, int(rng.integers(1, 5)), int(rng.integers(1, 5))) if two_d else (
            (n, c) if i % 4 == 0 else (n, c, int(rng.integers(1, 5))))
        affine = bool(rng.integers(0, 2))
        momentum = float(rng.choice([0.1, 0.5, 0.9]))
        dtype = np.float64 if i % 3 else np.float32
        tdtype = torch.float64 if dtype == np.float64 else torch.float32
        ecls, tcls = (nn.BatchNorm2d, torch.nn.BatchNorm2d) if two_d else (
            nn.BatchNorm1d, torch.nn.BatchNorm1d)
        em = ecls(c, momentum=momentum, affine=affine, dtype=dtype)
        tm = tcls(c, momentum=momentum, affine=affine, dtype=tdtype)
        if affine:
            w, b = rng.standard_normal(c).astype(dtype), rng.standard_normal(c).astype(dtype)
            em.load_state_dict({**em.state_dict(), "weight": w, "bias": b})
            with torch.no_grad():
                tm.weight.copy_(torch.from_numpy(w))
                tm.bias.copy_(torch.from_numpy(b))
        tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)
        msg = f"step config {i}: shape {shape} affine {affine} momentum {momentum} {dtype}"
        for step in range(3):
            train = step < 2
            em.train(train)
            tm.train(train)
            x = (rng.standard_normal(shape) * 2 + 0.5).astype(dtype)
            ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
            ey, ty = em(ex), tm(tx)
            gy = rng.standard_normal(shape).astype(dtype)
            ey.backward(gy)
            ty.backward(torch.from_numpy(gy))
            np.testing.assert_allclose(ey.numpy(), ty.detach().numpy(), err_msg=msg, **tol)
            np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), err_msg=msg, **tol)
            if affine:
                np.testing.assert_allclose(em.weight.grad.numpy(), tm.weight.grad.numpy(),
                                           err_msg=msg, **tol)
                np.testing.assert_allclose(em.bias.grad.numpy(), tm.bias.grad.numpy(),
                                           err_msg=msg, **tol)
                em.zero_grad()
                tm.zero_grad()
        np.testing.assert_allclose(em.running_mean.numpy(), tm.running_mean.numpy(),
                                   err_msg=msg, **tol)
        np.testing.assert_allclose(em.running_var.numpy(), tm.running_var.numpy(),
                                   err_msg=msg, **tol)
        assert em.num_batches_tracked.item() == tm.num_batches_tracked.item()


def test_batchnorm_state_dict_keys_match_torch_and_momentum_none():
    m = nn.BatchNorm2d(4)
    assert list(m.state_dict()) == ["weight", "bias", "running_mean", "running_var",
                                    "num_batches_tracked"]
    cma = nn.BatchNorm1d(2, momentum=None)
    xs = [np.random.default_rng(i).standard_normal((5, 2)) for i in range(3)]
    for x in xs:
        cma(ember.tensor(x.astype(np.float32)))
    np.testing.assert_allclose(cma.running_mean.numpy(),
                               np.mean([x.mean(0) for x in xs], axis=0), rtol=1e-5)


@pytest.mark.parametrize("call,exc,match", [
    (lambda: nn.BatchNorm2d(3)(ember.randn(2, 4, 3, 3)), ValueError,
     r"BatchNorm2d: expected 3 channels \(dim 1\), got input of shape \(2, 4, 3, 3\)"),
    (lambda: nn.BatchNorm2d(3)(ember.randn(2, 3, 3)), ValueError, r"BatchNorm2d: expected 4-D"),
    (lambda: nn.BatchNorm1d(3)(ember.randn(1, 3)), ValueError,
     r"expected more than 1 value per channel when training"),
    (lambda: F.batch_norm(ember.randn(2, 3), None, None, training=True, eps=float("nan")),
     ValueError, r"eps must be a finite non-negative number"),
    (lambda: F.batch_norm(ember.randn(4, 3).long(), None, None, training=True), TypeError,
     r"batch_norm: argument 'input' must be float32 or float64, got int64"),
    (lambda: F.batch_norm(ember.randn(4, 3), ember.zeros(2), ember.ones(2)), ValueError,
     r"batch_norm: running_mean must have shape \(3,\)"),
    (lambda: F.batch_norm(ember.randn(2, 3), None, None, training=False), ValueError,
     r"running statistics are required"),
    (lambda: F.batch_norm(ember.randn(4, 3), None, None, ember.ones(2), training=True),
     ValueError, r"batch_norm: argument 'weight' must have shape \(3,\), got \(2,\)"),
])
def test_batch_norm_bad_arguments(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_local_response_norm_matches_torch_and_gradcheck():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 7, 3, 3))
    for size in (1, 2, 3, 5):
        xt = ember.tensor(x[:1, :, :2, :2].copy(), requires_grad=True)
        assert gradcheck(lambda t, n=size: F.local_response_norm(t, n, 0.1, 0.75, 2.0), [xt])
    torch = pytest.importorskip("torch")
    for size in (2, 5):
        m = nn.LocalResponseNorm(size, alpha=1e-2, beta=0.75, k=2.0)
        tm = torch.nn.LocalResponseNorm(size, alpha=1e-2, beta=0.75, k=2.0)
        ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        ey, ty = m(ex), tm(tx)
        np.testing.assert_allclose(ey.numpy(), ty.detach().numpy(), rtol=1e-10)
        (ey * ey).sum().backward()
        (ty * ty).sum().backward()
        np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-9)
