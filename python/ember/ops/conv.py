"""Convolutions on ember's C++ kernels: conv2d, conv1d (as conv2d with height 1),
conv_transpose2d (forward = conv2d's input gradient, and the reverse)."""
from __future__ import annotations

from typing import Any, Optional, Tuple, Union

import numpy as np

from ember import _C, _device
from ember.autograd.function import Function
from ember._limits import check_extents, check_shape
from ember.ops._args import check_float, check_ndim, pair, single
from ember.ops.shape import pad as _pad, squeeze, unsqueeze
from ember.tensor import Tensor


def _c(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a)


class Conv2d(Function):
    fresh_grads = True  # backward's arrays are new kernel results and sums

    @staticmethod
    def forward(ctx, x, w, b, stride, padding, dilation, groups):
        x, w = _c(x), _c(w)
        ctx.save_for_backward(x, w)
        ctx.args = (stride, padding, dilation, groups)
        return _C.conv2d_forward(x, w, None if b is None else _c(b), stride, padding, dilation,
                                 groups)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        stride, padding, dilation, groups = ctx.args
        nx, nw, nb = ctx.needs_input_grad[:3]
        g = _c(g)
        gx = gw = gb = None
        if nx:
            gx = _C.conv2d_backward_input(g, w, x.shape[2:], stride, padding, dilation, groups)
        if nw:
            gw, gb = _C.conv2d_backward_weight(x, g, w.shape[2:], stride, padding, dilation,
                                               groups, bool(nb))
        elif nb:
            gb = g.sum(axis=(0, 2, 3))
        return gx, gw, gb, None, None, None, None


class ConvTranspose2d(Function):
    """y = conv2d_backward_input(x, w): the adjoint of a convolution from y's shape to x's.

    That convolution's output must have x's shape. With an output_padding of at least the
    stride (allowed while it is below the dilation) it does not: then the product is taken
    over the whole unpadded extent ``(H - 1) * stride + dilation * (k - 1) + 1`` (padding
    0, which always matches) and cropped to the requested window, ``padding`` rows on, zeros
    past its end (``_Window``)."""

    @staticmethod
    def forward(ctx, x, w, b, stride, padding, output_padding, dilation, groups, out_hw):
        x, w = _c(x), _c(w)
        win = _Window.of(x.shape[2:], w.shape[2:], stride, padding, dilation, out_hw)
        if win is None:
            y = _C.conv2d_backward_input(x, w, out_hw, stride, padding, dilation, groups)
        else:
            y = win.crop(_C.conv2d_backward_input(x, w, win.full, stride, (0, 0), dilation,
                                                  groups))
        if b is not None:
            y += b.reshape(1, -1, 1, 1)
        ctx.save_for_backward(x, w)
        ctx.args = (stride, padding, dilation, groups, win)
        return y

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        stride, padding, dilation, groups, win = ctx.args
        nx, nw, nb = ctx.needs_input_grad[:3]
        g = _c(g)
        gb = g.sum(axis=(0, 2, 3)) if nb else None
        if win is not None:  # the adjoint of the crop: g placed in the whole extent
            g, padding = win.uncrop(g), (0, 0)
        gx = gw = None
        if nx:
            gx = _C.conv2d_forward(g, w, None, stride, padding, dilation, groups)
        if nw:
            gw, _ = _C.conv2d_backward_weight(g, x, w.shape[2:], stride, padding, dilation,
                                              groups, False)
        return gx, gw, gb, None, None, None, None, None, None


class _Window:
    """Where a transposed convolution's output lies in its whole unpadded extent ``full``:
    rows and columns [padding, padding + out) of it."""

    def __init__(self, full: Tuple[int, int], padding: Tuple[int, int],
                 out: Tuple[int, int]) -> None:
        self.full, self.padding, self.out = full, padding, out

    @staticmethod
    def of(in_hw, k, stride, padding, dilation, out_hw) -> Optional["_Window"]:
        """None when the convolution from out_hw with ``padding`` has in_hw as its output
        (the direct case), else the window."""
        eff = [dilation[i] * (k[i] - 1) + 1 for i in range(2)]
        if all((out_hw[i] + 2 * padding[i] - eff[i]) // stride[i] + 1 == in_hw[i]
               for i in range(2)):
            return None
        full = tuple((in_hw[i] - 1) * stride[i] + eff[i] for i in range(2))
        return _Window(full, tuple(padding), tuple(out_hw))

    def crop(self, y: np.ndarray) -> np.ndarray:
        out = np.zeros(y.shape[:2] + self.out, dtype=y.dtype)
        h = min(self.out[0], self.full[0] - self.padding[0])
        w = min(self.out[1], self.full[1] - self.padding[1])
        out[:, :, :h, :w] = y[:, :, self.padding[0]:self.padding[0] + h,
                              self.padding[1]:self.padding[1] + w]
        return out

    def uncrop(self, g: np.ndarray) -> np.ndarray:
        full = np.zeros(g.shape[:2] + self.full, dtype=g.dtype)
        h = min(self.out[0], self.full[0] - self.padding[0])
        w = min(self.out[1], self.full[1] - self.padding[1])
        full[:, :, self.padding[0]:self.padding[0] + h, self.padding[1]:self.padding[1] + w] = \
            g[:, :, :h, :w]
        return full


def _same_padding(op: str, kernel: Tuple[int, int], dilation: Tuple[int, int],
                  stride: Tuple[int, int]) -> Tuple[Tuple[int, int], Tuple[int, int, int, int]]:
    """Symmetric padding plus the extra right/bottom padding 'same' needs (as PyTorch)."""
    if stride != (1, 1):
        raise ValueError(f"{op}: padding='same' is not supported for strided convolutions "
                         f"(stride {stride})")
    sym, extra = [], []
    for k, d in zip(kernel, dilation):
        total = d * (k - 1)
        sym.append(total // 2)
        extra.append(total - 2 * (total // 2))
    return (sym[0], sym[1]), (0, extra[1], 0, extra[0])


def _check_conv_inputs(op: str, x: Tensor, weight: Tensor, bias: Optional[Tensor]) -> None:
    """What the binding cannot check: that the arguments are Tensors. Everything about
    their values (dtype, ndim, shapes, channels, groups, sizes) is checked by the binding
    (csrc/bindings/conv.cpp), which names the op and the argument."""
    for name, t in (("input", x), ("weight", weight), ("bias", bias)):
        if t is not None and not isinstance(t, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")


def conv2d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None,
           stride: Any = 1, padding: Union[int, Tuple[int, int], str] = 0, dilation: Any = 1,
           groups: int = 1) -> Tensor:
    """2-D convolution of an (N, C, H, W) input with an (O, C/groups, kH, kW) weight.

    padding: an int, a pair, 'valid' (no padding) or 'same' (output size = input size; stride 1).
    """
    _device.host_only("conv2d", input, weight)
    op = "conv2d"
    x = input
    _check_conv_inputs(op, x, weight, bias)
    if x.ndim == 3:  # unbatched (C, H, W)
        return squeeze(conv2d(unsqueeze(x, 0), weight, bias, stride, padding, dilation,
                              groups), 0)
    groups = single(op, "groups", groups)
    if x.ndim != 4:
        raise ValueError(f"{op}: expected 3-D (C, H, W) or 4-D (N, C, H, W) input, got "
                         f"{x.ndim}-D input of shape {tuple(x.shape)}")
    stride = pair(op, "stride", stride)
    dilation = pair(op, "dilation", dilation)
    k = tuple(weight.shape[2:4])
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0, 0)
        elif padding == "same":
            padding, extra = _same_padding(op, k, dilation, stride)
            if any(extra):
                x = _pad(x, extra)
        else:
            raise ValueError(f"{op}: padding must be an int, a pair, 'valid' or 'same', got "
                             f"{padding!r}")
    padding = pair(op, "padding", padding)
    return Conv2d.apply(x, weight, bias, stride, padding, dilation, groups)


def conv1d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None, stride: Any = 1,
           padding: Union[int, str] = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    """1-D convolution of (N, C, L) with (O, C/groups, k), computed as a conv2d of height 1."""
    op = "conv1d"
    if input.ndim == 2:
        return squeeze(conv1d(unsqueeze(input, 0), weight, bias, stride, padding, dilation,
                              groups), 0)
    check_ndim(op, input, (3,), "N, C, L")
    if weight.ndim != 3:
        raise ValueError(f"{op}: weight must be 3-D (out, in/groups, k), got shape "
                         f"{tuple(weight.shape)}")
    s = single(op, "stride", stride, 1)
    d = single(op, "dilation", dilation, 1)
    p = padding if isinstance(padding, str) else (0, single(op, "padding", padding, 0))
    out = conv2d(unsqueeze(input, 2), unsqueeze(weight, 2), bias, (1, s), p, (1, d), groups)
    return squeeze(out, 2)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None,
                     stride: Any = 1, padding: Any = 0, output_padding: Any = 0,
                     groups: int = 1, dilation: Any = 1) -> Tensor:
    """Transposed convolution (the gradient of conv2d w.r.t. its input); weight has shape
    (in_channels, out_channels / groups, kH, kW). Output size:
    (H - 1) * stride - 2 * padding + dilation * (kH - 1) + output_padding + 1."""
    _device.host_only("conv_transpose2d", input, weight)
    op = "conv_transpose2d"
    x = input
    if x.ndim == 3:
        return squeeze(conv_transpose2d(unsqueeze(x, 0), weight, bias, stride, padding,
                                        output_padding, groups, dilation), 0)
    # Checked here rather than by the binding: the kernel is conv2d's input gradient, whose
    # binding would name conv2d_backward_input and its own arguments.
    _check_conv_inputs(op, x, weight, bias)
    groups = single(op, "groups", groups, 1)
    check_float(op, x)
    check_ndim(op, x, (4,), "N, C, H, W")
    if weight.ndim != 4:
        raise ValueError(f"{op}: weight must be 4-D, got shape {tuple(weight.shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.dtype != x.dtype:
            raise TypeError(f"{op}: input has dtype {x.dtype} but {name} has dtype {t.dtype}")
    stride = pair(op, "stride", stride, 1)
    dilation = pair(op, "dilation", dilation, 1)
    padding = pair(op, "padding", padding, 0)
    output_padding = pair(op, "output_padding", output_padding, 0)
    for name, v, low in (("stride", stride, 1), ("dilation", dilation, 1),
                         ("padding", padding, 0), ("output_padding", output_padding, 0)):
        check_extents(op, name, v, low)
    for o, s, d in zip(output_padding, stride, dilation):
        if o >= s and o >= d:
            raise ValueError(f"{op}: output_padding {output_padding} must be smaller than "
                             f"either stride {stride} or dilation {dilation}")
    if weight.shape[0] != x.shape[1]:
        raise ValueError(f"{op}: input has {x.shape[1]} channels but weight expects "
                         f"{weight.shape[0]} (weight shape {tuple(weight.shape)})")
    if x.shape[1] % groups:
        raise ValueError(f"{op}: in_channels {x.shape[1]} must be divisible by groups {groups}")
    out_c = weight.shape[1] * groups
    if bias is not None and tuple(bias.shape) != (out_c,):
        raise ValueError(f"{op}: bias must have shape ({out_c},), got {tuple(bias.shape)}")
    out_hw = tuple((x.shape[2 + i] - 1) * stride[i] - 2 * padding[i] +
                   dilation[i] * (weight.shape[2 + i] - 1) + output_padding[i] + 1
                   for i in range(2))
    if min(out_hw) <= 0:
        raise ValueError(f"{op}: the output size {out_hw} would be empty (input shape "
                         f"{tuple(x.shape)}, padding {padding})")
    check_shape(op, (x.shape[0], out_c) + out_hw)
    return ConvTranspose2d.apply(x, weight, bias, stride, padding, output_padding, dilation,
                                 groups, out_hw)
