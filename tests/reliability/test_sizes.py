"""Integer overflow in size arithmetic: every size parameter near the int64 limit (and just
past the 2^40 bound) is refused with a ValueError naming the op and the argument, for every
op that computes an output size from user values. Before the checked size arithmetic
(csrc/ember/checked.h) some of these calls segfaulted and some returned wrongly shaped
arrays read out of bounds."""
import itertools

import numpy as np
import pytest

import ember
import ember.nn.functional as F

HUGE = [2**40 + 1, 2**62, 2**63 - 1]


def _x(shape=(1, 2, 6, 6), dtype=np.float32):
    return ember.Tensor(np.random.default_rng(0).standard_normal(shape).astype(dtype))


def _w(shape=(2, 2, 3, 3), dtype=np.float32):
    return ember.Tensor(np.random.default_rng(1).standard_normal(shape).astype(dtype))


# (op name in the message, argument name in the message, call(value))
CASES = [
    ("conv2d", "padding", lambda v: F.conv2d(_x(), _w(), padding=v)),
    ("conv2d", "stride", lambda v: F.conv2d(_x(), _w(), stride=v)),
    ("conv2d", "dilation", lambda v: F.conv2d(_x(), _w(), dilation=v)),
    ("conv2d", "padding", lambda v: F.conv2d(_x(), _w(), padding=(0, v))),
    ("conv_transpose2d", "stride", lambda v: F.conv_transpose2d(_x(), _w(), stride=v)),
    ("conv_transpose2d", "padding", lambda v: F.conv_transpose2d(_x(), _w(), padding=v)),
    ("conv_transpose2d", "dilation", lambda v: F.conv_transpose2d(_x(), _w(), dilation=v)),
    ("max_pool2d", "kernel_size", lambda v: F.max_pool2d(_x(), v)),
    ("max_pool2d", "stride", lambda v: F.max_pool2d(_x(), 2, stride=v)),
    ("max_pool2d", "padding", lambda v: F.max_pool2d(_x(), 2, padding=v)),
    ("max_pool2d", "dilation", lambda v: F.max_pool2d(_x(), 2, dilation=v)),
    ("avg_pool2d", "kernel_size", lambda v: F.avg_pool2d(_x(), (v, 2))),
    ("avg_pool2d", "stride", lambda v: F.avg_pool2d(_x(), 2, stride=v)),
    ("avg_pool2d", "padding", lambda v: F.avg_pool2d(_x(), 2, padding=v)),
    ("adaptive_avg_pool2d", "output_size", lambda v: F.adaptive_avg_pool2d(_x(), v)),
    ("adaptive_max_pool2d", "output_size", lambda v: F.adaptive_max_pool2d(_x(), (2, v))),
    ("interpolate", "size", lambda v: F.interpolate(_x(), size=v)),
    ("pad", "size", lambda v: F.pad(_x(), (v, 0))),
    ("max_unpool2d", "size", lambda v: F.max_unpool2d(
        _x(), ember.zeros(1, 2, 6, 6, dtype=ember.int64), 2, output_size=(v, 2))),
    ("zeros", "size", lambda v: ember.zeros(v)),
    ("randn", "size", lambda v: ember.randn(2, v)),
]


@pytest.mark.parametrize("value", HUGE)
@pytest.mark.parametrize("op,arg,call", CASES, ids=[f"{c[0]}-{c[1]}-{i}"
                                                   for i, c in enumerate(CASES)])
def test_huge_size_parameters_are_refused_naming_op_and_argument(op, arg, call, value):
    with pytest.raises(ValueError) as info:
        call(value)
    msg = str(info.value)
    assert msg.startswith(op + ":"), msg
    assert arg in msg, msg


@pytest.mark.parametrize("a,b", list(itertools.product([2**21, 2**30], [2**21, 2**30])))
def test_products_of_allowed_extents_that_overflow_are_refused(a, b):
    # Each factor is allowed; together they exceed what a tensor may hold.
    with pytest.raises(ValueError, match=r"^zeros: .*would hold"):
        ember.zeros(a, b, 2**20)


def test_dilated_kernel_extent_overflow_is_refused_by_the_kernel_binding():
    # dilation * (kernel - 1) + 1 overflows only in the product: refused, never wrapped.
    x = _x((1, 1, 4, 4))
    with pytest.raises(ValueError, match="conv2d: dilation"):
        F.conv2d(x, _w((1, 1, 3, 3)), dilation=2**40 + 1)
    with pytest.raises(ValueError, match="max_pool2d"):
        F.max_pool2d(x, 3, dilation=2**39, padding=1)


@pytest.mark.parametrize("stride", [2**39, 2**40])
def test_largest_allowed_stride_still_gives_the_right_shape(stride):
    # At the bound the formulas stay exact: one output position, the top-left window.
    x = _x((1, 1, 5, 5))
    y = F.max_pool2d(x, 2, stride=stride)
    assert y.shape == (1, 1, 1, 1)
    assert y.item() == x.numpy()[0, 0, :2, :2].max()
    y = F.conv2d(x, _w((1, 1, 2, 2)), stride=stride)
    assert y.shape == (1, 1, 1, 1)
    np.testing.assert_allclose(y.item(), (x.numpy()[0, 0, :2, :2] * _w((1, 1, 2, 2)).numpy()
                                          [0, 0]).sum(), rtol=1e-5)
