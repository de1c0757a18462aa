"""``Parameter``: a tensor that a ``Module`` registers as learnable."""
from __future__ import annotations

from typing import Any

from ember.tensor import Tensor


class Parameter(Tensor):
    """A leaf tensor that requires grad by default and is found by ``Module.parameters()``."""

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            data = []
        if isinstance(data, Tensor):
            data = data.data
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
