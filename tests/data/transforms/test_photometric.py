"""Noise and colour jitter: their statistics and formulas (ember.data.transforms.photometric)."""

import numpy as np
import pytest

from ember.data.transforms import (ColorJitter, GaussianNoise,
                                   SaltAndPepperNoise)
from transform_helpers import rand_batch, rand_u8


def test_gaussian_noise_statistics():
    x = np.full((8, 1, 32, 32), 0.5, np.float32)
    out = GaussianNoise(mean=0.05, std=0.1, clip=False).batch(x)
    d = out - x
    assert out.dtype == np.float32
    assert abs(d.mean() - 0.05) < 0.005 and abs(d.std() - 0.1) < 0.005
    clipped = GaussianNoise(std=1.0).batch(x)
    assert clipped.min() == 0.0 and clipped.max() == 1.0
    np.testing.assert_array_equal(GaussianNoise(std=0.0)(x[0]), x[0])
    with pytest.raises(TypeError, match="GaussianNoise: expected a floating-point"):
        GaussianNoise()(rand_u8((1, 2, 2)))


def test_salt_and_pepper_fraction():
    x = np.full((4, 3, 64, 64), 0.5, np.float32)
    out = SaltAndPepperNoise(amount=0.1, salt_vs_pepper=0.3).batch(x)
    changed = out != 0.5
    assert (changed.all(axis=1) | ~changed.any(axis=1)).all()  # channels change together
    frac = changed[:, 0].mean()
    assert abs(frac - 0.1) < 0.01
    salt = (out[:, 0] == 1.0).sum() / changed[:, 0].sum()
    assert abs(salt - 0.3) < 0.04
    assert set(np.unique(out)) <= {0.0, 0.5, 1.0}
    u = SaltAndPepperNoise(amount=1.0, low=0, high=255)(np.full((1, 8, 8), 9, np.uint8))
    assert u.dtype == np.uint8 and set(np.unique(u)) <= {0, 255}


def test_color_jitter_brightness_factor_is_exact():
    x = rand_batch(4, 3, 5, 5)
    out = ColorJitter(brightness=(0.7, 0.7)).batch(x)
    np.testing.assert_array_equal(out, np.clip(x * np.float32(0.7), 0, 1))
    np.testing.assert_array_equal(ColorJitter(brightness=(1.6, 1.6))(x[0]),
                                  np.clip(x[0] * np.float32(1.6), 0, 1))
    # random factors: one per sample, in [0.5, 1.5]
    y = rand_batch(16, 1, 6, 6) * 0.5 + 0.1
    out = ColorJitter(brightness=0.5).batch(y)
    ratios = out / y
    per_sample = ratios.reshape(16, -1)
    np.testing.assert_allclose(per_sample, np.broadcast_to(per_sample[:, :1], (16, 36)),
                               rtol=1e-5)
    f = per_sample[:, 0]
    assert f.min() >= 0.5 - 1e-6 and f.max() <= 1.5 + 1e-6 and len(np.unique(f)) == 16


def gray(x):
    return 0.2989 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]


def test_color_jitter_contrast_and_saturation_formulas():
    x = rand_batch(3, 3, 6, 6)
    f = 0.6
    m = gray(x).mean(axis=(1, 2, 3), keepdims=True)
    np.testing.assert_allclose(ColorJitter(contrast=(f, f)).batch(x),
                               np.clip(f * x + (1 - f) * m, 0, 1), atol=1e-6)
    np.testing.assert_allclose(ColorJitter(saturation=(f, f)).batch(x),
                               np.clip(f * x + (1 - f) * gray(x), 0, 1), atol=1e-6)
    g = rand_batch(2, 1, 5, 5)
    np.testing.assert_array_equal(ColorJitter(saturation=0.9).batch(g), g)  # no-op for gray
    mg = g.mean(axis=(1, 2, 3), keepdims=True)
    np.testing.assert_allclose(ColorJitter(contrast=(1.5, 1.5)).batch(g),
                               np.clip(1.5 * g - 0.5 * mg, 0, 1), atol=1e-6)
    u = (x * 255).astype(np.uint8)
    got = ColorJitter(brightness=(1.3, 1.3)).batch(u)
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, np.clip(u * np.float32(1.3), 0, 255).astype(np.uint8))


def test_color_jitter_random_order_per_sample():
    x = np.repeat(rand_batch(1, 3, 5, 5), 32, axis=0)
    t = ColorJitter(brightness=(1.4, 1.4), contrast=(0.5, 0.5))
    out = t.batch(x)
    b_then_c = ColorJitter(contrast=(0.5, 0.5)).batch(ColorJitter(brightness=(1.4, 1.4))
                                                      .batch(x[:1]))[0]
    c_then_b = ColorJitter(brightness=(1.4, 1.4)).batch(ColorJitter(contrast=(0.5, 0.5))
                                                        .batch(x[:1]))[0]
    assert not np.allclose(b_then_c, c_then_b)
    kinds = [0 if np.allclose(o, b_then_c, atol=1e-6) else
             1 if np.allclose(o, c_then_b, atol=1e-6) else 2 for o in out]
    assert 2 not in kinds and 0 < sum(kinds) < 32
