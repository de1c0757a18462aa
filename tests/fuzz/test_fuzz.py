"""The fuzz targets (targets.py) under hypothesis: random bytes and mutated valid inputs for
every C++ entry point and file parser. CI runs a few hundred examples per target; the
``fuzz`` marker runs the long atheris campaigns (run_atheris.py), a million executions per
parser:

    python -m pytest -m fuzz tests/fuzz
"""
import os
import re
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import targets  # noqa: E402
BRIEF = settings(max_examples=300, deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _mutated(name):
    """A valid seed with a few bytes overwritten, cut or extended."""
    def mutate(args):
        seed, edits, cut, tail = args
        b = bytearray(seed)
        for pos, val in edits:
            if b:
                b[pos % len(b)] = val
        b = b[:len(b) - cut % (len(b) + 1)] if cut else b
        return bytes(b) + tail
    return st.tuples(st.sampled_from(targets.seeds(name)),
                     st.lists(st.tuples(st.integers(0, 2**16), st.integers(0, 255)),
                              max_size=6),
                     st.integers(0, 64), st.binary(max_size=16)).map(mutate)


@pytest.mark.parametrize("name", sorted(targets.TARGETS))
def test_target_on_random_and_mutated_bytes(name):
    @BRIEF
    @given(st.one_of(st.binary(max_size=96), _mutated(name)))
    def run(data):
        targets.TARGETS[name](data)
    run()


def _atheris(name, runs, seed=None):
    extra = [] if seed is None else [f"-seed={seed}"]
    out = subprocess.run([sys.executable, os.path.join(HERE, "run_atheris.py"), name,
                          f"-runs={runs}"] + extra, capture_output=True, text=True,
                         timeout=7200)
    tail = (out.stdout + out.stderr)[-3000:]
    assert out.returncode == 0, tail
    done = re.findall(r"Done (\d+) runs", out.stdout + out.stderr)
    assert done and int(done[-1]) >= runs, tail
    print(f"{name}: {done[-1]} executions")


@pytest.mark.parametrize("name", sorted(targets.TARGETS))
def test_atheris_brief(name):
    pytest.importorskip("atheris")
    _atheris(name, 2000, seed=1)  # fixed: CI is reproducible


@pytest.mark.fuzz
@pytest.mark.parametrize("name", sorted(targets.TARGETS))
def test_atheris_campaign(name):
    pytest.importorskip("atheris")
    _atheris(name, int(os.environ.get("EMBER_FUZZ_RUNS", "1000000")))


small = st.integers(0, 3)


@BRIEF
@given(n=st.integers(0, 2), c=st.integers(1, 3), h=st.integers(1, 7), w=st.integers(1, 7),
       k=st.tuples(st.integers(1, 4), st.integers(1, 4)), s=st.tuples(st.integers(1, 3),
                                                                        st.integers(1, 3)),
       p=st.tuples(small, small), d=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       ceil=st.booleans(), kind=st.sampled_from(["max", "avg", "avg_nopad"]))
def test_pools_match_torch_on_generated_windows(n, c, h, w, k, s, p, d, ceil, kind):
    torch = pytest.importorskip("torch")
    import numpy as np

    import ember
    import ember.nn.functional as F
    x = np.random.default_rng(0).standard_normal((n, c, h, w))
    if kind == "max":
        args = dict(kernel_size=k, stride=s, padding=p, dilation=d, ceil_mode=ceil)
        fe, ft = F.max_pool2d, torch.nn.functional.max_pool2d
    else:
        args = dict(kernel_size=k, stride=s, padding=p, ceil_mode=ceil,
                    count_include_pad=kind == "avg")
        fe, ft = F.avg_pool2d, torch.nn.functional.avg_pool2d
    try:
        want = ft(torch.from_numpy(x), **args).numpy()
    except RuntimeError:
        with pytest.raises(ValueError):
            fe(ember.Tensor(x), **args)
        return
    got = fe(ember.Tensor(x), **args).numpy()
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@BRIEF
@given(n=st.integers(0, 2), c=st.integers(1, 3), h=st.integers(1, 7), w=st.integers(1, 7),
       o=st.integers(1, 3), k=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       s=st.tuples(st.integers(1, 3), st.integers(1, 3)), p=st.tuples(small, small),
       d=st.tuples(st.integers(1, 3), st.integers(1, 3)), groups=st.sampled_from([1, 1, 2]))
def test_conv2d_matches_torch_on_generated_layers(n, c, h, w, o, k, s, p, d, groups):
    torch = pytest.importorskip("torch")
    import numpy as np

    import ember
    import ember.nn.functional as F
    c, o = c * groups, o * groups
    rng = np.random.default_rng(1)
    x = rng.standard_normal((n, c, h, w))
    wt = rng.standard_normal((o, c // groups) + k)
    args = dict(stride=s, padding=p, dilation=d, groups=groups)
    try:
        want = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(wt),
                                          **args).numpy()
    except RuntimeError:
        with pytest.raises(ValueError):
            F.conv2d(ember.Tensor(x), ember.Tensor(wt), **args)
        return
    got = F.conv2d(ember.Tensor(x), ember.Tensor(wt), **args).numpy()
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


REGRESSIONS = os.path.join(HERE, "regressions")
FOUND = sorted((t, f) for t in os.listdir(REGRESSIONS)
               for f in os.listdir(os.path.join(REGRESSIONS, t)))


@pytest.mark.parametrize("name,case", FOUND, ids=[f"{t}-{f[:16]}" for t, f in FOUND])
def test_inputs_the_fuzzers_found_stay_fixed(name, case):
    # Each file once crashed its target (an uninitialised max-pool output, NumPy's bare
    # errors for huge shapes, a list where a dtype string belongs, ...).
    with open(os.path.join(REGRESSIONS, name, case), "rb") as f:
        targets.TARGETS[name](f.read())
