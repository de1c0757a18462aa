"""IDX and CIFAR-10 binary readers and the file-backed datasets, on tiny files the tests
write, including every kind of malformed file."""
import gzip
import os
import struct

import numpy as np
import pytest

from ember.data import datasets
from ember.data.datasets import DatasetError, read_cifar_records, read_idx


def write_idx(path, arr, gz=False, code=0x08):
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    raw = struct.pack(">BBBB", 0, 0, code, arr.ndim) + b"".join(
        struct.pack(">I", d) for d in arr.shape) + arr.tobytes()
    if gz:
        raw = gzip.compress(raw)
    with open(path, "wb") as f:
        f.write(raw)


def mnist_folder(tmp_path, n_train=12, n_test=5, gz=True):
    rng = np.random.default_rng(0)
    ext = ".gz" if gz else ""
    data = {}
    for split, n in (("train", n_train), ("t10k", n_test)):
        x = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        y = rng.integers(0, 10, n, dtype=np.uint8)
        write_idx(tmp_path / f"{split}-images-idx3-ubyte{ext}", x, gz)
        write_idx(tmp_path / f"{split}-labels-idx1-ubyte{ext}", y, gz)
        data[split] = (x, y)
    return data


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_reads_idx_files(tmp_path, gz):
    data = mnist_folder(tmp_path, gz=gz)
    train = datasets.MNIST(str(tmp_path), train=True)
    test = datasets.FashionMNIST(str(tmp_path), train=False)
    assert len(train) == 12 and len(test) == 5
    np.testing.assert_array_equal(train.data[..., 0], data["train"][0])
    np.testing.assert_array_equal(test.targets, data["t10k"][1])
    img, label = train[3]
    assert img.shape == (28, 28, 1) and img.dtype == np.uint8 and isinstance(label, np.int64)
    assert test.classes[9] == "Ankle boot"


def test_fashion_mnist_default_root_and_missing_folder(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(DatasetError, match=r"apt-get install dataset-fashion-mnist"):
        datasets.FashionMNIST(str(missing))
    with pytest.raises(DatasetError, match="pass root="):
        datasets.MNIST()
    if os.path.isdir(datasets.FASHION_MNIST_ROOT):
        test = datasets.FashionMNIST(train=False)
        assert len(test) == 10000 and np.bincount(test.targets).tolist() == [1000] * 10


def test_idx_errors_name_the_file_and_the_problem(tmp_path):
    p = tmp_path / "x-idx3-ubyte"
    write_idx(p, np.zeros((4, 5, 5)))
    with pytest.raises(DatasetError, match="has 3 dimensions, expected 1"):
        read_idx(str(p), 1)
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x12\x34\x56\x78" + b"\x00" * 20)
    with pytest.raises(DatasetError, match=r"bad: not an IDX file \(magic number 0x12345678"):
        read_idx(str(bad), 3)
    raw = p.read_bytes()
    (tmp_path / "trunc").write_bytes(raw[:-7])
    with pytest.raises(DatasetError, match=r"trunc: truncated: the header announces shape "
                                           r"\(4, 5, 5\)"):
        read_idx(str(tmp_path / "trunc"), 3)
    (tmp_path / "extra").write_bytes(raw + b"xyz")
    with pytest.raises(DatasetError, match="3 unexpected bytes after the data"):
        read_idx(str(tmp_path / "extra"), 3)
    (tmp_path / "short").write_bytes(b"\x00\x00")
    with pytest.raises(DatasetError, match="too short for an IDX header"):
        read_idx(str(tmp_path / "short"), 3)
    gz = gzip.compress(raw)
    (tmp_path / "broken.gz").write_bytes(gz[: len(gz) // 2])
    with pytest.raises(DatasetError, match=r"broken\.gz: corrupt or truncated gzip data"):
        read_idx(str(tmp_path / "broken.gz"), 3)
    with pytest.raises(DatasetError, match="cannot read the file"):
        read_idx(str(tmp_path / "absent"), 3)


def test_image_label_count_mismatch(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((6, 28, 28)))
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(5))
    with pytest.raises(DatasetError, match="has 6 images but .*train-labels-idx1-ubyte has 5"):
        datasets.MNIST(str(tmp_path))
    os.remove(tmp_path / "train-labels-idx1-ubyte")
    with pytest.raises(DatasetError, match="train-labels-idx1-ubyte: file not found"):
        datasets.MNIST(str(tmp_path))


def cifar_folder(tmp_path, n=7):
    rng = np.random.default_rng(1)
    want = {}
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        chw = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
        rec = np.concatenate([labels[:, None], chw.reshape(n, -1)], axis=1)
        (tmp_path / name).write_bytes(rec.tobytes())
        want[name] = (chw, labels)
    return want


def test_cifar10_binary_records(tmp_path):
    want = cifar_folder(tmp_path)
    train = datasets.CIFAR10(str(tmp_path), train=True)
    test = datasets.CIFAR10(str(tmp_path), train=False)
    assert len(train) == 35 and len(test) == 7 and train.classes[0] == "airplane"
    chw, labels = want["test_batch.bin"]
    np.testing.assert_array_equal(test.data, chw.transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(test.targets, labels)
    np.testing.assert_array_equal(train.data[7:14], want["data_batch_2.bin"][0].transpose(
        0, 2, 3, 1))


def test_cifar10_errors(tmp_path):
    cifar_folder(tmp_path)
    raw = (tmp_path / "test_batch.bin").read_bytes()
    (tmp_path / "test_batch.bin").write_bytes(raw[:-100])
    with pytest.raises(DatasetError, match=r"test_batch\.bin: .* not a whole number of "
                                           r"CIFAR-10 records of 3073 bytes"):
        datasets.CIFAR10(str(tmp_path), train=False)
    bad = bytearray(raw)
    bad[3073] = 42
    (tmp_path / "test_batch.bin").write_bytes(bytes(bad))
    with pytest.raises(DatasetError, match="record 1 has label 42"):
        read_cifar_records(str(tmp_path / "test_batch.bin"))
    with pytest.raises(DatasetError, match="binary version"):
        datasets.CIFAR10(str(tmp_path / "missing"))


def test_image_folder(tmp_path):
    PIL = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(2)
    arrays = {}
    for cls in ("cat", "dog"):
        (tmp_path / cls).mkdir()
        for i in range(3):
            a = rng.integers(0, 256, (6, 5, 3), dtype=np.uint8)
            PIL.fromarray(a).save(tmp_path / cls / f"{i}.png")
            arrays[(cls, i)] = a
    (tmp_path / "dog" / "notes.txt").write_text("not an image")
    ds = datasets.ImageFolder(str(tmp_path))
    assert ds.classes == ["cat", "dog"] and ds.class_to_idx == {"cat": 0, "dog": 1}
    assert len(ds) == 6 and ds.data.shape == (6, 6, 5, 3)
    np.testing.assert_array_equal(ds[4][0], arrays[("dog", 1)])
    assert ds[4][1] == 1
    gray = datasets.ImageFolder(str(tmp_path), mode="L", size=(4, 4))
    assert gray.data.shape == (6, 4, 4, 1)
    PIL.fromarray(np.zeros((9, 9, 3), np.uint8)).save(tmp_path / "cat" / "big.png")
    with pytest.raises(DatasetError, match="pass size="):
        datasets.ImageFolder(str(tmp_path))
    (tmp_path / "cat" / "broken.png").write_bytes(b"not really a png")
    with pytest.raises(DatasetError, match=r"broken\.png: cannot decode the image"):
        datasets.ImageFolder(str(tmp_path), size=(4, 4))
    with pytest.raises(DatasetError, match="no class folders"):
        datasets.ImageFolder(str(tmp_path / "cat"))


def test_embedded_datasets_are_real_and_stratified():
    train, test = datasets.Digits(), datasets.Digits(train=False)
    assert len(train) + len(test) == 1797 and train.data.shape[1:] == (8, 8, 1)
    assert train.data.dtype == np.uint8 and train.data.max() == 255
    counts = np.bincount(test.targets)
    assert counts.min() >= 34 and counts.max() <= 37  # 20% of ~180 per class
    both = np.concatenate([train.data, test.data]).reshape(1797, -1)
    assert len(np.unique(both, axis=0)) > 1700  # real, varied images
    fm = datasets.EmbeddedFashionMNIST()
    assert len(fm) == 2000 and np.bincount(fm.targets).tolist() == [200] * 10
    assert len(datasets.EmbeddedFashionMNIST(train=False)) == 500
    if os.path.isdir(datasets.FASHION_MNIST_ROOT):  # the first 200 of each class, verbatim
        full = datasets.FashionMNIST(train=True)
        idx = np.sort(np.concatenate([np.flatnonzero(full.targets == c)[:200]
                                      for c in range(10)]))
        np.testing.assert_array_equal(fm.data, full.data[idx])
