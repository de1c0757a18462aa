"""U-Net (Ronneberger, Fischer & Brox 2015): a contracting path of double 3x3 convolutions
and 2x2 max-pooling, an expanding path of 2x2 transposed convolutions whose outputs are
concatenated with the matching encoder features (the skip connections), and a 1x1
convolution to per-pixel class scores. Convolutions are padded ("same" size, so the output
has the input's height and width) and batch-normalised, the common modern form; the input
sides must be divisible by 2**depth."""
from __future__ import annotations

from typing import List

from ember import nn
from ember.models._registry import register
from ember.ops.shape import cat
from ember.tensor import Tensor


class DoubleConv(nn.Sequential):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(), nn.Conv2d(cout, cout, 3, padding=1, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU())


class UNet(nn.Module):
    """``depth`` down/up levels, ``base`` channels at the top level doubling per level
    (the paper: depth 4, base 64)."""

    def __init__(self, in_channels: int = 1, num_classes: int = 2, base: int = 64,
                 depth: int = 4) -> None:
        super().__init__()
        if depth < 1:
            raise ValueError(f"UNet: depth must be >= 1, got {depth}")
        self.depth = depth
        widths = [base * 2 ** i for i in range(depth + 1)]
        self.down = nn.ModuleList([DoubleConv(in_channels, widths[0])] + [
            DoubleConv(widths[i], widths[i + 1]) for i in range(depth)])
        self.pool = nn.MaxPool2d(2)
        self.up = nn.ModuleList([nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2)
                                 for i in reversed(range(depth))])
        self.dec = nn.ModuleList([DoubleConv(2 * widths[i], widths[i])
                                  for i in reversed(range(depth))])
        self.head = nn.Conv2d(widths[0], num_classes, 1)

    def forward(self, x: Tensor) -> Tensor:
        side = 2 ** self.depth
        if x.shape[-1] % side or x.shape[-2] % side:
            raise ValueError(f"UNet: input height and width must be divisible by "
                             f"{side} (depth {self.depth}), got {tuple(x.shape[-2:])}")
        skips: List[Tensor] = []
        for i, block in enumerate(self.down):
            x = block(x)
            if i < self.depth:
                skips.append(x)
                x = self.pool(x)
        for up, dec in zip(self.up, self.dec):
            x = dec(cat([skips.pop(), up(x)], 1))
        return self.head(x)


@register
def unet(num_classes: int = 2, in_channels: int = 1, base: int = 64, depth: int = 4) -> UNet:
    """U-Net for per-pixel classification (output (N, num_classes, H, W))."""
    return UNet(in_channels, num_classes, base, depth)
