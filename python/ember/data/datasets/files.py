"""Readers for the file formats ember's datasets use: IDX (MNIST's) and CIFAR's binary
records. They read local files only, never unpickle, and every malformation (bad magic
number, wrong dimensions, truncation, trailing bytes, a corrupt gzip stream) raises a
``DatasetError`` naming the file and what is wrong."""
from __future__ import annotations

import gzip
import os
import struct
import zlib
from typing import Tuple

import numpy as np

__all__ = ["DatasetError", "read_idx", "read_cifar_records", "resolve"]


class DatasetError(ValueError):
    """A dataset file is missing, malformed or inconsistent."""


def _read_bytes(path: str) -> bytes:
    """The file's bytes, transparently gunzipped when it is gzip-compressed."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise DatasetError(f"{path}: corrupt or truncated gzip data ({exc})") from None
    return raw


# IDX type codes (LeCun's format description): only unsigned bytes are used by MNIST.
_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
              0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def read_idx(path: str, ndim: int) -> np.ndarray:
    """An IDX file as an array (raw or .gz). ``ndim`` is what the caller expects: 3 for
    images, 1 for labels."""
    data = _read_bytes(path)
    if len(data) < 4:
        raise DatasetError(f"{path}: too short for an IDX header ({len(data)} bytes)")
    zero, code, dims = data[0:2], data[2], data[3]
    if zero != b"\x00\x00" or code not in _IDX_TYPES:
        magic = struct.unpack(">I", data[:4])[0]
        raise DatasetError(f"{path}: not an IDX file (magic number 0x{magic:08x}; expected "
                           f"0x0000{0x08:02x}{ndim:02x} for {ndim}-D unsigned bytes)")
    if dims != ndim:
        raise DatasetError(f"{path}: IDX file has {dims} dimensions, expected {ndim}")
    header = 4 + 4 * dims
    if len(data) < header:
        raise DatasetError(f"{path}: truncated IDX header")
    shape = struct.unpack(">" + "I" * dims, data[4:header])
    dtype = np.dtype(_IDX_TYPES[code])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    body = len(data) - header
    if body < expected:
        raise DatasetError(f"{path}: truncated: the header announces shape {shape} "
                           f"({expected} bytes of data) but the file has {body}")
    if body > expected:
        raise DatasetError(f"{path}: {body - expected} unexpected bytes after the data of "
                           f"shape {shape}")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape).astype(
        dtype.newbyteorder("="), copy=True)


CIFAR_RECORD = 1 + 3 * 32 * 32


def read_cifar_records(path: str) -> Tuple[np.ndarray, np.ndarray]:
    """A CIFAR-10 binary batch (records of 1 label byte + 3072 pixel bytes, channel-major):
    returns (images (N, 32, 32, 3) uint8 HWC, labels (N,) int64)."""
    data = _read_bytes(path)
    if len(data) == 0 or len(data) % CIFAR_RECORD:
        raise DatasetError(f"{path}: {len(data)} bytes is not a whole number of CIFAR-10 "
                           f"records of {CIFAR_RECORD} bytes (truncated or not the binary "
                           "version?)")
    rec = np.frombuffer(data, np.uint8).reshape(-1, CIFAR_RECORD)
    labels = rec[:, 0].astype(np.int64)
    if labels.max() > 9:
        bad = int(np.flatnonzero(labels > 9)[0])
        raise DatasetError(f"{path}: record {bad} has label {labels[bad]}, CIFAR-10 labels are "
                           "0..9")
    images = rec[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy()
    return images, labels


def resolve(root: str, name: str) -> str:
    """``root/name`` or ``root/name.gz``, whichever exists."""
    for candidate in (os.path.join(root, name), os.path.join(root, name + ".gz")):
        if os.path.isfile(candidate):
            return candidate
    raise DatasetError(f"{os.path.join(root, name)}: file not found (nor {name}.gz)")
