"""Data loading throughput against training throughput: is the loader ever the bottleneck?

    python -m benchmarks.bench_data [--quick] [--threads 2] [--json PATH]

Loader: images/s of an epoch-slice of DataLoader batches with the standard augmentation
(pad 4 and random crop, horizontal flip, normalize), applied to the whole batch
(``batch_transform``), with 0 and 1 background threads. Fashion-MNIST-sized: the real
Fashion-MNIST training set when installed (else ember's embedded sample); CIFAR-sized:
random uint8 32x32x3 images (no CIFAR-10 on this machine; the cost does not depend on pixel
values). Training: images/s of ember training steps (forward, loss, backward, SGD step) of
LeNet-5 (batch 64) and ResNet-20 (batch 128) on the same thread count. The goal is loader
throughput >= 5x LeNet-5's training throughput. The last rows time whole LeNet-5 epochs
(loading + training) without and with prefetch, to show the overlap.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import numpy as np

from benchmarks import _timing
from benchmarks._models import lenet5, resnet20


def _standard(size: int, mean: Any, std: Any) -> Any:
    from ember.data import transforms as T

    return T.Compose([T.ToTensor(), T.RandomCrop(size, padding=4), T.RandomHorizontalFlip(),
                      T.Normalize(mean, std)])


def _loader_rate(loader: Any, batches: int) -> float:
    """Images per second over the first ``batches`` batches (after one warm-up batch)."""
    it = iter(loader)
    next(it)
    n, t0 = 0, time.perf_counter()
    for _ in range(batches):
        x, y = next(it)
        n += len(y)
    return n / (time.perf_counter() - t0)


def _train_rate(model: Any, x: Any, y: Any, steps: int) -> float:
    import ember
    from ember import nn

    opt = ember.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step() -> None:
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(3):  # warm-up: scratch buffers, caches, thread pools
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return steps * len(y) / (time.perf_counter() - t0)


def run_child(threads: int, quick: bool) -> dict[str, Any]:
    import ember
    from ember import nn
    from ember.data import ArrayDataset, DataLoader, datasets

    _timing.set_threads(threads)
    ember.manual_seed(0)
    try:
        fashion = datasets.FashionMNIST(train=True)
        fashion_name = "Fashion-MNIST (60k)"
    except datasets.DatasetError:
        fashion = datasets.EmbeddedFashionMNIST(train=True)
        fashion_name = "Fashion-MNIST sample (2k)"
    rng = np.random.default_rng(0)
    cifar = ArrayDataset(rng.integers(0, 256, (10000, 32, 32, 3), dtype=np.uint8),
                         rng.integers(0, 10, 10000))
    nb = 20 if quick else 60
    rows = []
    cases = [(f"{fashion_name}, 28x28x1", fashion, 28, (0.2860,), (0.3530,), (64, 256)),
             ("CIFAR-sized, 32x32x3", cifar, 32, (0.49, 0.48, 0.45), (0.25, 0.24, 0.26),
              (128,))]
    for name, ds, size, mean, std, batch_sizes in cases:
        for bs in batch_sizes:
            for workers in (0, 1):
                dl = DataLoader(ds, batch_size=bs, shuffle=True, num_workers=workers,
                                drop_last=True, batch_transform=_standard(size, mean, std))
                rate = _loader_rate(dl, min(nb, len(dl) - 2))
                rows.append({"what": f"loader {name}", "batch": bs, "workers": workers,
                             "images_per_s": rate})
                print(f"[threads={threads}] loader {name} batch {bs} workers {workers}: "
                      f"{rate:,.0f} img/s", file=sys.stderr, flush=True)
    x = ember.tensor(rng.standard_normal((64, 1, 28, 28)).astype(np.float32))
    y = ember.tensor(rng.integers(0, 10, 64))
    rows.append({"what": "train LeNet-5", "batch": 64, "workers": None,
                 "images_per_s": _train_rate(lenet5(nn), x, y, 20 if quick else 100)})
    x = ember.tensor(rng.standard_normal((128, 3, 32, 32)).astype(np.float32))
    y = ember.tensor(rng.integers(0, 10, 128))
    rows.append({"what": "train ResNet-20", "batch": 128, "workers": None,
                 "images_per_s": _train_rate(resnet20(nn, nn.functional), x, y,
                                             2 if quick else 4)})
    # Whole LeNet-5 epochs: load + augment + train, without and with a prefetch thread.
    sub = ember.data.Subset(fashion, np.arange(min(len(fashion), 6400 if quick else 19200)))
    for workers in (0, 1):
        model = lenet5(nn)
        opt = ember.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        dl = DataLoader(sub, batch_size=64, shuffle=True, num_workers=workers,
                        batch_transform=_standard(28, (0.2860,), (0.3530,)))
        t0 = time.perf_counter()
        for xb, yb in dl:
            loss = nn.functional.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
        rows.append({"what": "LeNet-5 epoch (load+train)", "batch": 64, "workers": workers,
                     "images_per_s": len(sub) / (time.perf_counter() - t0)})
    for r in rows[-4:]:
        print(f"[threads={threads}] {r['what']} workers {r['workers']}: "
              f"{r['images_per_s']:,.0f} img/s", file=sys.stderr, flush=True)
    return {"threads": threads, "rows": rows}


def table(results: list[dict[str, Any]]) -> str:
    lines = []
    for res in results:
        lenet = next(r["images_per_s"] for r in res["rows"] if r["what"] == "train LeNet-5")
        for r in res["rows"]:
            lines.append([r["what"], res["threads"], r["batch"],
                          "-" if r["workers"] is None else r["workers"], r["images_per_s"],
                          r["images_per_s"] / lenet])
    headers = ["what", "thr", "batch", "workers", "images/s", "x LeNet-5 training"]
    return ("data loading (pad-crop + flip + normalize, whole-batch) vs ember training "
            "throughput\n" + _timing.format_table(headers, lines))


def main(argv: list[str] | None = None) -> None:
    _timing.main("benchmarks.bench_data", __doc__.splitlines()[0], run_child, table, "2",
                 argv)


if __name__ == "__main__":
    main()
