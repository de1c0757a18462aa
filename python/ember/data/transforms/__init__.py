"""Image transforms and augmentations, with torchvision's names, arguments and defaults.

Layouts: data sets yield images as ``uint8`` arrays in HWC layout (``(H, W, C)``, ``C = 1`` for
grayscale). :class:`ToTensor` turns them into float32 CHW arrays in [0, 1]; every other transform
takes one CHW sample (a NumPy array or an ``ember.Tensor``) and returns a NumPy array, of the same
dtype wherever that makes sense.

Every transform has two entry points:

* ``t(img)``: one sample ``(C, H, W)``;
* ``t.batch(imgs)``: a whole batch ``(N, C, H, W)`` at once, vectorised with NumPy, each sample
  with its own random parameters (drawn as arrays in one call).

Random transforms draw all their randomness from :func:`ember.data._rng.current`, so outside a
DataLoader ``ember.manual_seed`` makes them reproducible, and a DataLoader can seed each batch.

Geometric warps (:class:`Resize`, :class:`RandomRotation`, :class:`RandomAffine`,
:class:`RandomResizedCrop`) share one vectorised inverse-mapping warp, :func:`warp_affine`.
Coordinates are pixel indices: pixel ``(row i, column j)`` has its centre at ``x = j, y = i``.

Modules: ``base`` (the Transform class, Compose, Lambda), ``conversion`` (ToTensor,
Normalize, MinMaxScale), ``geometric`` (warps, flips, padding), ``crops`` (including the
multi-crop views of test-time augmentation, ``ember.train.tta_predict``), ``photometric``
(noise, colour).

Example (the fast training pipeline)::

    train_tf = Compose([ToTensor(), RandomCrop(28, padding=4), RandomHorizontalFlip(),
                        Normalize((0.2860,), (0.3530,))])
    x = train_tf.batch(uint8_images_nhwc)        # (N, 1, 28, 28) float32
"""
from ember.data.transforms.base import Compose, Lambda, Transform
from ember.data.transforms.conversion import MinMaxScale, Normalize, ToTensor
from ember.data.transforms.geometric import (warp_affine, Resize, Pad, RandomHorizontalFlip,
                                             RandomVerticalFlip, RandomRotation, RandomAffine)
from ember.data.transforms.crops import CenterCrop, RandomCrop, RandomResizedCrop, FiveCrop, TenCrop
from ember.data.transforms.photometric import GaussianNoise, SaltAndPepperNoise, ColorJitter

__all__ = [
    "Transform", "Compose", "ToTensor", "Normalize", "MinMaxScale", "Lambda", "warp_affine",
    "Resize", "Pad", "RandomHorizontalFlip", "RandomVerticalFlip", "RandomRotation", "RandomAffine",
    "CenterCrop", "RandomCrop", "RandomResizedCrop", "FiveCrop", "TenCrop", "GaussianNoise",
    "SaltAndPepperNoise", "ColorJitter",
]
