"""Whole training steps and inference, ember vs torch CPU: images/s and peak memory.

    python -m benchmarks.bench_train [--quick] [--threads 2] [--models mlp,lenet5,...]
                                     [--json PATH] [--png PATH]
    ember bench train

A training step is forward, cross-entropy loss, backward and an SGD step (momentum 0.9,
weight decay 5e-4); inference is a forward pass in eval mode without autograd (torch under
inference_mode), and for ember also through ember.utils.optimize_for_inference ('fused',
its deployment path; the ratio takes ember's faster of the two). Both
frameworks build the model from the same definition (``benchmarks/_models.py``), start from
the same weights and see the same batch; they are timed interleaved in one process (median
of repetitions, see ``_timing``) with the same thread count. For the convolutional models
torch is also timed in its channels_last memory format ('torch-cl'), its faster CPU layout.

Effective GFLOPS count 2 x multiply-adds of the forward pass (``ember.utils.summary``) and 3x
that for a training step (forward, backward-input, backward-weight); '% peak' is that over
the FMA peak measured in the same run. Peak memory: each framework runs a few steps of each
model in a fresh process that imports only that framework; 'peak MB' is that process's
maximum resident set, 'step MB' its growth over the resident set after import and model
construction (what the training step itself costs).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
from typing import Any, Callable, Dict, List, Optional

import numpy as np

from benchmarks import _models, _timing

# name -> (batch, input shape, builder taking (nn, F))
MODELS: Dict[str, Any] = {
    "mlp": (128, (1, 28, 28), lambda nn, F: _models.mlp(nn)),
    "lenet5": (64, (1, 28, 28), lambda nn, F: _models.lenet5(nn)),
    "resnet20": (128, (3, 32, 32), _models.resnet20),
    "vgg11_bn": (64, (3, 32, 32), lambda nn, F: _models.vgg11_bn(nn)),
}
CONV_MODELS = ("resnet20", "vgg11_bn")


def _batch(name: str) -> Any:
    batch, shape, _ = MODELS[name]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch,) + shape).astype(np.float32)
    y = rng.integers(0, 10, batch)
    return x, y


def ember_fns(name: str) -> Dict[str, Any]:
    import ember
    from ember import nn

    ember.manual_seed(0)
    model = MODELS[name][2](nn, nn.functional)
    x, y = (ember.tensor(a) for a in _batch(name))
    opt = ember.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    return step_fns(model, x, y, opt, nn.CrossEntropyLoss(), ember.no_grad)


def step_fns(model: Any, x: Any, y: Any, opt: Any, loss_fn: Any, no_grad: Any) -> Dict[str, Any]:
    """A training step and an inference of either framework's model (same code for both)."""

    def train() -> None:
        model.train()
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    def infer() -> None:
        model.eval()
        with no_grad():
            model(x)

    return {"model": model, "train": train, "infer": infer}


def torch_fns(name: str, ember_model: Any = None, channels_last: bool = False) -> Dict[str, Any]:
    import torch

    torch.manual_seed(0)
    model = MODELS[name][2](torch.nn, torch.nn.functional)
    if ember_model is not None:  # start from ember's weights
        with torch.no_grad():
            for tp, p in zip(model.parameters(), ember_model.parameters()):
                tp.copy_(torch.from_numpy(np.ascontiguousarray(p.detach().numpy())))
    xa, ya = _batch(name)
    x, y = torch.from_numpy(xa), torch.from_numpy(ya)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    return step_fns(model, x, y, opt, torch.nn.CrossEntropyLoss(), torch.inference_mode)


def fused_infer(name: str, model: Any) -> Optional[Callable[[], None]]:
    """Inference of ``model`` the way to deploy a trained ember model:
    ember.inference.optimize_for_inference (batch norm folded into the convolutions, ReLUs
    and residual adds done inside them, the forward replayed as a list of kernel calls). The
    names are imported from ember.utils, where every build has them, so that the benchmark
    also times earlier commits (those without optimize_for_inference: fuse_conv_bn alone)."""
    import ember

    x = ember.tensor(_batch(name)[0])
    try:
        from ember.utils import optimize_for_inference
    except ImportError:  # an older build
        try:
            from ember.utils import fuse_conv_bn
        except ImportError:
            return None
        if name not in CONV_MODELS:
            return None
        fused = fuse_conv_bn(model, x)

        def infer_fused() -> None:
            with ember.no_grad():
                fused(x)

        return infer_fused
    optimized = optimize_for_inference(model, x)

    def infer() -> None:
        optimized(x)

    return infer


def forward_flops(name: str, model: Any) -> int:
    from ember.utils import summary

    batch, shape, _ = MODELS[name]
    return summary(model, shape).total_flops * batch


def run_child(threads: int, quick: bool, names: List[str]) -> Dict[str, Any]:
    _timing.set_threads(threads)
    torch = _timing.try_import_torch()
    peak = _timing.peak_gflops(threads)
    rows = []
    for name in names:
        em = ember_fns(name)
        fns = {"ember": em}
        if torch is not None:
            fns["torch"] = torch_fns(name, em["model"])
            if name in CONV_MODELS:
                fns["torch-cl"] = torch_fns(name, em["model"], channels_last=True)
        flops = forward_flops(name, em["model"])
        reps = 5 if quick else 9
        train = _timing.interleaved({k: v["train"] for k, v in fns.items()}, reps=reps,
                                    min_sample_s=0.05, max_total_s=20 if quick else 90)
        infer_fns = {k: v["infer"] for k, v in fns.items()}
        fused = fused_infer(name, em["model"])
        if fused is not None:
            infer_fns["ember-fused"] = fused
        # Inferences are short: more repetitions for the same time, so that a few seconds of
        # load on a shared host move the median less.
        infer = _timing.interleaved(infer_fns, reps=7 if quick else 15, min_sample_s=0.05,
                                    max_total_s=10 if quick else 45)
        batch = MODELS[name][0]
        row = {"model": name, "batch": batch, "forward_flops": flops,
               "train_s": train, "infer_s": infer}
        rows.append(row)
        print(f"[threads={threads}] {name}: train " + ", ".join(
            f"{k} {batch / v:.0f} img/s" for k, v in train.items()) + "; infer " + ", ".join(
            f"{k} {batch / v:.0f} img/s" for k, v in infer.items()), file=sys.stderr,
            flush=True)
    return {"threads": threads, "peak_gflops": peak, "rows": rows}


def _status_mb(field: str) -> float:
    """A memory figure of this process from /proc/self/status (VmRSS, VmHWM), in MiB.
    VmHWM (the peak) belongs to this process's address space, so unlike ru_maxrss it does not
    inherit the parent's peak across fork + exec."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def run_memory(framework: str, name: str, threads: int) -> Dict[str, Any]:
    """Peak RSS of a few training steps and inferences in this (fresh) process."""
    import ember

    ember.set_num_threads(threads)
    if framework == "ember":
        fns = ember_fns(name)
    else:
        import torch

        torch.set_num_threads(threads)
        fns = torch_fns(name, channels_last=framework == "torch-cl")
    base = _status_mb("VmRSS")
    for _ in range(3):
        fns["train"]()
        fns["infer"]()
    peak = _status_mb("VmHWM")
    return {"peak_mb": peak, "step_mb": peak - base}


def memory(names: List[str], threads: int, with_torch: bool) -> Dict[str, Dict[str, Any]]:
    out: Dict[str, Dict[str, Any]] = {}
    for name in names:
        frameworks = ["ember"] + (["torch"] if with_torch else [])
        if with_torch and name in CONV_MODELS:
            frameworks.append("torch-cl")
        for fw in frameworks:
            proc = subprocess.run([sys.executable, "-m", "benchmarks.bench_train", "--memory",
                                   fw, "--models", name, "--threads", str(threads)],
                                  stdout=subprocess.PIPE, text=True, check=True)
            out.setdefault(name, {})[fw] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def render(results: List[Dict[str, Any]]) -> str:
    out = []
    for res in results:
        peak = res["peak_gflops"]
        headers = ["model", "thr", "batch", "ember train", "torch", "torch-cl", "x torch",
                   "x torch-cl", "GFLOPS", "% peak", "ember infer", "fused", "torch",
                   "torch-cl", "x torch", "x torch-cl", "peak MB", "torch", "step MB",
                   "torch"]
        lines = []
        for row in res["rows"]:
            b, tr, inf = row["batch"], row["train_s"], row["infer_s"]
            mem = res.get("memory", {}).get(row["model"], {})

            def ips(d: Dict[str, float], k: str) -> Any:
                return b / d[k] if k in d else None

            def ratio(d: Dict[str, float], k: str) -> Any:
                if k not in d:
                    return None
                return d[k] / min(v for f, v in d.items() if f.startswith("ember"))

            gflops = 3 * row["forward_flops"] / tr["ember"] / 1e9
            lines.append([row["model"], res["threads"], b, ips(tr, "ember"), ips(tr, "torch"),
                          ips(tr, "torch-cl"), ratio(tr, "torch"), ratio(tr, "torch-cl"),
                          gflops, 100 * gflops / peak, ips(inf, "ember"),
                          ips(inf, "ember-fused"), ips(inf, "torch"), ips(inf, "torch-cl"),
                          ratio(inf, "torch"), ratio(inf, "torch-cl"),
                          mem.get("ember", {}).get("peak_mb"),
                          mem.get("torch", {}).get("peak_mb"),
                          mem.get("ember", {}).get("step_mb"),
                          mem.get("torch", {}).get("step_mb")])
        out.append(f"images/s (higher is better); 'x torch' = ember's speed / torch's (for "
                   f"inference ember's faster of plain and 'fused' = optimize_for_inference, "
                   f"torch eager in inference_mode); FMA peak "
                   f"measured in this run: {peak:.0f} GFLOPS on {res['threads']} thread(s); "
                   f"GFLOPS = ember's effective training GFLOPS")
        out.append(_timing.format_table(headers, lines))
    return "\n".join(out)


def bar_chart(results: List[Dict[str, Any]], path: str) -> None:
    """Images/s of each model, training and inference, one bar per framework."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    res = results[-1]
    fws = ["ember", "ember-fused", "torch", "torch-cl"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    for ax, key, title in ((axes[0], "train_s", "training step"),
                           (axes[1], "infer_s", "inference")):
        names = [r["model"] for r in res["rows"]]
        for j, fw in enumerate(fws):
            vals = [r["batch"] / r[key][fw] if fw in r[key] else 0.0 for r in res["rows"]]
            ax.bar(np.arange(len(names)) + (j - 1.5) * 0.2, vals, 0.2, label=fw)
        ax.set_xticks(np.arange(len(names)))
        ax.set_xticklabels(names)
        ax.set_yscale("log")
        ax.set_ylabel("images/s")
        ax.set_title(f"{title}, {res['threads']} thread(s)")
        ax.legend()
    fig.tight_layout()
    from ember.utils import atomic_write

    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=110))
    plt.close(fig)


def main(argv: List[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer repetitions")
    p.add_argument("--threads", default="2", help="comma-separated thread counts")
    p.add_argument("--models", default=",".join(MODELS), help="comma-separated model names")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    p.add_argument("--png", metavar="PATH", help="also draw a bar chart (needs matplotlib)")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory runs")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--memory", metavar="FRAMEWORK", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    names = a.models.split(",")
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        p.error(f"unknown model(s) {unknown}; available: {', '.join(MODELS)}")
    counts = [int(t) for t in a.threads.split(",")]
    if a.memory:
        print(json.dumps(run_memory(a.memory, names[0], counts[0])))
        return
    extra = ["--models", a.models] + (["--quick"] if a.quick else [])
    if a.child:
        print(json.dumps(run_child(counts[0], a.quick, names)))
        return
    results = _timing.run_per_thread_count("benchmarks.bench_train", counts, extra)
    if not a.no_memory:
        with_torch = importlib.util.find_spec("torch") is not None  # not imported here
        for res in results:
            res["memory"] = memory(names, res["threads"], with_torch)
    print(render(results))
    if a.json:
        _timing.write_json(a.json, {"benchmark": "benchmarks.bench_train",
                                    "command": "python -m benchmarks.bench_train " +
                                    " ".join(sys.argv[1:]),
                                    "machine": _timing.machine_info(), "results": results})
    if a.png:
        try:
            bar_chart(results, a.png)
        except ImportError:
            print("--png: matplotlib is not installed; no chart written", file=sys.stderr)


if __name__ == "__main__":
    main()
