"""Convolution layers: Conv1d, Conv2d, ConvTranspose2d (PyTorch's arguments and init)."""
from __future__ import annotations

import math
from typing import Any, Tuple, Union

import numpy as np

from ember.nn import functional as F
from ember.nn import init
from ember.nn.module import Module
from ember.nn.parameter import Parameter
from ember.ops._args import pair, single
from ember.tensor import DEFAULT_DTYPE, Tensor

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    def __init__(self, op: str, in_channels: int, out_channels: int, kernel: Tuple[int, ...],
                 stride, padding, dilation, groups: int, bias: bool, padding_mode: str,
                 transposed: bool, output_padding=(0, 0), dtype: Any = None) -> None:
        super().__init__()
        if in_channels <= 0 or out_channels <= 0:
            raise ValueError(f"{op}: in_channels and out_channels must be positive, got "
                             f"{in_channels} and {out_channels}")
        if groups <= 0 or in_channels % groups or out_channels % groups:
            raise ValueError(f"{op}: in_channels {in_channels} and out_channels {out_channels} "
                             f"must be divisible by groups {groups}")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{op}: padding_mode must be one of {_PADDING_MODES}, got "
                             f"{padding_mode!r}")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{op}: padding must be 'same', 'valid', an int or a tuple, "
                                 f"got {padding!r}")
            if padding == "same" and any(s != 1 for s in stride):
                raise ValueError(f"{op}: padding='same' is not supported for strided "
                                 "convolutions")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = kernel, stride, padding
        self.dilation, self.groups, self.padding_mode = dilation, groups, padding_mode
        self.output_padding = output_padding
        self.transposed = transposed
        dt = np.dtype(dtype) if dtype is not None else DEFAULT_DTYPE
        shape = ((in_channels, out_channels // groups) if transposed
                 else (out_channels, in_channels // groups)) + kernel
        self.weight = Parameter(np.empty(shape, dtype=dt))
        if bias:
            self.bias = Parameter(np.empty((out_channels,), dtype=dt))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # PyTorch: kaiming_uniform_(a=sqrt(5)) == U(-1/sqrt(fan_in), 1/sqrt(fan_in)); fan_in
        # from dim 1 of the weight, also for transposed convolutions.
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        zero = (0,) * len(self.kernel_size)
        if self.padding != zero:
            s += f", padding={self.padding!r}" if isinstance(self.padding, str) \
                else f", padding={self.padding}"
        if self.dilation != (1,) * len(self.kernel_size):
            s += f", dilation={self.dilation}"
        if self.transposed and self.output_padding != zero:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


def _reversed_pad(padding: Tuple[int, ...]) -> Tuple[int, ...]:
    """(ph, pw) -> F.pad order (pw, pw, ph, ph)."""
    out: Tuple[int, ...] = ()
    for p in reversed(padding):
        out += (p, p)
    return out


class Conv2d(_ConvNd):
    """2-D convolution over (N, C, H, W). padding: int, pair, 'valid' or 'same';
    padding_mode: 'zeros', 'reflect', 'replicate' or 'circular'."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Union[int, Tuple[int, int], str] = 0, dilation: Any = 1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 dtype: Any = None) -> None:
        op = "Conv2d"
        pad = padding if isinstance(padding, str) else pair(op, "padding", padding, 0)
        super().__init__(op, in_channels, out_channels, pair(op, "kernel_size", kernel_size, 1),
                         pair(op, "stride", stride, 1), pad, pair(op, "dilation", dilation, 1),
                         single(op, "groups", groups, 1), bias, padding_mode, False,
                         dtype=dtype)

    def forward(self, x: Tensor) -> Tensor:
        if self.padding_mode != "zeros" and not isinstance(self.padding, str):
            x = F.pad(x, _reversed_pad(self.padding), mode=self.padding_mode)
            return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation,
                            self.groups)
        if self.padding_mode != "zeros" and self.padding == "same":
            total = [d * (k - 1) for d, k in zip(self.dilation, self.kernel_size)]
            x = F.pad(x, (total[1] // 2, total[1] - total[1] // 2,
                          total[0] // 2, total[0] - total[0] // 2), mode=self.padding_mode)
            return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation,
                            self.groups)
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)


class Conv1d(_ConvNd):
    """1-D convolution over (N, C, L); computed by the conv2d kernels with height 1."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Union[int, str] = 0, dilation: Any = 1, groups: int = 1,
                 bias: bool = True, padding_mode: str = "zeros", dtype: Any = None) -> None:
        op = "Conv1d"
        pad = padding if isinstance(padding, str) else (single(op, "padding", padding, 0),)
        kernel = (single(op, "kernel_size", kernel_size, 1),)
        super().__init__(op, in_channels, out_channels, kernel,
                         (single(op, "stride", stride, 1),), pad,
                         (single(op, "dilation", dilation, 1),), single(op, "groups", groups, 1),
                         bias, padding_mode, False, output_padding=(0,), dtype=dtype)

    def forward(self, x: Tensor) -> Tensor:
        if self.padding_mode != "zeros":
            if isinstance(self.padding, str):
                same = self.padding == "same"
                total = self.dilation[0] * (self.kernel_size[0] - 1) if same else 0
                x = F.pad(x, (total // 2, total - total // 2), mode=self.padding_mode)
            else:
                x = F.pad(x, (self.padding[0], self.padding[0]), mode=self.padding_mode)
            return F.conv1d(x, self.weight, self.bias, self.stride[0], 0, self.dilation[0],
                            self.groups)
        pad = self.padding if isinstance(self.padding, str) else self.padding[0]
        return F.conv1d(x, self.weight, self.bias, self.stride[0], pad, self.dilation[0],
                        self.groups)


class ConvTranspose2d(_ConvNd):
    """Transposed 2-D convolution (a.k.a. fractionally strided); weight (in, out/groups, kH, kW)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, output_padding: Any = 0, groups: int = 1, bias: bool = True,
                 dilation: Any = 1, padding_mode: str = "zeros", dtype: Any = None) -> None:
        op = "ConvTranspose2d"
        if padding_mode != "zeros":
            raise ValueError(f"{op}: only padding_mode='zeros' is supported, got {padding_mode!r}")
        super().__init__(op, in_channels, out_channels, pair(op, "kernel_size", kernel_size, 1),
                         pair(op, "stride", stride, 1), pair(op, "padding", padding, 0),
                         pair(op, "dilation", dilation, 1), single(op, "groups", groups, 1),
                         bias, padding_mode, True,
                         output_padding=pair(op, "output_padding", output_padding, 0),
                         dtype=dtype)

    def forward(self, x: Tensor) -> Tensor:
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                  self.output_padding, self.groups, self.dilation)
