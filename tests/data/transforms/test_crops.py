"""Centre, random and random resized crops and the multi-crop views against NumPy slicing
(ember.data.transforms.crops)."""

import numpy as np
import pytest

from ember.data.transforms import (CenterCrop, FiveCrop, RandomCrop, RandomResizedCrop,
                                   Resize,
                                   TenCrop)
from transform_helpers import rand_batch, seeded


@pytest.mark.parametrize("size", [(4, 4), (3, 5), (5, 2), (7, 8)])
def test_center_crop_equals_slicing(size):
    x = rand_batch(2, 3, 7, 8)
    th, tw = size
    top, left = int(round((7 - th) / 2)), int(round((8 - tw) / 2))
    ref = x[:, :, top:top + th, left:left + tw]
    np.testing.assert_array_equal(CenterCrop(size).batch(x), ref)
    np.testing.assert_array_equal(CenterCrop(size)(x[0]), ref[0])


def test_center_crop_pads_when_larger():
    x = rand_batch(1, 1, 3, 4)
    out = CenterCrop((6, 5))(x[0])
    ref = np.pad(x[0], ((0, 0), (1, 2), (0, 1)))
    np.testing.assert_array_equal(out, ref)


def find_offset(padded, crop):
    """All (i, j) at which ``crop`` equals a window of ``padded``."""
    th, tw = crop.shape[-2:]
    return [(i, j) for i in range(padded.shape[-2] - th + 1)
            for j in range(padded.shape[-1] - tw + 1)
            if np.array_equal(padded[..., i:i + th, j:j + tw], crop)]


@pytest.mark.parametrize("mode", ["constant", "reflect", "edge", "symmetric"])
def test_random_crop_with_padding_is_a_window_of_np_pad(mode):
    x = rand_batch(16, 2, 6, 6)
    out = RandomCrop(6, padding=2, padding_mode=mode).batch(x)
    assert out.shape == x.shape and out.dtype == x.dtype
    padded = np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)), mode=mode)
    offsets = []
    for k in range(len(x)):
        found = find_offset(padded[k], out[k])
        assert found, f"sample {k} is not a window of the padded image"
        offsets.append(found[0])
    assert len(set(offsets)) > 3  # each sample has its own offset


def test_random_crop_offset_and_single_sample():
    x = rand_batch(1, 3, 9, 7)
    for seed in range(5):
        with seeded(seed):
            out = RandomCrop((4, 3))(x[0])
        with seeded(seed):
            i, j = RandomCrop((4, 3)).get_params(1, 9, 7)
        np.testing.assert_array_equal(out, x[0, :, i[0]:i[0] + 4, j[0]:j[0] + 3])
    np.testing.assert_array_equal(RandomCrop((9, 7))(x[0]), x[0])


def test_random_crop_output_does_not_alias_scratch():
    x = rand_batch(4, 1, 5, 5)
    a = RandomCrop(5, padding=1).batch(x)
    a0 = a.copy()
    RandomCrop(5, padding=1).batch(rand_batch(4, 1, 5, 5, seed=9))
    np.testing.assert_array_equal(a, a0)


def test_random_crop_pad_if_needed_and_fill():
    x = rand_batch(3, 3, 4, 5)
    out = RandomCrop((6, 7), pad_if_needed=True, fill=(7, 8, 9)).batch(x)
    assert out.shape == (3, 3, 6, 7)
    for k in range(3):  # torchvision pads both sides by the missing amount
        padded = np.stack([np.pad(x[k, c], ((2, 2), (2, 2)), constant_values=7 + c)
                           for c in range(3)])
        assert find_offset(padded, out[k])
    with pytest.raises(ValueError, match=r"RandomCrop: required crop size \(6, 7\) is larger"):
        RandomCrop((6, 7)).batch(x)


def test_random_resized_crop_full_area_equals_resize():
    x = rand_batch(3, 3, 10, 10)
    for interp in ("bilinear", "nearest"):
        got = RandomResizedCrop(6, scale=(1, 1), ratio=(1, 1), interpolation=interp).batch(x)
        np.testing.assert_allclose(got, Resize(6, interpolation=interp).batch(x), atol=1e-6)


@pytest.mark.parametrize("interp", ["bilinear", "nearest"])
def test_random_resized_crop_equals_crop_then_resize(interp):
    x = rand_batch(6, 2, 12, 10)
    t = RandomResizedCrop((5, 7), interpolation=interp)
    with seeded(4):
        out = t.batch(x)
    with seeded(4):
        params = t.get_params(6, 12, 10)
    assert len({tuple(p) for p in params}) == 6
    for k, (i, j, h, w) in enumerate(params):
        assert 0 <= i and i + h <= 12 and 0 <= j and j + w <= 10
        ref = Resize((5, 7), interpolation=interp)(x[k, :, i:i + h, j:j + w])
        np.testing.assert_allclose(out[k], ref, atol=1e-6)


def test_random_resized_crop_params_follow_scale_and_ratio():
    t = RandomResizedCrop(8, scale=(0.2, 0.5), ratio=(0.5, 2.0))
    p = t.get_params(2000, 100, 100)
    area = p[:, 2] * p[:, 3] / 1e4
    assert area.min() > 0.18 and area.max() < 0.53
    ratio = p[:, 3] / p[:, 2]
    assert ratio.min() > 0.45 and ratio.max() < 2.2
    # impossible draws fall back to the central crop clipped to the ratio range
    p = RandomResizedCrop(8, scale=(5, 6), ratio=(1, 1)).get_params(3, 10, 20)
    np.testing.assert_array_equal(p, [[0, 5, 10, 10]] * 3)


def test_five_crop_and_ten_crop_equal_slicing():
    x = rand_batch(2, 3, 7, 9)
    h, w = 4, 5
    top, left = int(round((7 - h) / 2)), int(round((9 - w) / 2))

    def five(a):
        return [a[..., :h, :w], a[..., :h, 9 - w:], a[..., 7 - h:, :w], a[..., 7 - h:, 9 - w:],
                a[..., top:top + h, left:left + w]]

    out = FiveCrop((h, w))(x[0])
    assert isinstance(out, tuple) and len(out) == 5
    for got, ref in zip(out, five(x[0])):
        np.testing.assert_array_equal(got, ref)
    b = FiveCrop((h, w)).batch(x)
    assert b.shape == (5, 2, 3, h, w)
    np.testing.assert_array_equal(b, np.stack(five(x)))
    ten = TenCrop((h, w)).batch(x)
    assert ten.shape == (10, 2, 3, h, w)
    np.testing.assert_array_equal(ten, np.stack(five(x) + five(x[..., ::-1])))
    tv = TenCrop((h, w), vertical_flip=True)(x[1])
    for got, ref in zip(tv, five(x[1]) + five(x[1, :, ::-1])):
        np.testing.assert_array_equal(got, ref)
    with pytest.raises(ValueError, match="FiveCrop: requested crop size"):
        FiveCrop(8).batch(x)
