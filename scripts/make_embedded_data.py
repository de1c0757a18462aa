"""Regenerate the datasets shipped inside ember (python/ember/data/datasets/_data/).

    python scripts/make_embedded_data.py --digits PATH/digits.csv.gz \
        --fashion /usr/share/datasets/fashion-mnist

--digits: scikit-learn's copy of the UCI optical handwritten digits (test part of the UCI set,
1,797 images), sklearn/datasets/data/digits.csv.gz in any scikit-learn install: 64 pixel
values 0..16 then the label, per row. --fashion: the Fashion-MNIST IDX files from Debian's
dataset-fashion-mnist package. Writes IDX files (MNIST's format) gzip-compressed with a fixed
timestamp, so the output is byte-for-byte reproducible. See docs/datasets.md.
"""
from __future__ import annotations

import argparse
import gzip
import os
import struct

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "python",
                   "ember", "data", "datasets", "_data")


def write_idx(path: str, arr: np.ndarray) -> None:
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    header = struct.pack(">BBBB", 0, 0, 0x08, arr.ndim) + b"".join(
        struct.pack(">I", d) for d in arr.shape)
    with open(path, "wb") as f, gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0,
                                              compresslevel=9) as g:
        g.write(header + arr.tobytes())


def read_idx(path: str) -> np.ndarray:
    with gzip.open(path) as f:
        raw = f.read()
    dims = struct.unpack(">" + "I" * raw[3], raw[4:4 + 4 * raw[3]])
    return np.frombuffer(raw[4 + 4 * raw[3]:], np.uint8).reshape(dims)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--digits", required=True)
    p.add_argument("--fashion", default="/usr/share/datasets/fashion-mnist")
    a = p.parse_args()
    rows = np.loadtxt(gzip.open(a.digits), delimiter=",")
    write_idx(os.path.join(OUT, "digits-images-idx3-ubyte.gz"), rows[:, :64].reshape(-1, 8, 8))
    write_idx(os.path.join(OUT, "digits-labels-idx1-ubyte.gz"), rows[:, 64])
    for split, prefix, per_class in (("train", "train", 200), ("test", "t10k", 50)):
        x = read_idx(os.path.join(a.fashion, f"{prefix}-images-idx3-ubyte.gz"))
        y = read_idx(os.path.join(a.fashion, f"{prefix}-labels-idx1-ubyte.gz"))
        keep = np.sort(np.concatenate([np.flatnonzero(y == c)[:per_class] for c in range(10)]))
        write_idx(os.path.join(OUT, f"fashion-{split}-images-idx3-ubyte.gz"), x[keep])
        write_idx(os.path.join(OUT, f"fashion-{split}-labels-idx1-ubyte.gz"), y[keep])


if __name__ == "__main__":
    main()
