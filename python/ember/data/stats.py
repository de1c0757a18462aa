"""Statistics of a data set's images (per-channel mean and standard deviation for
``Normalize``)."""
from __future__ import annotations

from typing import Any, Tuple

import numpy as np

from ember.tensor import Tensor

__all__ = ["compute_mean_std"]


def compute_mean_std(data: Any, channels_last: bool = True,
                     chunk_size: int = 4096) -> Tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation of an image set, for :class:`Normalize`.

    Give it the TRAINING split only: statistics taken from the test set leak it into the
    model. uint8 data is scaled to [0, 1] (divided by 255); float data is used as it is. The
    sums are accumulated in float64 (exact per-channel histograms for uint8) over chunks of
    ``chunk_size`` images, so 60k images need no float copy of the whole set. The standard
    deviation is the population one (ddof=0) over all pixels of all images.

    Args:
        data: (N, H, W, C) or (N, H, W) array (or ember Tensor), or a data set with a ``.data``
            attribute holding one.
        channels_last: False for (N, C, H, W) data.
        chunk_size: images per chunk.

    Returns:
        ``(mean, std)``: two float64 arrays of shape (C,).
    """
    name = "compute_mean_std"
    if not isinstance(data, (np.ndarray, Tensor)) and hasattr(data, "data"):
        data = data.data
    if isinstance(data, Tensor):
        data = data.numpy()
    data = np.asarray(data)
    if data.ndim == 3:
        data = data[..., None] if channels_last else data[:, None]
    if data.ndim != 4:
        raise ValueError(f"{name}: expected an (N, H, W, C) or (N, H, W) array, "
                         f"got shape {data.shape}")
    if data.shape[0] == 0:
        raise ValueError(f"{name}: data is empty")
    if not isinstance(chunk_size, int) or chunk_size <= 0:
        raise ValueError(f"{name}: chunk_size must be a positive int, got {chunk_size!r}")
    c = data.shape[3] if channels_last else data.shape[1]

    def channel(chunk: np.ndarray, k: int) -> np.ndarray:
        return (chunk[..., k] if channels_last else chunk[:, k]).reshape(-1)

    if data.dtype == np.uint8:
        hist = np.zeros((c, 256), dtype=np.int64)
        for s in range(0, data.shape[0], chunk_size):
            chunk = data[s:s + chunk_size]
            for k in range(c):
                hist[k] += np.bincount(channel(chunk, k), minlength=256)
        v = np.arange(256, dtype=np.float64) / 255.0
        count = hist.sum(axis=1).astype(np.float64)
        mean = (hist * v).sum(axis=1) / count
        var = (hist * (v[None] - mean[:, None]) ** 2).sum(axis=1) / count
        return mean, np.sqrt(var)
    count = np.zeros(c)
    mean = np.zeros(c)
    m2 = np.zeros(c)
    for s in range(0, data.shape[0], chunk_size):  # Chan et al.'s merge of chunk moments
        chunk = data[s:s + chunk_size]
        for k in range(c):
            v = channel(chunk, k).astype(np.float64)
            nb, mb = v.size, v.mean()
            m2b = ((v - mb) ** 2).sum()
            tot = count[k] + nb
            delta = mb - mean[k]
            mean[k] += delta * nb / tot
            m2[k] += m2b + delta * delta * count[k] * nb / tot
            count[k] = tot
    return mean, np.sqrt(m2 / count)
