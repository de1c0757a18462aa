"""Per-op Python overhead: the cost of a tiny op, where the arithmetic is nothing and the
framework's dispatch, autograd bookkeeping and tensor creation are everything.

    python -m benchmarks.bench_overhead [--quick] [--threads 1] [--json PATH]

Cases (4-element float32 tensors that require grad, so every op records a graph node):
'add forward' is ``a + b``; 'relu forward' is ``relu(a)``; 'linear forward' is a 4x4 layer
on a 1x4 input; 'two-node fwd+bwd' is ``(a * b).sum().backward()`` (two graph nodes, the
engine, gradient accumulation into two leaves). ember and torch are timed interleaved in one
process (median of repetitions, many calls per sample). Targets (docs/results.md): forward
<= 5 us; two-node forward+backward <= torch's.
"""
from __future__ import annotations

import sys
from typing import Any, Dict

import numpy as np

from benchmarks import _timing


def cases(torch: Any) -> Dict[str, Dict[str, Any]]:
    import ember

    a = ember.tensor(np.ones(4, np.float32), requires_grad=True)
    b = ember.tensor(np.full(4, 2.0, np.float32), requires_grad=True)
    lin = ember.nn.Linear(4, 4)
    xin = ember.tensor(np.ones((1, 4), np.float32))
    out: Dict[str, Dict[str, Any]] = {
        "add forward": {"ember": lambda: a + b},
        "relu forward": {"ember": lambda: ember.relu(a)},
        "linear forward": {"ember": lambda: lin(xin)},
        "two-node fwd+bwd": {"ember": lambda: (a * b).sum().backward()},
    }
    if torch is not None:
        ta = torch.ones(4, requires_grad=True)
        tb = torch.full((4,), 2.0, requires_grad=True)
        tlin = torch.nn.Linear(4, 4)
        txin = torch.ones(1, 4)
        out["add forward"]["torch"] = lambda: ta + tb
        out["relu forward"]["torch"] = lambda: torch.relu(ta)
        out["linear forward"]["torch"] = lambda: tlin(txin)
        out["two-node fwd+bwd"]["torch"] = lambda: (ta * tb).sum().backward()
    return out


def run_child(threads: int, quick: bool) -> Dict[str, Any]:
    _timing.set_threads(threads)
    torch = _timing.try_import_torch()
    rows = []
    for name, fns in cases(torch).items():
        secs = _timing.interleaved(fns, reps=5 if quick else 15, min_sample_s=0.02)
        rows.append({"case": name, "seconds": secs})
        print(f"[threads={threads}] {name}: " + ", ".join(
            f"{k} {v * 1e6:.2f} us" for k, v in secs.items()), file=sys.stderr, flush=True)
    return {"threads": threads, "rows": rows}


def table(results: list) -> str:
    headers = ["case", "thr", "ember us", "torch us", "x torch"]
    lines = []
    for res in results:
        for row in res["rows"]:
            s = row["seconds"]
            t = s.get("torch")
            lines.append([row["case"], res["threads"], s["ember"] * 1e6,
                          None if t is None else t * 1e6, None if t is None else t / s["ember"]])
    return ("per-op overhead (4-element tensors with requires_grad); 'x torch' = torch's time "
            "/ ember's (> 1: ember faster)\n" + _timing.format_table(headers, lines))


def main(argv: list | None = None) -> None:
    _timing.main("benchmarks.bench_overhead", __doc__.splitlines()[0], run_child, table, "1",
                 argv)


if __name__ == "__main__":
    main()
