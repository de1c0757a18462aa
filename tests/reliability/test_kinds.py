"""Arguments of the wrong kind are refused, not coerced: float sizes (once truncated), a
(values, indices) pair where a tensor belongs (once stacked, cutting the gradient), (H, W, C)
images given to spatial transforms (once flipped along the channel axis)."""
import subprocess
import sys

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.data import transforms as T

X = ember.randn(2, 3, 8, 8)

FLOAT_SIZES = [
    ("adaptive_avg_pool2d", "output_size", lambda v: F.adaptive_avg_pool2d(X, v)),
    ("adaptive_max_pool2d", "output_size", lambda v: F.adaptive_max_pool2d(X, (v, 2))),
    ("pad", "pad", lambda v: F.pad(X, (v, 1))),
    ("interpolate", "size", lambda v: F.interpolate(X, size=v)),
    ("interpolate", "size", lambda v: F.interpolate(X, size=(4, v))),
    ("reshape", "shape", lambda v: X.reshape(v, -1)),
    ("max_pool2d", "kernel_size", lambda v: F.max_pool2d(X, v)),
    ("avg_pool2d", "stride", lambda v: F.avg_pool2d(X, 2, stride=v)),
    ("conv2d", "padding", lambda v: F.conv2d(X, ember.randn(4, 3, 3, 3), padding=v)),
    ("zeros", "size", lambda v: ember.zeros(2, v)),
]


@pytest.mark.parametrize("value", [2.5, 2.0, np.float32(2.0)])
@pytest.mark.parametrize("op,arg,call", FLOAT_SIZES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(FLOAT_SIZES)])
def test_float_sizes_are_refused(op, arg, call, value):
    with pytest.raises(TypeError) as info:
        call(value)
    msg = str(info.value)
    assert msg.startswith(op + ":") and arg.split("_")[0] in msg, msg


PAIR_TAKERS = {
    "linear": lambda p: ember.nn.Linear(3, 2)(p),
    "relu": F.relu,
    "sigmoid": ember.sigmoid,
    "add": lambda p: ember.randn(3) + p,
    "matmul": lambda p: ember.matmul(p, ember.randn(3, 2)),
    "mse_loss": lambda p: F.mse_loss(p, ember.randn(4, 3)),
    "Tensor": ember.Tensor,
}


@pytest.mark.parametrize("reduce", ["max", "min"])
@pytest.mark.parametrize("name", sorted(PAIR_TAKERS))
def test_a_values_indices_pair_is_refused_where_a_tensor_belongs(name, reduce):
    x = ember.randn(4, 3, 3, requires_grad=True)
    pair = getattr(x, reduce)(1)
    with pytest.raises(TypeError, match=r"unpack a \(values, indices\)"):
        PAIR_TAKERS[name](pair)


@pytest.mark.parametrize("t", [T.RandomHorizontalFlip(1.0), T.RandomVerticalFlip(1.0),
                               T.RandomRotation(30), T.RandomCrop(4, padding=2),
                               T.RandomResizedCrop(6), T.CenterCrop(4)],
                         ids=lambda t: type(t).__name__)
def test_hwc_images_are_refused_by_spatial_transforms(t):
    img = np.random.default_rng(0).integers(0, 256, (8, 10, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match=r"looks like the \(H, W, C\) layout .*ToTensor"):
        t(img)


def test_flip_of_a_real_rgb_image_keeps_the_channel_order(tmp_path):
    from PIL import Image
    rgb = np.zeros((6, 5, 3), np.uint8)
    rgb[..., 0] = np.arange(5) * 40  # red ramp along the width
    rgb[..., 2] = 200
    (tmp_path / "a").mkdir()
    Image.fromarray(rgb).save(tmp_path / "a" / "x.png")
    ds = ember.data.datasets.ImageFolder(str(tmp_path))
    img, _ = ds[0]
    assert img.shape == (6, 5, 3)  # data sets yield (H, W, C)
    with pytest.raises(ValueError, match="ToTensor"):
        T.RandomHorizontalFlip(1.0)(img)
    out = T.Compose([T.ToTensor(), T.RandomHorizontalFlip(1.0)])(img)
    out = out.numpy() if hasattr(out, "numpy") else out
    np.testing.assert_allclose(out, np.flip(rgb.transpose(2, 0, 1), -1) / 255.0, atol=1e-6)


def test_transforms_are_an_attribute_after_import_ember():
    out = subprocess.run([sys.executable, "-c", "import ember; print(ember.data.transforms."
                          "ToTensor.__name__)"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ToTensor", out.stderr
