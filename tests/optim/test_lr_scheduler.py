"""ember.optim.lr_scheduler produces torch.optim.lr_scheduler's learning-rate sequences, resumes
exactly from a state_dict, and implements Goyal et al.'s linear scaling with warm-up."""
import math
import pickle

import numpy as np
import pytest

import ember
from ember import nn
from ember.optim import lr_scheduler as els

STEPS = 200
LRS = (0.1, 0.03)  # two parameter groups with different lrs


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _ember_opt(lrs=LRS):
    params = [nn.Parameter(ember.tensor(np.ones(2))) for _ in lrs]
    return ember.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(params, lrs)],
                           lr=lrs[0], momentum=0.9)


def _torch_opt(torch, lrs=LRS):
    params = [torch.ones(2, dtype=torch.float64, requires_grad=True) for _ in lrs]
    return torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(params, lrs)],
                           lr=lrs[0], momentum=0.9)


# name -> factory(scheduler module, optimizer)
SCHEDULERS = {
    "StepLR(7,0.5)": lambda m, o: m.StepLR(o, step_size=7, gamma=0.5),
    "StepLR(30,0.1)": lambda m, o: m.StepLR(o, step_size=30),
    "MultiStepLR(repeated)": lambda m, o: m.MultiStepLR(o, milestones=[10, 30, 30, 80, 150],
                                                        gamma=0.5),
    "MultiStepLR(unsorted)": lambda m, o: m.MultiStepLR(o, milestones=[120, 20], gamma=0.3),
    "ExponentialLR": lambda m, o: m.ExponentialLR(o, gamma=0.97),
    "CosineAnnealingLR(50,eta_min)": lambda m, o: m.CosineAnnealingLR(o, T_max=50,
                                                                      eta_min=0.001),
    "CosineAnnealingLR(37)": lambda m, o: m.CosineAnnealingLR(o, T_max=37),
    "LinearLR(warmup)": lambda m, o: m.LinearLR(o, start_factor=0.1, total_iters=20),
    "LinearLR(decay)": lambda m, o: m.LinearLR(o, start_factor=1.0, end_factor=0.05,
                                               total_iters=150),
    "LinearLR(to_zero)": lambda m, o: m.LinearLR(o, start_factor=0.5, end_factor=0.0,
                                                 total_iters=40),
    "ConstantLR": lambda m, o: m.ConstantLR(o, factor=0.25, total_iters=12),
    "LambdaLR": lambda m, o: m.LambdaLR(o, lambda e: 0.95 ** e),
    "LambdaLR(per_group)": lambda m, o: m.LambdaLR(o, [lambda e: 1.0 / (1 + e),
                                                       lambda e: 0.5 * (e % 10) + 0.1]),
    "SequentialLR(warmup,cosine)": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.01, total_iters=10),
            m.CosineAnnealingLR(o, T_max=100, eta_min=1e-4)], milestones=[10]),
    "SequentialLR(constant,exp,step)": lambda m, o: m.SequentialLR(
        o, [m.ConstantLR(o, factor=0.5, total_iters=5), m.ExponentialLR(o, gamma=0.9),
            m.StepLR(o, step_size=20, gamma=0.5)], milestones=[5, 60]),
}


def _metrics():
    """A scripted validation loss: improvements, noisy plateaus, a slow drift, a spike."""
    rng = np.random.default_rng(3)
    return np.concatenate([
        np.linspace(1.0, 0.5, 30), 0.5 + 0.01 * rng.standard_normal(40),
        np.linspace(0.5, 0.2, 30), 0.2 + 0.002 * rng.uniform(size=50),
        0.2 - 1e-5 * np.arange(20), np.full(10, 0.3), 0.19 - 0.001 * np.arange(20)])


PLATEAU = {
    "min,rel,patience3": dict(mode="min", patience=3),
    "max,abs,patience5,cooldown2": dict(mode="max", threshold=0.01, threshold_mode="abs",
                                        patience=5, cooldown=2, factor=0.5),
    "min,abs,patience0,cooldown3,min_lr": dict(mode="min", threshold=1e-3,
                                               threshold_mode="abs", patience=0, cooldown=3,
                                               factor=0.5, min_lr=[1e-3, 5e-4]),
    "max,rel,min_lr,eps": dict(mode="max", threshold=0.05, factor=0.3, patience=2,
                               min_lr=0.004, eps=1e-3),
    "min,rel,big_threshold": dict(mode="min", threshold=0.2, patience=1, factor=0.9),
}


def _plateau_metric(cfg, i):
    m = float(_metrics()[i])
    return -m if cfg["mode"] == "max" else m


def _assert_lrs(got, expected, msg):
    assert len(got) == len(expected), msg
    for g, e in zip(got, expected):
        assert abs(g - e) <= 1e-12 * abs(e), f"{msg}: {got} vs torch {expected}"


def _lr_sequence(opt, sched, start, stop, metric=None):
    """Per step: (get_last_lr(), the groups' lr) after optimizer.step(); scheduler.step()."""
    out = []
    for i in range(start, stop):
        opt.step()
        if metric is None:
            sched.step()
        else:
            sched.step(metric(i))
        out.append((sched.get_last_lr(), [g["lr"] for g in opt.param_groups]))
    return out


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_scheduler_matches_torch(torch, name):
    eopt, topt = _ember_opt(), _torch_opt(torch)
    esched = SCHEDULERS[name](els, eopt)
    tsched = SCHEDULERS[name](torch.optim.lr_scheduler, topt)
    _assert_lrs(esched.get_last_lr(), tsched.get_last_lr(), f"{name} at construction")
    _assert_lrs([g["lr"] for g in eopt.param_groups], [g["lr"] for g in topt.param_groups],
                f"{name} group lr at construction")
    for step in range(1, STEPS + 1):
        eopt.step()
        topt.step()
        esched.step()
        tsched.step()
        expected = tsched.get_last_lr()
        _assert_lrs(esched.get_last_lr(), expected, f"{name} get_last_lr at step {step}")
        _assert_lrs([g["lr"] for g in eopt.param_groups], expected,
                    f"{name} group lr at step {step}")
    assert esched.last_epoch == tsched.last_epoch


@pytest.mark.parametrize("name", [n for n in SCHEDULERS if not n.startswith("Sequential")])
def test_explicit_epoch_matches_torch(torch, name):
    """step(epoch) (deprecated in torch, still supported) jumps with the closed form."""
    eopt, topt = _ember_opt(), _torch_opt(torch)
    esched = SCHEDULERS[name](els, eopt)
    tsched = SCHEDULERS[name](torch.optim.lr_scheduler, topt)
    for epoch in [3, 10, 25, 5, 60, 61, 120]:
        eopt.step()
        topt.step()
        esched.step(epoch)
        with pytest.warns(UserWarning):
            tsched.step(epoch)
        _assert_lrs(esched.get_last_lr(), tsched.get_last_lr(), f"{name} epoch {epoch}")
        assert esched.last_epoch == tsched.last_epoch == epoch


@pytest.mark.parametrize("name", list(PLATEAU))
def test_reduce_lr_on_plateau_matches_torch(torch, name):
    cfg = PLATEAU[name]
    eopt, topt = _ember_opt(), _torch_opt(torch)
    esched = els.ReduceLROnPlateau(eopt, **cfg)
    tsched = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **cfg)
    _assert_lrs(esched.get_last_lr(), tsched.get_last_lr(), f"{name} at construction")
    for step in range(STEPS):
        eopt.step()
        topt.step()
        metric = _plateau_metric(cfg, step)
        esched.step(metric)
        tsched.step(metric)
        expected = [g["lr"] for g in topt.param_groups]
        _assert_lrs(esched.get_last_lr(), tsched.get_last_lr(), f"{name} step {step}")
        _assert_lrs([g["lr"] for g in eopt.param_groups], expected, f"{name} group lr {step}")
        assert esched.best == tsched.best, f"{name} best at step {step}"
        assert esched.num_bad_epochs == tsched.num_bad_epochs, f"{name} bad epochs {step}"
        assert esched.cooldown_counter == tsched.cooldown_counter, f"{name} cooldown {step}"
    assert [g["lr"] for g in topt.param_groups] != list(LRS), "the script never reduced"
    assert esched.last_epoch == tsched.last_epoch


def test_reduce_lr_on_plateau_accepts_a_tensor_metric():
    opt = _ember_opt()
    sched = els.ReduceLROnPlateau(opt, patience=0, factor=0.5)
    sched.step(ember.tensor(1.0))
    sched.step(ember.tensor(np.float64(2.0)))
    assert sched.get_last_lr() == [LRS[0] * 0.5, LRS[1] * 0.5]


def _roundtrip(d):
    return pickle.loads(pickle.dumps(d))  # as torch.save / torch.load would


@pytest.mark.parametrize("name", list(SCHEDULERS) + ["plateau:" + k for k in PLATEAU])
def test_state_dict_resume_is_exact(name):
    if name.startswith("plateau:"):
        cfg = PLATEAU[name[len("plateau:"):]]

        def build(opt):
            return els.ReduceLROnPlateau(opt, **cfg)

        def metric(i):
            return _plateau_metric(cfg, i)
    else:
        def build(opt):
            return SCHEDULERS[name](els, opt)

        metric = None
    opt = _ember_opt()
    sched = build(opt)
    full = _lr_sequence(opt, sched, 0, STEPS, metric)

    opt = _ember_opt()
    sched = build(opt)
    first = _lr_sequence(opt, sched, 0, 70, metric)
    osd, ssd = _roundtrip(opt.state_dict()), _roundtrip(sched.state_dict())
    _lr_sequence(opt, sched, 70, 90, metric)  # the original goes on: the saved dicts must not
    opt2 = _ember_opt([0.5, 0.5])  # built with other lrs: everything comes from the state
    sched2 = build(opt2)
    opt2.load_state_dict(osd)
    sched2.load_state_dict(ssd)
    assert sched2.get_last_lr() == full[69][0]
    rest = _lr_sequence(opt2, sched2, 70, STEPS, metric)
    assert first + rest == full


def test_linear_scaling_rule():
    assert els.linear_scaling_rule(0.1, 256) == 0.1
    assert els.linear_scaling_rule(0.1, 1024) == pytest.approx(0.4, rel=1e-15)
    assert els.linear_scaling_rule(0.1, 8192) == pytest.approx(3.2, rel=1e-15)
    assert els.linear_scaling_rule(0.1, 128) == pytest.approx(0.05, rel=1e-15)
    assert els.linear_scaling_rule(0.2, 64, reference_batch=32) == pytest.approx(0.4, rel=1e-15)
    with pytest.raises(ValueError, match="batch sizes must be positive"):
        els.linear_scaling_rule(0.1, 0)
    with pytest.raises(ValueError, match="batch sizes must be positive"):
        els.linear_scaling_rule(0.1, 256, reference_batch=0)


def _ramp(base, target, warmup, k):
    return base + (target - base) * min(k, warmup) / warmup


def test_warmup_linear_scaling_ramps_then_stays():
    opt = _ember_opt()
    sched = els.warmup_linear_scaling(opt, base_lr=0.1, batch_size=1024, warmup_iters=10)
    seq = [sched.get_last_lr()]
    for _ in range(60):
        opt.step()
        sched.step()
        seq.append(sched.get_last_lr())
        assert seq[-1] == [g["lr"] for g in opt.param_groups]
    for k, lrs in enumerate(seq):
        expected = _ramp(0.1, 0.4, 10, k)
        for lr in lrs:
            assert lr == pytest.approx(expected, rel=1e-12), f"iteration {k}: {lrs}"
    assert seq[0] == pytest.approx([0.1, 0.1], rel=1e-12)
    assert seq[10] == pytest.approx([0.4, 0.4], rel=1e-12)
    assert seq[-1] == pytest.approx([0.4, 0.4], rel=1e-12)


def test_warmup_linear_scaling_then_after_schedule(torch):
    opt = _ember_opt()
    sched = els.warmup_linear_scaling(
        opt, base_lr=0.05, batch_size=2048, warmup_iters=25,
        after=lambda o: els.CosineAnnealingLR(o, T_max=100, eta_min=0.001))
    # The torch equivalent: lr = 0.4 in every group, LinearLR from 0.05 then the cosine.
    topt = _torch_opt(torch, (0.4, 0.4))
    tm = torch.optim.lr_scheduler
    tsched = tm.SequentialLR(topt, [tm.LinearLR(topt, start_factor=0.05 / 0.4, total_iters=25),
                                    tm.CosineAnnealingLR(topt, T_max=100, eta_min=0.001)],
                             milestones=[25])
    _assert_lrs(sched.get_last_lr(), tsched.get_last_lr(), "construction")
    for k in range(1, 151):
        opt.step()
        topt.step()
        sched.step()
        tsched.step()
        _assert_lrs(sched.get_last_lr(), tsched.get_last_lr(), f"iteration {k}")
        if k <= 25:
            expected = _ramp(0.05, 0.4, 25, k)
        else:
            expected = 0.001 + (0.4 - 0.001) * (1 + math.cos(math.pi * (k - 25) / 100)) / 2
        assert sched.get_last_lr()[0] == pytest.approx(expected, rel=1e-12), f"iteration {k}"


def test_warmup_linear_scaling_small_batch():
    """Below the reference batch the lr scales down and there is nothing to warm up to."""
    opt = _ember_opt()
    sched = els.warmup_linear_scaling(opt, base_lr=0.1, batch_size=128, warmup_iters=5)
    for _ in range(10):
        assert sched.get_last_lr() == pytest.approx([0.05, 0.05], rel=1e-12)
        opt.step()
        sched.step()


def test_warmup_linear_scaling_without_warmup():
    """warmup_iters=0: the scaled lr from the first iteration on."""
    opt = _ember_opt()
    sched = els.warmup_linear_scaling(opt, base_lr=0.1, batch_size=512, warmup_iters=0)
    assert sched.get_last_lr() == pytest.approx([0.2, 0.2], rel=1e-12)
    for _ in range(5):
        opt.step()
        sched.step()
        assert sched.get_last_lr() == pytest.approx([0.2, 0.2], rel=1e-12)


def test_bad_scheduler_arguments():
    opt = _ember_opt()
    with pytest.raises(ValueError, match="StepLR: step_size must be a positive int, got 0"):
        els.StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="StepLR: step_size must be a positive int"):
        els.StepLR(opt, step_size=-3)
    with pytest.raises(ValueError, match=r"ReduceLROnPlateau: factor should be < 1\.0, got 1\.0"):
        els.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match=r"ReduceLROnPlateau: factor should be < 1\.0, got 2"):
        els.ReduceLROnPlateau(opt, factor=2)
    with pytest.raises(ValueError, match="ReduceLROnPlateau: mode must be 'min' or 'max', got "
                                         "'avg'"):
        els.ReduceLROnPlateau(opt, mode="avg")
    with pytest.raises(ValueError, match="threshold_mode must be 'rel' or 'abs', got 'pct'"):
        els.ReduceLROnPlateau(opt, threshold_mode="pct")
    with pytest.raises(ValueError, match="expected 2 min_lrs, got 3"):
        els.ReduceLROnPlateau(opt, min_lr=[0.1, 0.1, 0.1])
    with pytest.raises(TypeError, match="is not an Optimizer"):
        els.ReduceLROnPlateau(object())
    with pytest.raises(TypeError, match="is not an Optimizer"):
        els.StepLR(object(), step_size=3)
    with pytest.raises(ValueError, match="CosineAnnealingLR: T_max must be a positive int"):
        els.CosineAnnealingLR(opt, T_max=0)
    with pytest.raises(ValueError, match=r"LinearLR: start_factor must be in \(0, 1\]"):
        els.LinearLR(opt, start_factor=0.0)
    with pytest.raises(ValueError, match=r"LinearLR: end_factor must be in \[0, 1\]"):
        els.LinearLR(opt, end_factor=1.5)
    with pytest.raises(ValueError, match=r"ConstantLR: factor must be in \[0, 1\]"):
        els.ConstantLR(opt, factor=2.0)
    with pytest.raises(ValueError, match="LambdaLR: expected 2 lr_lambdas, got 1"):
        els.LambdaLR(opt, [lambda e: 1.0])
    with pytest.raises(ValueError, match="SequentialLR: expected 1 milestones for 2 schedulers"):
        els.SequentialLR(opt, [els.ConstantLR(opt), els.ExponentialLR(opt, 0.9)],
                         milestones=[3, 6])
    with pytest.raises(ValueError, match="SequentialLR: scheduler 1 belongs to another "
                                         "optimizer"):
        els.SequentialLR(opt, [els.ConstantLR(opt), els.ExponentialLR(_ember_opt(), 0.9)],
                         milestones=[3])
    with pytest.raises(KeyError, match="initial_lr"):
        els.StepLR(_ember_opt(), step_size=3, last_epoch=5)
