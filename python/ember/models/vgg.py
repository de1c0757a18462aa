"""VGG (Simonyan & Zisserman 2015), configurations A, B, D, E, with and without batch norm;
parameter names and initialisation as torchvision's (VGG-16: 138,357,544 parameters)."""
from __future__ import annotations

from typing import List, Sequence, Union

from ember import nn
from ember.models._registry import register
from ember.tensor import Tensor

CFGS = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512,
          "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512,
          512, 512, 512, "M"],
}


def make_layers(cfg: Sequence[Union[int, str]], batch_norm: bool,
                in_channels: int = 3) -> nn.Sequential:
    layers: List[nn.Module] = []
    c = in_channels
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
            continue
        layers.append(nn.Conv2d(c, int(v), 3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(int(v)))
        layers.append(nn.ReLU())
        c = int(v)
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """``features`` (the conv stack), ``avgpool`` to ``pool_size`` and the 3-layer
    ``classifier`` (4096-4096-classes, dropout). ``pool_size=1`` with ``hidden=512`` gives
    the usual CIFAR variant (32x32 inputs)."""

    def __init__(self, features: nn.Sequential, num_classes: int = 1000, dropout: float = 0.5,
                 pool_size: int = 7, hidden: int = 4096) -> None:
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((pool_size, pool_size))
        self.classifier = nn.Sequential(
            nn.Linear(512 * pool_size * pool_size, hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden, num_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


def _vgg(cfg: str, bn: bool, num_classes: int, in_channels: int, **kw) -> VGG:
    return VGG(make_layers(CFGS[cfg], bn, in_channels), num_classes, **kw)


def _builder(name: str, cfg: str, bn: bool):
    def build(num_classes: int = 1000, in_channels: int = 3, **kw) -> VGG:
        return _vgg(cfg, bn, num_classes, in_channels, **kw)

    depth = {"A": 11, "B": 13, "D": 16, "E": 19}[cfg]
    build.__name__ = name
    build.__doc__ = (f"VGG-{depth} (configuration {cfg})" + (" with batch norm" if bn else "")
                     + "; keyword arguments pool_size / hidden / dropout as for VGG.")
    return register(build)


vgg11 = _builder("vgg11", "A", False)
vgg11_bn = _builder("vgg11_bn", "A", True)
vgg13 = _builder("vgg13", "B", False)
vgg13_bn = _builder("vgg13_bn", "B", True)
vgg16 = _builder("vgg16", "D", False)
vgg16_bn = _builder("vgg16_bn", "D", True)
vgg19 = _builder("vgg19", "E", False)
vgg19_bn = _builder("vgg19_bn", "E", True)
