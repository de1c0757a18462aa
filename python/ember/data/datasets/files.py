"""Readers for the file formats ember's datasets use: IDX (MNIST's) and CIFAR's binary
records. They read local files only, never unpickle, and every malformation (bad magic
number, wrong dimensions, truncation, trailing bytes, a corrupt gzip stream) raises a
``DatasetError`` naming the file and what is wrong."""
from __future__ import annotations

import gzip
import io
import os
import struct
import zlib
from typing import Any, Optional, Tuple

import numpy as np

__all__ = ["DatasetError", "read_idx", "read_cifar_records", "resolve"]


class DatasetError(ValueError):
    """A dataset file is missing, malformed or inconsistent."""


# deflate cannot expand data by more than about 1032:1, so a .gz file of n bytes holds at most
# this many times n bytes: a header that promises more is a lie, refused before any of it is
# decompressed or allocated.
_MAX_INFLATION = 1040


def _open(path: str, data: Optional[bytes] = None) -> Tuple[Any, int, bool]:
    """(a binary stream of the file's contents, gunzipped when it is gzip-compressed; the most
    bytes that stream can hold, exactly its size for a plain file; whether it is gzip).
    ``data``, when given, is the file's contents (``path`` then only names it)."""
    if data is not None:
        f: Any = io.BytesIO(data)
        size, magic = len(data), data[:2]
    else:
        try:
            f = open(path, "rb")
            size = os.fstat(f.fileno()).st_size
            magic = f.read(2)
            f.seek(0)
        except OSError as exc:
            raise DatasetError(f"{path}: cannot read the file ({exc.strerror or exc})") \
                from None
    if magic == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=f, mode="rb"), size * _MAX_INFLATION, True
    return f, size, False


def _read_exactly(stream: Any, n: int, path: str, what: str) -> bytes:
    """n bytes of the (possibly compressed) stream; a corrupt stream or a short file raises."""
    try:
        data = stream.read(n)
    except (OSError, EOFError, zlib.error) as exc:
        raise DatasetError(f"{path}: corrupt or truncated gzip data ({exc})") from None
    if len(data) < n:
        raise DatasetError(f"{path}: truncated: {what} needs {n} bytes but the file has "
                           f"{len(data)}")
    return data


def _at_end(stream: Any, path: str, what: str) -> None:
    """Nothing may follow the data (one byte more is all that is read to tell)."""
    try:
        extra = stream.read(1)
    except (OSError, EOFError, zlib.error) as exc:
        raise DatasetError(f"{path}: corrupt or truncated gzip data ({exc})") from None
    if extra:
        raise DatasetError(f"{path}: unexpected bytes after {what}")


def _read_all(path: str, limit: int, data: Optional[bytes] = None) -> bytes:
    """The whole (decompressed) file, refusing more than ``limit`` bytes."""
    stream, bound, _ = _open(path, data)
    with stream:
        try:
            data = stream.read(min(bound, limit) + 1)
        except (OSError, EOFError, zlib.error) as exc:
            raise DatasetError(f"{path}: corrupt or truncated gzip data ({exc})") from None
    if len(data) > limit:
        raise DatasetError(f"{path}: the file holds more than {limit} bytes of data")
    return data


_MAX_ARRAY_BYTES = 1 << 62  # the byte extent an array's shape may span

# IDX type codes (LeCun's format description): only unsigned bytes are used by MNIST.
_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
              0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def read_idx(path: str, ndim: int, data: Optional[bytes] = None) -> np.ndarray:
    """An IDX file as an array (raw or .gz). ``ndim`` is what the caller expects: 3 for
    images, 1 for labels. The header is read and checked first; the body is read only as
    far as the header promises (one byte more, to find trailing bytes), and a promise the
    file cannot keep is refused before anything is allocated. ``data``, when given, is the
    file's contents, already in memory (``path`` then only names it in errors)."""
    stream, bound, gz = _open(path, data)
    with stream:
        if not gz and bound < 4:
            raise DatasetError(f"{path}: too short for an IDX header ({bound} bytes)")
        head = _read_exactly(stream, 4, path, "an IDX header")
        zero, code, dims = head[0:2], head[2], head[3]
        if zero != b"\x00\x00" or code not in _IDX_TYPES:
            magic = struct.unpack(">I", head)[0]
            raise DatasetError(f"{path}: not an IDX file (magic number 0x{magic:08x}; expected "
                               f"0x0000{0x08:02x}{ndim:02x} for {ndim}-D unsigned bytes)")
        if dims != ndim:
            raise DatasetError(f"{path}: IDX file has {dims} dimensions, expected {ndim}")
        shape = struct.unpack(">" + "I" * dims,
                              _read_exactly(stream, 4 * dims, path, "the IDX header"))
        dtype = np.dtype(_IDX_TYPES[code])
        expected, extent = dtype.itemsize, dtype.itemsize
        for d in shape:
            expected *= d
            extent *= max(d, 1)
        if extent > _MAX_ARRAY_BYTES:  # even with no data, NumPy cannot index such a shape
            raise DatasetError(f"{path}: the header announces shape {shape}, too large for an "
                               "array")
        room = bound - 4 - 4 * dims
        if not gz and room != expected:  # a plain file's size is known exactly
            if room < expected:
                raise DatasetError(f"{path}: truncated: the header announces shape {shape} "
                                   f"({expected} bytes of data) but the file has {room}")
            raise DatasetError(f"{path}: {room - expected} unexpected bytes after the data of "
                               f"shape {shape}")
        if expected > room:
            raise DatasetError(f"{path}: the header announces shape {shape} ({expected} bytes "
                               f"of data), more than a gzip file of its size can hold")
        body = _read_exactly(stream, expected, path, f"the data of shape {shape}")
        _at_end(stream, path, f"the data of shape {shape}")
    return np.frombuffer(body, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="),
                                                                    copy=True)


CIFAR_RECORD = 1 + 3 * 32 * 32
_MAX_CIFAR_BYTES = 60000 * CIFAR_RECORD  # the whole of CIFAR-10 in one file


def read_cifar_records(path: str, contents: Optional[bytes] = None
                       ) -> Tuple[np.ndarray, np.ndarray]:
    """A CIFAR-10 binary batch (records of 1 label byte + 3072 pixel bytes, channel-major):
    returns (images (N, 32, 32, 3) uint8 HWC, labels (N,) int64). ``contents``, when given,
    is the file's contents (``path`` then only names it in errors)."""
    data = _read_all(path, _MAX_CIFAR_BYTES, contents)
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
