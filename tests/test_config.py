"""Build configuration, threads, seeding, and the forced portable ISA path."""
import os
import subprocess
import sys

import numpy as np
import pytest

import ember


def test_config_reports_build():
    cfg = ember.config()
    assert cfg["isa"] in ("avx512", "avx2", "generic")
    assert cfg["num_threads"] >= 1
    assert cfg["max_threads"] == 1024 and cfg["compiler"]
    if cfg["isa"] in ("avx2", "avx512"):
        assert cfg["cpu_supports_avx2"] and cfg["built_with_avx2"]
    if cfg["isa"] == "avx512":
        assert cfg["cpu_supports_avx512"] and cfg["built_with_avx512"]
    # Without EMBER_ISA the widest path this CPU and build support is chosen.
    if "EMBER_ISA" not in os.environ:
        if cfg["cpu_supports_avx512"] and cfg["built_with_avx512"]:
            assert cfg["isa"] == "avx512"
        elif cfg["cpu_supports_avx2"] and cfg["built_with_avx2"]:
            assert cfg["isa"] == "avx2"
    assert "isa" in ember.show_config()


def test_set_num_threads_round_trip():
    old = ember.get_num_threads()
    try:
        ember.set_num_threads(1)
        assert ember.get_num_threads() == 1
        for bad in (0, -3, 1025, 10**6, 2**70):
            with pytest.raises(ValueError, match=r"set_num_threads: argument 'n' must be in "
                                                 r"\[1, 1024\], got "):
                ember.set_num_threads(bad)
        with pytest.raises(TypeError, match="set_num_threads: n must be an int, got float"):
            ember.set_num_threads(1.5)
        assert ember.get_num_threads() == 1  # unchanged by the refused calls
    finally:
        ember.set_num_threads(old)


def test_manual_seed_reproducible():
    ember.manual_seed(123)
    a = ember.randn(5).numpy().copy()
    b = ember.nn.Linear(3, 3).weight.numpy().copy()
    ember.manual_seed(123)
    np.testing.assert_array_equal(a, ember.randn(5).numpy())
    np.testing.assert_array_equal(b, ember.nn.Linear(3, 3).weight.numpy())


@pytest.mark.parametrize("forced", ["generic", "avx2"])
def test_forced_isa_path_gives_same_training_results(forced):
    """EMBER_ISA=generic selects the portable kernels (EMBER_ISA=avx2 caps an AVX-512 CPU at
    the AVX2 kernels); a short training run must agree with the default path."""
    if forced == "avx2" and not (ember.config()["cpu_supports_avx2"]
                                 and ember.config()["built_with_avx2"]):
        pytest.skip("this CPU or build has no AVX2 path")
    code = (
        "import ember, numpy as np\n"
        "from ember import nn\n"
        "ember.manual_seed(0)\n"
        "m = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 3))\n"
        "opt = ember.optim.SGD(m.parameters(), lr=0.1)\n"
        "rng = np.random.default_rng(0)\n"
        "x = ember.tensor(rng.standard_normal((200, 20)).astype('float32'))\n"
        "y = ember.tensor(rng.integers(0, 3, 200))\n"
        "for _ in range(20):\n"
        "    loss = nn.functional.cross_entropy(m(x), y); opt.zero_grad(); loss.backward()\n"
        "    opt.step()\n"
        "print(ember.config()['isa'], repr(loss.item()))\n"
    )
    out = {}
    for isa in (forced, "default"):
        env = dict(os.environ)
        env.pop("EMBER_ISA", None)
        if isa == forced:
            env["EMBER_ISA"] = forced
        res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, timeout=120)
        assert res.returncode == 0, res.stderr
        out[isa] = res.stdout.split()
    assert out[forced][0] == forced
    assert abs(float(out[forced][1]) - float(out["default"][1])) < 1e-4, out


def test_keep_freed_memory_setting():
    import platform

    from ember import _C

    with pytest.raises(ValueError, match="keep_freed_memory: argument 'bytes' must be in"):
        _C.keep_freed_memory(-1)
    code = "import ember; print(ember.config()['keeps_freed_memory'])"
    off = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "EMBER_KEEP_FREED_MEMORY": "0"})
    assert off.stdout.strip() == "False", off.stderr
    bad = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "EMBER_KEEP_FREED_MEMORY": "lots"})
    assert bad.returncode != 0 and "EMBER_KEEP_FREED_MEMORY must be an integer" in bad.stderr
    on = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                        env={k: v for k, v in os.environ.items()
                             if k != "EMBER_KEEP_FREED_MEMORY"})
    assert on.stdout.strip() == str(platform.libc_ver()[0] == "glibc"), on.stderr
