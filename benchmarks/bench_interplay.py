"""ember's GEMM while NumPy's BLAS runs in the same process: speed alternating with
numpy.matmul against speed alone, with nothing set in the environment (as a user runs).

    python -m benchmarks.bench_interplay [--quick] [--json PATH]

Both libraries keep pools of worker threads that wait a while after a call before they sleep
(OpenBLAS's workers spin for about 0.1 s; ember's helpers spin briefly, yielding their core,
see csrc/ember/parallel.h). A script that alternates NumPy products with ember kernels, as a
training script with NumPy preprocessing or metrics does, runs each call while the other
library's workers may still be waiting. The benchmark times, in one child process started
without OPENBLAS_THREAD_TIMEOUT / GOMP_SPINCOUNT / OMP_WAIT_POLICY (the other benchmarks set
them): ember alone (back to back, after the other libraries' workers have gone to sleep),
NumPy alone, and the two alternating (NumPy, then ember,
each timed), in interleaved rounds; torch's matmul the same way when torch is importable.
'alternating / alone' is the speed kept next to the other library (1.0: none lost).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any, Callable, Dict, List

SHAPES = [(256, 256, 256), (512, 512, 512), (128, 784, 256), (3136, 576, 64), (1024, 1024, 1024)]
QUIET_VARS = ("OPENBLAS_THREAD_TIMEOUT", "GOMP_SPINCOUNT", "OMP_WAIT_POLICY")
SETTLE_S = 0.3  # longer than any library's workers wait awake after a call


def _child(quick: bool) -> Dict[str, Any]:
    import numpy as np

    import ember
    from ember import _C

    torch = None
    try:
        import torch as _torch

        torch = _torch
        torch.set_num_threads(ember.get_num_threads())
    except ImportError:
        pass
    rounds, per_block = (3, 10) if quick else (7, 20)
    rows: List[Dict[str, Any]] = []
    for m, k, n in SHAPES[:3] if quick else SHAPES:
        rng = np.random.default_rng(0)
        a = rng.standard_normal((m, k)).astype(np.float32)
        b = rng.standard_normal((k, n)).astype(np.float32)
        out = np.empty((m, n), np.float32)
        calls: Dict[str, Callable[[], Any]] = {
            "ember": lambda: _C.gemm(a, b, out=out),
            "numpy": lambda: np.matmul(a, b),
        }
        if torch is not None:
            ta, tb, to = torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(out)
            calls["torch"] = lambda: torch.matmul(ta, tb, out=to)
        alone: Dict[str, List[float]] = {name: [] for name in calls}
        after: Dict[str, List[float]] = {name: [] for name in calls if name != "numpy"}
        numpy_after: Dict[str, List[float]] = {name: [] for name in after}

        def timed(f: Callable[[], Any]) -> float:
            t0 = time.perf_counter()
            f()
            return time.perf_counter() - t0

        for _ in range(rounds):
            for name, f in calls.items():  # alone: back to back, the others' workers asleep
                time.sleep(SETTLE_S)
                f()
                alone[name] += [timed(f) for _ in range(per_block)]
            for name, f in calls.items():  # alternating with NumPy
                if name == "numpy":
                    continue
                f()
                for _ in range(per_block):
                    numpy_after[name].append(timed(calls["numpy"]))
                    after[name].append(timed(f))
        med = {name: statistics.median(v) for name, v in alone.items()}
        row: Dict[str, Any] = {"shape": f"{m}x{k} @ {k}x{n}"}
        for name in after:
            row[f"{name}_alone_ms"] = 1e3 * med[name]
            row[f"{name}_alternating_ms"] = 1e3 * statistics.median(after[name])
            row[f"{name}_kept"] = med[name] / statistics.median(after[name])
            row[f"numpy_kept_next_to_{name}"] = med["numpy"] / statistics.median(
                numpy_after[name])
        row["numpy_alone_ms"] = 1e3 * med["numpy"]
        rows.append(row)
    return {"threads": ember.get_num_threads(), "rows": rows}


def main(argv: Any = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--json", default=None)
    p.add_argument("--openblas-timeout", type=int, default=None,
                   help="set OPENBLAS_THREAD_TIMEOUT in the child (how long NumPy's idle BLAS "
                        "workers spin), to show their share of what is lost")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.child:
        print(json.dumps(_child(a.quick)))
        return 0
    env = {k: v for k, v in os.environ.items() if k not in QUIET_VARS}
    if a.openblas_timeout is not None:
        env["OPENBLAS_THREAD_TIMEOUT"] = str(a.openblas_timeout)
    cmd = [sys.executable, "-m", "benchmarks.bench_interplay", "--child"]
    out = subprocess.run(cmd + (["--quick"] if a.quick else []), env=env, check=True,
                         capture_output=True, text=True, cwd=os.path.dirname(
                             os.path.dirname(os.path.abspath(__file__)))).stdout
    result = json.loads(out.strip().splitlines()[-1])
    libs = [x for x in ("ember", "torch") if f"{x}_kept" in result["rows"][0]]
    head = f"{'shape':<24}" + "".join(
        f"  {x + ' alone ms':>15}  {x + ' alternating':>16}  {'kept':>5}  {'numpy kept':>10}"
        for x in libs)
    print(f"alternating with numpy.matmul, {result['threads']} threads, nothing in the "
          "environment; 'kept' = alone / alternating speed")
    print(head)
    print("-" * len(head))
    for r in result["rows"]:
        print(f"{r['shape']:<24}" + "".join(
            f"  {r[x + '_alone_ms']:>15.3f}  {r[x + '_alternating_ms']:>16.3f}  "
            f"{r[x + '_kept']:>5.2f}  {r['numpy_kept_next_to_' + x]:>10.2f}" for x in libs))
    if a.json:
        from ember._files import atomic_write

        text = json.dumps(result, indent=1)
        atomic_write(a.json, lambda f: f.write(text), mode="w")
    return 0


if __name__ == "__main__":
    sys.exit(main())
