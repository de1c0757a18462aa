"""Squeeze-and-excitation ResNets (Hu, Shen & Sun 2018): the ResNet blocks with an SE module
(global pooling, bottleneck FC with reduction 16, sigmoid gate) rescaling the residual branch
before the addition."""
from __future__ import annotations

from ember.models._registry import register
from ember.models.resnet import BasicBlock, Bottleneck, CifarResNet, ResNet


def _se(name: str, block, layers, doc: str):
    def build(num_classes: int = 1000, in_channels: int = 3, reduction: int = 16,
              **kw) -> ResNet:
        return ResNet(block, layers, num_classes, in_channels, se=reduction, **kw)

    build.__name__, build.__doc__ = name, doc
    return register(build)


se_resnet18 = _se("se_resnet18", BasicBlock, [2, 2, 2, 2], "SE-ResNet-18.")
se_resnet34 = _se("se_resnet34", BasicBlock, [3, 4, 6, 3], "SE-ResNet-34.")
se_resnet50 = _se("se_resnet50", Bottleneck, [3, 4, 6, 3], "SE-ResNet-50.")
se_resnet101 = _se("se_resnet101", Bottleneck, [3, 4, 23, 3], "SE-ResNet-101.")
se_resnet152 = _se("se_resnet152", Bottleneck, [3, 8, 36, 3], "SE-ResNet-152.")


def _se_cifar(depth: int):
    def build(num_classes: int = 10, in_channels: int = 3, shortcut: str = "A",
              reduction: int = 16) -> CifarResNet:
        return CifarResNet(depth, num_classes, in_channels, shortcut, se=reduction)

    build.__name__ = f"se_resnet{depth}"
    build.__doc__ = f"CIFAR SE-ResNet-{depth}."
    return register(build)


se_resnet20 = _se_cifar(20)
se_resnet56 = _se_cifar(56)
