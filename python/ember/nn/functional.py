"""``ember.nn.functional``: stateless layer functions (PyTorch's names and defaults)."""
from __future__ import annotations

from ember.ops.activation import (crelu, elu, leaky_relu, log_softmax, maxout, prelu, selu,
                                  softmax)
from ember.ops.elementwise import relu, sigmoid, tanh
from ember.ops.linalg import linear
from ember.ops.loss import (binary_cross_entropy, binary_cross_entropy_with_logits,
                            cross_entropy, l1_loss, mse_loss, multi_margin_loss, nll_loss)
from ember.ops.shape import pad

__all__ = [
    "linear", "relu", "leaky_relu", "prelu", "elu", "selu", "sigmoid", "tanh", "softmax",
    "log_softmax", "maxout", "crelu", "cross_entropy", "nll_loss", "mse_loss", "l1_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "multi_margin_loss", "pad",
]
