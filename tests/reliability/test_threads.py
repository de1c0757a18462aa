"""Thread counts: absurd values are refused with the range, the largest allowed count runs
kernels correctly (ember's own pool: no runtime that allocates per-thread stacks up front and
exits the process), and OMP_NUM_THREADS values of any kind never break the import."""
import os
import subprocess
import sys

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember import _C


@pytest.mark.parametrize("n", [0, -1, -2**63, _C.max_threads + 1, 10**9, 2**63 - 1, 2**64,
                               10**30])
def test_out_of_range_thread_counts_are_refused(n):
    before = ember.get_num_threads()
    with pytest.raises(ValueError, match=rf"set_num_threads: argument 'n' must be in \[1, "
                                         rf"{_C.max_threads}\], got {n}"):
        ember.set_num_threads(n)
    assert ember.get_num_threads() == before


@pytest.mark.parametrize("n", [2.0, "4", None, True, np.float32(2)])
def test_thread_counts_of_the_wrong_kind_are_refused(n):
    with pytest.raises(TypeError, match="set_num_threads: n must be an int"):
        ember.set_num_threads(n)


def test_the_largest_thread_count_runs_kernels_and_matches_one_thread():
    rng = np.random.default_rng(0)
    x = ember.Tensor(rng.standard_normal((8, 3, 32, 32)).astype(np.float32))
    w = ember.Tensor(rng.standard_normal((16, 3, 3, 3)).astype(np.float32))
    a = ember.Tensor(rng.standard_normal((300, 200)).astype(np.float32))
    before = ember.get_num_threads()
    try:
        results = []
        for n in (1, _C.max_threads):
            ember.set_num_threads(n)
            results.append([F.conv2d(x, w, padding=1).numpy(), (a @ a.T).numpy(),
                            F.max_pool2d(x, 2).numpy(), F.relu(x).numpy()])
    finally:
        ember.set_num_threads(before)
    for one, many in zip(*results):
        np.testing.assert_allclose(many, one, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("value,expect", [("100000000000", _C.max_threads), ("3", 3),
                                          ("0", None), ("-4", None), ("abc", None),
                                          ("", None), ("2,4", None)])
def test_omp_num_threads_of_any_value_never_breaks_the_import(value, expect):
    env = dict(os.environ, OMP_NUM_THREADS=value)
    out = subprocess.run([sys.executable, "-c", "import ember; print(ember.get_num_threads())"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    n = int(out.stdout.strip())
    if expect is None:  # not a positive count: the machine's CPU count is used
        assert 1 <= n <= _C.max_threads
    else:
        assert n == expect
