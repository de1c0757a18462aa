"""``ember.nn.utils``: parameter helpers."""
from __future__ import annotations

from typing import Iterable, List

import numpy as np

from ember.tensor import Tensor


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and concatenated (a copy)."""
    params: List[Tensor] = list(parameters)
    return Tensor(np.concatenate([p.data.reshape(-1) for p in params]))
