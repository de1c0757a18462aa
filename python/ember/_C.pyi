"""
ember's C++ kernels (GEMM, convolution, pooling, normalisation, ...)
"""
from __future__ import annotations
import collections.abc
import numpy
import typing
__all__: list[str] = ['adaptive_avg_pool2d_backward', 'adaptive_avg_pool2d_forward', 'adaptive_max_pool2d_forward', 'add', 'avg_pool2d_backward', 'avg_pool2d_forward', 'batch_norm_apply', 'batch_norm_backward', 'batch_norm_forward_train', 'batch_norm_stats', 'bmm', 'built_with_avx2', 'built_with_avx512', 'compiler', 'conv2d_algorithm', 'conv2d_backward_input', 'conv2d_backward_weight', 'conv2d_forward', 'cpu_supports_avx2', 'cpu_supports_avx512', 'cross_entropy_backward', 'cross_entropy_forward', 'fma_peak_gflops', 'gemm', 'get_conv_algo', 'get_isa', 'get_num_threads', 'keep_freed_memory', 'linear_chain', 'max_extent', 'max_pool2d_forward', 'max_threads', 'min_parallel_elements', 'optim_adadelta', 'optim_adagrad', 'optim_adam', 'optim_rmsprop', 'optim_sgd', 'pool2d_index_backward', 'relu_backward', 'relu_forward', 'sanitized', 'set_conv_algo', 'set_isa', 'set_num_threads', 'sigmoid_backward', 'tanh_backward', 'tanh_forward']
def adaptive_avg_pool2d_backward(grad_output: numpy.ndarray, input_size: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex]) -> numpy.ndarray:
    """
    Gradient of adaptive average pooling with respect to its input.
    """
def adaptive_avg_pool2d_forward(input: numpy.ndarray, output_size: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex]) -> numpy.ndarray:
    """
    Adaptive average pooling to output_size.
    """
def adaptive_max_pool2d_forward(input: numpy.ndarray, output_size: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex]) -> tuple[numpy.ndarray, numpy.ndarray]:
    """
    Adaptive max pooling to output_size: (output, indices).
    """
def add(input: numpy.ndarray, other: numpy.ndarray, out: typing.Any = None) -> numpy.ndarray:
    """
    input + other for C-contiguous float arrays of one shape and dtype, threaded; 'out' may be input or other (in place).
    """
def avg_pool2d_backward(grad_output: numpy.ndarray, input_size: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], kernel_size: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], stride: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], padding: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], ceil_mode: bool, count_include_pad: bool) -> numpy.ndarray:
    """
    Gradient of average pooling with respect to its input.
    """
def avg_pool2d_forward(input: numpy.ndarray, kernel_size: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], stride: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], padding: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], ceil_mode: bool, count_include_pad: bool) -> numpy.ndarray:
    """
    Average pooling.
    """
def batch_norm_apply(input: numpy.ndarray, mean: numpy.ndarray, invstd: numpy.ndarray, weight: typing.Any, bias: typing.Any) -> numpy.ndarray:
    """
    y = (x - mean) * invstd * weight + bias per channel of a (N, C, L) array.
    """
def batch_norm_backward(input: numpy.ndarray, grad_output: numpy.ndarray, mean: numpy.ndarray, invstd: numpy.ndarray, weight: typing.Any, training: bool, need_input: bool = True, need_weight: bool = True, need_bias: bool = True) -> tuple[typing.Any, typing.Any, typing.Any]:
    """
    Closed-form batch-norm backward: (grad_input, grad_weight, grad_bias), None if unneeded.
    """
def batch_norm_forward_train(input: numpy.ndarray, weight: typing.Any, bias: typing.Any, eps: typing.SupportsFloat | typing.SupportsIndex) -> tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray, numpy.ndarray]:
    """
    Training batch norm of a (N, C, L) array in one call: (y, mean, biased var, invstd).
    """
def batch_norm_stats(input: numpy.ndarray) -> tuple[numpy.ndarray, numpy.ndarray]:
    """
    Per-channel mean and biased variance of a C-contiguous (N, C, L) array, one pass.
    """
def bmm(a: numpy.ndarray, b: numpy.ndarray, out: typing.Any = None, trans_a: bool = False, trans_b: bool = False, alpha: typing.SupportsFloat | typing.SupportsIndex = 1.0, beta: typing.SupportsFloat | typing.SupportsIndex = 0.0) -> numpy.ndarray:
    """
    Batched gemm over the first dimension of 3-D arrays; returns out.
    """
def built_with_avx2() -> bool:
    """
    True when the AVX2 kernels were compiled in.
    """
def built_with_avx512() -> bool:
    """
    True when the AVX-512 kernels were compiled in.
    """
def compiler() -> str:
    """
    The C++ compiler that built ember._C.
    """
def conv2d_algorithm(direction: str, input_shape: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], weight_shape: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], stride: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], padding: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], dilation: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], groups: typing.SupportsInt | typing.SupportsIndex, dtype: str = 'float32') -> str:
    """
    The algorithm ('im2col', 'winograd', 'frame', 'direct' or 'pixel') that runs the pass `direction` ('forward', 'backward_input', 'backward_weight') of this layer under the current setting, with the current thread count and ISA.
    """
def conv2d_backward_input(grad_output: numpy.ndarray, weight: numpy.ndarray, input_size: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], stride: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], padding: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], dilation: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], groups: typing.SupportsInt | typing.SupportsIndex) -> numpy.ndarray:
    """
    Gradient of conv2d with respect to its input (H, W given by input_size).
    """
def conv2d_backward_weight(input: numpy.ndarray, grad_output: numpy.ndarray, kernel_size: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], stride: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], padding: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], dilation: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], groups: typing.SupportsInt | typing.SupportsIndex, bias: bool) -> tuple:
    """
    Gradients of conv2d with respect to weight and (if bias) bias: (dw, db or None).
    """
def conv2d_forward(input: numpy.ndarray, weight: numpy.ndarray, bias: typing.Any, stride: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], padding: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], dilation: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], groups: typing.SupportsInt | typing.SupportsIndex, residual: typing.Any = None, relu: bool = False) -> numpy.ndarray:
    """
    2-D convolution (zero padding), NCHW input, OIHW weight, C-contiguous arrays; optionally fused with `+ residual` (an array of the output's shape) and a ReLU, applied in that order.
    """
def cpu_supports_avx2() -> bool:
    """
    True when this CPU and OS can run AVX2+FMA code.
    """
def cpu_supports_avx512() -> bool:
    """
    True when this CPU and OS can run AVX-512 (F, VL, DQ, BW) code.
    """
def cross_entropy_backward(input: numpy.ndarray, target: numpy.ndarray, weight: typing.Any, ignore_index: typing.SupportsInt | typing.SupportsIndex, label_smoothing: typing.SupportsFloat | typing.SupportsIndex, lse: numpy.ndarray, grad: numpy.ndarray) -> numpy.ndarray:
    """
    Gradient of cross_entropy_forward's per-position losses times grad (float64, one value or one per position) with respect to the logits.
    """
def cross_entropy_forward(input: numpy.ndarray, target: numpy.ndarray, weight: typing.Any, ignore_index: typing.SupportsInt | typing.SupportsIndex, label_smoothing: typing.SupportsFloat | typing.SupportsIndex) -> tuple[numpy.ndarray, numpy.ndarray, float]:
    """
    (per-position losses, per-position logsumexp, sum of target weights) of cross-entropy with class-index targets over C-contiguous (N, C, ...) logits.
    """
def fma_peak_gflops(seconds: typing.SupportsFloat | typing.SupportsIndex = 0.2, threads: typing.SupportsInt | typing.SupportsIndex = 1, dtype: str = 'float32') -> float:
    """
    Measured FMA throughput in GFLOPS on `threads` threads with the active ISA.
    """
def gemm(a: numpy.ndarray, b: numpy.ndarray, out: typing.Any = None, trans_a: bool = False, trans_b: bool = False, alpha: typing.SupportsFloat | typing.SupportsIndex = 1.0, beta: typing.SupportsFloat | typing.SupportsIndex = 0.0, bias: typing.Any = None, relu: bool = False) -> numpy.ndarray:
    """
    out := alpha * op(a) @ op(b) + beta * out for 2-D float32/float64 arrays, then + bias (one value per column) and ReLU if given (applied to each register tile as it is finished); returns out.
    """
def get_conv_algo() -> str:
    """
    The convolution algorithm setting.
    """
def get_isa() -> str:
    """
    The ISA path kernels use now: 'avx512', 'avx2' or 'generic'.
    """
def get_num_threads() -> int:
    """
    Threads used by parallel kernels.
    """
def keep_freed_memory(bytes: typing.SupportsInt | typing.SupportsIndex) -> bool:
    """
    Tune glibc malloc so that freed blocks up to `bytes` are kept for reuse (M_MMAP_THRESHOLD and M_TRIM_THRESHOLD); returns False where malloc is not glibc's.
    """
def linear_chain(x: numpy.ndarray, weights: list, biases: list, relus: list) -> numpy.ndarray:
    """
    A chain of linear layers y_l = y_{l-1} @ weights[l] + biases[l] (ReLU where relus[l]), y_0 = x, weights[l] given as W^T (in, out); the threads split x's rows and run every layer on their own rows in one parallel region. Returns the last layer's output.
    """
def max_pool2d_forward(input: numpy.ndarray, kernel_size: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], stride: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], padding: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], dilation: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], ceil_mode: bool) -> tuple[numpy.ndarray, numpy.ndarray]:
    """
    Max pooling: (output, indices) with indices flat within each H x W plane.
    """
def optim_adadelta(params: list, grads: list, square_avg: list, acc_delta: list, lr: typing.SupportsFloat | typing.SupportsIndex, rho: typing.SupportsFloat | typing.SupportsIndex, eps: typing.SupportsFloat | typing.SupportsIndex, weight_decay: typing.SupportsFloat | typing.SupportsIndex, maximize: bool) -> None:
    """
    Fused Adadelta step.
    """
def optim_adagrad(params: list, grads: list, sum: list, steps: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex], lr: typing.SupportsFloat | typing.SupportsIndex, lr_decay: typing.SupportsFloat | typing.SupportsIndex, weight_decay: typing.SupportsFloat | typing.SupportsIndex, eps: typing.SupportsFloat | typing.SupportsIndex, maximize: bool) -> None:
    """
    Fused Adagrad step.
    """
def optim_adam(params: list, grads: list, exp_avg: list, exp_avg_sq: list, max_exp_avg_sq: typing.Any, steps: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex], lr: typing.SupportsFloat | typing.SupportsIndex, beta1: typing.SupportsFloat | typing.SupportsIndex, beta2: typing.SupportsFloat | typing.SupportsIndex, eps: typing.SupportsFloat | typing.SupportsIndex, weight_decay: typing.SupportsFloat | typing.SupportsIndex, amsgrad: bool, decoupled: bool, maximize: bool) -> None:
    """
    Fused Adam / AdamW step.
    """
def optim_rmsprop(params: list, grads: list, square_avg: list, grad_avg: typing.Any, momentum_buffer: typing.Any, lr: typing.SupportsFloat | typing.SupportsIndex, alpha: typing.SupportsFloat | typing.SupportsIndex, eps: typing.SupportsFloat | typing.SupportsIndex, weight_decay: typing.SupportsFloat | typing.SupportsIndex, momentum: typing.SupportsFloat | typing.SupportsIndex, centered: bool, maximize: bool) -> None:
    """
    Fused RMSprop step.
    """
def optim_sgd(params: list, grads: list, momentum_buffers: typing.Any, first: collections.abc.Sequence[bool], lr: typing.SupportsFloat | typing.SupportsIndex, momentum: typing.SupportsFloat | typing.SupportsIndex, dampening: typing.SupportsFloat | typing.SupportsIndex, weight_decay: typing.SupportsFloat | typing.SupportsIndex, nesterov: bool, maximize: bool) -> None:
    """
    Fused SGD step over a parameter group.
    """
def pool2d_index_backward(grad_output: numpy.ndarray, indices: numpy.ndarray, input_size: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex]) -> numpy.ndarray:
    """
    Backward of max / adaptive max pooling: scatter grad_output to the argmax positions.
    """
def relu_backward(grad_output: numpy.ndarray, output: numpy.ndarray) -> numpy.ndarray:
    """
    grad_output where ReLU's output is > 0, else 0 (C-contiguous float arrays of one shape), threaded.
    """
def relu_forward(input: numpy.ndarray) -> numpy.ndarray:
    """
    max(input, 0) of a C-contiguous float array (NaN passes), threaded.
    """
def set_conv_algo(name: str) -> None:
    """
    'auto': per layer and pass the algorithm the rules of csrc/ember/conv/select.cpp choose; 'im2col', 'winograd', 'frame', 'direct' or 'pixel' force that path wherever its geometry allows, else im2col. Process-wide; the forcing names are for tests and benchmarks.
    """
def set_isa(name: str) -> None:
    """
    Switch the ISA path ('generic', 'avx2' or 'avx512').
    """
def set_num_threads(n: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    Set the number of threads used by parallel kernels (1 to 1024).
    """
def sigmoid_backward(grad_output: numpy.ndarray, output: numpy.ndarray) -> numpy.ndarray:
    """
    grad_output * output * (1 - output), output being the sigmoid's (C-contiguous float arrays of one shape), threaded.
    """
def tanh_backward(grad_output: numpy.ndarray, output: numpy.ndarray) -> numpy.ndarray:
    """
    grad_output * (1 - output^2), output being tanh's (C-contiguous float arrays of one shape), threaded.
    """
def tanh_forward(input: numpy.ndarray) -> numpy.ndarray:
    """
    tanh of a C-contiguous float array, threaded; float32 by a vectorised polynomial within a few ulps of the exact value, float64 by std::tanh.
    """
max_extent: int = 1099511627776
max_threads: int = 1024
min_parallel_elements: int = 32768
sanitized: bool = False
