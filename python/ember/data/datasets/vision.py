"""Image datasets read from local files (nothing is downloaded): MNIST, Fashion-MNIST,
CIFAR-10 (binary version), ImageFolder, and the small real datasets shipped inside ember.

Images are uint8 arrays in HWC layout (C = 1 for grayscale); ``transforms.ToTensor`` makes
them float CHW in [0, 1]. Each dataset has ``data`` (N, H, W, C), ``targets`` (N,) int64 and
``classes``, like torchvision's.
"""
from __future__ import annotations

import os
import warnings
from typing import Callable, List, Optional, Tuple

import numpy as np

from ember.data.dataset import ArrayDataset
from ember.data.datasets.files import DatasetError, read_cifar_records, read_idx, resolve

__all__ = ["MNIST", "FashionMNIST", "CIFAR10", "ImageFolder", "Digits",
           "EmbeddedFashionMNIST", "FASHION_MNIST_ROOT", "EMBEDDED_ROOT"]

FASHION_MNIST_ROOT = "/usr/share/datasets/fashion-mnist"
EMBEDDED_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_data")

FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot"]
DIGIT_CLASSES = [str(d) for d in range(10)]
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck"]


def _load_idx_pair(root: str, images: str, labels: str) -> Tuple[np.ndarray, np.ndarray]:
    img_path, lab_path = resolve(root, images), resolve(root, labels)
    x = read_idx(img_path, 3)
    y = read_idx(lab_path, 1)
    if len(x) != len(y):
        raise DatasetError(f"{img_path} has {len(x)} images but {lab_path} has {len(y)} labels")
    return x[..., None], y.astype(np.int64)


class MNIST(ArrayDataset):
    """MNIST-format IDX files in ``root``: ``train-images-idx3-ubyte`` / ``t10k-...`` (raw or
    .gz). ``train`` picks the split. Samples: (28, 28, 1) uint8 image, int label."""

    classes_default = DIGIT_CLASSES
    resources = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    how_to_get = ("place the four MNIST IDX files (train-images-idx3-ubyte[.gz], "
                  "train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], "
                  "t10k-labels-idx1-ubyte[.gz]) in that folder")

    def __init__(self, root: Optional[str] = None, train: bool = True,
                 transform: Optional[Callable] = None,
                 target_transform: Optional[Callable] = None) -> None:
        root = root if root is not None else self._default_root()
        if not os.path.isdir(root):
            raise DatasetError(f"{type(self).__name__}: folder {root!r} does not exist; "
                               f"{self.how_to_get}")
        self.root, self.train = root, bool(train)
        names = self.resources[:2] if train else self.resources[2:]
        x, y = _load_idx_pair(root, *names)
        super().__init__(x, y, transform, target_transform, self.classes_default)

    def _default_root(self) -> str:
        raise DatasetError(f"{type(self).__name__}: pass root= (the folder with the IDX files); "
                           f"{self.how_to_get}")


class FashionMNIST(MNIST):
    """Fashion-MNIST (Xiao et al. 2017, Zalando; MIT licence): 60k train / 10k test 28x28
    grayscale images of 10 garment classes, in MNIST's IDX format. The default ``root`` is
    where Debian's package puts it: ``apt-get install dataset-fashion-mnist``."""

    classes_default = FASHION_CLASSES
    how_to_get = ("install it with `apt-get install dataset-fashion-mnist` (files go to "
                  f"{FASHION_MNIST_ROOT}) or pass root= to a folder with the four IDX files")

    def _default_root(self) -> str:
        return FASHION_MNIST_ROOT


class CIFAR10(ArrayDataset):
    """CIFAR-10 from its binary version (``data_batch_1.bin`` ... ``data_batch_5.bin``,
    ``test_batch.bin``, in ``root`` or ``root/cifar-10-batches-bin``); the pickled Python
    version is never read. Samples: (32, 32, 3) uint8 image, int label."""

    def __init__(self, root: str, train: bool = True, transform: Optional[Callable] = None,
                 target_transform: Optional[Callable] = None) -> None:
        folder = root
        sub = os.path.join(root, "cifar-10-batches-bin")
        if os.path.isdir(sub):
            folder = sub
        if not os.path.isdir(folder):
            raise DatasetError(f"CIFAR10: folder {root!r} does not exist; download the binary "
                               "version (cifar-10-binary.tar.gz) and extract it there")
        names = [f"data_batch_{i}.bin" for i in range(1, 6)] if train else ["test_batch.bin"]
        xs, ys = [], []
        for name in names:
            x, y = read_cifar_records(resolve(folder, name))
            xs.append(x)
            ys.append(y)
        self.root, self.train = root, bool(train)
        super().__init__(np.concatenate(xs), np.concatenate(ys), transform, target_transform,
                         CIFAR10_CLASSES)


class ImageFolder(ArrayDataset):
    """A user's images, one sub-folder per class (``root/cat/x.png``, ``root/dog/y.jpg``):
    classes are the sorted folder names. Images are decoded with Pillow, converted to RGB
    (``mode='RGB'``) or grayscale (``'L'``), and must share one size unless ``size=(h, w)``
    is given, in which case each is resized (bilinear) when loaded. All images are decoded
    once, at construction."""

    EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".ppm", ".pgm", ".tif", ".tiff",
                  ".webp")

    def __init__(self, root: str, transform: Optional[Callable] = None,
                 target_transform: Optional[Callable] = None, mode: str = "RGB",
                 size: Optional[Tuple[int, int]] = None) -> None:
        try:
            from PIL import Image, UnidentifiedImageError
        except ImportError:  # pragma: no cover - Pillow is a dependency
            raise ImportError("ImageFolder needs Pillow: pip install pillow") from None
        if mode not in ("RGB", "L"):
            raise ValueError(f"ImageFolder: mode must be 'RGB' or 'L', got {mode!r}")
        if not os.path.isdir(root):
            raise DatasetError(f"ImageFolder: folder {root!r} does not exist")
        classes = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
        if not classes:
            raise DatasetError(f"ImageFolder: no class folders in {root!r} (expected "
                               "root/<class>/<image> files)")
        images: List[np.ndarray] = []
        labels: List[int] = []
        self.samples: List[Tuple[str, int]] = []
        for ci, cls in enumerate(classes):
            folder = os.path.join(root, cls)
            for name in sorted(os.listdir(folder)):
                if not name.lower().endswith(self.EXTENSIONS):
                    continue
                path = os.path.join(folder, name)
                try:
                    # An image past Pillow's decompression-bomb limit (a warning up to twice
                    # the limit, an error beyond) is refused: it would be decoded whole.
                    with warnings.catch_warnings():
                        warnings.simplefilter("error", Image.DecompressionBombWarning)
                        with Image.open(path) as im:
                            im = im.convert(mode)
                            if size is not None:
                                im = im.resize((size[1], size[0]), Image.BILINEAR)
                            arr = np.asarray(im, dtype=np.uint8)
                except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
                    raise DatasetError(f"{path}: the image is too large to decode safely "
                                       f"({exc})") from None
                except (UnidentifiedImageError, OSError, ValueError, SyntaxError,
                        EOFError) as exc:
                    raise DatasetError(f"{path}: cannot decode the image "
                                       f"({type(exc).__name__}: {exc})") from None
                arr = arr[..., None] if arr.ndim == 2 else arr
                if images and arr.shape != images[0].shape:
                    raise DatasetError(
                        f"{path}: image of shape {arr.shape} but {self.samples[0][0]} has "
                        f"{images[0].shape}; pass size=(h, w) to resize them all")
                images.append(arr)
                labels.append(ci)
                self.samples.append((path, ci))
        if not images:
            raise DatasetError(f"ImageFolder: no images with extensions {self.EXTENSIONS} "
                               f"under {root!r}")
        self.root = root
        self.class_to_idx = {c: i for i, c in enumerate(classes)}
        super().__init__(np.stack(images), np.asarray(labels), transform, target_transform,
                         classes)


class Digits(ArrayDataset):
    """The UCI optical handwritten digits, shipped inside ember (the 1,797-image set that
    scikit-learn also ships; E. Alpaydin and C. Kaynak, 1998; CC BY 4.0; see
    docs/datasets.md). 8x8 grayscale images of the digits 0-9; the original 0..16 ink
    counts are scaled to 0..255 (``round(v * 255 / 16)``).

    Not pre-split at the source: ``train`` selects a fixed, stratified 80% (1,438 images;
    20% of each class, rounded, is held out with seed 0) and ``train=False`` the other 359,
    so results are comparable across runs.
    """

    def __init__(self, train: bool = True, transform: Optional[Callable] = None,
                 target_transform: Optional[Callable] = None) -> None:
        x, y = _load_idx_pair(EMBEDDED_ROOT, "digits-images-idx3-ubyte",
                              "digits-labels-idx1-ubyte")
        x = np.round(x.astype(np.float64) * 255.0 / 16.0).astype(np.uint8)
        rng = np.random.default_rng(0)
        test = np.zeros(len(y), dtype=bool)
        for c in range(10):
            idx = rng.permutation(np.flatnonzero(y == c))
            test[idx[: int(round(0.2 * len(idx)))]] = True
        keep = ~test if train else test
        self.train = bool(train)
        super().__init__(x[keep], y[keep], transform, target_transform, DIGIT_CLASSES)


class EmbeddedFashionMNIST(ArrayDataset):
    """A stratified sample of Fashion-MNIST shipped inside ember (MIT licence, see
    docs/datasets.md): 2,000 training images (the first 200 of each class in the official
    training set) and 500 test images (the first 50 of each class in the test set)."""

    def __init__(self, train: bool = True, transform: Optional[Callable] = None,
                 target_transform: Optional[Callable] = None) -> None:
        split = "train" if train else "test"
        x, y = _load_idx_pair(EMBEDDED_ROOT, f"fashion-{split}-images-idx3-ubyte",
                              f"fashion-{split}-labels-idx1-ubyte")
        self.train = bool(train)
        super().__init__(x, y, transform, target_transform, FASHION_CLASSES)
