"""Convolution: forward, backward-input, backward-weight on real layer shapes, ember vs a
NumPy im2col + matmul reference vs torch, float32.

    python -m benchmarks.bench_conv            # 2 threads (about 2 minutes)
    python -m benchmarks.bench_conv --quick    # fewer layers and repetitions
    python -m benchmarks.bench_conv --threads 1,2 --json results/conv.json

Runs in a child process per thread count (see benchmarks/_timing.py for the interleaved
median timing and thread set-up); the FMA peak is measured in the same child. ember is timed
at its C++ entry points (_C.conv2d_*), torch at aten's convolution and convolution_backward
with one output requested at a time, the NumPy reference with im2col by strided views +
numpy.matmul (OpenBLAS) and col2im by strided adds. Every ember result is checked against
torch (or the NumPy reference) before timing.
"""

from __future__ import annotations

import sys
from typing import Any, NamedTuple

import numpy as np

from benchmarks import _timing


class Layer(NamedTuple):
    name: str
    n: int
    c: int
    h: int
    k: int
    r: int
    stride: int = 1
    pad: int = 0

    @property
    def out(self) -> int:
        return (self.h + 2 * self.pad - self.r) // self.stride + 1

    @property
    def flops(self) -> float:
        return 2.0 * self.n * self.k * self.out ** 2 * self.c * self.r ** 2


LAYERS = [
    Layer("LeNet c1 1->6 5x5 28", 64, 1, 28, 6, 5),
    Layer("LeNet c2 6->16 5x5 12", 64, 6, 12, 16, 5),
    Layer("AlexNet c1 3->96 11x11 s4 224", 8, 3, 224, 96, 11, 4, 2),
    Layer("VGG 64->64 3x3 56", 8, 64, 56, 64, 3, 1, 1),
    Layer("ResNet 64->64 3x3 32", 32, 64, 32, 64, 3, 1, 1),
    Layer("ResNet 128->128 3x3 16", 32, 128, 16, 128, 3, 1, 1),
    Layer("ResNet 256->256 3x3 8", 32, 256, 8, 256, 3, 1, 1),
    Layer("ResNet 64->64 3x3 56", 32, 64, 56, 64, 3, 1, 1),
    Layer("ResNet 1x1 64->128 s2 32", 32, 64, 32, 128, 1, 2),
    Layer("ResNet 1x1 256->64 56", 32, 256, 56, 64, 1),
    Layer("VGG 512->512 3x3 4", 64, 512, 4, 512, 3, 1, 1),
    Layer("VGG 512->512 3x3 2", 64, 512, 2, 512, 3, 1, 1),
]
QUICK = [0, 1, 4, 5, 8]


# ------------------------------------------------------------------ NumPy reference
def _im2col(x: np.ndarray, r: int, stride: int, pad: int) -> np.ndarray:
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))) if pad else x
    win = np.lib.stride_tricks.sliding_window_view(xp, (r, r), axis=(2, 3))
    win = win[:, :, ::stride, ::stride]                      # n, c, p, q, r, s
    n, c, p, q = win.shape[:4]
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(n * p * q, c * r * r)


def np_forward(x, w, stride, pad):
    n, k = x.shape[0], w.shape[0]
    cols = _im2col(x, w.shape[2], stride, pad)
    p = (x.shape[2] + 2 * pad - w.shape[2]) // stride + 1
    y = cols @ w.reshape(k, -1).T
    return y.reshape(n, p, p, k).transpose(0, 3, 1, 2)


def np_backward_weight(x, dy, r, stride, pad):
    n, k = dy.shape[:2]
    cols = _im2col(x, r, stride, pad)
    return (dy.transpose(1, 0, 2, 3).reshape(k, -1) @ cols).reshape(k, x.shape[1], r, r)


def np_backward_input(dy, w, h, stride, pad):
    n, k, p, _ = dy.shape
    c, r = w.shape[1], w.shape[2]
    dcols = dy.transpose(0, 2, 3, 1).reshape(-1, k) @ w.reshape(k, -1)
    dcols = dcols.reshape(n, p, p, c, r, r)
    dxp = np.zeros((n, c, h + 2 * pad, h + 2 * pad), dy.dtype)
    for i in range(r):
        for j in range(r):
            dxp[:, :, i:i + stride * (p - 1) + 1:stride, j:j + stride * (p - 1) + 1:stride] += \
                dcols[:, :, :, :, i, j].transpose(0, 3, 1, 2)
    return dxp[:, :, pad:pad + h, pad:pad + h]


# ------------------------------------------------------------------ measurement
def run_child(threads: int, quick: bool) -> dict[str, Any]:
    from ember import _C

    _timing.set_threads(threads)
    torch = _timing.try_import_torch()
    peak = _timing.peak_gflops(threads, seconds=0.3 if quick else 0.5)
    print(f"[threads={threads}] FMA peak {peak:.1f} GFLOPS", file=sys.stderr, flush=True)
    rng = np.random.default_rng(0)
    rows = []
    layers = [LAYERS[i] for i in QUICK] if quick else LAYERS
    for L in layers:
        x = rng.standard_normal((L.n, L.c, L.h, L.h)).astype(np.float32)
        w = rng.standard_normal((L.k, L.c, L.r, L.r)) / np.sqrt(L.c * L.r * L.r)
        w = w.astype(np.float32)
        dy = rng.standard_normal((L.n, L.k, L.out, L.out)).astype(np.float32)
        st, pd, dl = (L.stride,) * 2, (L.pad,) * 2, (1, 1)
        ember = {
            "forward": lambda: _C.conv2d_forward(x, w, None, st, pd, dl, 1),
            "backward_input": lambda: _C.conv2d_backward_input(dy, w, (L.h, L.h), st, pd, dl, 1),
            "backward_weight": lambda: _C.conv2d_backward_weight(x, dy, (L.r, L.r), st, pd, dl,
                                                                 1, False),
        }
        numpy = {
            "forward": lambda: np_forward(x, w, L.stride, L.pad),
            "backward_input": lambda: np_backward_input(dy, w, L.h, L.stride, L.pad),
            "backward_weight": lambda: np_backward_weight(x, dy, L.r, L.stride, L.pad),
        }
        theirs: dict[str, Any] = {}
        if torch is not None:
            tx, tw, tdy = torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(dy)
            aten = torch.ops.aten

            def tb(mask, tx=tx, tw=tw, tdy=tdy):
                return aten.convolution_backward(tdy, tx, tw, None, list(st), list(pd),
                                                 list(dl), False, [0, 0], 1, mask)

            theirs = {
                "forward": lambda: torch.nn.functional.conv2d(tx, tw, None, st, pd),
                "backward_input": lambda: tb([True, False, False]),
                "backward_weight": lambda: tb([False, True, False]),
            }
            ref = {"forward": theirs["forward"]().numpy(),
                   "backward_input": tb([True, False, False])[0].numpy(),
                   "backward_weight": tb([False, True, False])[1].numpy()}
        else:
            ref = {k: f() for k, f in numpy.items()}
        for pass_name in ("forward", "backward_input", "backward_weight"):
            got = ember[pass_name]()
            got = got[0] if isinstance(got, tuple) else got
            want = ref[pass_name]
            err = np.max(np.abs(got - want)) / (np.max(np.abs(want)) + 1e-30)
            if not err < 1e-4:
                raise AssertionError(f"{L.name} {pass_name}: relative error {err:.3g}")
            fns = {"ember": ember[pass_name], "numpy": numpy[pass_name]}
            if pass_name in theirs:
                fns["torch"] = theirs[pass_name]
            secs = _timing.interleaved(fns, reps=5 if quick else 9, min_sample_s=2e-3,
                                       max_total_s=2.0 if quick else 5.0)
            rows.append({"layer": L.name, "pass": pass_name, "flops": L.flops,
                         "seconds": secs})
            print(f"[threads={threads}] {L.name} {pass_name}: " +
                  ", ".join(f"{k} {v * 1e3:.2f} ms" for k, v in secs.items()),
                  file=sys.stderr, flush=True)
    return {"threads": threads, "peak_gflops": peak, "rows": rows}


def table(results: list[dict[str, Any]]) -> str:
    headers = ["layer", "pass", "thr", "ember ms", "numpy ms", "torch ms", "GFLOPS",
               "% peak", "x numpy", "x torch"]
    lines = []
    for res in results:
        for row in res["rows"]:
            s = row["seconds"]
            gf = row["flops"] / s["ember"] * 1e-9
            lines.append([row["layer"], row["pass"].replace("backward_", "bwd-"), res["threads"],
                          s["ember"] * 1e3, s["numpy"] * 1e3,
                          s["torch"] * 1e3 if "torch" in s else None, gf,
                          100 * gf / res["peak_gflops"], s["numpy"] / s["ember"],
                          s["torch"] / s["ember"] if "torch" in s else None])
    peaks = ", ".join(f"{r['threads']} thr {r['peak_gflops']:.1f}" for r in results)
    return ("conv2d float32; 'x numpy' / 'x torch' = their time / ember's time (> 1: ember "
            f"faster). Measured FMA peak: {peaks} GFLOPS\n" + _timing.format_table(headers, lines))


def main(argv: list[str] | None = None) -> None:
    _timing.main("benchmarks.bench_conv", __doc__.splitlines()[0], run_child, table, "2", argv)


if __name__ == "__main__":
    main()
