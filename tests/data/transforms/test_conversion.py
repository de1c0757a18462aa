"""ToTensor, Normalize and MinMaxScale against NumPy formulas (ember.data.transforms.conversion)."""

import numpy as np
import pytest

import ember
from ember.data.transforms import (MinMaxScale, Normalize, ToTensor)
from transform_helpers import rand_batch, rand_u8


def test_to_tensor_matches_transpose_div_255():
    img = rand_u8((5, 7, 3))
    out = ToTensor()(img)
    assert out.dtype == np.float32 and out.shape == (3, 5, 7)
    np.testing.assert_array_equal(out, img.transpose(2, 0, 1).astype(np.float32) / 255)
    gray = ToTensor()(img[:, :, 0])
    assert gray.shape == (1, 5, 7)
    batch = rand_u8((4, 5, 7, 3), seed=1)
    outb = ToTensor().batch(batch)
    assert outb.shape == (4, 3, 5, 7) and outb.flags.c_contiguous
    np.testing.assert_array_equal(outb, batch.transpose(0, 3, 1, 2).astype(np.float32) / 255)
    assert ToTensor().batch(batch[..., 0]).shape == (4, 1, 5, 7)


def test_to_tensor_float_is_only_transposed_and_pil_like_accepted():
    img = np.random.default_rng(0).random((4, 6, 2))
    out = ToTensor()(img)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, img.transpose(2, 0, 1))

    class FakePIL:  # PIL images expose __array_interface__; this stands in for one
        def __init__(self, a):
            self.__array_interface__ = a.__array_interface__
            self._a = a

    u8 = rand_u8((3, 4, 3))
    np.testing.assert_array_equal(ToTensor()(FakePIL(u8)), ToTensor()(u8))
    np.testing.assert_array_equal(ToTensor()(ember.from_numpy(u8)), ToTensor()(u8))
    with pytest.raises(ValueError, match="ToTensor"):
        ToTensor()(np.zeros((1, 2, 3, 4), np.uint8))
    with pytest.raises(TypeError, match="ToTensor"):
        ToTensor()("not an image")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_normalize_matches_broadcasting(dtype):
    x = rand_batch(dtype=dtype)
    mean, std = (0.1, 0.5, 0.9), (0.2, 0.3, 0.7)
    ref = (x - np.array(mean, dtype)[:, None, None]) / np.array(std, dtype)[:, None, None]
    t = Normalize(mean, std)
    out = t.batch(x)
    assert out.dtype == dtype and out.shape == x.shape
    np.testing.assert_allclose(out, ref, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(t(x[1]), ref[1], rtol=1e-6, atol=1e-6)
    # non-contiguous input takes the NumPy path
    xs = x[:, :, ::2, :]
    np.testing.assert_allclose(t.batch(xs), ref[:, :, ::2, :], rtol=1e-6, atol=1e-6)
    # one value for all channels
    np.testing.assert_allclose(Normalize([0.5], [0.25]).batch(x), (x - 0.5) / 0.25,
                               rtol=1e-6, atol=1e-6)


def test_normalize_inplace_and_errors():
    x = rand_batch()
    y = x.copy()
    out = Normalize((0.5,) * 3, (0.5,) * 3, inplace=True).batch(y)
    assert out is y
    np.testing.assert_allclose(y, (x - 0.5) / 0.5, rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="Normalize: std.*zero"):
        Normalize((0.5, 0.5), (0.5, 0.0))
    with pytest.raises(ValueError, match="Normalize: mean has 2 values but the input has 3"):
        Normalize((0.5, 0.5), (1.0, 1.0)).batch(x)
    with pytest.raises(ValueError, match="Normalize: std has 2 values"):
        Normalize((0.5,), (1.0, 1.0)).batch(x)
    with pytest.raises(TypeError, match="Normalize: expected a floating-point"):
        Normalize((0.5,), (0.5,))(rand_u8((1, 4, 4)))
    with pytest.raises(ValueError, match=r"Normalize: expected a \(C, H, W\) image"):
        Normalize((0.5,), (0.5,))(x)


def test_min_max_scale():
    x = rand_batch() * 5 - 2
    x[2] = 3.0  # a constant sample
    out = MinMaxScale(-1, 1).batch(x)
    lo = x.min(axis=(1, 2, 3), keepdims=True)
    hi = x.max(axis=(1, 2, 3), keepdims=True)
    ref = (x - lo) / np.where(hi > lo, hi - lo, 1) * 2 - 1
    ref[2] = -1
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(MinMaxScale()(x[0]), (x[0] - x[0].min()) / np.ptp(x[0]),
                               rtol=1e-5, atol=1e-6)
    u = MinMaxScale()(rand_u8((1, 4, 4)))
    assert u.dtype == np.float32 and u.min() == 0 and u.max() == 1
    with pytest.raises(ValueError, match="MinMaxScale: min must be smaller than max"):
        MinMaxScale(1, 1)
