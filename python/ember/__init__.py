"""ember: a deep learning engine for Python with its own C++ kernels.

Tensors with reverse-mode autograd (``ember.Tensor``), layers (``ember.nn``), optimizers
(``ember.optim``); the hot kernels (GEMM, ...) are C++ in ``ember._C``.
"""
__version__ = "0.1.0"

import numpy as _np

from ember import _C  # noqa: F401  (fails early with a clear ImportError if not built)
from ember._config import _tune_malloc, config, get_num_threads, set_num_threads, show_config
_tune_malloc()
from ember._random import Generator, default_generator, manual_seed
from ember._device import device
from ember.autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from ember.tensor import (Tensor, arange, as_tensor, empty, empty_like, eye, from_dlpack,
                          from_numpy, full, full_like, linspace, ones, ones_like, rand,
                          rand_like, randint, randn, randn_like, randperm, tensor, zeros,
                          zeros_like)
from ember.ops.activation import log_softmax, softmax
from ember.ops.elementwise import (abs, add, clamp, clip, div, exp, log, maximum, minimum, mul,
                                   neg, pow, relu, sigmoid, sqrt, sub, tanh, where)
from ember.ops.linalg import matmul
from ember.ops.reduce import argmax, argmin, max, mean, min, std, sum, var
from ember.ops.shape import (cat, chunk, flatten, permute, reshape, split, squeeze, stack,
                             transpose, unbind, unsqueeze)
from ember import autograd, cuda, data, models, nn, optim, profiler, train, utils  # noqa: E402
from ember.utils import load, save, summary  # noqa: E402

float32 = _np.float32
float64 = _np.float64
float16 = _np.float16
int64 = _np.int64
int32 = _np.int32
uint8 = _np.uint8
bool_ = _np.bool_
float = float32  # noqa: A001  (torch.float)
double = float64
long = int64


def eq(a, b) -> Tensor:
    """Elementwise equality (bool tensor)."""
    return as_tensor(a) == b


def is_tensor(x) -> bool:
    return isinstance(x, Tensor)


def numel(x: Tensor) -> int:
    return x.numel()
