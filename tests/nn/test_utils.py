"""nn.utils: clip_grad_norm_ / clip_grad_value_ against torch and NumPy, the L1 penalty,
parameters <-> vector."""
import math

import numpy as np
import pytest

import ember
from ember import nn
from helpers import check_grad


def _params_with_grads(seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    shapes = [(3, 4), (4,), (2, 3, 2)]
    params = []
    for s in shapes:
        p = nn.Parameter(ember.tensor(rng.standard_normal(s).astype(dtype)))
        p.grad = ember.tensor(rng.standard_normal(s).astype(dtype) * 3)
        params.append(p)
    return params


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_numpy_and_torch(norm_type, max_norm):
    params = _params_with_grads()
    grads = [p.grad.numpy().copy() for p in params]
    flat = np.concatenate([g.ravel() for g in grads])
    total = (np.abs(flat).max() if math.isinf(norm_type)
             else (np.abs(flat) ** norm_type).sum() ** (1 / norm_type))
    got = nn.utils.clip_grad_norm_(params, max_norm, norm_type)
    assert float(got) == pytest.approx(total, rel=1e-12)
    coef = min(max_norm / (total + 1e-6), 1.0)
    for p, g in zip(params, grads):
        np.testing.assert_allclose(p.grad.numpy(), g * coef, rtol=1e-12)
    torch = pytest.importorskip("torch")
    tps = [torch.tensor(g.copy()) for g in grads]
    tparams = [torch.nn.Parameter(torch.zeros_like(t)) for t in tps]
    for tp, t in zip(tparams, tps):
        tp.grad = t
    tn = torch.nn.utils.clip_grad_norm_(tparams, max_norm, norm_type)
    assert float(got) == pytest.approx(float(tn), rel=1e-12)
    for p, tp in zip(params, tparams):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-10)


def test_clip_grad_norm_nonfinite_and_empty():
    params = _params_with_grads()
    params[1].grad.data[0] = np.inf
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    assert float(nn.utils.clip_grad_norm_([nn.Parameter(ember.ones(2))], 1.0)) == 0.0


def test_clip_grad_value():
    params = _params_with_grads()
    grads = [p.grad.numpy().copy() for p in params]
    nn.utils.clip_grad_value_(params, 0.7)
    for p, g in zip(params, grads):
        np.testing.assert_array_equal(p.grad.numpy(), np.clip(g, -0.7, 0.7))
    with pytest.raises(ValueError, match="clip_value must be non-negative"):
        nn.utils.clip_grad_value_(params, -1)


def test_l1_penalty_value_gradient_and_sparsity():
    rng = np.random.default_rng(1)
    w = rng.standard_normal((3, 4))
    b = rng.standard_normal(4)
    pen = nn.utils.l1_penalty([ember.tensor(w), ember.tensor(b)], 0.1)
    assert float(pen) == pytest.approx(0.1 * (np.abs(w).sum() + np.abs(b).sum()))
    check_grad(lambda x, y: nn.utils.l1_penalty([x, y], 0.3), np.where(np.abs(w) < 0.1, 0.5, w),
               np.where(np.abs(b) < 0.1, 0.5, b))
    # An L1-penalised least-squares fit zeroes the irrelevant weights (lasso).
    ember.manual_seed(0)
    x = ember.tensor(rng.standard_normal((200, 8)))
    true = np.array([2.0, -3.0, 0, 0, 0, 0, 0, 1.5])
    y = ember.tensor(x.numpy() @ true)
    wt = nn.Parameter(ember.zeros(8, dtype=ember.float64))
    opt = ember.optim.SGD([wt], lr=0.05)
    for _ in range(400):
        loss = ((x @ wt - y) ** 2).mean() + nn.utils.l1_penalty(wt, 0.05)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert np.all(np.abs(wt.numpy()[2:7]) < 0.05) and np.all(np.abs(wt.numpy()[[0, 1, 7]]) > 1)
    with pytest.raises(ValueError, match="weight must be non-negative"):
        nn.utils.l1_penalty(wt, -1.0)


def test_parameters_vector_round_trip():
    params = _params_with_grads()
    v = nn.utils.parameters_to_vector(params)
    assert v.shape == (12 + 4 + 12,)
    nn.utils.vector_to_parameters(v * 2, params)
    np.testing.assert_array_equal(nn.utils.parameters_to_vector(params).numpy(), 2 * v.numpy())
    with pytest.raises(ValueError, match="expected a 1-D tensor of 28 elements"):
        nn.utils.vector_to_parameters(ember.zeros(5), params)
