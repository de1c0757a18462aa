"""Neural-network layers (``ember.nn``), with PyTorch's names, arguments and defaults."""
from ember.nn import functional, init  # noqa: F401
from ember.nn.activation import (CReLU, ELU, LeakyReLU, LogSoftmax, Maxout, PReLU, ReLU, SELU,
                                 Sigmoid, Softmax, Tanh)
from ember.nn.container import ModuleList, Sequential
from ember.nn.conv import Conv1d, Conv2d, ConvTranspose2d
from ember.nn.dropout import Dropout, Dropout2d
from ember.nn.linear import Flatten, Identity, Linear
from ember.nn.loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss,
                           MultiMarginLoss, NLLLoss)
from ember.nn.module import Module
from ember.nn.normalization import BatchNorm1d, BatchNorm2d, LocalResponseNorm
from ember.nn.parameter import Parameter
from ember.nn.pooling import (AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d, GlobalAvgPool2d,
                              MaxPool2d, MaxUnpool2d)
from ember.nn.upsampling import Upsample
from ember.nn import utils  # noqa: F401,E402

__all__ = [
    "Module", "Parameter", "Sequential", "ModuleList", "Identity", "Flatten", "Linear",
    "Conv1d", "Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d",
    "AdaptiveMaxPool2d", "GlobalAvgPool2d", "MaxUnpool2d", "BatchNorm1d", "BatchNorm2d",
    "LocalResponseNorm", "Dropout", "Dropout2d", "Upsample",
    "ReLU", "LeakyReLU", "PReLU", "ELU", "SELU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax",
    "Maxout", "CReLU", "CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "BCELoss",
    "BCEWithLogitsLoss", "MultiMarginLoss", "functional", "init",
]
