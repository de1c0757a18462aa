"""float32 GEMM: ember._C.gemm vs numpy.matmul (OpenBLAS) vs torch.matmul, 1 and 2 threads.

    python -m benchmarks.bench_gemm            # full run (about 2 minutes on 2 cores)
    python -m benchmarks.bench_gemm --quick    # fewer shapes and repetitions (~30 s)
    python -m benchmarks.bench_gemm --json results/gemm.json

Each thread count runs in a child process with OMP/OPENBLAS/MKL_NUM_THREADS set (see
benchmarks/_timing.py, which also explains the interleaved median timing). The FMA peak is
measured in the same child, and the table reports ember's GFLOPS as a percentage of it.
Every case is first checked against NumPy (float64 reference) so a fast wrong answer
cannot pass unnoticed.
"""

from __future__ import annotations

import sys
from typing import Any, NamedTuple

import numpy as np

from benchmarks import _timing


class Case(NamedTuple):
    m: int
    k: int
    n: int
    trans_a: bool = False
    trans_b: bool = False
    note: str = ""

    @property
    def label(self) -> str:
        a = f"({self.k}x{self.m})^T" if self.trans_a else f"{self.m}x{self.k}"
        b = f"({self.n}x{self.k})^T" if self.trans_b else f"{self.k}x{self.n}"
        return f"{a} @ {b}" + (f" {self.note}" if self.note else "")


SQUARE = [Case(s, s, s) for s in (64, 128, 256, 512, 1024, 2048)]
LAYERS = [
    Case(64, 784, 256, note="[mlp fc1]"),
    Case(128, 4096, 1000, note="[fc 4096->1000]"),
    Case(3136, 576, 64, note="[conv 3x3x64 im2col]"),
]
TRANSPOSED = [
    Case(512, 512, 512, trans_a=True),
    Case(512, 512, 512, trans_b=True),
    Case(1024, 1024, 1024, trans_a=True),
    Case(1024, 1024, 1024, trans_b=True),
    Case(128, 4096, 1000, trans_b=True, note="[linear x @ W^T]"),
]


def cases(quick: bool) -> list[Case]:
    if quick:
        return SQUARE[:5] + LAYERS + [TRANSPOSED[0], TRANSPOSED[1], TRANSPOSED[4]]
    return SQUARE + LAYERS + TRANSPOSED


def operands(case: Case, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Stored A and B (transposed storage where the case says so), float32 in [-1, 1)."""
    a_shape = (case.k, case.m) if case.trans_a else (case.m, case.k)
    b_shape = (case.n, case.k) if case.trans_b else (case.k, case.n)
    a = rng.uniform(-1, 1, a_shape).astype(np.float32)
    b = rng.uniform(-1, 1, b_shape).astype(np.float32)
    return a, b


def check(case: Case, a: np.ndarray, b: np.ndarray, got: np.ndarray) -> None:
    """Raises if ember's result is off by more than float32 rounding allows."""
    op_a = a.T if case.trans_a else a
    op_b = b.T if case.trans_b else b
    want = op_a.astype(np.float64) @ op_b.astype(np.float64)
    tol = 1e-5 * np.sqrt(case.k) * 4
    err = np.max(np.abs(got - want)) if got.size else 0.0
    if not err <= tol:
        raise AssertionError(f"gemm {case.label}: max abs error {err:.3g} > {tol:.3g}")


def run_child(threads: int, quick: bool) -> dict[str, Any]:
    """Measures every case at `threads` threads in this process."""
    from ember import _C

    _timing.set_threads(threads)
    torch = _timing.try_import_torch()
    peak = _timing.peak_gflops(threads, seconds=0.3 if quick else 0.6)
    print(f"[threads={threads}] FMA peak {peak:.1f} GFLOPS", file=sys.stderr, flush=True)
    rng = np.random.default_rng(0)
    rows = []
    for case in cases(quick):
        a, b = operands(case, rng)
        out = np.empty((case.m, case.n), np.float32)
        ta, tb = case.trans_a, case.trans_b
        op_a, op_b = (a.T if ta else a), (b.T if tb else b)
        check(case, a, b, _C.gemm(a, b, trans_a=ta, trans_b=tb))
        fns = {
            "ember": lambda: _C.gemm(a, b, out=out, trans_a=ta, trans_b=tb),
            "numpy": lambda: np.matmul(op_a, op_b, out=out),
        }
        if torch is not None:
            t_a, t_b = torch.from_numpy(a), torch.from_numpy(b)
            t_op_a, t_op_b = (t_a.t() if ta else t_a), (t_b.t() if tb else t_b)
            t_out = torch.empty(case.m, case.n, dtype=torch.float32)
            fns["torch"] = lambda: torch.matmul(t_op_a, t_op_b, out=t_out)
        secs = _timing.interleaved(
            fns,
            reps=7 if quick else 15,
            min_sample_s=1e-3 if quick else 2e-3,
            max_total_s=1.0 if quick else 4.0,
        )
        flops = 2.0 * case.m * case.n * case.k
        gflops = {name: flops / s * 1e-9 for name, s in secs.items()}
        rows.append({**case._asdict(), "label": case.label, "gflops": gflops})
        print(
            f"[threads={threads}] {case.label}: "
            + ", ".join(f"{k} {v:.1f}" for k, v in gflops.items()),
            file=sys.stderr,
            flush=True,
        )
    return {"threads": threads, "peak_gflops": peak, "isa": _C.get_isa(), "rows": rows}


def table(results: list[dict[str, Any]]) -> str:
    headers = [
        "shape (op(A) @ op(B))", "thr", "ember", "numpy", "torch",
        "ember/numpy", "ember/torch", "% peak",
    ]
    by_case: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
    for res in results:
        for row in res["rows"]:
            by_case.setdefault(row["label"], []).append((res, row))
    lines = []
    for label, entries in by_case.items():
        for res, row in entries:
            g = row["gflops"]
            torch_g = g.get("torch")
            lines.append([
                label, res["threads"], g["ember"], g["numpy"], torch_g,
                g["ember"] / g["numpy"], None if torch_g is None else g["ember"] / torch_g,
                100.0 * g["ember"] / res["peak_gflops"],
            ])
    peaks = ", ".join(f"{r['threads']} thr {r['peak_gflops']:.1f}" for r in results)
    isa = results[0].get("isa", "?") if results else "?"
    return (
        f"float32 GEMM, GFLOPS (2*m*n*k / median time). ember ISA path: {isa}. Measured FMA "
        f"peak ({isa}): {peaks} GFLOPS\n"
        + _timing.format_table(headers, lines)
    )


def main(argv: list[str] | None = None) -> None:
    _timing.main("benchmarks.bench_gemm", __doc__.splitlines()[0], run_child, table, "1,2", argv)


if __name__ == "__main__":
    main()
