"""SGD follows torch.optim.SGD's trajectory exactly (float64) for each option."""
import numpy as np
import pytest

import ember
from ember import nn

CONFIGS = [
    dict(lr=0.1),
    dict(lr=0.05, momentum=0.9),
    dict(lr=0.05, momentum=0.9, dampening=0.3),
    dict(lr=0.05, momentum=0.9, nesterov=True),
    dict(lr=0.05, momentum=0.5, weight_decay=0.01),
]


def _problem(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((32, 4))
    y = rng.integers(0, 3, 32)
    w1 = rng.standard_normal((6, 4)) * 0.5
    w2 = rng.standard_normal((3, 6)) * 0.5
    return x, y, w1, w2


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
def test_sgd_matches_torch_trajectory(cfg):
    torch = pytest.importorskip("torch")
    x, y, w1, w2 = _problem()
    ep = [nn.Parameter(ember.tensor(w1)), nn.Parameter(ember.tensor(w2))]
    tp = [torch.tensor(w1, requires_grad=True), torch.tensor(w2, requires_grad=True)]
    eopt = ember.optim.SGD(ep, **cfg)
    topt = torch.optim.SGD(tp, **cfg)
    ex, ey = ember.tensor(x), ember.tensor(y)
    tx, ty = torch.tensor(x), torch.tensor(y)
    for step in range(100):
        eopt.zero_grad()
        loss = nn.functional.cross_entropy(ember.tanh(ex @ ep[0].T) @ ep[1].T, ey)
        loss.backward()
        eopt.step()
        topt.zero_grad()
        tloss = torch.nn.functional.cross_entropy(torch.tanh(tx @ tp[0].T) @ tp[1].T, ty)
        tloss.backward()
        topt.step()
        assert abs(loss.item() - tloss.item()) < 1e-9, f"step {step}: loss differs"
        if step == 50:  # save / load in the middle continues exactly
            state = eopt.state_dict()
            eopt = ember.optim.SGD(ep, **cfg)
            eopt.load_state_dict(state)
    for e, t in zip(ep, tp):
        np.testing.assert_allclose(e.numpy(), t.detach().numpy(), rtol=1e-6, atol=1e-6)


def test_sgd_param_groups_and_errors():
    a, b = nn.Parameter(ember.ones(2)), nn.Parameter(ember.ones(2))
    opt = ember.optim.SGD([{"params": [a]}, {"params": [b], "lr": 1.0}], lr=0.1)
    (a.sum() + b.sum()).backward()
    opt.step()
    np.testing.assert_allclose(a.numpy(), [0.9, 0.9])
    np.testing.assert_allclose(b.numpy(), [0.0, 0.0])
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(ValueError, match="^SGD: Invalid learning rate: -1$"):
        ember.optim.SGD([a], lr=-1)
    with pytest.raises(ValueError, match="SGD: Nesterov momentum requires a momentum and zero "
                                         "dampening"):
        ember.optim.SGD([a], lr=0.1, nesterov=True)
    # lr defaults to 1e-3, as in torch 2.13
    assert ember.optim.SGD([a]).param_groups[0]["lr"] == 1e-3
    assert ember.optim.SGD([a]).defaults["lr"] == 1e-3
    with pytest.raises(ValueError, match="empty parameter list"):
        ember.optim.SGD([], lr=0.1)
