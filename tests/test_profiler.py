"""ember.profiler: per-op forward/backward statistics, C++ kernel time, regions, tables."""
import json

import numpy as np
import pytest

import ember
from ember import _C, nn
from ember.autograd.hooks import HOOKS


def small_step(model, opt, x, y):
    loss = nn.functional.cross_entropy(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()


@pytest.fixture
def setup():
    ember.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 10))
    opt = ember.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    rng = np.random.default_rng(0)
    x = ember.tensor(rng.standard_normal((8, 1, 8, 8)).astype(np.float32))
    y = ember.tensor(rng.integers(0, 10, 8))
    return model, opt, x, y


def test_profile_counts_ops_kernels_and_regions(setup):
    model, opt, x, y = setup
    original = _C.conv2d_forward
    with ember.profiler.profile() as prof:
        assert _C.conv2d_forward is not original  # timed while active
        for _ in range(3):
            small_step(model, opt, x, y)
    assert _C.conv2d_forward is original and HOOKS.profiler is None
    rows = {(r.name, r.phase): r for r in prof.key_averages()}
    for name in ("Conv2d", "BatchNorm", "Relu", "Linear"):
        assert rows[(name, "forward")].calls == 3, name
        assert rows[(name, "backward")].calls == 3, name
    assert rows[("SGD.step", "region")].calls == 3
    conv = rows[("Conv2d", "forward")]
    assert 0 < conv.kernel_s <= conv.total_s
    assert conv.bytes > 0
    kernels = {r.name: r for r in prof.kernel_averages()}
    assert kernels["conv2d_forward"].calls == 3
    assert kernels["conv2d_backward_weight"].calls == 3
    assert kernels["optim_sgd"].calls == 3
    assert all(r.calls > 0 for r in kernels.values())
    events = prof.key_averages()
    assert 0 < events.op_s <= prof.wall_s
    assert events.op_kernel_s <= events.kernel_s + 1e-9


def test_bytes_of_a_known_op():
    a = ember.tensor(np.ones(1000, np.float32), requires_grad=True)
    b = ember.tensor(np.ones(1000, np.float32), requires_grad=True)
    with ember.profiler.profile() as prof:
        (a * b).sum().backward()
    rows = {(r.name, r.phase): r for r in prof.key_averages()}
    assert rows[("Mul", "forward")].bytes == 3 * 4000  # two inputs and the output
    assert rows[("Mul", "backward")].bytes == 3 * 4000  # incoming grad and two input grads


def test_table_sorting_and_errors(setup):
    model, opt, x, y = setup
    with ember.profiler.profile() as prof:
        small_step(model, opt, x, y)
    events = prof.key_averages()
    text = events.table(sort_by="total", row_limit=5)
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["name", "phase", "calls"]
    assert len(lines) == 2 + 5 + 2  # header, rule, rows, rule, summary
    totals = [float(line.split()[3]) for line in lines[2:7]]
    assert totals == sorted(totals, reverse=True)
    assert "wall" in lines[-1] and "outside ops" in lines[-1]
    by_calls = events.table(sort_by="calls", row_limit=0)
    assert "Conv2d" in by_calls
    with pytest.raises(ValueError, match="sort_by must be one of"):
        events.table(sort_by="speed")


def test_profiles_do_not_nest_and_disabled_is_a_no_op(setup):
    model, opt, x, y = setup
    with ember.profiler.profile():
        with pytest.raises(RuntimeError, match="already active"):
            with ember.profiler.profile():
                pass
    assert HOOKS.profiler is None
    with ember.profiler.profile(enabled=False) as prof:
        small_step(model, opt, x, y)
    assert list(prof.key_averages()) == [] and prof.wall_s == 0


def test_record_function_and_json(setup, tmp_path):
    model, opt, x, y = setup
    with ember.profiler.record_function("outside"):  # no active profile: nothing happens
        pass
    with ember.profiler.profile(record_shapes=True) as prof:
        with ember.profiler.record_function("my step"):
            small_step(model, opt, x, y)
    rows = {(r.name, r.phase): r for r in prof.key_averages()}
    assert rows[("my step", "region")].calls == 1
    assert rows[("my step", "region")].total_s <= prof.wall_s
    path = tmp_path / "prof.json"
    prof.export_json(str(path))
    data = json.loads(path.read_text())
    assert data["wall_s"] == pytest.approx(prof.wall_s)
    assert any(op["name"] == "Conv2d[(8, 1, 8, 8), (4, 1, 3, 3), (4,)]" for op in data["ops"])


def test_profiler_leaves_results_unchanged(setup):
    model, opt, x, y = setup
    with ember.no_grad():
        want = model(x).numpy()
    with ember.profiler.profile():
        with ember.no_grad():
            got = model(x).numpy()
    np.testing.assert_array_equal(got, want)
