"""Resize, Pad, flips, rotations, affine maps and warp_affine against NumPy and torch's
interpolate / grid_sample (ember.data.transforms.geometric)."""
import math

import numpy as np
import pytest

from ember.data.transforms import (Pad, RandomAffine,
                                   RandomHorizontalFlip, RandomRotation, RandomVerticalFlip, Resize,
                                   warp_affine)
from transform_helpers import rand_batch, rand_u8, rotation_inverse, seeded, torch_warp


@pytest.mark.parametrize("hw,out", [((5, 7), (9, 4)), ((28, 28), (14, 14)), ((8, 8), (20, 13)),
                                    ((6, 9), (6, 9)), ((3, 10), (7, 2))])
def test_resize_bilinear_matches_torch_interpolate(hw, out):
    torch = pytest.importorskip("torch")
    x = rand_batch(2, 3, *hw)
    ref = torch.nn.functional.interpolate(torch.from_numpy(x), size=out, mode="bilinear",
                                          align_corners=False, antialias=False).numpy()
    got = Resize(out).batch(x)
    assert got.shape == ref.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(Resize(out)(x[1]), ref[1], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("hw,out", [((5, 7), (9, 4)), ((28, 28), (14, 14)), ((8, 8), (20, 13)),
                                    ((3, 10), (7, 2)), ((6, 9), (4, 6))])
def test_resize_nearest_matches_index_formula(hw, out):
    x = rand_batch(2, 3, *hw)
    rows = (np.arange(out[0]) * hw[0]) // out[0]  # floor(dst * in / out), as torch 'nearest'
    cols = (np.arange(out[1]) * hw[1]) // out[1]
    ref = x[:, :, rows][:, :, :, cols]
    np.testing.assert_array_equal(Resize(out, interpolation="nearest").batch(x), ref)
    u8 = (x * 255).astype(np.uint8)
    got = Resize(out, interpolation="nearest").batch(u8)
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, u8[:, :, rows][:, :, :, cols])


def test_resize_int_size_matches_smaller_edge_and_uint8():
    assert Resize(16).output_size(32, 48) == (16, 24)
    assert Resize(16).output_size(48, 32) == (24, 16)
    assert Resize([10]).output_size(20, 30) == (10, 15)
    x = rand_u8((1, 2, 12, 18))
    out = Resize(6).batch(x)
    assert out.shape == (1, 2, 6, 9) and out.dtype == np.uint8
    ref = Resize((6, 9)).batch(x.astype(np.float32))
    np.testing.assert_array_equal(out, np.clip(np.rint(ref), 0, 255).astype(np.uint8))


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric"])
@pytest.mark.parametrize("padding,np_pad", [(2, ((2, 2), (2, 2))), ((1, 3), ((3, 3), (1, 1))),
                                            ((1, 2, 3, 0), ((2, 0), (1, 3)))])
def test_pad_equals_np_pad(mode, padding, np_pad):
    x = rand_batch(2, 3, 5, 6)
    ref = np.pad(x, ((0, 0), (0, 0)) + np_pad, mode=mode)
    np.testing.assert_array_equal(Pad(padding, padding_mode=mode).batch(x), ref)
    np.testing.assert_array_equal(Pad(padding, padding_mode=mode)(x[0]), ref[0])


def test_pad_fill_per_channel():
    x = rand_batch(1, 3, 2, 2)
    out = Pad(1, fill=(1, 2, 3))(x[0])
    for c in range(3):
        np.testing.assert_array_equal(out[c], np.pad(x[0, c], 1, constant_values=c + 1))
    u = Pad(1, fill=300)(rand_u8((1, 2, 2)))
    assert u.dtype == np.uint8 and u[0, 0, 0] == 255


@pytest.mark.parametrize("cls,axis", [(RandomHorizontalFlip, -1), (RandomVerticalFlip, -2)])
def test_flips_equal_np_flip(cls, axis):
    x = rand_batch()
    x0 = x.copy()
    np.testing.assert_array_equal(cls(p=1.0).batch(x), np.flip(x, axis))
    np.testing.assert_array_equal(cls(p=0.0).batch(x), x)
    for i in range(len(x)):
        np.testing.assert_array_equal(cls(p=1.0)(x[i]), np.flip(x[i], axis))
        np.testing.assert_array_equal(cls(p=0.0)(x[i]), x[i])
    np.testing.assert_array_equal(x, x0)  # input untouched
    # p=0.5: every sample is either itself or flipped, chosen per sample
    xb = rand_batch(64, 1, 4, 4, seed=3)
    out = cls().batch(xb)
    flipped = [np.array_equal(o, np.flip(s, axis)) for o, s in zip(out, xb)]
    same = [np.array_equal(o, s) for o, s in zip(out, xb)]
    assert all(f or s for f, s in zip(flipped, same))
    assert 10 < sum(flipped) < 54


@pytest.mark.parametrize("size", [5, 6])
@pytest.mark.parametrize("deg,k", [(90, 1), (-90, -1), (180, 2), (270, 3)])
def test_random_rotation_right_angles_equal_rot90(size, deg, k):
    x = rand_batch(3, 2, size, size)
    ref = np.rot90(x, k, axes=(2, 3))
    t = RandomRotation((deg, deg))
    np.testing.assert_array_equal(t.batch(x), ref)
    np.testing.assert_array_equal(t(x[0]), ref[0])
    u8 = (x * 255).astype(np.uint8)
    np.testing.assert_array_equal(t.batch(u8), np.rot90(u8, k, axes=(2, 3)))
    np.testing.assert_allclose(RandomRotation((deg, deg), interpolation="bilinear").batch(x),
                               ref, atol=1e-6)


@pytest.mark.parametrize("deg", [17.0, -33.0, 130.0])
def test_random_rotation_matches_grid_sample(deg):
    x = rand_batch(2, 2, 9, 12)
    got = RandomRotation((deg, deg), interpolation="bilinear").batch(x)
    np.testing.assert_allclose(got, torch_warp(x, rotation_inverse(deg), "bilinear"),
                               atol=1e-5)
    got = RandomRotation((deg, deg)).batch(x)
    ref = torch_warp(x, rotation_inverse(deg), "nearest")
    assert np.mean(got == ref) > 0.99  # rounding ties may differ


def test_random_rotation_center_fill_and_per_sample_angles():
    x = rand_batch(1, 1, 7, 7)
    # rotating about the centre of pixel (1, 1) keeps that pixel, and 90 degrees is exact
    out = RandomRotation((90, 90), center=(1.5, 1.5))(x[0])
    assert out[0, 1, 1] == x[0, 0, 1, 1]
    assert out[0, 1, 2] == x[0, 0, 2, 1]  # counter-clockwise: what was below is now right
    filled = RandomRotation((45, 45), fill=(0.25, 0.75)).batch(np.ones((1, 2, 9, 9), "f4"))
    assert filled[0, 0, 0, 0] == 0.25 and filled[0, 1, 0, 0] == 0.75
    assert filled[0, 0, 4, 4] == 1.0
    xs = np.repeat(x, 8, axis=0)
    outs = RandomRotation(90, interpolation="bilinear").batch(xs)
    assert len({o.tobytes() for o in outs}) == 8


def test_random_affine_angle_is_clockwise_like_torchvision():
    x = rand_batch(2, 2, 9, 9)
    np.testing.assert_allclose(
        RandomAffine((30, 30), interpolation="bilinear").batch(x),
        RandomRotation((-30, -30), interpolation="bilinear").batch(x), atol=1e-6)


@pytest.mark.parametrize("angle,scale,shear", [(0, 1.5, (0, 0)), (20, 0.8, (10, 0)),
                                               (-40, 1.2, (5, -15)), (0, 1.0, (0, 25))])
def test_random_affine_matches_numeric_inverse(angle, scale, shear):
    x = rand_batch(2, 3, 10, 8)
    t = RandomAffine((angle, angle), scale=(scale, scale),
                     shear=(shear[0], shear[0], shear[1], shear[1]), interpolation="bilinear")
    # forward map of torchvision's docs: R(a) S(s) SHy(sy) SHx(sx), inverted numerically
    a, sx, sy = (math.radians(v) for v in (angle, shear[0], shear[1]))
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    shx = np.array([[1, -math.tan(sx)], [0, 1]])
    shy = np.array([[1, 0], [-math.tan(sy), 1]])
    fwd = rot @ (scale * np.eye(2)) @ shy @ shx
    inv = np.concatenate([np.linalg.inv(fwd), np.zeros((2, 1))], 1)
    np.testing.assert_allclose(t.batch(x), torch_warp(x, inv, "bilinear"), atol=1e-5)


@pytest.mark.parametrize("interp", ["bilinear", "nearest"])
def test_random_affine_per_sample_scale_matches_grid_sample(interp):
    # axis-aligned matrices that differ per sample take warp_affine's separable path
    x = rand_batch(5, 2, 9, 11)
    t = RandomAffine(0, scale=(0.6, 1.4), interpolation=interp, fill=0)
    with seeded(2):
        out = t.batch(x)
    with seeded(2):
        scales = t.get_params(5, 9, 11)["scale"]
    assert len(np.unique(scales)) == 5
    for k, s in enumerate(scales):
        inv = np.array([[1 / s, 0, 0], [0, 1 / s, 0]])
        ref = torch_warp(x[k:k + 1], inv, interp)[0]
        if interp == "bilinear":
            np.testing.assert_allclose(out[k], ref, atol=1e-5)
        else:
            np.testing.assert_array_equal(out[k], ref)


def test_random_affine_translate_is_an_integer_shift():
    x = rand_batch(12, 1, 6, 6)
    out = RandomAffine(0, translate=(0.4, 0.4)).batch(x)
    shifts = set()
    for k in range(len(x)):
        hits = []
        for dy in range(-3, 4):
            for dx in range(-3, 4):
                ref = np.zeros_like(x[k])
                src = x[k, :, max(0, -dy):6 - max(0, dy), max(0, -dx):6 - max(0, dx)]
                ref[:, max(0, dy):max(0, dy) + src.shape[1],
                    max(0, dx):max(0, dx) + src.shape[2]] = src
                if np.array_equal(out[k], ref):
                    hits.append((dy, dx))
        assert hits, f"sample {k} is not a shifted copy"
        shifts.add(hits[0])
    assert len(shifts) > 2


def test_warp_affine_identity_and_shift():
    x = rand_batch(2, 3, 5, 6)
    ident = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    for interp in ("nearest", "bilinear"):
        np.testing.assert_array_equal(warp_affine(x, ident, (5, 6), interp), x)
    shift = np.array([[1.0, 0, -1], [0, 1.0, 2]])  # out(x, y) = in(x - 1, y + 2)
    out = warp_affine(x, np.stack([shift, ident]), (5, 6), "bilinear", fill=-1)
    ref = np.full_like(x[0], -1)
    ref[:, :3, 1:] = x[0, :, 2:, :5]
    np.testing.assert_array_equal(out[0], ref)
    np.testing.assert_array_equal(out[1], x[1])
    half = np.array([[1.0, 0, 0.5], [0, 1.0, 0]])  # halfway between columns; fill at the edge
    out = warp_affine(x, half, (5, 6), "bilinear", fill=0)
    np.testing.assert_allclose(out[..., :5], (x[..., :5] + x[..., 1:]) / 2, atol=1e-6)
    np.testing.assert_allclose(out[..., 5], x[..., 5] / 2, atol=1e-6)
    with pytest.raises(ValueError, match=r"warp_affine: matrices must have shape \(2, 2, 3\)"):
        warp_affine(x, np.zeros((3, 2, 3)), (5, 6))
