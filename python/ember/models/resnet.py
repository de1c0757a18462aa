"""Residual networks (He et al. 2016): the ImageNet ResNet-18/34/50/101/152 with
torchvision's parameter names (so torchvision weights load with ``load_state_dict``), and the
CIFAR ResNet-20/32/44/56/110 of the paper's section 4.2.

Blocks take an optional ``se`` reduction so that the same code builds the squeeze-and-
excitation variants (``ember.models.senet``).
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Type, Union

from ember import nn
from ember.models._registry import register
from ember.nn import functional as F
from ember.tensor import Tensor


def conv3x3(cin: int, cout: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, groups=groups, bias=False)


def conv1x1(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 1, stride=stride, bias=False)


class SqueezeExcitation(nn.Module):
    """Squeeze-and-excitation (Hu et al. 2018): x * sigmoid(W2 relu(W1 avgpool(x))), with
    1x1 convolutions ``fc1`` / ``fc2`` (torchvision's names) and reduction ``r``."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, hidden, 1)
        self.fc2 = nn.Conv2d(hidden, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        s = self.avgpool(x)
        s = F.sigmoid(self.fc2(F.relu(self.fc1(s))))
        return x * s


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm; identity or projection shortcut."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: Optional[nn.Module] = None, se: int = 0) -> None:
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.se = SqueezeExcitation(planes, se) if se else None
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.se is not None:
            out = self.se(out)
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (stride here, as torchvision's ResNet v1.5), 1x1 expand by 4."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: Optional[nn.Module] = None, se: int = 0) -> None:
        super().__init__()
        self.conv1 = conv1x1(inplanes, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * 4)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU()
        self.se = SqueezeExcitation(planes * 4, se) if se else None
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.se is not None:
            out = self.se(out)
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


Block = Union[Type[BasicBlock], Type[Bottleneck]]


class ResNet(nn.Module):
    """ImageNet-style ResNet: 7x7/2 stem + 3x3/2 max-pool, four stages (64, 128, 256, 512
    planes), global average pooling, linear classifier. Parameter names as torchvision's."""

    def __init__(self, block: Block, layers: Sequence[int], num_classes: int = 1000,
                 in_channels: int = 3, se: int = 0,
                 zero_init_residual: bool = False) -> None:
        super().__init__()
        self.inplanes = 64
        self._se = se
        self.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        _init_resnet(self, zero_init_residual)

    def _make_layer(self, block: Block, planes: int, blocks: int,
                    stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                       nn.BatchNorm2d(planes * block.expansion))
        layers: List[nn.Module] = [block(self.inplanes, planes, stride, downsample, self._se)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes, se=self._se) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


def _init_resnet(model: nn.Module, zero_init_residual: bool) -> None:
    """torchvision's initialisation: Kaiming normal (fan_out, relu) convolutions, BN weight 1
    and bias 0; optionally zero the last BN of each residual branch (Goyal et al. 2017)."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    if zero_init_residual:
        for m in model.modules():
            if isinstance(m, Bottleneck):
                nn.init.zeros_(m.bn3.weight)
            elif isinstance(m, BasicBlock):
                nn.init.zeros_(m.bn2.weight)


@register
def resnet18(num_classes: int = 1000, in_channels: int = 3, **kw) -> ResNet:
    """ResNet-18: 11,689,512 parameters with 1000 classes (torchvision's count)."""
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes, in_channels, **kw)


@register
def resnet34(num_classes: int = 1000, in_channels: int = 3, **kw) -> ResNet:
    return ResNet(BasicBlock, [3, 4, 6, 3], num_classes, in_channels, **kw)


@register
def resnet50(num_classes: int = 1000, in_channels: int = 3, **kw) -> ResNet:
    """ResNet-50 (v1.5, stride in the 3x3): 25,557,032 parameters with 1000 classes."""
    return ResNet(Bottleneck, [3, 4, 6, 3], num_classes, in_channels, **kw)


@register
def resnet101(num_classes: int = 1000, in_channels: int = 3, **kw) -> ResNet:
    return ResNet(Bottleneck, [3, 4, 23, 3], num_classes, in_channels, **kw)


@register
def resnet152(num_classes: int = 1000, in_channels: int = 3, **kw) -> ResNet:
    return ResNet(Bottleneck, [3, 8, 36, 3], num_classes, in_channels, **kw)


class ShortcutA(nn.Module):
    """The CIFAR paper's option A shortcut: subsample by the stride and zero-pad the new
    channels (no parameters)."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.cin, self.cout, self.stride = cin, cout, stride

    def forward(self, x: Tensor) -> Tensor:
        x = x[:, :, ::self.stride, ::self.stride]
        extra = self.cout - self.cin
        return F.pad(x, (0, 0, 0, 0, extra // 2, extra - extra // 2))


class CifarResNet(nn.Module):
    """He et al.'s CIFAR ResNet-(6n+2): 3x3 conv to 16 channels, three stages of n basic
    blocks at 16, 32, 64 channels (stride 2 at the start of the last two), global average
    pooling, linear classifier. ``shortcut='A'`` (the paper's, parameter-free) or ``'B'``
    (1x1 convolution projections)."""

    def __init__(self, depth: int, num_classes: int = 10, in_channels: int = 3,
                 shortcut: str = "A", se: int = 0) -> None:
        super().__init__()
        if (depth - 2) % 6:
            raise ValueError(f"CifarResNet: depth must be 6n + 2, got {depth}")
        if shortcut not in ("A", "B"):
            raise ValueError(f"CifarResNet: shortcut must be 'A' or 'B', got {shortcut!r}")
        n = (depth - 2) // 6
        self.conv1 = conv3x3(in_channels, 16)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU()
        stages, cin = [], 16
        for planes, stride in ((16, 1), (32, 2), (64, 2)):
            blocks = []
            for b in range(n):
                s = stride if b == 0 else 1
                down = None
                if s != 1 or cin != planes:
                    down = (ShortcutA(cin, planes, s) if shortcut == "A" else
                            nn.Sequential(conv1x1(cin, planes, s), nn.BatchNorm2d(planes)))
                blocks.append(BasicBlock(cin, planes, s, down, se))
                cin = planes
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, num_classes)
        _init_resnet(self, False)

    def forward(self, x: Tensor) -> Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(self.avgpool(x).flatten(1))


def _cifar(depth: int):
    def build(num_classes: int = 10, in_channels: int = 3, shortcut: str = "A",
              **kw) -> CifarResNet:
        return CifarResNet(depth, num_classes, in_channels, shortcut, **kw)

    build.__name__ = f"resnet{depth}"
    build.__doc__ = f"CIFAR ResNet-{depth} (He et al. 2016, section 4.2)."
    return register(build)


resnet20 = _cifar(20)
resnet32 = _cifar(32)
resnet44 = _cifar(44)
resnet56 = _cifar(56)
resnet110 = _cifar(110)
