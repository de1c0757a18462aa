"""ember.distributed under a real MPI: each test launches `mpiexec -n 2` on localhost running
tests/distributed/mpi_worker.py (skipped, with the reason, when mpi4py or mpiexec is missing;
.ci/run installs mpi4py and mpich)."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import ember
from ember import nn

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "mpi_worker.py")


def _mpiexec():
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    return beside if os.path.exists(beside) else shutil.which("mpiexec")


try:
    import mpi4py  # noqa: F401

    HAVE_MPI4PY = True
except ImportError:
    HAVE_MPI4PY = False

pytestmark = [
    pytest.mark.skipif(not HAVE_MPI4PY, reason="mpi4py is not installed (pip install "
                       "'ember[distributed]' or pip install mpi4py mpich)"),
    pytest.mark.skipif(_mpiexec() is None, reason="no mpiexec on PATH or beside the Python "
                       "executable (pip install mpich provides one)"),
]


def launch(scenario, out, n=2, timeout=120):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": HERE}
    return subprocess.run([_mpiexec(), "-n", str(n), sys.executable, WORKER, scenario, str(out)],
                          capture_output=True, text=True, timeout=timeout, env=env)


def run_ok(scenario, out, n=2):
    proc = launch(scenario, out, n)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def test_two_ranks_match_one_process_with_the_global_batch(tmp_path):
    sys.path.insert(0, HERE)
    import mpi_worker as w

    out = tmp_path / "params.safetensors"
    run_ok("equivalence", out)
    got = ember.load(str(out))
    model = w.mlp()  # the same 20 steps in this process, whole batch of 16
    opt = ember.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    xs, ys = w.data()
    for x, y in zip(xs, ys):
        loss = nn.functional.cross_entropy(model(ember.tensor(x)), ember.tensor(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
    for k, v in model.state_dict().items():
        np.testing.assert_allclose(got[k].numpy(), v.numpy(), rtol=1e-5, atol=1e-5, err_msg=k)


def test_sampler_covers_the_data_once_per_epoch(tmp_path):
    out = tmp_path / "sampler.json"
    run_ok("sampler", out)
    epochs = json.loads(out.read_text())
    assert len(epochs) == 2
    for ranks in epochs:
        assert [len(r) for r in ranks] == [6, 6]  # 11 samples padded to 12
        flat = ranks[0] + ranks[1]
        assert sorted(set(flat)) == list(range(11))
        assert len(flat) - len(set(flat)) == 1  # one padding repeat
    assert epochs[0] != epochs[1]  # reshuffled each epoch


def test_only_rank_zero_writes_and_metrics_average(tmp_path):
    run_ok("rank0_writes", tmp_path)
    assert sorted(os.listdir(tmp_path)) == ["avg.txt", "rank0.txt"]
    assert float((tmp_path / "avg.txt").read_text()) == pytest.approx(0.5)


def test_a_failing_rank_aborts_the_job(tmp_path):
    proc = launch("fail", tmp_path, timeout=60)  # a hang would raise TimeoutExpired
    assert proc.returncode != 0
    assert "deliberate failure on rank 1" in proc.stdout + proc.stderr


def test_sync_batchnorm_matches_whole_batch_batchnorm(tmp_path):
    out = tmp_path / "syncbn.safetensors"
    run_ok("syncbn", out)
    got = ember.load(str(out))
    rng = np.random.default_rng(5)
    x = rng.standard_normal((8, 3, 4, 4))
    gy = rng.standard_normal((8, 3, 4, 4))
    bn = nn.BatchNorm2d(3).double()
    bn.weight.data[...] = [0.5, 1.5, 2.0]
    xt = ember.tensor(x, requires_grad=True)
    y = bn(xt)
    y.backward(gy)
    np.testing.assert_allclose(got["y"].numpy(), y.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(got["dx"].numpy(), xt.grad.numpy(), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(got["dw"].numpy(), bn.weight.grad.numpy(), rtol=1e-9)
    np.testing.assert_allclose(got["db"].numpy(), bn.bias.grad.numpy(), rtol=1e-9)
    np.testing.assert_allclose(got["rm"].numpy(), bn.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(got["rv"].numpy(), bn.running_var.numpy(), rtol=1e-12)


def test_optimizer_state_broadcast(tmp_path):
    out = tmp_path / "opt.json"
    run_ok("optstate", out)
    res = json.loads(out.read_text())
    assert res["equal"] and res["n"] == 180 and res["steps"] == [3, 3, 3, 3]


def test_ember_train_distributed(tmp_path):
    """`mpiexec -n 2 ember train --distributed`: one run folder written by rank 0, one
    banner, a model that learned (global batch 2 x 32)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    code = "import sys; from ember.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.run([_mpiexec(), "-n", "2", sys.executable, "-c", code, "train",
                           "--distributed", "--scale-lr", "--epochs", "8", "--batch-size", "32",
                           "--quiet", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("ember train:") == 1  # rank 0 only
    assert "2 ranks x batch 32 (global 64)" in proc.stdout
    assert os.listdir(tmp_path) == ["smallcnn-digits"]
    metrics = json.loads((tmp_path / "smallcnn-digits" / "metrics.json").read_text())
    assert metrics["test_accuracy"] > 0.85
    lrs = [row["lr"] for row in metrics["epochs"]]
    assert lrs[0] < lrs[2]  # linear warm-up towards 2 x the base lr
