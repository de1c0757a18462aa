"""Tests for ember.data.transforms: every transform against an independent computation (NumPy
slicing/flips/padding, torch's interpolate and grid_sample where importable), batch vs
per-sample agreement, per-sample randomness, reproducibility and argument errors."""
import math

import numpy as np
import pytest

import ember
from ember.data import _rng
from ember.data.transforms import (CenterCrop, ColorJitter, Compose, FiveCrop, GaussianNoise,
                                   Lambda, MinMaxScale, Normalize, Pad, RandomAffine,
                                   RandomCrop, RandomHorizontalFlip, RandomResizedCrop,
                                   RandomRotation, RandomVerticalFlip, Resize,
                                   SaltAndPepperNoise, TenCrop, ToTensor, warp_affine)
from ember.data import compute_mean_std
from ember.train import tta_predict


def seeded(seed):
    """Make the transforms draw from a fresh generator seeded with ``seed``."""
    return _rng.using(np.random.default_rng(seed))


def rand_batch(n=4, c=3, h=8, w=8, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).random((n, c, h, w)).astype(dtype)


def rand_u8(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)


# ------------------------------------------------------------------------- torch oracles
def torch_warp(x, inv_centred, mode):
    """Warp (N, C, H, W) with torch.grid_sample given a 2x3 output->input matrix on coordinates
    centred on the image (torchvision's convention), zeros outside."""
    torch = pytest.importorskip("torch")
    n, _, h, w = x.shape
    s = np.diag([w / 2.0, h / 2.0])
    lin = np.linalg.inv(s) @ inv_centred[:, :2] @ s
    t = np.linalg.inv(s) @ inv_centred[:, 2]
    theta = torch.tensor(np.concatenate([lin, t[:, None]], 1)[None].repeat(n, 0),
                         dtype=torch.float64)
    grid = torch.nn.functional.affine_grid(theta, (n, x.shape[1], h, w), align_corners=False)
    out = torch.nn.functional.grid_sample(torch.from_numpy(x.astype(np.float64)), grid,
                                          mode=mode, padding_mode="zeros", align_corners=False)
    return out.numpy()


def rotation_inverse(deg):
    """Inverse map of a counter-clockwise rotation (on screen, y pointing down) by ``deg``."""
    a = math.radians(deg)
    return np.array([[math.cos(a), -math.sin(a), 0.0], [math.sin(a), math.cos(a), 0.0]])


# ------------------------------------------------------------------------- ToTensor
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


# ------------------------------------------------------------------------- Normalize etc.
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


def test_lambda():
    x = rand_batch()
    t = Lambda(lambda a: a * 2)
    np.testing.assert_array_equal(t(x[0]), x[0] * 2)
    np.testing.assert_array_equal(t.batch(x), x * 2)
    np.testing.assert_array_equal(Lambda(lambda a: a.sum(0, keepdims=True)).batch(x),
                                  x.sum(1, keepdims=True))
    np.testing.assert_array_equal(Lambda(lambda a: a[:, :1], batched=True).batch(x), x[:, :1])
    with pytest.raises(TypeError, match="Lambda: lambd must be callable"):
        Lambda(3)


# ------------------------------------------------------------------------- Resize / crops / pad
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


# ------------------------------------------------------------------------- flips
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


# ------------------------------------------------------------------------- RandomCrop
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


# ------------------------------------------------------------------------- rotation / affine
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


# ------------------------------------------------------------------------- RandomResizedCrop
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


# ------------------------------------------------------------------------- noise / colour
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


# ------------------------------------------------------------------------- Five/TenCrop, TTA
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


def test_tta_predict_equals_manual_average():
    ember.manual_seed(0)
    model = ember.nn.Sequential(ember.nn.Flatten(), ember.nn.Linear(3 * 4 * 4, 5))
    x = rand_batch(3, 3, 6, 6)
    for crops in (FiveCrop(4), TenCrop(4)):
        got = tta_predict(model, ember.from_numpy(x), crops)
        assert isinstance(got, ember.Tensor) and got.shape == (3, 5)
        assert not got.requires_grad
        manual = np.mean([model(ember.from_numpy(np.ascontiguousarray(c))).detach().numpy()
                          for c in crops.batch(x)], axis=0)
        np.testing.assert_allclose(got.numpy(), manual, rtol=1e-5, atol=1e-6)
    with pytest.raises(TypeError, match="tta_predict: crops"):
        tta_predict(model, x, RandomCrop(4))


# ------------------------------------------------------------------------- warp, stats, Compose
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


def test_compute_mean_std():
    data = rand_u8((50, 6, 5, 3))
    mean, std = compute_mean_std(data, chunk_size=7)
    f = data.astype(np.float64) / 255
    np.testing.assert_allclose(mean, f.mean(axis=(0, 1, 2)), rtol=1e-12)
    np.testing.assert_allclose(std, f.std(axis=(0, 1, 2)), rtol=1e-12)
    m1, s1 = compute_mean_std(data[..., 0])
    np.testing.assert_allclose(m1, [f[..., 0].mean()], rtol=1e-12)
    m2, s2 = compute_mean_std(data.transpose(0, 3, 1, 2), channels_last=False, chunk_size=9)
    np.testing.assert_allclose(m2, mean, rtol=1e-12)
    np.testing.assert_allclose(s2, std, rtol=1e-12)

    class DS:
        pass

    ds = DS()
    ds.data = f.astype(np.float32)  # float data is used as it is
    m3, s3 = compute_mean_std(ds, chunk_size=8)
    np.testing.assert_allclose(m3, mean, rtol=1e-6)
    np.testing.assert_allclose(s3, std, rtol=1e-5)


def test_compose_call_batch_and_repr():
    u8 = rand_u8((6, 8, 8, 3))
    tf = Compose([ToTensor(), RandomCrop(6, padding=2), RandomHorizontalFlip(),
                  Normalize((0.5,) * 3, (0.25,) * 3)])
    with seeded(1):
        out = tf.batch(u8)
    with seeded(1):  # the same transforms applied one by one, out of place
        ref = u8
        for t in tf.transforms:
            ref = t.batch(ref)
    np.testing.assert_array_equal(out, ref)
    assert out.shape == (6, 3, 6, 6) and out.dtype == np.float32
    single = tf(u8[0])
    assert single.shape == (3, 6, 6)
    assert repr(tf).startswith("Compose(\n    ToTensor()\n    RandomCrop(size=(6, 6)")
    assert repr(tf).endswith("Normalize(mean=[0.5, 0.5, 0.5], std=[0.25, 0.25, 0.25])\n)")
    # the input batch is never modified, even when flips work in place on intermediates
    x = rand_batch(8, 1, 4, 4)
    x0 = x.copy()
    Compose([RandomHorizontalFlip(1.0), RandomVerticalFlip(1.0)]).batch(x)
    Compose([Lambda(lambda a: a, batched=True), RandomHorizontalFlip(1.0)]).batch(x)
    np.testing.assert_array_equal(x, x0)
    # plain callables without ``batch`` are applied per sample
    np.testing.assert_array_equal(Compose([lambda a: a + 1]).batch(x), x + 1)


def test_batch_agrees_with_call_for_fixed_parameters():
    x = rand_batch(3, 3, 9, 9)
    for t in (Normalize((0.2, 0.3, 0.4), (0.5, 0.6, 0.7)), MinMaxScale(), Resize((5, 7)),
              CenterCrop(5), Pad(2, padding_mode="reflect"), RandomHorizontalFlip(1.0),
              RandomVerticalFlip(0.0), RandomRotation((33, 33)),
              RandomAffine((10, 10), scale=(1.2, 1.2), shear=(5, 5)),
              ColorJitter(contrast=(0.5, 0.5)), GaussianNoise(std=0.0),
              RandomResizedCrop(4, scale=(1, 1), ratio=(1, 1))):
        b = t.batch(x)
        for k in range(3):
            np.testing.assert_allclose(t(x[k]), b[k], atol=1e-6, err_msg=repr(t))


def test_tensor_input_gives_numpy_output():
    x = rand_batch()
    out = RandomHorizontalFlip(1.0).batch(ember.from_numpy(x))
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, x[..., ::-1])
    assert isinstance(CenterCrop(4)(ember.from_numpy(x[0])), np.ndarray)


# ------------------------------------------------------------------------- randomness
RANDOM = [RandomHorizontalFlip(), RandomCrop(6, padding=2), RandomRotation(30),
          RandomAffine(20, translate=(0.1, 0.1), scale=(0.9, 1.1), shear=10),
          RandomResizedCrop(6), GaussianNoise(), SaltAndPepperNoise(0.2),
          ColorJitter(0.4, 0.4, 0.4)]


@pytest.mark.parametrize("t", RANDOM, ids=lambda t: type(t).__name__)
def test_reproducible_from_seed(t):
    x = rand_batch(8, 3, 8, 8)
    with seeded(11):
        a = t.batch(x)
    with seeded(11):
        b = t.batch(x)
    with seeded(12):
        c = t.batch(x)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    ember.manual_seed(5)
    d = t.batch(x)
    ember.manual_seed(5)
    np.testing.assert_array_equal(t.batch(x), d)
    state = np.random.get_state()
    t.batch(x)
    assert np.random.get_state()[1].tobytes() == state[1].tobytes()  # global RNG untouched


@pytest.mark.parametrize("t", RANDOM, ids=lambda t: type(t).__name__)
def test_each_sample_gets_its_own_parameters(t):
    x = np.repeat(rand_batch(1, 3, 8, 8), 12, axis=0)
    out = t.batch(x)
    assert out.shape[:2] == x.shape[:2] and out.dtype == x.dtype
    distinct = len({o.tobytes() for o in out})
    assert distinct == 2 if isinstance(t, RandomHorizontalFlip) else distinct > 3


# ------------------------------------------------------------------------- errors
@pytest.mark.parametrize("make,exc,msg", [
    (lambda: RandomCrop(-3), ValueError, "RandomCrop: size must be positive"),
    (lambda: CenterCrop((0, 4)), ValueError, "CenterCrop: size must be positive"),
    (lambda: Resize(-1), ValueError, "Resize: size must be positive"),
    (lambda: Resize(2.5), TypeError, "Resize: size must be an int"),
    (lambda: Resize(4, interpolation="bicubic"), ValueError, "Resize: interpolation must be"),
    (lambda: RandomRotation(10, interpolation="area"), ValueError,
     "RandomRotation: interpolation"),
    (lambda: RandomHorizontalFlip(1.5), ValueError, r"RandomHorizontalFlip: p must be in \[0, 1\]"),
    (lambda: RandomVerticalFlip(-0.1), ValueError, r"RandomVerticalFlip: p must be in \[0, 1\]"),
    (lambda: RandomHorizontalFlip("a"), TypeError, "RandomHorizontalFlip: p must be a number"),
    (lambda: Pad(2, padding_mode="wrap"), ValueError, "Pad: padding_mode must be one of"),
    (lambda: Pad(-1), ValueError, "Pad: padding must be non-negative"),
    (lambda: Pad((1, 2, 3)), TypeError, "Pad: padding must be an int or a sequence"),
    (lambda: RandomCrop(4, padding=1, padding_mode="circular"), ValueError,
     "RandomCrop: padding_mode"),
    (lambda: RandomRotation(-5), ValueError, "RandomRotation: if degrees is a single number"),
    (lambda: RandomRotation(10, expand=True), ValueError, "RandomRotation: expand=True"),
    (lambda: RandomAffine(0, translate=(0.5, 1.5)), ValueError, "RandomAffine: translate"),
    (lambda: RandomAffine(0, scale=(0, 1)), ValueError, "RandomAffine: scale"),
    (lambda: RandomResizedCrop(4, scale=(0.9, 0.1)), ValueError, "RandomResizedCrop: scale"),
    (lambda: GaussianNoise(std=-1), ValueError, "GaussianNoise: std must be non-negative"),
    (lambda: SaltAndPepperNoise(amount=2), ValueError, r"SaltAndPepperNoise: amount must be in"),
    (lambda: ColorJitter(brightness=-0.1), ValueError, "ColorJitter: if brightness"),
    (lambda: ColorJitter(contrast=(2, 1)), ValueError, "ColorJitter: contrast"),
    (lambda: Normalize((0.5,), (0,)), ValueError, "Normalize: std evaluated to zero"),
    (lambda: Compose(ToTensor()), TypeError, "Compose: transforms must be a list"),
    (lambda: FiveCrop(0), ValueError, "FiveCrop: size must be positive"),
])
def test_bad_arguments(make, exc, msg):
    with pytest.raises(exc, match=msg):
        make()


def test_bad_inputs():
    x = rand_batch()
    with pytest.raises(ValueError, match=r"RandomCrop.batch: expected a \(N, C, H, W\) batch"):
        RandomCrop(4).batch(x[0])
    with pytest.raises(ValueError, match=r"CenterCrop: expected a \(C, H, W\) image"):
        CenterCrop(4)(x)
    with pytest.raises(TypeError, match="RandomRotation: expected a numpy.ndarray"):
        RandomRotation(3)([[1, 2]])
    with pytest.raises(ValueError, match="ColorJitter: input must have 1 or 3 channels"):
        ColorJitter(brightness=0.5).batch(rand_batch(2, 2))
    with pytest.raises(ValueError, match="RandomRotation: fill has 2 values"):
        RandomRotation(3, fill=(1, 2)).batch(x)
    with pytest.raises(ValueError, match="Pad: padding .* must be smaller"):
        Pad(8, padding_mode="reflect").batch(x)
