"""Batch norm (memory-bound), training forward and backward, ember vs NumPy vs torch,
float32, as GB/s against a same-size copy measured in the same run.

    python -m benchmarks.bench_norm [--quick] [--threads 2] [--json PATH]

Bytes: forward reads x once and writes y (the minimum; statistics need a read too, so an
implementation that reads x twice moves 1.5x this); backward reads x and dy and writes dx.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from benchmarks import _timing
from benchmarks.bench_pool import table as _table

SHAPES = [(32, 64, 56, 56), (128, 16, 32, 32), (128, 64, 16, 16), (128, 256, 8, 8)]


def np_forward(x, w, b, eps=1e-5):
    mean = x.mean(axis=(0, 2, 3), keepdims=True)
    var = x.var(axis=(0, 2, 3), keepdims=True)
    invstd = 1 / np.sqrt(var + eps)
    return (x - mean) * invstd * w.reshape(1, -1, 1, 1) + b.reshape(1, -1, 1, 1), mean, invstd


def np_backward(dy, x, w, mean, invstd):
    m = x.shape[0] * x.shape[2] * x.shape[3]
    xhat = (x - mean) * invstd
    db = dy.sum(axis=(0, 2, 3))
    dg = (dy * xhat).sum(axis=(0, 2, 3))
    dx = w.reshape(1, -1, 1, 1) * invstd / m * (m * dy - db.reshape(1, -1, 1, 1)
                                                - xhat * dg.reshape(1, -1, 1, 1))
    return dx, dg, db


def run_child(threads: int, quick: bool) -> dict[str, Any]:
    from ember import _C

    _timing.set_threads(threads)
    torch = _timing.try_import_torch()
    rng = np.random.default_rng(0)
    rows = []
    for shape in (SHAPES[:2] if quick else SHAPES):
        n, c = shape[:2]
        x = rng.standard_normal(shape).astype(np.float32)
        dy = rng.standard_normal(shape).astype(np.float32)
        w = rng.standard_normal(c).astype(np.float32)
        b = rng.standard_normal(c).astype(np.float32)
        x3, dy3 = x.reshape(n, c, -1), dy.reshape(n, c, -1)

        def e_fwd():  # what BatchNorm2d's training forward calls
            y, mean, _, invstd = _C.batch_norm_forward_train(x3, w, b, 1e-5)
            return y, mean, invstd

        y, mean, invstd = e_fwd()
        e_bwd = lambda: _C.batch_norm_backward(x3, dy3, mean, invstd, w, True)  # noqa: E731
        ry, rmean, rinv = np_forward(x, w, b)
        np.testing.assert_allclose(y.reshape(shape), ry, rtol=1e-3, atol=1e-3)
        np.testing.assert_allclose(e_bwd()[0].reshape(shape),
                                   np_backward(dy, x, w, rmean, rinv)[0], rtol=1e-3, atol=1e-3)
        dst = np.empty_like(x)
        passes = {"train forward": ({"ember": e_fwd, "numpy": lambda: np_forward(x, w, b)},
                                    2 * x.nbytes),
                  "backward": ({"ember": e_bwd,
                                "numpy": lambda: np_backward(dy, x, w, rmean, rinv)},
                               3 * x.nbytes)}
        if torch is not None:
            aten = torch.ops.aten
            tx, tdy, tw, tb = (torch.from_numpy(a) for a in (x, dy, w, b))
            rm, rv = torch.zeros(c), torch.ones(c)
            _, sm, si = aten.native_batch_norm(tx, tw, tb, rm, rv, True, 0.1, 1e-5)
            passes["train forward"][0]["torch"] = lambda: aten.native_batch_norm(
                tx, tw, tb, rm, rv, True, 0.1, 1e-5)
            passes["backward"][0]["torch"] = lambda: aten.native_batch_norm_backward(
                tdy, tx, tw, rm, rv, sm, si, True, 1e-5, [True, True, True])
        for pass_name, (fns, nbytes) in passes.items():
            fns = dict(fns, copy=lambda: np.copyto(dst, x))
            secs = _timing.interleaved(fns, reps=5 if quick else 9, min_sample_s=2e-3,
                                       max_total_s=2.0 if quick else 4.0)
            rows.append({"case": f"BatchNorm2d {shape}", "pass": pass_name, "bytes": nbytes,
                         "seconds": secs, "copy_bytes": 2 * x.nbytes})
            print(f"[threads={threads}] {shape} {pass_name}: " +
                  ", ".join(f"{k} {v * 1e3:.2f} ms" for k, v in secs.items()),
                  file=sys.stderr, flush=True)
    return {"threads": threads, "rows": rows}


def main(argv: list[str] | None = None) -> None:
    _timing.main("benchmarks.bench_norm", __doc__.splitlines()[0], run_child,
                 lambda r: _table(r, "batch norm (training)"), "2", argv)


if __name__ == "__main__":
    main()
