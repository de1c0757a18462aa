"""ember's CUDA GEMM next to cuBLAS (torch.matmul with TF32 off) on the same GPU.

    python -m benchmarks.bench_cuda [--quick] [--json PATH]

Square and layer shapes in float32 (and float64 for the squares); each row gives ember's and
cuBLAS's GFLOPS, their ratio, and both as % of the device's float32 FMA peak measured in the
same run by a CuPy kernel of independent FMA chains. Times are CUDA-event medians of
interleaved repetitions (ember, cuBLAS, ember, ...), after a warm-up call each. Needs a GPU,
ember built with EMBER_CUDA=ON, CuPy, and torch with CUDA for the cuBLAS column.
"""
from __future__ import annotations

import argparse
import json
import statistics
from typing import Any, Callable, Dict, List

SQUARES = [1024, 2048, 4096]
LAYERS = [(128 * 28 * 28, 64, 576), (4096, 4096, 1024), (512, 1000, 2048), (8192, 256, 2304)]

_PEAK_SRC = r"""
extern "C" __global__ void fma_peak(float* out, int iters) {
  float a0 = threadIdx.x, a1 = a0 + 1, a2 = a0 + 2, a3 = a0 + 3;
  float a4 = a0 + 4, a5 = a0 + 5, a6 = a0 + 6, a7 = a0 + 7;
  const float m = 0.999f, c = 0.001f;
  for (int i = 0; i < iters; ++i) {
    a0 = fmaf(a0, m, c); a1 = fmaf(a1, m, c); a2 = fmaf(a2, m, c); a3 = fmaf(a3, m, c);
    a4 = fmaf(a4, m, c); a5 = fmaf(a5, m, c); a6 = fmaf(a6, m, c); a7 = fmaf(a7, m, c);
  }
  out[blockIdx.x * blockDim.x + threadIdx.x] = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
}
"""


def _time_ms(cp: Any, fn: Callable[[], Any], reps: int) -> List[float]:
    start, end = cp.cuda.Event(), cp.cuda.Event()
    out = []
    for _ in range(reps):
        start.record()
        fn()
        end.record()
        end.synchronize()
        out.append(cp.cuda.get_elapsed_time(start, end))
    return out


def fma_peak_gflops(cp: Any) -> float:
    kernel = cp.RawKernel(_PEAK_SRC, "fma_peak")
    sms = cp.cuda.Device().attributes["MultiProcessorCount"]
    blocks, threads, iters = sms * 32, 256, 4096
    out = cp.empty(blocks * threads, dtype=cp.float32)
    run = lambda: kernel((blocks,), (threads,), (out, cp.int32(iters)))  # noqa: E731
    run()
    ms = min(_time_ms(cp, run, 10))
    return 2.0 * 8 * iters * blocks * threads / (ms * 1e-3) / 1e9


def run(quick: bool) -> Dict[str, Any]:
    import cupy as cp

    from ember.cuda import kernels

    try:
        import torch

        torch.backends.cuda.matmul.allow_tf32 = False
        has_torch = torch.cuda.is_available()
    except ImportError:
        has_torch = False
    peak = fma_peak_gflops(cp)
    reps = 5 if quick else 15
    shapes = [(n, n, n, "float32") for n in SQUARES] + [(m, n, k, "float32")
                                                      for m, n, k in LAYERS]
    shapes += [(n, n, n, "float64") for n in SQUARES[:2]]
    rows = []
    for m, n, k, dtype in shapes:
        a = cp.random.standard_normal((m, k)).astype(dtype)
        b = cp.random.standard_normal((k, n)).astype(dtype)
        fns = {"ember": lambda: kernels.gemm(a, b)}
        if has_torch:
            ta, tb = torch.as_tensor(a, device="cuda"), torch.as_tensor(b, device="cuda")
            fns["cublas"] = lambda: ta @ tb
        for f in fns.values():
            f()
        samples: Dict[str, List[float]] = {name: [] for name in fns}
        for _ in range(reps):  # interleaved
            for name, f in fns.items():
                samples[name] += _time_ms(cp, f, 1)
        flops = 2.0 * m * n * k
        row = {"m": m, "n": n, "k": k, "dtype": dtype}
        for name, s in samples.items():
            row[name + "_gflops"] = flops / (statistics.median(s) * 1e-3) / 1e9
        rows.append(row)
    return {"device": cp.cuda.runtime.getDeviceProperties(0)["name"].decode(),
            "fp32_fma_peak_gflops": peak, "rows": rows}


def render(res: Dict[str, Any]) -> str:
    peak = res["fp32_fma_peak_gflops"]
    lines = [f"{res['device']}: fp32 FMA peak {peak:,.0f} GFLOPS (measured)",
             f"{'shape':>22} {'dtype':>8} {'ember GF':>10} {'cuBLAS GF':>10} {'x cuBLAS':>9} "
             f"{'ember %pk':>9} {'cuBLAS %pk':>10}"]
    for r in res["rows"]:
        e, c = r["ember_gflops"], r.get("cublas_gflops")
        shape = f"{r['m']}x{r['k']} @ {r['k']}x{r['n']}"
        lines.append(f"{shape:>22} {r['dtype']:>8} {e:10,.0f} "
                     f"{(f'{c:10,.0f}' if c else '         -')} "
                     f"{(f'{e / c:9.2f}' if c else '        -')} {100 * e / peak:9.1f} "
                     f"{(f'{100 * c / peak:10.1f}' if c else '         -')}")
    return "\n".join(lines)


def main(argv: List[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--json", metavar="PATH")
    a = p.parse_args(argv)
    import ember

    if not ember.cuda.is_available():
        raise SystemExit(f"bench_cuda: {ember.cuda.unavailable_reason()}")
    res = run(a.quick)
    print(render(res))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
