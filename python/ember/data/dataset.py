"""Datasets (``torch.utils.data`` names): ``Dataset``, ``TensorDataset``, ``ArrayDataset``,
``Subset``, ``ConcatDataset``, ``random_split`` and a stratified train/validation/test split.

A dataset maps an index to a sample (usually ``(image, label)``). Datasets whose samples are
rows of arrays also implement ``__getitems__(indices)``, which the DataLoader uses to fetch a
whole batch with one fancy-indexing call instead of one Python call per sample.
"""
from __future__ import annotations

import bisect
import math
from typing import Any, Callable, Generic, List, Optional, Sequence, Tuple, TypeVar, Union

import numpy as np

from ember._random import Generator, get_generator
from ember.tensor import Tensor

T_co = TypeVar("T_co", covariant=True)

__all__ = ["Dataset", "TensorDataset", "ArrayDataset", "Subset", "ConcatDataset",
           "random_split", "stratified_split"]


class Dataset(Generic[T_co]):
    """Base class: subclasses implement ``__getitem__`` and ``__len__``."""

    def __getitem__(self, index: int) -> T_co:  # pragma: no cover - abstract
        raise NotImplementedError

    def __len__(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def __add__(self, other: "Dataset") -> "ConcatDataset":
        return ConcatDataset([self, other])


def _check_index(index: Any, n: int, name: str) -> int:
    if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
        raise TypeError(f"{name}: index must be an int, got {type(index).__name__}")
    i = int(index)
    if i < -n or i >= n:
        raise IndexError(f"{name}: index {i} is out of range for {n} samples")
    return i % n


class TensorDataset(Dataset):
    """Samples are the i-th rows of the given tensors (all with the same first dimension)."""

    def __init__(self, *tensors: Any) -> None:
        if not tensors:
            raise ValueError("TensorDataset: expected at least one tensor")
        arrays = [t.data if isinstance(t, Tensor) else np.asarray(t) for t in tensors]
        n = arrays[0].shape[0] if arrays[0].ndim else None
        for i, a in enumerate(arrays):
            if a.ndim == 0 or a.shape[0] != n:
                raise ValueError(f"TensorDataset: size mismatch between tensors: tensor 0 has "
                                 f"{n} rows, tensor {i} has shape {a.shape}")
        self.tensors = tuple(t if isinstance(t, Tensor) else Tensor(a)
                             for t, a in zip(tensors, arrays))
        self._arrays = arrays

    def __getitem__(self, index: int) -> Tuple[Tensor, ...]:
        i = _check_index(index, len(self), "TensorDataset")
        return tuple(Tensor._wrap(np.asarray(a[i])) for a in self._arrays)

    def __getitems__(self, indices: Sequence[int]) -> Tuple[np.ndarray, ...]:
        idx = np.asarray(indices, dtype=np.int64)
        return tuple(a[idx] for a in self._arrays)

    def __len__(self) -> int:
        return int(self._arrays[0].shape[0])


class ArrayDataset(Dataset):
    """Images (an (N, ...) uint8 or float array) and integer labels, with optional per-sample
    ``transform`` / ``target_transform``. The base of ember's image datasets: ``data``,
    ``targets`` and ``classes`` as in torchvision."""

    def __init__(self, data: np.ndarray, targets: np.ndarray,
                 transform: Optional[Callable] = None,
                 target_transform: Optional[Callable] = None,
                 classes: Optional[Sequence[str]] = None) -> None:
        data, targets = np.asarray(data), np.asarray(targets)
        if len(data) != len(targets):
            raise ValueError(f"{type(self).__name__}: {len(data)} images but {len(targets)} "
                             "labels")
        self.data = data
        self.targets = targets.astype(np.int64, copy=False)
        self.transform = transform
        self.target_transform = target_transform
        self.classes = list(classes) if classes is not None else [
            str(c) for c in range(int(self.targets.max()) + 1 if len(self.targets) else 0)]

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> Tuple[Any, Any]:
        i = _check_index(index, len(self), type(self).__name__)
        img, target = self.data[i], self.targets[i]
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __getitems__(self, indices: Sequence[int]) -> Any:
        """A whole batch by fancy indexing (only without per-sample transforms)."""
        if self.transform is not None or self.target_transform is not None:
            return [self[i] for i in indices]
        idx = np.asarray(indices, dtype=np.int64)
        return self.data[idx], self.targets[idx]

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(samples={len(self)}, shape={tuple(self.data.shape[1:])}, "
                f"classes={len(self.classes)})")


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64)

    def __getitem__(self, index: int) -> Any:
        i = _check_index(index, len(self), "Subset")
        return self.dataset[int(self.indices[i])]

    def __getitems__(self, indices: Sequence[int]) -> Any:
        inner = self.indices[np.asarray(indices, dtype=np.int64)]
        if hasattr(self.dataset, "__getitems__"):
            return self.dataset.__getitems__(inner)
        return [self.dataset[int(i)] for i in inner]

    def __len__(self) -> int:
        return len(self.indices)


class ConcatDataset(Dataset):
    """Several datasets one after another."""

    def __init__(self, datasets: Sequence[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        self.cumulative_sizes = list(np.cumsum([len(d) for d in self.datasets]))

    def __len__(self) -> int:
        return int(self.cumulative_sizes[-1])

    def __getitem__(self, index: int) -> Any:
        i = _check_index(index, len(self), "ConcatDataset")
        d = bisect.bisect_right(self.cumulative_sizes, i)
        start = self.cumulative_sizes[d - 1] if d else 0
        return self.datasets[d][i - start]


def _lengths(n: int, lengths: Sequence[Union[int, float]], op: str) -> List[int]:
    """Integer lengths from counts or fractions summing to 1 (remainders go round-robin to
    the first splits, as PyTorch)."""
    if all(isinstance(x, (int, np.integer)) for x in lengths):
        out = [int(x) for x in lengths]
        if any(x < 0 for x in out) or sum(out) != n:
            raise ValueError(f"{op}: sum of input lengths {out} does not equal the length of the "
                             f"input dataset ({n})")
        return out
    fracs = [float(x) for x in lengths]
    if any(f < 0 or f > 1 for f in fracs) or not math.isclose(sum(fracs), 1.0, abs_tol=1e-9):
        raise ValueError(f"{op}: fractions must be in [0, 1] and sum to 1, got {fracs}")
    out = [int(math.floor(n * f)) for f in fracs]
    for i in range(n - sum(out)):
        out[i % len(out)] += 1
    return out


def random_split(dataset: Dataset, lengths: Sequence[Union[int, float]],
                 generator: Optional[Generator] = None) -> List[Subset]:
    """Randomly split ``dataset`` into non-overlapping subsets of the given lengths (counts,
    or fractions summing to 1). Seeded by ``generator`` (default: ember's default
    generator, i.e. ``ember.manual_seed``)."""
    sizes = _lengths(len(dataset), lengths, "random_split")
    perm = get_generator(generator).permutation(len(dataset))
    out, start = [], 0
    for k in sizes:
        out.append(Subset(dataset, perm[start:start + k]))
        start += k
    return out


def stratified_split(dataset: Dataset, fractions: Sequence[float] = (0.8, 0.1, 0.1),
                     labels: Optional[Sequence[int]] = None, seed: int = 0) -> List[Subset]:
    """Split into subsets (e.g. train / validation / test) whose class proportions match the
    whole dataset's: each class's indices are shuffled with ``seed`` and cut by the fractions,
    so every split gets about ``fraction * count(class)`` samples of every class.

    Args:
        fractions: one fraction per split, summing to 1.
        labels: the class of each sample; defaults to ``dataset.targets`` (ember's and
            torchvision's image datasets) or, for a Subset, its parent's targets at its
            indices.
        seed: the split is a pure function of (labels, fractions, seed).
    """
    if labels is None:
        labels = _dataset_labels(dataset)
    y = np.asarray(labels)
    if len(y) != len(dataset):
        raise ValueError(f"stratified_split: {len(y)} labels for {len(dataset)} samples")
    fr = [float(f) for f in fractions]
    if not fr or any(f < 0 for f in fr) or not math.isclose(sum(fr), 1.0, abs_tol=1e-9):
        raise ValueError(f"stratified_split: fractions must be non-negative and sum to 1, got "
                         f"{list(fractions)}")
    rng = np.random.default_rng(seed)
    parts: List[List[np.ndarray]] = [[] for _ in fr]
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        cuts = np.round(np.cumsum(fr)[:-1] * len(idx)).astype(int)
        for k, piece in enumerate(np.split(idx, cuts)):
            parts[k].append(piece)
    return [Subset(dataset, np.sort(np.concatenate(p)) if p else np.zeros(0, np.int64))
            for p in parts]


def _dataset_labels(dataset: Dataset) -> np.ndarray:
    if isinstance(dataset, Subset):
        return _dataset_labels(dataset.dataset)[dataset.indices]
    targets = getattr(dataset, "targets", None)
    if targets is None:
        raise ValueError("stratified_split: pass labels= (the dataset has no .targets)")
    return np.asarray(targets.data if isinstance(targets, Tensor) else targets)
