"""``ember.nn.functional``: stateless layer functions (PyTorch's names and defaults)."""
from __future__ import annotations

from ember.ops.activation import (crelu, elu, leaky_relu, log_softmax, maxout, prelu, selu,
                                  softmax)
from ember.ops.conv import conv1d, conv2d, conv_transpose2d
from ember.ops.dropout import dropout, dropout2d
from ember.ops.elementwise import relu, sigmoid, tanh
from ember.ops.interpolate import interpolate
from ember.ops.linalg import linear
from ember.ops.loss import (binary_cross_entropy, binary_cross_entropy_with_logits,
                            cross_entropy, l1_loss, mse_loss, multi_margin_loss, nll_loss)
from ember.ops.norm import batch_norm, local_response_norm
from ember.ops.pool import (adaptive_avg_pool2d, adaptive_max_pool2d, avg_pool2d, max_pool2d,
                            max_unpool2d)
from ember.ops.shape import pad

__all__ = [
    "linear", "conv1d", "conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d",
    "adaptive_avg_pool2d", "adaptive_max_pool2d", "max_unpool2d", "batch_norm",
    "local_response_norm", "dropout", "dropout2d", "interpolate",
    "relu", "leaky_relu", "prelu", "elu", "selu", "sigmoid", "tanh", "softmax",
    "log_softmax", "maxout", "crelu", "cross_entropy", "nll_loss", "mse_loss", "l1_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "multi_margin_loss", "pad",
]
