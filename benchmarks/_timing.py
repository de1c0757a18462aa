"""Shared helpers for the benchmarks: thread control, interleaved timing, peak, tables.

Timing method
-------------
Competing implementations (ember, NumPy, torch) are timed *interleaved*: every repetition
runs each of them once, in a rotating order, and the reported time is the median over
repetitions. A slow phase of the shared machine (another process, a clock change) then hits
all of them alike instead of whichever happened to run during it.

One sample is ``inner`` back-to-back calls after one untimed (warm-up) call, divided by
``inner``.

Idle thread pools
-----------------
Each library keeps its own pool of worker threads, and a pool that has just finished
busy-waits before it sleeps: OpenBLAS workers spin (with sched_yield) for 2^28 cycles,
about 0.1 s; libgomp workers (ember, torch) for 300k spin iterations, about 10 ms. With as
many threads as cores, the spinning workers of the library that ran last take a core from
the one timed next. The children therefore start with ``OPENBLAS_THREAD_TIMEOUT=18``
(2^18 cycles) and ``GOMP_SPINCOUNT=10000``, which removes the interference and changes no
library's speed when it runs alone (docs/results.md has the measurement). Either variable
already set in the environment is kept.

Thread counts
-------------
Each thread count runs in its own child process (``run_per_thread_count``) started with
``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS`` and ``MKL_NUM_THREADS`` set to that count,
so NumPy's BLAS, torch and ember all see it from the start. This works whether or not
threadpoolctl is installed and keeps the thread pools of one count from idling in the
runs of the next. The children also set the counts explicitly (``set_threads``): ember's
``_C.set_num_threads``, ``torch.set_num_threads``, and threadpoolctl when importable.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from typing import Any, Callable, Sequence

THREAD_ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
# Short busy-wait for idle worker pools (see "Idle thread pools" above).
QUIET_POOL_ENV = {"OPENBLAS_THREAD_TIMEOUT": "18", "GOMP_SPINCOUNT": "10000"}

_blas_limiter: Any = None  # keeps a threadpoolctl limit alive for the process


def try_import_torch() -> Any:
    """Returns the torch module, or None when it is not importable."""
    try:
        import torch
    except Exception:  # noqa: BLE001 - any import failure means "no torch oracle"
        return None
    return torch


def set_threads(n: int) -> None:
    """Sets ember's, torch's and (via threadpoolctl, if installed) NumPy BLAS's thread count."""
    global _blas_limiter
    from ember import _C

    _C.set_num_threads(n)
    torch = try_import_torch()
    if torch is not None:
        torch.set_num_threads(n)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return  # the child was started with OPENBLAS_NUM_THREADS=n, which suffices
    _blas_limiter = threadpool_limits(limits=n, user_api="blas")


def machine_info() -> dict[str, Any]:
    """CPU model, core count and library versions, for the record."""
    import numpy as np

    from ember import _C

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    torch = try_import_torch()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ember_isa": _C.get_isa(),
        "numpy": np.__version__,
        "torch": None if torch is None else torch.__version__,
        "python": platform.python_version(),
    }


def peak_gflops(threads: int, seconds: float = 0.5, dtype: str = "float32") -> float:
    """Measured FMA peak (GFLOPS) of this machine on `threads` threads, ember's active ISA."""
    from ember import _C

    _C.fma_peak_gflops(0.05, threads, dtype)  # wake the thread pool and the clock
    return max(_C.fma_peak_gflops(seconds, threads, dtype) for _ in range(2))


def calibrate_inner(fn: Callable[[], Any], min_sample_s: float) -> int:
    """Calls of `fn` per sample so that one sample lasts at least `min_sample_s`."""
    fn()
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-7)
    return max(1, int(min_sample_s / one + 0.5))


def interleaved(
    fns: dict[str, Callable[[], Any]],
    reps: int,
    min_sample_s: float = 2e-3,
    max_total_s: float | None = None,
) -> dict[str, float]:
    """Median seconds per call of each function, timed interleaved (see module docstring).

    Args:
        fns: name -> zero-argument callable.
        reps: repetitions (samples per function).
        min_sample_s: shortest sample; fast calls are repeated within a sample to reach it.
        max_total_s: stop early (after at least 3 repetitions) once this much time is spent.
    """
    names = list(fns)
    inner = {name: calibrate_inner(fn, min_sample_s) for name, fn in fns.items()}
    samples: dict[str, list[float]] = {name: [] for name in names}
    start = time.perf_counter()
    for rep in range(reps):
        order = names[rep % len(names):] + names[: rep % len(names)]
        for name in order:
            fn, n = fns[name], inner[name]
            fn()  # untimed: lets other libraries' spinning workers sleep, warms caches
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            samples[name].append((time.perf_counter() - t0) / n)
        if max_total_s is not None and rep >= 2 and time.perf_counter() - start > max_total_s:
            break
    return {name: statistics.median(v) for name, v in samples.items()}


def run_per_thread_count(
    module: str, thread_counts: Sequence[int], extra_args: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """Runs `python -m module --child --threads N ...` once per N and returns their JSON.

    The child must print one JSON document as the last line of its stdout. Its other output
    (progress lines) is passed through to stderr.
    """
    results = []
    for n in thread_counts:
        env = dict(os.environ)
        for var in THREAD_ENV_VARS:
            env[var] = str(n)
        for var, value in QUIET_POOL_ENV.items():
            env.setdefault(var, value)
        cmd = [sys.executable, "-m", module, "--child", "--threads", str(n), *extra_args]
        proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed with exit code {proc.returncode}")
        lines = proc.stdout.strip().splitlines()
        for line in lines[:-1]:
            print(line, file=sys.stderr)
        results.append(json.loads(lines[-1]))
    return results


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table: first column left-aligned, the others right-aligned."""

    def cell(v: Any) -> str:
        if v is None:
            return "-"
        if isinstance(v, float):
            return f"{v:.2f}" if abs(v) < 10 else f"{v:.1f}"
        return str(v)

    text = [[cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in text)) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.ljust(widths[i]) if i == 0 else v.rjust(widths[i]) for i, v in enumerate(values)
        ]
        return "  ".join(parts).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    out += [line(r) for r in text]
    return "\n".join(out)


def write_json(path: str, payload: dict[str, Any]) -> None:
    """Writes `payload` as indented JSON, atomically (ember.utils.atomic_write)."""
    from ember.utils import atomic_write

    text = json.dumps(payload, indent=2) + "\n"
    atomic_write(path, lambda f: f.write(text), mode="w")


def main(
    module: str,
    description: str,
    run_child: Callable[[int, bool], dict[str, Any]],
    render: Callable[[list[dict[str, Any]]], str],
    default_threads: str = "2",
    argv: Sequence[str] | None = None,
) -> None:
    """Command line shared by the benchmarks: ``--quick``, ``--json PATH``, ``--threads 1,2``.

    Each thread count runs ``run_child(threads, quick)`` in its own child process (see
    run_per_thread_count); the parent prints ``render(results)`` and writes the JSON.
    """
    import argparse

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="fewer cases and repetitions")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--threads", default=default_threads,
                        help="comma-separated thread counts")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    counts = [int(t) for t in args.threads.split(",")]
    if args.child:
        print(json.dumps(run_child(counts[0], args.quick)))
        return
    results = run_per_thread_count(module, counts, ["--quick"] if args.quick else [])
    print(render(results))
    if args.json:
        write_json(args.json, {
            "benchmark": module,
            "command": f"python -m {module} " + " ".join(sys.argv[1:]),
            "machine": machine_info(),
            "results": results,
        })
