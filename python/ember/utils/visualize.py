"""Plots with matplotlib (Agg backend, PNG files, written atomically): training curves,
first-layer filters, saliency maps, feature maps, confusion matrices; plus the arrays behind
the last three (``saliency``, ``feature_maps``) for your own plotting."""
from __future__ import annotations

import io
import math
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from ember.autograd.grad_mode import no_grad
from ember.nn.module import Module
from ember.tensor import Tensor
from ember._files import atomic_write

__all__ = ["plot_history", "plot_filters", "saliency", "plot_saliency", "feature_maps",
           "plot_feature_maps", "plot_confusion_matrix"]


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: str) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    _plt().close(fig)
    data = buf.getvalue()
    atomic_write(path, lambda f: f.write(data))
    return path


def plot_history(history: Any, path: str, title: Optional[str] = None) -> str:
    """Training curves: loss (train/val) and accuracy (train/val) by epoch. ``history`` is
    a :class:`ember.train.History` or a dict of lists."""
    h: Dict[str, List[float]] = getattr(history, "history", history)
    epochs = getattr(history, "epoch", None) or list(range(1, len(h.get("loss", [])) + 1))
    plt = _plt()
    metrics = [m for m in ("accuracy", "mean_iou") if m in h]
    fig, axes = plt.subplots(1, 1 + len(metrics), figsize=(5.5 * (1 + len(metrics)), 3.8))
    axes = np.atleast_1d(axes)
    for ax, key in zip(axes, ["loss"] + metrics):
        for prefix, style in (("", "-"), ("val_", "--")):
            if prefix + key in h:
                ax.plot(epochs, h[prefix + key], style, marker="o", ms=3,
                        label=("validation " if prefix else "train ") + key)
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def _grid(images: np.ndarray, cols: Optional[int] = None) -> Any:
    n = len(images)
    cols = cols or int(math.ceil(math.sqrt(n)))
    rows = int(math.ceil(n / cols))
    return rows, cols


def plot_filters(weight: Any, path: str, title: str = "first-layer filters") -> str:
    """A grid of convolution filters (K, C, kh, kw): RGB when C == 3, else the channel mean;
    each filter scaled to its own range."""
    w = weight.numpy() if isinstance(weight, Tensor) else np.asarray(weight)
    if w.ndim != 4:
        raise ValueError(f"plot_filters: expected a (K, C, kh, kw) weight, got {w.shape}")
    plt = _plt()
    rows, cols = _grid(w)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.1, rows * 1.1), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= len(w):
            continue
        f = w[i].transpose(1, 2, 0) if w.shape[1] == 3 else w[i].mean(0)
        f = (f - f.min()) / (np.ptp(f) + 1e-12)
        ax.imshow(f, cmap=None if w.shape[1] == 3 else "gray", interpolation="nearest")
    fig.suptitle(title)
    return _save(fig, path)


def saliency(model: Module, x: Any, target: Optional[int] = None) -> np.ndarray:
    """|d score_target / d input| maximised over channels (Simonyan et al. 2014), for one
    image (C, H, W) or (1, C, H, W); ``target`` defaults to the predicted class. The model
    runs in eval mode; its mode is restored."""
    arr = x.numpy() if isinstance(x, Tensor) else np.asarray(x)
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4 or arr.shape[0] != 1:
        raise ValueError(f"saliency: expected one image (C, H, W), got shape {arr.shape}")
    inp = Tensor(arr.astype(np.float32), requires_grad=True)
    was = model.training
    model.eval()
    try:
        out = model(inp)
        cls = int(out.numpy()[0].argmax()) if target is None else int(target)
        out[0, cls].backward()
    finally:
        model.train(was)
    return np.abs(inp.grad.numpy()[0]).max(axis=0)


def plot_saliency(image: Any, sal: np.ndarray, path: str, title: str = "saliency") -> str:
    """The image next to its saliency map."""
    img = image.numpy() if isinstance(image, Tensor) else np.asarray(image)
    img = img[0] if img.ndim == 4 else img
    shown = img.transpose(1, 2, 0) if img.shape[0] == 3 else img.mean(0)
    shown = (shown - shown.min()) / (np.ptp(shown) + 1e-12)
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(6, 3))
    axes[0].imshow(shown, cmap=None if img.shape[0] == 3 else "gray")
    axes[0].set_title("input")
    axes[1].imshow(sal, cmap="hot")
    axes[1].set_title(title)
    for ax in axes:
        ax.axis("off")
    return _save(fig, path)


def feature_maps(model: Module, layer: str, x: Any) -> np.ndarray:
    """Output of the sub-module named ``layer`` (as in ``named_modules()``) for input ``x``,
    captured with a forward hook in eval mode under no_grad: (N, C, H, W) or as produced."""
    modules = dict(model.named_modules())
    if layer not in modules:
        raise ValueError(f"feature_maps: no layer named {layer!r}; layers: "
                         f"{', '.join(n for n in modules if n)}")
    captured: List[np.ndarray] = []
    handle = modules[layer].register_forward_hook(
        lambda m, i, o: captured.append(np.array(o.numpy())))
    was = model.training
    model.eval()
    try:
        with no_grad():
            model(x if isinstance(x, Tensor) else Tensor(np.asarray(x, dtype=np.float32)))
    finally:
        handle.remove()
        model.train(was)
    return captured[0]


def plot_feature_maps(maps: np.ndarray, path: str, title: str = "feature maps",
                      max_maps: int = 32) -> str:
    """The channels of one sample's feature maps (C, H, W) (or the first sample of a
    batch) in a grid."""
    m = maps[0] if maps.ndim == 4 else maps
    m = m[:max_maps]
    plt = _plt()
    rows, cols = _grid(m)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.2, rows * 1.2), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < len(m):
            ax.imshow(m[i], cmap="viridis")
    fig.suptitle(title)
    return _save(fig, path)


def plot_confusion_matrix(cm: Any, path: str, classes: Optional[Sequence[str]] = None,
                          normalize: bool = True, title: str = "confusion matrix") -> str:
    """A confusion matrix (rows: true class, columns: predicted), normalised per row."""
    c = np.asarray(cm, dtype=np.float64)
    shown = c / np.maximum(c.sum(axis=1, keepdims=True), 1) if normalize else c
    n = len(c)
    labels = list(classes) if classes is not None else [str(i) for i in range(n)]
    plt = _plt()
    size = max(4.0, 0.5 * n + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    im = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    ax.set_xticks(range(n), labels, rotation=60, ha="right")
    ax.set_yticks(range(n), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(n):
        for j in range(n):
            if c[i, j]:
                ax.text(j, i, f"{shown[i, j]:.2f}" if normalize else f"{int(c[i, j])}",
                        ha="center", va="center", fontsize=7,
                        color="white" if shown[i, j] > 0.6 * shown.max() else "black")
    fig.colorbar(im, ax=ax, fraction=0.046)
    ax.set_title(title)
    return _save(fig, path)
