"""Network in Network (Lin, Chen & Yan 2014): "mlpconv" blocks (a spatial convolution then
two 1x1 convolutions, i.e. a small MLP at every position) and global average pooling in place
of fully connected layers: the last block has one channel per class."""
from __future__ import annotations

from ember import nn
from ember.models._registry import register
from ember.tensor import Tensor


def mlpconv(cin: int, c1: int, c2: int, c3: int, k: int, pad: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, c1, k, padding=pad), nn.ReLU(),
                         nn.Conv2d(c1, c2, 1), nn.ReLU(), nn.Conv2d(c2, c3, 1), nn.ReLU())


class NIN(nn.Module):
    """The paper's CIFAR-10 network: three mlpconv blocks (192-160-96, 192-192-192,
    192-192-classes), pooling and dropout between them, global average pooling."""

    def __init__(self, num_classes: int = 10, in_channels: int = 3,
                 dropout: float = 0.5) -> None:
        super().__init__()
        self.features = nn.Sequential(
            mlpconv(in_channels, 192, 160, 96, 5, 2), nn.MaxPool2d(3, 2, padding=1),
            nn.Dropout(dropout),
            mlpconv(96, 192, 192, 192, 5, 2), nn.AvgPool2d(3, 2, padding=1), nn.Dropout(dropout),
            mlpconv(192, 192, 192, num_classes, 3, 1))
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x: Tensor) -> Tensor:
        return self.pool(self.features(x)).flatten(1)


@register
def nin(num_classes: int = 10, in_channels: int = 3, **kw) -> NIN:
    """Network in Network for 32x32 images."""
    return NIN(num_classes, in_channels, **kw)
