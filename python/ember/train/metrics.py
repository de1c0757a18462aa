"""Classification and segmentation metrics, as functions of (outputs, targets) and as
streaming accumulators that ``fit`` / ``evaluate`` update batch by batch.

Outputs are scores (N, C) or (N, C, H, W) (logits or probabilities; only their argmax or
top-k matters); targets are class indices (N,) or (N, H, W).
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Sequence

import numpy as np

from ember.tensor import Tensor

__all__ = ["accuracy", "top_k_accuracy", "confusion_matrix", "per_class_accuracy", "mean_iou",
           "Metric", "Accuracy", "TopKAccuracy", "ConfusionMatrix", "MeanIoU", "make_metric"]


def _np(x: Any) -> np.ndarray:
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _predictions(output: Any) -> np.ndarray:
    out = _np(output)
    if out.ndim < 2:
        raise ValueError(f"metrics: expected scores of shape (N, C, ...), got {out.shape}")
    return out.argmax(axis=1)


def _check(pred: np.ndarray, target: np.ndarray, op: str) -> None:
    if pred.shape != target.shape:
        raise ValueError(f"{op}: predictions have shape {pred.shape} but targets have shape "
                         f"{target.shape}")


def accuracy(output: Any, target: Any) -> float:
    """Fraction of samples (or pixels) whose argmax class equals the target."""
    pred, t = _predictions(output), _np(target)
    _check(pred, t, "accuracy")
    return float((pred == t).mean()) if t.size else float("nan")


def top_k_accuracy(output: Any, target: Any, k: int = 5) -> float:
    """Fraction of samples whose target is among the k highest scores."""
    out, t = _np(output), _np(target)
    if out.ndim != 2:
        raise ValueError(f"top_k_accuracy: expected scores of shape (N, C), got {out.shape}")
    if not 1 <= k <= out.shape[1]:
        raise ValueError(f"top_k_accuracy: k must be in [1, {out.shape[1]}], got {k}")
    topk = np.argpartition(-out, k - 1, axis=1)[:, :k]
    return float((topk == t[:, None]).any(axis=1).mean()) if len(t) else float("nan")


def confusion_matrix(pred: Any, target: Any, num_classes: int) -> np.ndarray:
    """``cm[i, j]`` = number of samples of true class i predicted as class j (int64).
    ``pred`` are class indices (use ``output.argmax(1)``)."""
    p, t = _np(pred).reshape(-1).astype(np.int64), _np(target).reshape(-1).astype(np.int64)
    if len(p) != len(t):
        raise ValueError(f"confusion_matrix: {len(p)} predictions but {len(t)} targets")
    bad = (t < 0) | (t >= num_classes) | (p < 0) | (p >= num_classes)
    if bad.any():
        raise ValueError(f"confusion_matrix: class indices must be in [0, {num_classes}); got "
                         f"target {int(t[bad][0])} / prediction {int(p[bad][0])}")
    return np.bincount(t * num_classes + p, minlength=num_classes ** 2).reshape(
        num_classes, num_classes)


def per_class_accuracy(cm: np.ndarray) -> np.ndarray:
    """Recall of each class from a confusion matrix (nan for a class with no samples)."""
    cm = np.asarray(cm, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.diag(cm) / cm.sum(axis=1)


def mean_iou(pred: Any, target: Any, num_classes: int,
             ignore_index: Optional[int] = None) -> float:
    """Mean over classes of intersection / union for per-pixel class maps (segmentation).
    Classes absent from both prediction and target are left out of the mean;
    ``ignore_index`` pixels of the target are not counted."""
    p, t = _np(pred).reshape(-1), _np(target).reshape(-1)
    if ignore_index is not None:
        keep = t != ignore_index
        p, t = p[keep], t[keep]
    cm = confusion_matrix(p, t, num_classes).astype(np.float64)
    inter = np.diag(cm)
    union = cm.sum(0) + cm.sum(1) - inter
    present = union > 0
    return float((inter[present] / union[present]).mean()) if present.any() else float("nan")


class Metric:
    """A streaming metric: ``reset()``, ``update(output, target)``, ``compute()``."""

    name = "metric"

    def reset(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def update(self, output: Any, target: Any) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def compute(self) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


class Accuracy(Metric):
    """Running accuracy over all samples (or pixels) seen since ``reset``."""

    name = "accuracy"

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.correct, self.count = 0, 0

    def update(self, output: Any, target: Any) -> None:
        pred, t = _predictions(output), _np(target)
        _check(pred, t, "accuracy")
        self.correct += int((pred == t).sum())
        self.count += int(t.size)

    def compute(self) -> float:
        return self.correct / self.count if self.count else float("nan")


class TopKAccuracy(Accuracy):
    """Running top-k accuracy."""

    def __init__(self, k: int = 5) -> None:
        self.k = k
        self.name = f"top{k}_accuracy"
        super().__init__()

    def update(self, output: Any, target: Any) -> None:
        t = _np(target)
        self.correct += int(round(top_k_accuracy(output, t, self.k) * len(t)))
        self.count += len(t)


class ConfusionMatrix(Metric):
    """Accumulated confusion matrix; ``compute()`` returns it (int64, (C, C))."""

    name = "confusion_matrix"

    def __init__(self, num_classes: int) -> None:
        self.num_classes = num_classes
        self.reset()

    def reset(self) -> None:
        self.cm = np.zeros((self.num_classes, self.num_classes), dtype=np.int64)

    def update(self, output: Any, target: Any) -> None:
        self.cm += confusion_matrix(_predictions(output), target, self.num_classes)

    def compute(self) -> np.ndarray:
        return self.cm.copy()


class MeanIoU(ConfusionMatrix):
    """Mean intersection over union of per-pixel predictions (N, C, H, W) vs (N, H, W)."""

    name = "mean_iou"

    def __init__(self, num_classes: int, ignore_index: Optional[int] = None) -> None:
        self.ignore_index = ignore_index
        super().__init__(num_classes)

    def update(self, output: Any, target: Any) -> None:
        p, t = _predictions(output).reshape(-1), _np(target).reshape(-1)
        if self.ignore_index is not None:
            keep = t != self.ignore_index
            p, t = p[keep], t[keep]
        self.cm += confusion_matrix(p, t, self.num_classes)

    def compute(self) -> float:
        cm = self.cm.astype(np.float64)
        inter = np.diag(cm)
        union = cm.sum(0) + cm.sum(1) - inter
        present = union > 0
        return float((inter[present] / union[present]).mean()) if present.any() else float("nan")


def make_metric(spec: Any, num_classes: Optional[int] = None) -> Metric:
    """A Metric from a name ('accuracy', 'top5_accuracy' / 'topk', 'mean_iou') or an
    instance (returned as is)."""
    if isinstance(spec, Metric):
        return spec
    if spec == "accuracy":
        return Accuracy()
    if isinstance(spec, str) and spec.startswith("top") and spec.endswith("_accuracy"):
        return TopKAccuracy(int(spec[3:-len("_accuracy")]))
    if spec == "mean_iou":
        if num_classes is None:
            raise ValueError("make_metric: 'mean_iou' needs num_classes")
        return MeanIoU(num_classes)
    raise ValueError(f"unknown metric {spec!r}; use 'accuracy', 'top5_accuracy', 'mean_iou' or "
                     "a Metric instance")


def compute_all(metrics: Sequence[Metric]) -> Dict[str, Any]:
    return {m.name: m.compute() for m in metrics}
