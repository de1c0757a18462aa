"""Argument and input errors of every transform name the transform and the argument."""

import pytest

from ember.data.transforms import (CenterCrop, ColorJitter, Compose, FiveCrop, GaussianNoise,
                                   Normalize, Pad, RandomAffine,
                                   RandomCrop, RandomHorizontalFlip, RandomResizedCrop,
                                   RandomRotation, RandomVerticalFlip, Resize,
                                   SaltAndPepperNoise, ToTensor)
from transform_helpers import rand_batch


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
