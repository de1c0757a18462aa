"""A small CNN and a training loop on the embedded Fashion-MNIST sample, shared by the
concurrency and soak tests."""
import numpy as np

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.data.datasets import EmbeddedFashionMNIST


def small_cnn(seed: int) -> nn.Module:
    ember.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(16, 10))


def batches(n: int, batch: int = 16, offset: int = 0):
    """n real (image, label) batches, 28x28 images scaled to [0, 1], cycling over the data."""
    ds = EmbeddedFashionMNIST(train=True)
    x = ds.data[..., 0].astype(np.float32)[:, None] / 255.0
    y = ds.targets.astype(np.int64)
    out = []
    for i in range(n):
        s = ((offset + i) * batch) % (len(x) - batch)
        out.append((ember.Tensor(x[s:s + batch]), ember.Tensor(y[s:s + batch])))
    return out


def train(model: nn.Module, data, lr: float = 0.05) -> list:
    opt = ember.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    losses = []
    for xb, yb in data:
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses
