"""Neural-network layers (``ember.nn``), with PyTorch's names, arguments and defaults."""
from ember.nn import functional, init  # noqa: F401
from ember.nn.activation import (CReLU, ELU, LeakyReLU, LogSoftmax, Maxout, PReLU, ReLU, SELU,
                                 Sigmoid, Softmax, Tanh)
from ember.nn.container import ModuleList, Sequential
from ember.nn.linear import Flatten, Identity, Linear
from ember.nn.loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss,
                           MultiMarginLoss, NLLLoss)
from ember.nn.module import Module
from ember.nn.parameter import Parameter
from ember.nn import utils  # noqa: F401,E402

__all__ = [
    "Module", "Parameter", "Sequential", "ModuleList", "Identity", "Flatten", "Linear",
    "ReLU", "LeakyReLU", "PReLU", "ELU", "SELU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax",
    "Maxout", "CReLU", "CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "BCELoss",
    "BCEWithLogitsLoss", "MultiMarginLoss", "functional", "init",
]
