"""Small synthetic classification sets, generated from a seed (nothing is downloaded)."""
from __future__ import annotations

from typing import Tuple

import numpy as np


def two_spirals(n_per_class: int = 500, turns: float = 1.5, noise: float = 0.1,
                seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """Two interleaved spirals (Lang & Witbrock 1988), a classic non-linear problem.

    Returns ``(x, y)``: x float32 of shape (2 n, 2) roughly in [-1, 1]^2, y int64 in {0, 1}.
    """
    if n_per_class <= 0:
        raise ValueError(f"two_spirals: n_per_class must be positive, got {n_per_class}")
    rng = np.random.default_rng(seed)
    t = np.sqrt(rng.random(n_per_class)) * turns * 2 * np.pi  # denser near the centre
    r = t / (turns * 2 * np.pi)
    arm = np.stack([r * np.cos(t), r * np.sin(t)], axis=1)
    x = np.concatenate([arm, -arm]) + rng.normal(0, noise / 10, (2 * n_per_class, 2))
    y = np.concatenate([np.zeros(n_per_class), np.ones(n_per_class)]).astype(np.int64)
    order = rng.permutation(2 * n_per_class)
    return x[order].astype(np.float32), y[order]


def linearly_separable(n: int = 400, dim: int = 2, margin: float = 0.1,
                       seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """Points on either side of a random hyperplane with a gap of ``margin``.

    Returns ``(x, y)``: x float32 (n, dim) in [-1, 1]^dim, y int64 in {0, 1}.
    """
    rng = np.random.default_rng(seed)
    w = rng.normal(size=dim)
    w /= np.linalg.norm(w)
    x = rng.uniform(-1, 1, size=(4 * n, dim))
    s = x @ w
    keep = np.abs(s) > margin / 2
    x, s = x[keep][:n], s[keep][:n]
    if len(x) < n:
        raise ValueError("linearly_separable: margin too large for the requested size")
    return x.astype(np.float32), (s > 0).astype(np.int64)
