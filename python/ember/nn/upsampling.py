"""Upsample layer (decoders, U-Net)."""
from __future__ import annotations

from typing import Any, Optional

from ember.nn import functional as F
from ember.nn.module import Module
from ember.tensor import Tensor


class Upsample(Module):
    """Resize by ``scale_factor`` or to ``size`` with 'nearest' or 'bilinear'."""

    def __init__(self, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                 align_corners: Optional[bool] = None) -> None:
        super().__init__()
        self.size, self.scale_factor = size, scale_factor
        self.mode, self.align_corners = mode, align_corners

    def forward(self, x: Tensor) -> Tensor:
        return F.interpolate(x, self.size, self.scale_factor, self.mode, self.align_corners)

    def extra_repr(self) -> str:
        if self.scale_factor is not None:
            return f"scale_factor={self.scale_factor}, mode={self.mode!r}"
        return f"size={self.size}, mode={self.mode!r}"
