"""Test-time augmentation: a model's predictions averaged over several views of each input
(the five- or ten-crop views of ``ember.data.transforms``)."""
from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from ember.autograd import no_grad
from ember.data.transforms._checks import _as_array
from ember.data.transforms.crops import FiveCrop
from ember.tensor import Tensor

__all__ = ["tta_predict"]


def tta_predict(model: Callable[[Tensor], Tensor], x: Any, crops: FiveCrop) -> Tensor:
    """Test-time augmentation: the mean of the model's outputs over the crops of ``x``.

    The model (an ember ``nn.Module``, usually in ``eval()`` mode) runs under ``ember.no_grad()``
    once per crop position, on the whole batch of that crop.

    Args:
        model: callable taking an (N, C, h, w) ember Tensor.
        x: (N, C, H, W) ember Tensor or array.
        crops: a :class:`FiveCrop` or :class:`TenCrop`.

    Returns:
        The averaged output, an ember Tensor.
    """
    if not callable(model):
        raise TypeError(f"tta_predict: model must be callable, got {type(model).__name__}")
    if not isinstance(crops, FiveCrop):
        raise TypeError(f"tta_predict: crops must be a FiveCrop or TenCrop, "
                        f"got {type(crops).__name__}")
    views = crops.batch(_as_array(x, "tta_predict"))
    total: Optional[np.ndarray] = None
    with no_grad():
        for v in views:
            y = model(Tensor._wrap(np.ascontiguousarray(v)))
            y = y.numpy() if isinstance(y, Tensor) else np.asarray(y)
            total = y.copy() if total is None else total + y
    assert total is not None
    return Tensor._wrap(total / len(views))
