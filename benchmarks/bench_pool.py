"""Pooling (memory-bound): max and average pooling forward and backward, ember vs NumPy vs
torch, float32, reported as GB/s against a copy of the same size measured in the same run.

    python -m benchmarks.bench_pool [--quick] [--threads 2] [--json PATH]

Bytes moved: forward reads the input and writes the output (max pooling also writes int64
indices); backward reads the output gradient (and indices) and writes the input gradient.
"copy GB/s" is numpy.copyto of an input-sized array (read + write), the machine's practical
bandwidth at that size.
"""

from __future__ import annotations

import sys
from typing import Any, NamedTuple

import numpy as np

from benchmarks import _timing


class Case(NamedTuple):
    name: str
    shape: tuple
    kind: str        # "max" or "avg"
    k: int
    s: int
    p: int = 0


CASES = [
    Case("LeNet max 2x2 (64,6,24,24)", (64, 6, 24, 24), "max", 2, 2),
    Case("VGG max 2x2 (32,64,56,56)", (32, 64, 56, 56), "max", 2, 2),
    Case("ResNet stem max 3x3 s2 (32,64,112,112)", (32, 64, 112, 112), "max", 3, 2, 1),
    Case("avg 2x2 (32,64,56,56)", (32, 64, 56, 56), "avg", 2, 2),
    Case("avg 3x3 s1 p1 (32,64,28,28)", (32, 64, 28, 28), "avg", 3, 1, 1),
]


def np_pool(x: np.ndarray, c: Case) -> np.ndarray:
    fill = -np.inf if c.kind == "max" else 0.0
    xp = np.pad(x, ((0, 0), (0, 0), (c.p, c.p), (c.p, c.p)), constant_values=fill) if c.p else x
    win = np.lib.stride_tricks.sliding_window_view(xp, (c.k, c.k), axis=(2, 3))[:, :, ::c.s, ::c.s]
    return win.max(axis=(4, 5)) if c.kind == "max" else win.mean(axis=(4, 5))


def np_pool_backward(dy: np.ndarray, x: np.ndarray, y: np.ndarray, c: Case) -> np.ndarray:
    """Reference backward by strided adds over kernel offsets (max: to positions equal to the
    max; ties would double-count, which the benchmark's data, distinct per plane, has not)."""
    n, ch, h, w = x.shape
    dxp = np.zeros((n, ch, h + 2 * c.p, w + 2 * c.p), x.dtype)
    xp = np.pad(x, ((0, 0), (0, 0), (c.p, c.p), (c.p, c.p))) if c.p else x
    P, Q = dy.shape[2:]
    for i in range(c.k):
        for j in range(c.k):
            sl = (slice(None), slice(None), slice(i, i + c.s * (P - 1) + 1, c.s),
                  slice(j, j + c.s * (Q - 1) + 1, c.s))
            if c.kind == "max":
                dxp[sl] += dy * (xp[sl] == y)
            else:
                dxp[sl] += dy / (c.k * c.k)
    return dxp[:, :, c.p:c.p + h, c.p:c.p + w]


def run_child(threads: int, quick: bool) -> dict[str, Any]:
    from ember import _C

    _timing.set_threads(threads)
    torch = _timing.try_import_torch()
    rng = np.random.default_rng(0)
    rows = []
    for c in (CASES[:3] if quick else CASES):
        # Distinct values within each plane (a shuffled 0..H*W-1, scaled): with 25M random
        # float32 values some 3x3 windows hold ties, where the argmax is ambiguous.
        n_, ch_, h_, w_ = c.shape
        plane = np.broadcast_to(np.arange(h_ * w_, dtype=np.float32), (n_ * ch_, h_ * w_))
        x = np.ascontiguousarray((rng.permuted(plane, axis=1) / (h_ * w_) - 0.5).reshape(c.shape))
        kk, ss, pp = (c.k, c.k), (c.s, c.s), (c.p, c.p)
        if c.kind == "max":
            y, idx = _C.max_pool2d_forward(x, kk, ss, pp, (1, 1), False)
            fwd = lambda: _C.max_pool2d_forward(x, kk, ss, pp, (1, 1), False)  # noqa: E731
            dy = rng.standard_normal(y.shape).astype(np.float32)
            bwd = lambda: _C.pool2d_index_backward(dy, idx, c.shape[2:])  # noqa: E731
            fwd_bytes = x.nbytes + y.nbytes + idx.nbytes
            bwd_bytes = dy.nbytes + idx.nbytes + x.nbytes
        else:
            y = _C.avg_pool2d_forward(x, kk, ss, pp, False, True)
            fwd = lambda: _C.avg_pool2d_forward(x, kk, ss, pp, False, True)  # noqa: E731
            dy = rng.standard_normal(y.shape).astype(np.float32)
            bwd = lambda: _C.avg_pool2d_backward(dy, c.shape[2:], kk, ss, pp, False, True)  # noqa: E731
            fwd_bytes = x.nbytes + y.nbytes
            bwd_bytes = dy.nbytes + x.nbytes
        np.testing.assert_allclose(y, np_pool(x, c), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(bwd(), np_pool_backward(dy, x, y, c), rtol=1e-4, atol=1e-5)
        dst = np.empty_like(x)
        passes = {"forward": ({"ember": fwd, "numpy": lambda: np_pool(x, c)}, fwd_bytes),
                  "backward": ({"ember": bwd, "numpy": lambda: np_pool_backward(dy, x, y, c)},
                               bwd_bytes)}
        if torch is not None:
            tx, tdy = torch.from_numpy(x), torch.from_numpy(dy)
            aten = torch.ops.aten
            if c.kind == "max":
                _, tidx = aten.max_pool2d_with_indices(tx, kk, ss, pp, (1, 1), False)
                passes["forward"][0]["torch"] = lambda: aten.max_pool2d_with_indices(
                    tx, kk, ss, pp, (1, 1), False)
                passes["backward"][0]["torch"] = lambda: aten.max_pool2d_with_indices_backward(
                    tdy, tx, kk, ss, pp, (1, 1), False, tidx)
            else:
                passes["forward"][0]["torch"] = lambda: aten.avg_pool2d(tx, kk, ss, pp, False,
                                                                         True)
                passes["backward"][0]["torch"] = lambda: aten.avg_pool2d_backward(
                    tdy, tx, kk, ss, pp, False, True, None)
        for pass_name, (fns, nbytes) in passes.items():
            fns = dict(fns, copy=lambda: np.copyto(dst, x))
            secs = _timing.interleaved(fns, reps=5 if quick else 9, min_sample_s=2e-3,
                                       max_total_s=2.0 if quick else 4.0)
            rows.append({"case": c.name, "pass": pass_name, "bytes": nbytes, "seconds": secs,
                         "copy_bytes": 2 * x.nbytes})
            print(f"[threads={threads}] {c.name} {pass_name}: " +
                  ", ".join(f"{k} {v * 1e3:.2f} ms" for k, v in secs.items()),
                  file=sys.stderr, flush=True)
    return {"threads": threads, "rows": rows}


def table(results: list[dict[str, Any]], what: str) -> str:
    headers = ["case", "pass", "thr", "ember ms", "numpy ms", "torch ms", "ember GB/s",
               "copy GB/s", "x numpy", "x torch"]
    lines = []
    for res in results:
        for row in res["rows"]:
            s = row["seconds"]
            lines.append([row["case"], row["pass"], res["threads"], s["ember"] * 1e3,
                          s["numpy"] * 1e3, s["torch"] * 1e3 if "torch" in s else None,
                          row["bytes"] / s["ember"] * 1e-9, row["copy_bytes"] / s["copy"] * 1e-9,
                          s["numpy"] / s["ember"],
                          s["torch"] / s["ember"] if "torch" in s else None])
    return (f"{what} float32; 'x numpy' / 'x torch' = their time / ember's (> 1: ember faster)\n"
            + _timing.format_table(headers, lines))


def main(argv: list[str] | None = None) -> None:
    _timing.main("benchmarks.bench_pool", __doc__.splitlines()[0], run_child,
                 lambda r: table(r, "pooling"), "2", argv)


if __name__ == "__main__":
    main()
