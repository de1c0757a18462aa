"""Optimizer step cost: ember's fused C++ update vs an unfused NumPy expression chain vs
torch.optim, on LeNet-5's parameters (61,706), and as a fraction of a whole ember LeNet-5
training step (batch 64, 28x28: forward, loss, backward, step).

    python -m benchmarks.bench_optim [--quick] [--threads 2] [--json PATH]

The NumPy column is what an optimizer written as per-tensor NumPy expressions costs (the
pre-fusion design): it shows what the fused call saves. torch runs its default (foreach)
implementation on a torch LeNet-5 of the same shapes.
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Dict, List

import numpy as np

from benchmarks import _timing
from benchmarks._models import lenet5

OPTIMIZERS: Dict[str, Dict[str, Any]] = {
    "SGD momentum": {"cls": "SGD", "kw": {"lr": 0.01, "momentum": 0.9, "weight_decay": 5e-4}},
    "Adam": {"cls": "Adam", "kw": {"lr": 1e-3}},
    "AdamW": {"cls": "AdamW", "kw": {"lr": 1e-3, "weight_decay": 1e-2}},
    "RMSprop": {"cls": "RMSprop", "kw": {"lr": 1e-3, "momentum": 0.9}},
    "Adagrad": {"cls": "Adagrad", "kw": {"lr": 1e-2}},
    "Adadelta": {"cls": "Adadelta", "kw": {"lr": 1.0}},
}


def numpy_step(name: str, params: List[np.ndarray], grads: List[np.ndarray],
               state: Dict[int, Dict[str, np.ndarray]], t: int) -> None:
    """The same update written as NumPy expressions per tensor (unfused reference)."""
    kw = OPTIMIZERS[name]["kw"]
    for i, (p, g) in enumerate(zip(params, grads)):
        st = state.setdefault(i, {})
        if name == "SGD momentum":
            g = g + kw["weight_decay"] * p
            b = st.get("b")
            st["b"] = g.copy() if b is None else kw["momentum"] * b + g
            p -= kw["lr"] * st["b"]
        elif name in ("Adam", "AdamW"):
            if name == "AdamW":
                p *= 1 - kw["lr"] * kw["weight_decay"]
            m = st["m"] = 0.9 * st.get("m", 0) + 0.1 * g
            v = st["v"] = 0.999 * st.get("v", 0) + 0.001 * g * g
            p -= kw["lr"] / (1 - 0.9 ** t) * m / (np.sqrt(v) / np.sqrt(1 - 0.999 ** t) + 1e-8)
        elif name == "RMSprop":
            s = st["s"] = 0.99 * st.get("s", 0) + 0.01 * g * g
            b = st["b"] = kw["momentum"] * st.get("b", 0) + g / (np.sqrt(s) + 1e-8)
            p -= kw["lr"] * b
        elif name == "Adagrad":
            s = st["s"] = st.get("s", 0) + g * g
            p -= kw["lr"] * g / (np.sqrt(s) + 1e-10)
        else:  # Adadelta
            s = st["s"] = 0.9 * st.get("s", 0) + 0.1 * g * g
            d = np.sqrt(st.get("u", 0) + 1e-6) / np.sqrt(s + 1e-6) * g
            st["u"] = 0.9 * st.get("u", 0) + 0.1 * d * d
            p -= kw["lr"] * d


def run_child(threads: int, quick: bool) -> dict[str, Any]:
    import ember
    from ember import nn

    _timing.set_threads(threads)
    torch = _timing.try_import_torch()
    rng = np.random.default_rng(0)
    x = ember.tensor(rng.standard_normal((64, 1, 28, 28)).astype(np.float32))
    y = ember.tensor(rng.integers(0, 10, 64))
    ember.manual_seed(0)
    model = lenet5(nn)
    params = list(model.parameters())
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    n_params = sum(p.numel() for p in params)
    tmodel = tparams = None
    if torch is not None:
        tmodel = lenet5(torch.nn)
        tparams = list(tmodel.parameters())
        for tp, p in zip(tparams, params):
            tp.grad = torch.from_numpy(p.grad.numpy().copy())
    rows = []
    names = list(OPTIMIZERS)[:3] if quick else list(OPTIMIZERS)
    for name in names:
        spec = OPTIMIZERS[name]
        opt = getattr(ember.optim, spec["cls"])(params, **spec["kw"])
        np_params = [p.numpy().copy() for p in params]
        np_grads = [p.grad.numpy() for p in params]
        np_state: Dict[int, Dict[str, np.ndarray]] = {}
        counter = {"t": 0}

        def np_step() -> None:
            counter["t"] += 1
            numpy_step(name, np_params, np_grads, np_state, counter["t"])

        fns: Dict[str, Callable[[], Any]] = {"ember": opt.step, "numpy": np_step}
        if torch is not None:
            topt = getattr(torch.optim, spec["cls"])(tparams, **spec["kw"])
            fns["torch"] = topt.step

        def train_step() -> None:
            out = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            out.backward()
            opt.step()

        secs = _timing.interleaved(fns, reps=5 if quick else 11, min_sample_s=2e-3)
        step_train = _timing.interleaved({"train": train_step}, reps=5 if quick else 9,
                                         min_sample_s=5e-3)["train"]
        rows.append({"optimizer": name, "seconds": secs, "train_step": step_train})
        print(f"[threads={threads}] {name}: " + ", ".join(
            f"{k} {v * 1e6:.1f} us" for k, v in secs.items())
            + f"; ember LeNet train step {step_train * 1e3:.2f} ms", file=sys.stderr, flush=True)
        loss = nn.functional.cross_entropy(model(x), y)  # fresh grads for the next optimizer
        opt.zero_grad()
        loss.backward()
        if torch is not None:
            for tp, p in zip(tparams, params):
                tp.grad = torch.from_numpy(p.grad.numpy().copy())
    return {"threads": threads, "params": n_params, "rows": rows}


def table(results: list[dict[str, Any]]) -> str:
    headers = ["optimizer", "thr", "ember us", "numpy us", "torch us", "x numpy", "x torch",
               "% of train step"]
    lines = []
    for res in results:
        for row in res["rows"]:
            s = row["seconds"]
            lines.append([row["optimizer"], res["threads"], s["ember"] * 1e6, s["numpy"] * 1e6,
                          s["torch"] * 1e6 if "torch" in s else None, s["numpy"] / s["ember"],
                          s["torch"] / s["ember"] if "torch" in s else None,
                          100 * s["ember"] / row["train_step"]])
    n = results[0]["params"] if results else 0
    return (f"optimizer step on LeNet-5's {n} parameters (float32); 'x numpy' / 'x torch' = "
            "their time / ember's; last column: ember's step as a share of a whole ember "
            "LeNet-5 training step (batch 64)\n" + _timing.format_table(headers, lines))


def main(argv: list[str] | None = None) -> None:
    _timing.main("benchmarks.bench_optim", __doc__.splitlines()[0], run_child, table, "2",
                 argv)


if __name__ == "__main__":
    main()
