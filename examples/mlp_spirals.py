"""Train an MLP on the two-spirals problem with ember and report its accuracy.

    python examples/mlp_spirals.py [--epochs 300] [--hidden 64] [--lr 0.1] [--seed 0]

A 2-64-64-2 tanh MLP, cross-entropy loss, SGD with momentum and mini-batches. Reaches
>= 98% training accuracy on 1,000 points in a few seconds on a laptop-class CPU.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import ember
from ember import nn
from ember.data import two_spirals


def build_mlp(hidden: int) -> nn.Module:
    return nn.Sequential(
        nn.Linear(2, hidden), nn.Tanh(),
        nn.Linear(hidden, hidden), nn.Tanh(),
        nn.Linear(hidden, 2),
    )


def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    with ember.no_grad():
        pred = model(ember.from_numpy(x)).argmax(dim=1).numpy()
    return float((pred == y).mean())


def train(epochs: int = 300, hidden: int = 64, lr: float = 0.1, batch_size: int = 64,
          seed: int = 0, verbose: bool = True) -> dict:
    """Train on the spirals and return {'train_acc', 'test_acc', 'loss', 'seconds'}."""
    ember.manual_seed(seed)
    x, y = two_spirals(500, seed=seed)
    x_test, y_test = two_spirals(500, seed=seed + 1)
    model = build_mlp(hidden)
    opt = ember.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    loss_value = float("nan")
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(x))
        for i in range(0, len(x), batch_size):
            idx = order[i:i + batch_size]
            loss = loss_fn(model(ember.from_numpy(x[idx])), ember.from_numpy(y[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_value = loss.item()
        if verbose and (epoch % 50 == 0 or epoch == epochs):
            print(f"epoch {epoch:4d}  loss {loss_value:.4f}  train acc "
                  f"{accuracy(model, x, y):.3f}")
    seconds = time.perf_counter() - start
    result = {"train_acc": accuracy(model, x, y), "test_acc": accuracy(model, x_test, y_test),
              "loss": loss_value, "seconds": seconds}
    if verbose:
        print(f"two spirals: train accuracy {result['train_acc']:.3f}, held-out accuracy "
              f"{result['test_acc']:.3f}, {seconds:.1f} s ({ember.config()['isa']}, "
              f"{ember.get_num_threads()} threads)")
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, default=300)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    train(a.epochs, a.hidden, a.lr, a.batch_size, a.seed)


if __name__ == "__main__":
    main()
