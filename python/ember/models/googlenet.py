"""GoogLeNet / Inception-v1 (Szegedy et al. 2015) with torchvision's layout and parameter
names (batch-normalised convolutions; 6,624,904 parameters without the auxiliary heads).

As in torchvision, the "5x5" branch of each Inception module uses a 3x3 convolution (the
layout torchvision's weights were trained with); ``paper_5x5=True`` builds the paper's 5x5.
"""
from __future__ import annotations

from typing import Optional, Tuple, Union

from ember import nn
from ember.models._registry import register
from ember.nn import functional as F
from ember.ops.shape import cat
from ember.tensor import Tensor


class BasicConv2d(nn.Module):
    """Convolution (no bias) + batch norm (eps 0.001) + ReLU."""

    def __init__(self, cin: int, cout: int, kernel_size: int, stride: int = 1,
                 padding: int = 0) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel_size, stride=stride, padding=padding,
                              bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.bn(self.conv(x)))


class Inception(nn.Module):
    """Four parallel branches concatenated along channels: 1x1; 1x1 then 3x3; 1x1 then
    3x3 (or 5x5); 3x3 max-pool then 1x1."""

    def __init__(self, cin: int, ch1x1: int, ch3x3red: int, ch3x3: int, ch5x5red: int,
                 ch5x5: int, pool_proj: int, paper_5x5: bool = False) -> None:
        super().__init__()
        k = 5 if paper_5x5 else 3
        self.branch1 = BasicConv2d(cin, ch1x1, 1)
        self.branch2 = nn.Sequential(BasicConv2d(cin, ch3x3red, 1),
                                     BasicConv2d(ch3x3red, ch3x3, 3, padding=1))
        self.branch3 = nn.Sequential(BasicConv2d(cin, ch5x5red, 1),
                                     BasicConv2d(ch5x5red, ch5x5, k, padding=k // 2))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, 1, padding=1, ceil_mode=True),
                                     BasicConv2d(cin, pool_proj, 1))

    def forward(self, x: Tensor) -> Tensor:
        return cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class InceptionAux(nn.Module):
    """Auxiliary classifier: 4x4 average pool, 1x1 conv to 128, FC 1024, dropout 0.7, FC."""

    def __init__(self, cin: int, num_classes: int, dropout: float = 0.7) -> None:
        super().__init__()
        self.conv = BasicConv2d(cin, 128, 1)
        self.fc1 = nn.Linear(2048, 1024)
        self.fc2 = nn.Linear(1024, num_classes)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv(F.adaptive_avg_pool2d(x, (4, 4))).flatten(1)
        return self.fc2(self.dropout(F.relu(self.fc1(x))))


class GoogLeNet(nn.Module):
    """Inception-v1. In training mode with ``aux_logits`` the forward returns
    ``(logits, aux2, aux1)`` (torchvision's order); otherwise the logits."""

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, aux_logits: bool = False,
                 dropout: float = 0.2, dropout_aux: float = 0.7,
                 paper_5x5: bool = False) -> None:
        super().__init__()
        p5 = paper_5x5
        self.aux_logits = aux_logits
        self.conv1 = BasicConv2d(in_channels, 64, 7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, 1)
        self.conv3 = BasicConv2d(64, 192, 3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.inception3a = Inception(192, 64, 96, 128, 16, 32, 32, p5)
        self.inception3b = Inception(256, 128, 128, 192, 32, 96, 64, p5)
        self.maxpool3 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.inception4a = Inception(480, 192, 96, 208, 16, 48, 64, p5)
        self.inception4b = Inception(512, 160, 112, 224, 24, 64, 64, p5)
        self.inception4c = Inception(512, 128, 128, 256, 24, 64, 64, p5)
        self.inception4d = Inception(512, 112, 144, 288, 32, 64, 64, p5)
        self.inception4e = Inception(528, 256, 160, 320, 32, 128, 128, p5)
        self.maxpool4 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.inception5a = Inception(832, 256, 160, 320, 32, 128, 128, p5)
        self.inception5b = Inception(832, 384, 192, 384, 48, 128, 128, p5)
        if aux_logits:
            self.aux1: Optional[InceptionAux] = InceptionAux(512, num_classes, dropout_aux)
            self.aux2: Optional[InceptionAux] = InceptionAux(528, num_classes, dropout_aux)
        else:
            self.aux1 = self.aux2 = None
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(1024, num_classes)
        for m in self.modules():  # torchvision: truncated normal std 0.01 for conv / linear
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.trunc_normal_(m.weight, 0.0, 0.01, -2.0, 2.0)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Union[Tensor, Tuple[Tensor, Tensor, Tensor]]:
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        aux1 = self.aux1(x) if self.aux1 is not None and self.training else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if self.aux2 is not None and self.training else None
        x = self.maxpool4(self.inception4e(x))
        x = self.inception5b(self.inception5a(x))
        x = self.fc(self.dropout(self.avgpool(x).flatten(1)))
        if aux1 is not None and aux2 is not None:
            return x, aux2, aux1
        return x


@register
def googlenet(num_classes: int = 1000, in_channels: int = 3, **kw) -> GoogLeNet:
    """GoogLeNet (Inception-v1); ``aux_logits=True`` adds the two auxiliary heads."""
    return GoogLeNet(num_classes, in_channels, **kw)
