"""Train the same MLP on the two-spirals problem with each of ember's optimizers and compare.

    python examples/optimizers.py [--epochs 150] [--seed 0]

Same data order, same initial weights (seeded), same epochs for every optimizer; each has
its usual learning rate, with a cosine schedule down to zero. Prints final loss and training
and held-out accuracy per optimizer (see docs/results.md for a recorded run).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import ember
from ember import nn
from ember.data import two_spirals

# name -> (optimizer class, keyword arguments)
RECIPES = {
    "SGD": (ember.optim.SGD, dict(lr=0.3)),
    "SGD momentum": (ember.optim.SGD, dict(lr=0.05, momentum=0.9)),
    "SGD Nesterov": (ember.optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True)),
    "Adam": (ember.optim.Adam, dict(lr=0.01)),
    "AdamW": (ember.optim.AdamW, dict(lr=0.01, weight_decay=1e-4)),
    "RMSprop": (ember.optim.RMSprop, dict(lr=0.003)),
    "Adagrad": (ember.optim.Adagrad, dict(lr=0.1)),
    "Adadelta": (ember.optim.Adadelta, dict(lr=1.0)),
}


def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    with ember.no_grad():
        return float((model(ember.from_numpy(x)).argmax(dim=1).numpy() == y).mean())


def run(name: str, epochs: int, seed: int) -> dict:
    cls, kwargs = RECIPES[name]
    ember.manual_seed(seed)
    x, y = two_spirals(500, seed=seed)
    x_test, y_test = two_spirals(500, seed=seed + 1)
    model = nn.Sequential(nn.Linear(2, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(),
                          nn.Linear(64, 2))
    opt = cls(model.parameters(), **kwargs)
    steps_per_epoch = (len(x) + 63) // 64
    sched = ember.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * steps_per_epoch)
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    loss = None
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for i in range(0, len(x), 64):
            idx = order[i:i + 64]
            loss = nn.functional.cross_entropy(model(ember.from_numpy(x[idx])),
                                               ember.from_numpy(y[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    return {"optimizer": name, "loss": float(loss), "train_acc": accuracy(model, x, y),
            "test_acc": accuracy(model, x_test, y_test),
            "seconds": time.perf_counter() - start}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, default=150)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    print(f"{'optimizer':<14} {'final loss':>10} {'train acc':>9} {'test acc':>8} {'time':>6}")
    for name in RECIPES:
        r = run(name, a.epochs, a.seed)
        print(f"{name:<14} {r['loss']:>10.4f} {r['train_acc']:>9.3f} {r['test_acc']:>8.3f} "
              f"{r['seconds']:>5.1f}s")


if __name__ == "__main__":
    main()
