"""Small models: a multi-layer perceptron, LeNet-5 and a small CNN for tiny images."""
from __future__ import annotations

from typing import Sequence

from ember import nn
from ember.models._registry import register


@register
def mlp(in_features: int = 784, num_classes: int = 10,
        hidden: Sequence[int] = (256, 256), in_channels: int = 1,
        image_size: int = 0, dropout: float = 0.0) -> nn.Module:
    """Flatten, then Linear + ReLU layers of the ``hidden`` widths, then a Linear classifier.
    With ``image_size`` (and ``in_channels``) the input size is derived from the image."""
    if image_size:
        in_features = in_channels * image_size * image_size
    layers: list = [nn.Flatten()]
    width = in_features
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = h
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)


@register
def lenet5(num_classes: int = 10, in_channels: int = 1, image_size: int = 28) -> nn.Module:
    """LeNet-5 (LeCun et al. 1998) for 28x28 inputs: the first convolution pads by 2 so that
    the 32x32 layout of the paper holds (C1 6@28x28, S2 6@14x14, C3 16@10x10, S4 16@5x5,
    C5/F6/output as fully connected 120-84-10), tanh activations and average pooling; with
    the default 1 channel and 10 classes it has 61,706 parameters. C3 is fully connected to
    S2 (the paper's partial connection table is a 1998 economy nobody keeps)."""
    pad = 2 if image_size == 28 else 0
    side = ((image_size + 2 * pad - 4) // 2 - 4) // 2
    return nn.Sequential(
        nn.Conv2d(in_channels, 6, 5, padding=pad), nn.Tanh(), nn.AvgPool2d(2),
        nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2), nn.Flatten(),
        nn.Linear(16 * side * side, 120), nn.Tanh(), nn.Linear(120, 84), nn.Tanh(),
        nn.Linear(84, num_classes))


@register
def smallcnn(num_classes: int = 10, in_channels: int = 1, image_size: int = 8,
             width: int = 32, dropout: float = 0.25) -> nn.Module:
    """A small CNN for tiny images (8x8 digits, 28x28): two 3x3 conv-BN-ReLU blocks at
    ``width`` and 2*``width`` channels, 2x2 max-pooling after each (the second only when the
    map is still at least 4 wide), global average pooling, dropout and a linear classifier.
    The ``ember train`` default on the embedded digits (about 30k parameters)."""
    w2 = 2 * width
    layers = [nn.Conv2d(in_channels, width, 3, padding=1, bias=False), nn.BatchNorm2d(width),
              nn.ReLU(), nn.MaxPool2d(2),
              nn.Conv2d(width, w2, 3, padding=1, bias=False), nn.BatchNorm2d(w2), nn.ReLU()]
    if image_size // 2 >= 4:
        layers.append(nn.MaxPool2d(2))
    layers += [nn.Conv2d(w2, w2, 3, padding=1, bias=False), nn.BatchNorm2d(w2), nn.ReLU(),
               nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout),
               nn.Linear(w2, num_classes)]
    return nn.Sequential(*layers)
