"""AlexNet (Krizhevsky, Sutskever & Hinton 2012)."""
from __future__ import annotations

from ember import nn
from ember.models._registry import register
from ember.tensor import Tensor


class AlexNet(nn.Module):
    """torchvision's single-stream AlexNet (``original=False``, 61,100,840 parameters with
    1000 classes, same parameter names), or the paper's two-GPU layout (``original=True``:
    96-256-384-384-256 filters, grouped convolutions with 2 groups in conv2, conv4 and conv5,
    local response normalisation after conv1 and conv2)."""

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5,
                 original: bool = False, lrn: bool = False) -> None:
        super().__init__()
        if original:
            g = 2
            self.features = nn.Sequential(
                nn.Conv2d(in_channels, 96, 11, stride=4, padding=2), nn.ReLU(),
                nn.LocalResponseNorm(5, 1e-4, 0.75, 2.0), nn.MaxPool2d(3, 2),
                nn.Conv2d(96, 256, 5, padding=2, groups=g), nn.ReLU(),
                nn.LocalResponseNorm(5, 1e-4, 0.75, 2.0), nn.MaxPool2d(3, 2),
                nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(),
                nn.Conv2d(384, 384, 3, padding=1, groups=g), nn.ReLU(),
                nn.Conv2d(384, 256, 3, padding=1, groups=g), nn.ReLU(), nn.MaxPool2d(3, 2))
        else:
            layers = [nn.Conv2d(in_channels, 64, 11, stride=4, padding=2), nn.ReLU()]
            if lrn:
                layers.append(nn.LocalResponseNorm(5, 1e-4, 0.75, 2.0))
            layers += [nn.MaxPool2d(3, 2), nn.Conv2d(64, 192, 5, padding=2), nn.ReLU()]
            if lrn:
                layers.append(nn.LocalResponseNorm(5, 1e-4, 0.75, 2.0))
            layers += [nn.MaxPool2d(3, 2), nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(),
                       nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(),
                       nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2)]
            self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(),
            nn.Dropout(dropout), nn.Linear(4096, 4096), nn.ReLU(), nn.Linear(4096, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


@register
def alexnet(num_classes: int = 1000, in_channels: int = 3, **kw) -> AlexNet:
    """AlexNet; ``original=True`` for the paper's grouped, LRN variant."""
    return AlexNet(num_classes, in_channels, **kw)
