"""Data-parallel scaling over MPI: images/s on 1 and 2 ranks (1 thread each) for LeNet-5 and
ResNet-20, the share of a step spent in the gradient allreduce, and a projection to more
machines from the measured costs.

    python -m benchmarks.bench_distributed [--quick] [--json PATH]

Needs mpi4py and an mpiexec (pip install mpi4py mpich). Each rank count runs as its own
`mpiexec -n R` job of this module; every rank trains on its own batch (per-rank batch fixed:
weak scaling, as data-parallel training is used), DistributedOptimizer averaging the
gradients. Step time is split into compute (forward, backward, optimizer update) and the
allreduce, timed around `allreduce_gradients` on rank 0.

Projection (stated as such, not measured): a ring allreduce of b bytes over N machines costs
t(N) = 2 (N - 1) / N * b / B + 2 (N - 1) * a, with the bandwidth B and latency a fitted from
this machine's 2-rank allreduce of the model's gradients and of 8 bytes (shared memory: far
faster than a network; the table adds 10 and 100 Gb/s links for B with a = 20 us). Projected
images/s for N machines = N * batch / (compute + t(N)), with compute from the 1-rank run;
no overlap of communication and computation is assumed (ember allreduces after backward).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from typing import Any, Dict, List

import numpy as np

from benchmarks import _models

MODELS = {"lenet5": (64, (1, 28, 28), lambda nn, F: _models.lenet5(nn)),
          "resnet20": (32, (3, 32, 32), _models.resnet20)}


def child(quick: bool) -> Dict[str, Any]:
    import ember
    import ember.distributed as dist

    world = dist.init()
    ember.set_num_threads(1)
    out: Dict[str, Any] = {"ranks": world.size, "models": {}}
    for name, (batch, shape, build) in MODELS.items():
        ember.manual_seed(0)
        model = build(ember.nn, ember.nn.functional)
        dist.broadcast_parameters(model)
        opt = ember.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        rng = np.random.default_rng(world.rank)
        x = ember.tensor(rng.standard_normal((batch,) + shape).astype(np.float32))
        y = ember.tensor(rng.integers(0, 10, batch))
        loss_fn = ember.nn.CrossEntropyLoss()
        params = list(model.parameters())
        steps = 4 if quick else (10 if name == "resnet20" else 40)
        comm_s = comp_s = 0.0
        for i in range(steps + 2):
            dist.barrier()
            t0 = time.perf_counter()
            loss = loss_fn(model(x), y)
            opt.zero_grad()
            loss.backward()
            t1 = time.perf_counter()
            dist.allreduce_gradients(params)
            t2 = time.perf_counter()
            opt.step()
            t3 = time.perf_counter()
            if i >= 2:  # warm-up steps excluded
                comm_s += t2 - t1
                comp_s += (t1 - t0) + (t3 - t2)
        nbytes = 4 * sum(p.numel() for p in params)
        lat = _allreduce_seconds(dist, np.zeros(2, np.float32), 200)
        big = _allreduce_seconds(dist, np.zeros(nbytes // 4, np.float32), 20)
        step = (comm_s + comp_s) / steps
        out["models"][name] = {
            "batch_per_rank": batch, "grad_bytes": nbytes, "step_s": step,
            "compute_s": comp_s / steps, "allreduce_s": comm_s / steps,
            "images_per_s": world.size * batch / step,
            "allreduce_small_s": lat, "allreduce_grads_s": big}
    return out


def _allreduce_seconds(dist: Any, buf: np.ndarray, reps: int) -> float:
    if dist.get_world_size() == 1:
        return 0.0
    dist.barrier()
    t0 = time.perf_counter()
    for _ in range(reps):
        dist.get_comm().Allreduce(dist.in_place(), buf)
    return (time.perf_counter() - t0) / reps


def _mpiexec() -> str:
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    found = beside if os.path.exists(beside) else shutil.which("mpiexec")
    if found is None:
        raise SystemExit("bench_distributed: no mpiexec (pip install mpi4py mpich)")
    return found


def project(one: Dict[str, Any], two: Dict[str, Any]) -> List[List[Any]]:
    """Rows (model, link, N, projected images/s, efficiency) from the ring model."""
    rows = []
    for name, m1 in one["models"].items():
        m2 = two["models"][name]
        b = m2["grad_bytes"]
        a = max(m2["allreduce_small_s"] / 2.0, 1e-6)  # 2 (N-1) a at N = 2
        bw = b / max(m2["allreduce_grads_s"] - 2 * a, 1e-9)  # 2 (N-1)/N b / B at N = 2: b / B
        for link, bandwidth, lat in (("this machine (shm)", bw, a), ("10 Gb/s", 1.25e9, 20e-6),
                                     ("100 Gb/s", 12.5e9, 20e-6)):
            for n in (2, 8, 32, 128):
                t = 2 * (n - 1) / n * b / bandwidth + 2 * (n - 1) * lat
                ips = n * m1["batch_per_rank"] / (m1["compute_s"] + t)
                rows.append([name, link, n, ips, ips / (n * m1["images_per_s"])])
    return rows


def main(argv: List[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--json", metavar="PATH")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.child:
        res = child(a.quick)
        import ember.distributed as dist

        if dist.is_main_process():
            print(json.dumps(res))
        return
    results = []
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for ranks in (1, 2):
        cmd = [_mpiexec(), "-n", str(ranks), sys.executable, "-m", "benchmarks.bench_distributed",
               "--child"] + (["--quick"] if a.quick else [])
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, env=env, check=True)
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    from benchmarks._timing import format_table, write_json

    rows = []
    for name in MODELS:
        m1, m2 = results[0]["models"][name], results[1]["models"][name]
        rows.append([name, m1["batch_per_rank"], m1["images_per_s"], m2["images_per_s"],
                     m2["images_per_s"] / m1["images_per_s"],
                     100 * m2["allreduce_s"] / m2["step_s"], m2["grad_bytes"] / 1e6])
    print("measured, 1 thread per rank (per-rank batch fixed)")
    print(format_table(["model", "batch/rank", "1 rank img/s", "2 ranks img/s", "speed-up",
                        "% step in allreduce", "grad MB"], rows))
    proj = project(results[0], results[1])
    print("\nprojection (ring allreduce model, no overlap; see the module docstring)")
    print(format_table(["model", "link", "machines", "img/s", "efficiency"], proj))
    if a.json:
        write_json(a.json, {"benchmark": "benchmarks.bench_distributed", "results": results,
                            "projection": proj})


if __name__ == "__main__":
    main()
