"""Shared helpers of the transform tests: seeded generators, random batches, and torch's
grid_sample as the oracle of the warps."""
import math

import numpy as np
import pytest

from ember.data import _rng


def seeded(seed):
    """Make the transforms draw from a fresh generator seeded with ``seed``."""
    return _rng.using(np.random.default_rng(seed))


def rand_batch(n=4, c=3, h=8, w=8, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).random((n, c, h, w)).astype(dtype)


def rand_u8(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)


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
