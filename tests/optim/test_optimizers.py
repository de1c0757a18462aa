"""Every ember optimizer follows torch.optim's trajectory, resumes exactly from a state_dict,
and rejects bad input (Python level and the fused C++ kernels' own checks)."""
import copy

import numpy as np
import pytest

import ember
from ember import nn
from ember.nn import functional as F

OPTIMIZERS = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta"]

# (optimizer, constructor options, overrides of the second parameter group or None for one
# group holding every parameter). Learning rates are small enough that no parameter reaches the
# regime where an adaptive method oscillates around its optimum: there the sign-like updates
# amplify rounding differences exponentially (e.g. RMSprop lr=0.01 alpha=0.9 from step ~55),
# which would make a 1e-6 comparison with torch meaningless.
CASES = [
    ("SGD", dict(lr=0.1), None),
    ("SGD", dict(lr=0.05, momentum=0.9), None),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3), None),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True), None),
    ("SGD", dict(lr=0.1, weight_decay=0.05), None),
    ("SGD", dict(lr=0.05, momentum=0.5, dampening=0.1, weight_decay=0.02), None),
    ("SGD", dict(lr=0.01, maximize=True), None),
    ("SGD", dict(lr=0.01, momentum=0.9, nesterov=True, weight_decay=0.01, maximize=True), None),
    ("SGD", dict(lr=0.1, momentum=0.9), dict(lr=0.02)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True), dict(lr=0.2, weight_decay=0.1)),
    ("Adam", dict(lr=0.01), None),
    ("Adam", dict(lr=0.005, betas=(0.5, 0.9)), None),
    ("Adam", dict(lr=0.01, eps=1e-3), None),
    ("Adam", dict(lr=0.01, weight_decay=0.1), None),
    ("Adam", dict(lr=0.01, amsgrad=True), None),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.05, betas=(0.8, 0.99)), None),
    ("Adam", dict(lr=0.005, maximize=True, weight_decay=0.01), None),
    ("Adam", dict(lr=0.01), dict(lr=0.003, betas=(0.8, 0.99))),
    ("AdamW", dict(lr=0.01), None),
    ("AdamW", dict(lr=0.01, betas=(0.5, 0.9), eps=1e-3), None),
    ("AdamW", dict(lr=0.01, weight_decay=0.3), None),
    ("AdamW", dict(lr=0.01, weight_decay=0.0), None),
    ("AdamW", dict(lr=0.01, amsgrad=True, weight_decay=0.1), None),
    ("AdamW", dict(lr=0.005, maximize=True), None),
    ("AdamW", dict(lr=0.01, weight_decay=0.1), dict(lr=0.05, weight_decay=0.5)),
    ("RMSprop", dict(lr=0.01), None),
    ("RMSprop", dict(lr=0.003, alpha=0.9), None),
    ("RMSprop", dict(lr=0.01, eps=1e-3), None),
    ("RMSprop", dict(lr=0.005, weight_decay=0.1), None),
    ("RMSprop", dict(lr=0.005, momentum=0.9), None),
    ("RMSprop", dict(lr=0.005, centered=True), None),
    ("RMSprop", dict(lr=0.002, centered=True, momentum=0.5, weight_decay=0.05), None),
    ("RMSprop", dict(lr=0.002, maximize=True), None),
    ("RMSprop", dict(lr=0.004, momentum=0.3), dict(lr=0.001, alpha=0.8)),
    ("Adagrad", dict(lr=0.1), None),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05), None),
    ("Adagrad", dict(lr=0.1, weight_decay=0.1), None),
    ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.5), None),
    ("Adagrad", dict(lr=0.1, eps=1e-2), None),
    ("Adagrad", dict(lr=0.02, lr_decay=0.01, weight_decay=0.01, maximize=True), None),
    ("Adagrad", dict(lr=0.1), dict(lr=0.03, lr_decay=0.1, eps=1e-3)),
    ("Adadelta", dict(), None),
    ("Adadelta", dict(rho=0.5), None),
    ("Adadelta", dict(eps=1e-3), None),
    ("Adadelta", dict(weight_decay=0.1), None),
    ("Adadelta", dict(lr=0.5), None),
    ("Adadelta", dict(lr=0.5, maximize=True), None),
    ("Adadelta", dict(lr=1.0), dict(lr=0.3, rho=0.7)),
]


def _case_id(case):
    name, cfg, group2 = case
    s = name + "(" + ",".join(f"{k}={v}" for k, v in cfg.items()) + ")"
    if group2 is not None:
        s += "+group2(" + ",".join(f"{k}={v}" for k, v in group2.items()) + ")"
    return s.replace(" ", "")


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _data(dtype=np.float64, seed=0):
    """A 2-layer tanh MLP classification problem: inputs, labels, initial weights."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((32, 4))
    y = rng.integers(0, 3, 32)
    ws = [rng.standard_normal((6, 4)) * 0.5, rng.standard_normal(6) * 0.1,
          rng.standard_normal((3, 6)) * 0.5, rng.standard_normal(3) * 0.1]
    return x.astype(dtype), y, [w.astype(dtype) for w in ws]


def _groups(params, group2):
    if group2 is None:
        return list(params)
    return [{"params": list(params[:2])}, dict(params=list(params[2:]), **group2)]


class _Ember:
    """The problem in ember with a given optimizer (weights copied from numpy)."""

    def __init__(self, name, cfg, group2, weights, x, y):
        self.p = [nn.Parameter(ember.tensor(w.copy())) for w in weights]
        self.opt = getattr(ember.optim, name)(_groups(self.p, group2), **cfg)
        self.x, self.y = ember.tensor(x), ember.tensor(y)

    def loss(self):
        w1, b1, w2, b2 = self.p
        return F.cross_entropy(ember.tanh(self.x @ w1.T + b1) @ w2.T + b2, self.y)

    def step(self):
        self.opt.zero_grad()
        loss = self.loss()
        loss.backward()
        self.opt.step()
        return loss.item()

    def weights(self):
        return [p.numpy().copy() for p in self.p]


class _Torch:
    def __init__(self, torch, name, cfg, group2, weights, x, y):
        self.p = [torch.tensor(w.copy(), requires_grad=True) for w in weights]
        self.opt = getattr(torch.optim, name)(_groups(self.p, group2), **cfg)
        self.x, self.y = torch.tensor(x), torch.tensor(y)
        self.F = torch.nn.functional
        self.torch = torch

    def loss(self):
        w1, b1, w2, b2 = self.p
        return self.F.cross_entropy(self.torch.tanh(self.x @ w1.T + b1) @ w2.T + b2, self.y)

    def step(self):
        self.opt.zero_grad()
        loss = self.loss()
        loss.backward()
        self.opt.step()
        return loss.item()

    def weights(self):
        return [p.detach().numpy().copy() for p in self.p]


def _state_np(v):
    return v.detach().numpy() if hasattr(v, "detach") else np.asarray(v)


def _check_close(actual, expected, rtol, atol, msg):
    """assert_allclose over lists of arrays, with a fast path (called at every step)."""
    for i, (a, b) in enumerate(zip(actual, expected)):
        if not np.all(np.abs(a - b) <= atol + rtol * np.abs(b)):
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"{msg}: param {i}")


# ---------------------------------------------------------------------------------------------
# Trajectories against torch
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_float64_trajectory_matches_torch_and_resumes_exactly(torch, case):
    name, cfg, group2 = case
    x, y, ws = _data()
    e = _Ember(name, cfg, group2, ws, x, y)
    t = _Torch(torch, name, cfg, group2, ws, x, y)
    trajectory, saved = [], None
    for step in range(1, 101):
        el, tl = e.step(), t.step()
        assert abs(el - tl) < 1e-9, f"{name} {cfg}: loss at step {step}: {el} vs torch {tl}"
        ew = e.weights()
        _check_close(ew, t.weights(), 1e-6, 1e-6, f"{name} {cfg} {group2}: after step {step}")
        trajectory.append(ew)
        if step == 50:
            saved = (ew, e.opt.state_dict())
    # Optimizer state equals torch's at the end (same keys, same values).
    esd, tsd = e.opt.state_dict(), t.opt.state_dict()
    assert set(esd["state"]) == set(tsd["state"])
    for idx, tstate in tsd["state"].items():
        assert set(esd["state"][idx]) == set(tstate), f"param {idx} state keys"
        for k, v in tstate.items():
            np.testing.assert_allclose(_state_np(esd["state"][idx][k]), _state_np(v),
                                       rtol=1e-6, atol=1e-9, err_msg=f"state[{idx}][{k!r}]")

    # Resume: a fresh model with the step-50 weights and a fresh optimizer loading the step-50
    # state_dict (saved while the first run went on) continues exactly the same trajectory.
    weights50, state50 = saved
    snapshot = copy.deepcopy(state50)
    r = _Ember(name, cfg, group2, weights50, x, y)
    r.opt.load_state_dict(state50)
    for step in range(51, 101):
        r.step()
        for i, (a, b) in enumerate(zip(r.weights(), trajectory[step - 1])):
            if not np.array_equal(a, b):
                np.testing.assert_array_equal(a, b, f"resumed: param {i} after step {step}")
    # Loading copied the state: the saved dict is as it was.
    assert state50["param_groups"] == snapshot["param_groups"]
    for idx, st in snapshot["state"].items():
        for k, v in st.items():
            np.testing.assert_array_equal(state50["state"][idx][k], v)


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_float32_trajectory_matches_torch(torch, case):
    name, cfg, group2 = case
    x, y, ws = _data(np.float32)
    e = _Ember(name, cfg, group2, ws, x, y)
    t = _Torch(torch, name, cfg, group2, ws, x, y)
    for step in range(1, 21):
        e.step()
        t.step()
        ew = e.weights()
        assert all(a.dtype == np.float32 for a in ew), [a.dtype for a in ew]
        _check_close(ew, t.weights(), 1e-4, 1e-4, f"{name} {cfg} {group2}: after step {step}")
    for g in e.opt.state.values():
        for k, v in g.items():
            if isinstance(v, np.ndarray):
                assert v.dtype == np.float32, f"state {k!r} is {v.dtype}"


# ---------------------------------------------------------------------------------------------
# Behaviour shared by every optimizer
# ---------------------------------------------------------------------------------------------

DEFAULT_CFG = {"SGD": dict(lr=0.1, momentum=0.9), "Adam": dict(lr=0.01),
               "AdamW": dict(lr=0.01), "RMSprop": dict(lr=0.01, momentum=0.5, centered=True),
               "Adagrad": dict(lr=0.1), "Adadelta": dict(lr=1.0)}


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_zero_grad(name):
    a = nn.Parameter(ember.ones(3))
    opt = getattr(ember.optim, name)([a], **DEFAULT_CFG[name])
    (a * 2.0).sum().backward()
    opt.zero_grad()
    assert a.grad is None  # set_to_none=True by default
    (a * 2.0).sum().backward()
    opt.zero_grad(set_to_none=False)
    assert a.grad is not None
    np.testing.assert_array_equal(a.grad.numpy(), np.zeros(3))
    opt.zero_grad(set_to_none=False)  # zeroing an already zero gradient
    np.testing.assert_array_equal(a.grad.numpy(), np.zeros(3))
    b = nn.Parameter(ember.ones(2))
    opt.add_param_group({"params": [b]})
    opt.zero_grad(set_to_none=False)  # a parameter without gradient stays without
    assert b.grad is None


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_params_without_grad_are_skipped(torch, name):
    """A parameter that got no gradient is neither moved nor given state (as torch)."""
    cfg = DEFAULT_CFG[name]
    x, y, ws = _data()
    e = _Ember(name, cfg, None, ws, x, y)
    t = _Torch(torch, name, cfg, None, ws, x, y)
    extra = np.arange(5.0)
    ep, tp = nn.Parameter(ember.tensor(extra.copy())), torch.tensor(extra, requires_grad=True)
    frozen = nn.Parameter(ember.tensor(extra.copy()), requires_grad=False)
    e.opt.add_param_group({"params": [ep, frozen]})
    t.opt.add_param_group({"params": [tp, torch.tensor(extra)]})
    for _ in range(5):
        e.step()
        t.step()
    np.testing.assert_array_equal(ep.numpy(), extra)
    np.testing.assert_array_equal(frozen.numpy(), extra)
    for a, b in zip(e.weights(), t.weights()):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    esd, tsd = e.opt.state_dict(), t.opt.state_dict()
    assert sorted(esd["state"]) == sorted(tsd["state"])
    for idx in tsd["state"]:
        assert set(esd["state"][idx]) == set(tsd["state"][idx])
    # The parameter then gets a gradient: its first update is torch's first update.
    for _ in range(3):
        e.opt.zero_grad()
        t.opt.zero_grad()
        (e.loss() + (ep * ep).sum()).backward()
        (t.loss() + (tp * tp).sum()).backward()
        e.opt.step()
        t.opt.step()
        np.testing.assert_allclose(ep.numpy(), tp.detach().numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_step_with_closure(torch, name):
    cfg = DEFAULT_CFG[name]
    x, y, ws = _data()
    e = _Ember(name, cfg, None, ws, x, y)
    t = _Torch(torch, name, cfg, None, ws, x, y)
    calls = []

    def closure():
        calls.append(ember.is_grad_enabled())
        e.opt.zero_grad()
        loss = e.loss()
        loss.backward()
        return loss

    def tclosure():
        t.opt.zero_grad()
        loss = t.loss()
        loss.backward()
        return loss

    for i in range(3):
        with ember.no_grad():
            loss = e.opt.step(closure)
        tloss = t.opt.step(tclosure)
        assert isinstance(loss, ember.Tensor)
        assert abs(loss.item() - tloss.item()) < 1e-12
        assert calls == [True] * (i + 1)  # run once per step, with grad enabled
        for a, b in zip(e.weights(), t.weights()):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    assert e.opt.step() is None
    assert ember.is_grad_enabled()


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_add_param_group_mid_training(torch, name):
    cfg = DEFAULT_CFG[name]
    x, y, ws = _data()
    e = _Ember(name, cfg, None, ws, x, y)
    t = _Torch(torch, name, cfg, None, ws, x, y)
    e.opt = getattr(ember.optim, name)(e.p[:2], **cfg)
    t.opt = getattr(torch.optim, name)(t.p[:2], **cfg)
    for step in range(1, 21):
        if step == 6:
            e.opt.add_param_group({"params": e.p[2:], "lr": cfg["lr"] / 3})
            t.opt.add_param_group({"params": t.p[2:], "lr": cfg["lr"] / 3})
        e.step()
        t.step()
        for i, (a, b) in enumerate(zip(e.weights(), t.weights())):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12,
                                       err_msg=f"param {i} after step {step}")
    assert len(e.opt.param_groups) == 2
    g = e.opt.param_groups[1]
    assert g["lr"] == cfg["lr"] / 3
    for k, v in e.opt.defaults.items():
        if k != "lr":
            assert g[k] == v  # the other options fall back to the defaults


def test_adagrad_group_initial_accumulator_value():
    """Each group's own initial_accumulator_value seeds its 'sum' (torch 2.13 uses the
    constructor's value for every group, ignoring a group's own: a deliberate difference)."""
    a, b = _p(), _p()
    opt = ember.optim.Adagrad([{"params": [a]}, {"params": [b], "initial_accumulator_value": 3}],
                              lr=0.1, initial_accumulator_value=1.0)
    np.testing.assert_array_equal(opt.state_dict()["state"][0]["sum"], [1.0, 1.0])
    np.testing.assert_array_equal(opt.state_dict()["state"][1]["sum"], [3.0, 3.0])
    (a.sum() + b.sum()).backward()
    opt.step()
    np.testing.assert_allclose(a.numpy(), [1 - 0.1 / (np.sqrt(2) + 1e-10)] * 2, rtol=1e-14)
    np.testing.assert_allclose(b.numpy(), [1 - 0.1 / (np.sqrt(4) + 1e-10)] * 2, rtol=1e-14)


def _manual_grad_run(torch, name, cfg, weights, grads, dtype=np.float64):
    """Both libraries step with the given per-step gradients (set by hand); final weights."""
    ep = [nn.Parameter(ember.tensor(w.astype(dtype))) for w in weights]
    tp = [torch.tensor(w.astype(dtype), requires_grad=True) for w in weights]
    eo, to = getattr(ember.optim, name)(ep, **cfg), getattr(torch.optim, name)(tp, **cfg)
    for gs in grads:
        for p, q, g in zip(ep, tp, gs):
            p.grad = ember.tensor(g.astype(dtype))
            q.grad = torch.tensor(g.astype(dtype))
        eo.step()
        to.step()
    return [p.numpy() for p in ep], [p.detach().numpy() for p in tp]


@pytest.mark.parametrize("name", OPTIMIZERS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_large_parameters_use_the_parallel_kernel(torch, name, dtype):
    """Groups over 4 x 16384 elements are updated in parallel chunks (sizes not multiples of
    the chunk): same result as torch."""
    cfg = dict(DEFAULT_CFG[name], weight_decay=0.01)
    if name == "Adam":
        cfg["amsgrad"] = True
    rng = np.random.default_rng(1)
    sizes = [(70001,), (2, 16389), (3,)]
    weights = [rng.standard_normal(n) for n in sizes]
    grads = [[rng.standard_normal(n) for n in sizes] for _ in range(4)]
    got, expected = _manual_grad_run(torch, name, cfg, weights, grads, dtype)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    _check_close(got, expected, tol, tol, f"{name} {np.dtype(dtype)}")


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_zero_dim_and_empty_parameters(torch, name):
    """0-d parameters (a scalar temperature, a bias) and empty ones are optimized as torch."""
    cfg = DEFAULT_CFG[name]
    rng = np.random.default_rng(2)
    weights = [np.array(0.7), np.zeros((0, 3)), rng.standard_normal(4)]
    grads = [[np.array(rng.standard_normal()), np.zeros((0, 3)), rng.standard_normal(4)]
             for _ in range(3)]
    got, expected = _manual_grad_run(torch, name, cfg, weights, grads)
    assert [g.shape for g in got] == [(), (0, 3), (4,)]
    _check_close(got, expected, 1e-12, 1e-12, name)
    # Through autograd too: the gradient of a 0-d parameter.
    t = nn.Parameter(ember.tensor(np.array(2.0)))
    opt = getattr(ember.optim, name)([t], **cfg)
    (t * t).backward()
    opt.step()
    assert t.item() < 2.0
    opt.zero_grad(set_to_none=False)
    assert t.grad.item() == 0.0


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_non_contiguous_parameters(torch, name):
    """A parameter whose array is not C-contiguous (built from a Fortran-ordered array or a
    transposed tensor) is optimized like any other (torch takes any strides)."""
    cfg = DEFAULT_CFG[name]
    rng = np.random.default_rng(3)
    w = rng.standard_normal((3, 4))
    fortran = nn.Parameter(ember.tensor(np.asfortranarray(w)))
    transposed = nn.Parameter(ember.tensor(w.T.copy()).T)
    tps = [torch.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)]
    opt = getattr(ember.optim, name)([fortran, transposed], **cfg)
    topt = getattr(torch.optim, name)(tps, **cfg)
    for _ in range(3):
        for p in (fortran, transposed):
            p.grad = None
            (p * p * p).sum().backward()
        topt.zero_grad()
        sum((p * p * p).sum() for p in tps).backward()
        opt.step()
        topt.step()
    _check_close([fortran.numpy(), transposed.numpy()], [p.detach().numpy() for p in tps],
                 1e-12, 1e-12, name)


def test_group_with_its_own_lr_and_weight_decay():
    a, b, c = (nn.Parameter(ember.ones(2)) for _ in range(3))
    opt = ember.optim.SGD([{"params": [a]}, {"params": [b], "lr": 1.0},
                           {"params": [c], "weight_decay": 0.5}], lr=0.1)
    (a.sum() + b.sum() + c.sum()).backward()
    opt.step()
    np.testing.assert_allclose(a.numpy(), [0.9, 0.9])
    np.testing.assert_allclose(b.numpy(), [0.0, 0.0])
    np.testing.assert_allclose(c.numpy(), [1 - 0.1 * 1.5] * 2)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 1.0, 0.1]
    assert [g["weight_decay"] for g in opt.param_groups] == [0.0, 0.0, 0.5]


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_state_dict_layout_like_torch(torch, name):
    cfg = DEFAULT_CFG[name]
    x, y, ws = _data()
    group2 = {"lr": cfg["lr"] / 2}
    e = _Ember(name, cfg, group2, ws, x, y)
    t = _Torch(torch, name, cfg, group2, ws, x, y)
    e.step()
    t.step()
    esd, tsd = e.opt.state_dict(), t.opt.state_dict()
    assert set(esd) == {"state", "param_groups"}
    torch_only = {"foreach", "fused", "differentiable", "capturable", "decoupled_weight_decay"}
    assert len(esd["param_groups"]) == len(tsd["param_groups"]) == 2
    for eg, tg in zip(esd["param_groups"], tsd["param_groups"]):
        assert set(eg) - {"initial_lr"} == set(tg) - torch_only
        assert eg["params"] == tg["params"]
        assert all(type(i) is int for i in eg["params"])
        for k in eg:
            assert eg[k] == tg[k], f"option {k!r}: {eg[k]} vs torch {tg[k]}"
    assert esd["param_groups"][0]["params"] == [0, 1]
    assert esd["param_groups"][1]["params"] == [2, 3]
    assert sorted(esd["state"]) == sorted(tsd["state"])
    for idx in tsd["state"]:
        assert set(esd["state"][idx]) == set(tsd["state"][idx])
        assert float(esd["state"][idx].get("step", 0)) == float(tsd["state"][idx].get("step", 0))
    # The dict is a snapshot: stepping further does not change it.
    before = {i: {k: np.array(v, copy=True) for k, v in s.items()}
              for i, s in esd["state"].items()}
    e.step()
    for i, s in esd["state"].items():
        for k, v in s.items():
            np.testing.assert_array_equal(np.asarray(v), before[i][k])


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_step_bumps_version_counter(name):
    a = nn.Parameter(ember.ones(3))
    opt = getattr(ember.optim, name)([a], **DEFAULT_CFG[name])
    (a * a).sum().backward()
    v = a._version
    opt.step()
    assert a._version > v


# ---------------------------------------------------------------------------------------------
# Bad input: constructors, parameter groups, load_state_dict
# ---------------------------------------------------------------------------------------------


def _p(n=2):
    return nn.Parameter(ember.tensor(np.ones(n)))


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_negative_lr(name):
    with pytest.raises(ValueError, match=f"^{name}: Invalid learning rate: -1$"):
        getattr(ember.optim, name)([_p()], lr=-1)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_negative_weight_decay(name):
    with pytest.raises(ValueError, match=f"^{name}: Invalid weight_decay value: -0.1$"):
        getattr(ember.optim, name)([_p()], weight_decay=-0.1)


@pytest.mark.parametrize("name", ["Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta"])
def test_negative_eps(name):
    with pytest.raises(ValueError, match=f"^{name}: Invalid epsilon value: -1e-08$"):
        getattr(ember.optim, name)([_p()], eps=-1e-8)


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
@pytest.mark.parametrize("betas,index,bad", [((1.0, 0.999), 0, 1.0), ((-0.1, 0.999), 0, -0.1),
                                             ((0.9, 1.0), 1, 1.0), ((0.9, -0.5), 1, -0.5)])
def test_adam_betas_outside_unit_interval(name, betas, index, bad):
    with pytest.raises(ValueError,
                       match=f"^{name}: Invalid beta parameter at index {index}: {bad}$"):
        getattr(ember.optim, name)([_p()], betas=betas)
    getattr(ember.optim, name)([_p()], betas=(0.0, 0.0))  # 0 is allowed


@pytest.mark.parametrize("name", ["SGD", "RMSprop"])
def test_negative_momentum(name):
    with pytest.raises(ValueError, match=f"^{name}: Invalid momentum value: -0.5$"):
        getattr(ember.optim, name)([_p()], momentum=-0.5)


def test_other_bad_hyperparameters():
    with pytest.raises(ValueError, match="RMSprop: Invalid alpha value: -0.1"):
        ember.optim.RMSprop([_p()], alpha=-0.1)
    with pytest.raises(ValueError, match="Adagrad: Invalid lr_decay value: -0.1"):
        ember.optim.Adagrad([_p()], lr_decay=-0.1)
    with pytest.raises(ValueError, match="Adagrad: Invalid initial_accumulator_value: -1"):
        ember.optim.Adagrad([_p()], initial_accumulator_value=-1)
    with pytest.raises(ValueError, match="Adadelta: Invalid rho value: 1.5"):
        ember.optim.Adadelta([_p()], rho=1.5)
    with pytest.raises(ValueError, match="Adadelta: Invalid rho value: -0.5"):
        ember.optim.Adadelta([_p()], rho=-0.5)


@pytest.mark.parametrize("kw", [dict(momentum=0.9, dampening=0.1), dict(momentum=0.0),
                                dict(dampening=0.5)])
def test_nesterov_needs_momentum_and_zero_dampening(kw):
    with pytest.raises(ValueError, match="SGD: Nesterov momentum requires a momentum and zero "
                                         "dampening"):
        ember.optim.SGD([_p()], lr=0.1, nesterov=True, **kw)
    ember.optim.SGD([_p()], lr=0.1, nesterov=True, momentum=0.9)  # valid


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_duplicate_parameters(name):
    cls = getattr(ember.optim, name)
    a, b = _p(), _p(3)
    with pytest.raises(ValueError, match="duplicate parameters"):
        cls([a, b, a])
    with pytest.raises(ValueError, match="duplicate parameters"):
        cls([{"params": [a, a]}])
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter "
                                         "group"):
        cls([{"params": [a, b]}, {"params": [a]}])
    opt = cls([a])
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter "
                                         "group"):
        opt.add_param_group({"params": [b, a]})
    assert len(opt.param_groups) == 1  # the bad group was not added


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_bad_params(name):
    cls = getattr(ember.optim, name)
    a = _p()
    with pytest.raises(TypeError, match="optimizer can only optimize Tensors, but one of the "
                                        "params is ndarray"):
        cls([a, np.ones(2)])
    with pytest.raises(TypeError, match="optimizer can only optimize Tensors, but one of the "
                                        "params is float"):
        cls([{"params": [1.0]}])
    with pytest.raises(TypeError, match="float32 or float64 tensors, got int64"):
        cls([a, ember.tensor(np.arange(3))])
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        cls([a * 2.0])
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        cls([])
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        cls(iter([]))
    with pytest.raises(TypeError, match="should be an iterable of Tensors or dicts, but got a "
                                        "Tensor"):
        cls(a)
    with pytest.raises(TypeError, match="param group must be a dict"):
        cls([a]).add_param_group([_p()])


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_set_of_params_in_a_group(name):
    cls = getattr(ember.optim, name)
    a, b = _p(), _p(3)
    with pytest.raises(TypeError, match="ordered collections"):
        cls([{"params": {a, b}}])
    with pytest.raises(TypeError, match="ordered collections"):
        cls([a]).add_param_group({"params": {b}})


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_set_of_params(name):
    """A set given directly: its order (hence the state_dict's parameter numbering) changes
    between runs, as for a group's set."""
    cls = getattr(ember.optim, name)
    with pytest.raises(TypeError, match="ordered collections"):
        cls({_p(), _p(3)})


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_load_state_dict_mismatch(name):
    cls = getattr(ember.optim, name)
    a, b, c = _p(), _p(3), _p(4)
    opt = cls([{"params": [a]}, {"params": [b, c]}], **DEFAULT_CFG[name])
    (a.sum() + b.sum() + c.sum()).backward()
    opt.step()
    sd = opt.state_dict()
    with pytest.raises(ValueError, match="loaded state dict has 2 parameter groups but the "
                                         "optimizer has 1"):
        cls([_p(), _p(3), _p(4)]).load_state_dict(sd)
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        cls([{"params": [_p()]}, {"params": [_p(3)]}]).load_state_dict(sd)
    fresh = cls([{"params": [_p()]}, {"params": [_p(4), _p(3)]}])  # sizes swapped
    with pytest.raises(ValueError, match="state '.*' of parameter 1 has shape"):
        fresh.load_state_dict(sd)
    ok = cls([{"params": [_p()]}, {"params": [_p(3), _p(4)]}])
    ok.load_state_dict(sd)
    assert ok.state_dict()["param_groups"] == sd["param_groups"]


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_failed_load_state_dict_leaves_the_optimizer_unchanged(name):
    cls = getattr(ember.optim, name)
    a, b = _p(), _p(3)
    opt = cls([a, b], **DEFAULT_CFG[name])
    (a.sum() + b.sum()).backward()
    opt.step()
    before = opt.state_dict()
    c, d = _p(), _p(4)
    other = cls([c, d], **dict(DEFAULT_CFG[name], lr=0.5))
    (c.sum() + d.sum()).backward()
    other.step()
    other.step()
    with pytest.raises(ValueError, match="of parameter 1 has shape"):
        opt.load_state_dict(other.state_dict())
    after = opt.state_dict()
    assert after["param_groups"] == before["param_groups"]
    assert sorted(after["state"]) == sorted(before["state"])
    for idx, st in before["state"].items():
        assert set(after["state"][idx]) == set(st)
        for k, v in st.items():
            np.testing.assert_array_equal(after["state"][idx][k], v, err_msg=f"{idx} {k}")


# ---------------------------------------------------------------------------------------------
# The fused C++ kernels' own checks (ember._C.optim_*)
# ---------------------------------------------------------------------------------------------


def _arr(*shape, dtype=np.float64, fill=1.0):
    return np.full(shape, fill, dtype=dtype)


def _sgd(params, grads, bufs=None, first=None, lr=0.1, momentum=0.0):
    first = [True] * len(params) if first is None else first
    ember._C.optim_sgd(params, grads, bufs, first, lr, momentum, 0.0, 0.0, False, False)


def _adam(params, grads, m=None, v=None, vmax=None, steps=None, lr=0.1, amsgrad=False,
          decoupled=False):
    m = [np.zeros_like(p) for p in params] if m is None else m
    v = [np.zeros_like(p) for p in params] if v is None else v
    steps = [1.0] * len(params) if steps is None else steps
    ember._C.optim_adam(params, grads, m, v, vmax, steps, lr, 0.9, 0.999, 1e-8, 0.0, amsgrad,
                        decoupled, False)


def test_kernel_sgd_and_adam_work():
    p, g = _arr(3), _arr(3, fill=2.0)
    _sgd([p], [g])
    np.testing.assert_allclose(p, [0.8] * 3)
    p, g, m, v = _arr(3), _arr(3, fill=2.0), _arr(3, fill=0.0), _arr(3, fill=0.0)
    _adam([p], [g], [m], [v])
    np.testing.assert_allclose(p, [0.9] * 3, rtol=1e-7)  # the first Adam step moves by ~lr
    np.testing.assert_allclose(m, [0.2] * 3)
    np.testing.assert_allclose(v, [0.004] * 3)
    _sgd([], [])  # an empty group is a no-op


def test_kernel_mismatched_lengths():
    p, g = [_arr(3), _arr(2)], [_arr(3)]
    with pytest.raises(ValueError, match=r"SGD\.step: got 2 params but 1 grads"):
        _sgd(p, g)
    with pytest.raises(ValueError, match=r"Adam\.step: got 2 params but 1 grads"):
        _adam(p, g, m=[_arr(3)], v=[_arr(3)])
    p, g = [_arr(3), _arr(2)], [_arr(3), _arr(2)]
    with pytest.raises(ValueError, match=r"SGD\.step: state 'momentum_buffer' has 1 arrays for "
                                         "2 params"):
        _sgd(p, g, bufs=[_arr(3)], momentum=0.9)
    with pytest.raises(ValueError, match=r"SGD\.step: 'first' must have one flag per param"):
        _sgd(p, g, bufs=[_arr(3), _arr(2)], first=[True], momentum=0.9)
    with pytest.raises(ValueError, match=r"SGD\.step: state 'momentum_buffer' is required"):
        _sgd(p, g, bufs=None, momentum=0.9)
    with pytest.raises(ValueError, match=r"Adam\.step: state 'exp_avg_sq' has 1 arrays for 2"):
        _adam(p, g, v=[_arr(3)])
    with pytest.raises(ValueError, match=r"Adam\.step: state 'max_exp_avg_sq' is required"):
        _adam(p, g, amsgrad=True)
    with pytest.raises(ValueError, match=r"Adam\.step: got 1 step counts for 2 params"):
        _adam(p, g, steps=[1.0])
    with pytest.raises(ValueError, match=r"AdamW\.step: got 1 step counts for 2 params"):
        _adam(p, g, steps=[1.0], decoupled=True)


def _rmsprop(p, g, s):
    ember._C.optim_rmsprop(p, g, s, None, None, 0.1, 0.99, 1e-8, 0.0, 0.0, False, False)


def _adagrad(p, g, s):
    ember._C.optim_adagrad(p, g, s, [1.0] * len(p), 0.1, 0.0, 0.0, 1e-10, False)


def _adadelta(p, g, s):
    ember._C.optim_adadelta(p, g, s, [np.zeros_like(x) for x in p], 1.0, 0.9, 1e-6, 0.0, False)


@pytest.mark.parametrize("op,call", [("RMSprop.step", _rmsprop), ("Adagrad.step", _adagrad),
                                     ("Adadelta.step", _adadelta)])
def test_kernel_other_ops_name_themselves(op, call):
    name = op.replace(".", r"\.")
    with pytest.raises(ValueError, match=name + ": got 1 params but 2 grads"):
        call([_arr(3)], [_arr(3), _arr(3)], [_arr(3)])
    with pytest.raises(TypeError, match=name + r": argument 'grads\[0\]' has dtype float32"):
        call([_arr(3)], [_arr(3, dtype=np.float32)], [_arr(3)])
    p = _arr(3)
    with pytest.raises(ValueError, match=name + r": params\[0\] and state 0\[0\] share memory"):
        call([p], [_arr(3)], [p])
    np.testing.assert_array_equal(p, np.ones(3))
    call([p], [_arr(3)], [_arr(3, fill=0.0)])  # valid
    assert np.all(p < 1.0)


def test_kernel_dtype_mismatch():
    with pytest.raises(TypeError, match=r"SGD\.step: argument 'grads\[0\]' has dtype float32 "
                                        r"but 'params\[0\]' has dtype float64"):
        _sgd([_arr(3)], [_arr(3, dtype=np.float32)])
    with pytest.raises(TypeError, match=r"SGD\.step: argument 'params\[1\]' has dtype float32"):
        _sgd([_arr(3), _arr(3, dtype=np.float32)], [_arr(3), _arr(3, dtype=np.float32)])
    with pytest.raises(TypeError, match=r"Adam\.step: argument 'params\[0\]' must be float32 "
                                        "or float64, got int64"):
        _adam([np.ones(3, dtype=np.int64)], [np.ones(3, dtype=np.int64)])
    with pytest.raises(TypeError, match=r"Adam\.step: argument 'exp_avg\[0\]' has dtype "
                                        "float32"):
        _adam([_arr(3)], [_arr(3)], m=[_arr(3, dtype=np.float32)])
    with pytest.raises(TypeError, match=r"Adam\.step: params and grads must be numpy arrays"):
        _adam([[1.0, 2.0]], [_arr(2)])


def test_kernel_state_dtype_message_names_the_right_param():
    p = [_arr(3), _arr(2)]
    with pytest.raises(TypeError, match=r"Adam\.step: argument 'exp_avg\[1\]' has dtype float32 "
                                        r"but 'params\[1\]' has dtype float64"):
        _adam(p, [_arr(3), _arr(2)], m=[_arr(3), _arr(2, dtype=np.float32)])


def test_kernel_shape_mismatch():
    with pytest.raises(ValueError, match=r"SGD\.step: grads\[0\] has shape \(4,\) but "
                                         r"params\[0\] has shape \(3,\)"):
        _sgd([_arr(3)], [_arr(4)])
    with pytest.raises(ValueError, match=r"Adam\.step: grads\[0\] has shape \(3, 1\)"):
        _adam([_arr(3)], [_arr(3, 1)])
    with pytest.raises(ValueError, match=r"Adam\.step: state exp_avg\[0\] has shape \(4,\) "
                                         r"but params\[0\] has shape \(3,\)"):
        _adam([_arr(3)], [_arr(3)], m=[_arr(4)])


def test_kernel_same_size_but_different_shape():
    """A (3, 2) gradient for a (2, 3) parameter is a shape mismatch too."""
    with pytest.raises(ValueError, match=r"SGD\.step: grads\[0\] has shape \(3, 2\) but "
                                         r"params\[0\] has shape \(2, 3\)"):
        _sgd([_arr(2, 3)], [_arr(3, 2)])
    with pytest.raises(ValueError, match=r"Adam\.step: .*exp_avg\[0\]"):
        _adam([_arr(2, 3)], [_arr(2, 3)], m=[_arr(3, 2)])


def test_kernel_read_only_and_non_contiguous():
    p = _arr(3)
    p.flags.writeable = False
    with pytest.raises(ValueError, match=r"SGD\.step: argument 'params\[0\]' is read-only"):
        _sgd([p], [_arr(3)])
    with pytest.raises(ValueError, match=r"Adam\.step: argument 'params\[0\]' is read-only"):
        _adam([p], [_arr(3)])
    m = _arr(3)
    m.flags.writeable = False
    with pytest.raises(ValueError, match=r"Adam\.step: argument 'exp_avg\[0\]' is read-only"):
        _adam([_arr(3)], [_arr(3)], m=[m])
    with pytest.raises(ValueError, match=r"SGD\.step: argument 'params\[0\]' must be "
                                         "C-contiguous"):
        _sgd([_arr(6)[::2]], [_arr(3)])
    with pytest.raises(ValueError, match=r"Adam\.step: argument 'grads\[0\]' must be "
                                         "C-contiguous"):
        _adam([_arr(3)], [_arr(3, 2)[:, 0]])


def test_kernel_aliasing():
    p = _arr(3)
    with pytest.raises(ValueError, match=r"SGD\.step: params\[0\] and params\[1\] share memory"):
        _sgd([p, p], [_arr(3), _arr(3)])
    with pytest.raises(ValueError, match=r"Adam\.step: params\[0\] and params\[1\] share memory"):
        _adam([p, p], [_arr(3), _arr(3)])
    base = np.zeros(10)
    with pytest.raises(ValueError, match=r"SGD\.step: .* share memory"):  # overlapping views
        _sgd([base[0:6], base[4:10]], [_arr(6), _arr(6)])
    _sgd([base[0:5], base[5:10]], [_arr(5), _arr(5)])  # disjoint views are fine
    np.testing.assert_allclose(base, [-0.1] * 10)
    with pytest.raises(ValueError, match=r"SGD\.step: .* share memory"):
        _sgd([p], [_arr(3)], bufs=[p], momentum=0.9)
    with pytest.raises(ValueError, match=r"Adam\.step: .* share memory"):
        _adam([p], [_arr(3)], m=[p])
    with pytest.raises(ValueError, match=r"Adam\.step: .* share memory"):
        _adam([p], [_arr(3)], v=[p])
    with pytest.raises(ValueError, match=r"Adam\.step: .* share memory"):
        _adam([p], [_arr(3)], vmax=[p], amsgrad=True)
    m = _arr(3)
    with pytest.raises(ValueError, match=r"Adam\.step: .* share memory"):  # state with state
        _adam([_arr(3)], [_arr(3)], m=[m], v=[m])
    q = _arr(3)
    with pytest.raises(ValueError, match=r"Adam\.step: params\[0\] and state 0\[1\] share "
                                         "memory"):  # the state of one param is another param
        _adam([p, q], [_arr(3), _arr(3)], m=[_arr(3), p])
    np.testing.assert_array_equal(p, np.ones(3))  # nothing was written


def test_kernel_checks_everything_before_writing():
    a, b = _arr(3), _arr(2)
    with pytest.raises(ValueError):
        _sgd([a, b], [_arr(3), _arr(5)])
    ma = _arr(3, fill=0.0)
    with pytest.raises(ValueError):
        _adam([a, b], [_arr(3), _arr(2)], m=[ma, _arr(2)], steps=[1.0, 0.0])
    np.testing.assert_array_equal(a, np.ones(3))
    np.testing.assert_array_equal(ma, np.zeros(3))


def test_kernel_state_must_be_arrays():
    """A state entry that is not an array would be converted to a temporary that the update
    is written to and lost."""
    p, m = _arr(3), [0.0, 0.0, 0.0]
    with pytest.raises(TypeError, match=r"Adam\.step"):
        _adam([p], [_arr(3)], m=[m])
    np.testing.assert_array_equal(p, np.ones(3))
    with pytest.raises(TypeError, match=r"SGD\.step"):
        _sgd([_arr(3)], [_arr(3)], bufs=[[0.0, 0.0, 0.0]], momentum=0.9)


def test_kernel_bad_scalars():
    with pytest.raises(ValueError, match=r"SGD\.step: lr must be >= 0"):
        _sgd([_arr(3)], [_arr(3)], lr=-0.1)
    with pytest.raises(ValueError, match=r"Adam\.step: lr must be >= 0"):
        _adam([_arr(3)], [_arr(3)], lr=-0.1)
    with pytest.raises(ValueError, match=r"Adam\.step: step counts must be >= 1"):
        _adam([_arr(3)], [_arr(3)], steps=[0.0])
    with pytest.raises(ValueError, match=r"Adam\.step: step counts must be >= 1"):
        _adam([_arr(3)], [_arr(3)], steps=[float("nan")])
