"""The transform base class (one sample and the batch form of every transform) and the
containers."""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from ember.tensor import Tensor
from ember.data.transforms._checks import _as_array, _check_ndim

__all__ = ["Transform", "Compose", "Lambda"]


class Transform:
    """Base class: ``__call__`` transforms one (C, H, W) sample, ``batch`` an (N, C, H, W) batch.

    Subclasses implement ``_apply(x)`` on a batch; ``__call__`` runs it on a batch of one.
    """

    def __call__(self, img: Any) -> np.ndarray:
        """Transform one sample (C, H, W); returns a NumPy array."""
        name = type(self).__name__
        x = _as_array(img, name)
        _check_ndim(x, 3, name)
        return self._apply(x[None])[0]

    def batch(self, imgs: Any) -> np.ndarray:
        """Transform a batch (N, C, H, W), each sample with its own random parameters."""
        name = f"{type(self).__name__}.batch"
        x = _as_array(imgs, name)
        _check_ndim(x, 4, name)
        return self._apply(x)

    def _batch_owned(self, imgs: np.ndarray) -> np.ndarray:
        """``batch`` on an array nobody else holds (a Compose intermediate), which it may
        overwrite and return; by default the same as ``batch``."""
        return self.batch(imgs)

    def _apply(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    # whether ``batch`` always returns a new array that the caller owns
    _fresh_output = True

    def extra_repr(self) -> str:
        """The arguments shown by ``repr``."""
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


class Compose(Transform):
    """Chain transforms: ``Compose([ToTensor(), Normalize(m, s)])``.

    Args:
        transforms: a list of transforms (any callables; ones without a ``batch`` method are
            applied sample by sample inside ``batch``).
    """

    def __init__(self, transforms: Sequence[Callable]) -> None:
        if not isinstance(transforms, (list, tuple)):
            raise TypeError(f"Compose: transforms must be a list of transforms, "
                            f"got {type(transforms).__name__}")
        for i, t in enumerate(transforms):
            if not callable(t):
                raise TypeError(f"Compose: transforms[{i}] is not callable "
                                f"({type(t).__name__})")
        self.transforms = list(transforms)

    def __call__(self, img: Any) -> Any:
        """Apply every transform in turn to one sample."""
        for t in self.transforms:
            img = t(img)
        return img

    _fresh_output = False

    def batch(self, imgs: Any) -> Any:
        """Apply every transform's ``batch`` in turn to a batch.

        Intermediate arrays made by ember's own transforms are handed on as owned, so that
        steps like flips can work in place on them (the input batch is never modified).
        """
        src = imgs.numpy() if isinstance(imgs, Tensor) else imgs
        owned = False
        for t in self.transforms:
            if owned and isinstance(t, Transform):
                out = t._batch_owned(imgs)
            elif hasattr(t, "batch"):
                out = t.batch(imgs)
            else:
                out = np.stack([np.asarray(t(s)) for s in imgs])
            owned = (isinstance(t, Transform) and t._fresh_output
                     and isinstance(out, np.ndarray) and out.ndim == 4 and out.flags.writeable
                     and not (isinstance(src, np.ndarray) and np.may_share_memory(out, src)))
            imgs = out
        return imgs

    def __repr__(self) -> str:
        body = "".join(f"\n    {t}" for t in self.transforms)
        return f"{type(self).__name__}({body}\n)"


class Lambda(Transform):
    """Apply a user function (torchvision's ``Lambda``).

    Args:
        lambd: the function, called on one sample.
        batched: if True, ``batch`` calls ``lambd`` once on the whole batch; otherwise it is
            called on each sample and the results are stacked.
    """

    def __init__(self, lambd: Callable[[Any], Any], batched: bool = False) -> None:
        if not callable(lambd):
            raise TypeError(f"Lambda: lambd must be callable, got {type(lambd).__name__}")
        self.lambd = lambd
        self.batched = bool(batched)

    _fresh_output = False

    def __call__(self, img: Any) -> Any:
        """Call the function on one sample."""
        return self.lambd(img)

    def batch(self, imgs: Any) -> Any:
        """Call the function on the batch (``batched=True``) or on each sample."""
        if self.batched:
            return self.lambd(imgs)
        return np.stack([np.asarray(self.lambd(s)) for s in imgs])
