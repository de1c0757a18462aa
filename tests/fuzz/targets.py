"""Fuzz targets: each takes arbitrary bytes, decodes them into a call of one C++ entry point
or file parser, and returns normally when ember either gave a correct-looking result or
refused the input with one of its documented errors (whose message names the op or the
file). Anything else (another exception type, a result of the wrong shape, a crash) is a
bug. The same targets run under hypothesis (test_fuzz.py, briefly, in CI) and under atheris
(run_atheris.py, coverage-guided, a million executions or more on demand).
"""
from __future__ import annotations

import gzip
import io
import json
import struct
from typing import Callable, Dict, List, Sequence

import numpy as np

from ember import _C
from ember.data.datasets.files import DatasetError, read_cifar_records, read_idx
from ember.utils import serialization

# Values at every boundary a size computation has: 0, 1, small, the 2^40 bound and around it,
# the int32 and int64 limits, negatives.
EDGES = [0, 1, 2, 3, 5, 7, 2**31 - 1, 2**31, 2**32 + 1, 2**40 - 1, 2**40, 2**40 + 1, 2**62,
         2**63 - 1, -1, -2, -2**31, -2**63]
DTYPES = [np.float32, np.float64, np.float32, np.float64, np.float16, np.int32, np.int64]


class Decoder:
    """Reads choices from fuzz bytes; past the end every read gives its first option."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            return 0
        self.pos += 1
        return self.data[self.pos - 1]

    def small(self, lo: int, hi: int) -> int:
        return lo + self.byte() % (hi - lo + 1)

    def pick(self, options: Sequence):
        return options[self.byte() % len(options)]

    def size(self, lo: int, hi: int) -> int:
        """Mostly a small value in [lo, hi], sometimes an edge value."""
        b = self.byte()
        return self.pick(EDGES) if b >= 224 else lo + b % (hi - lo + 1)

    def flag(self) -> bool:
        return bool(self.byte() & 1)

    def rest(self) -> bytes:
        out = self.data[self.pos:]
        self.pos = len(self.data)
        return out


def _array(d: Decoder, shape: Sequence[int], dtype=None) -> np.ndarray:
    """An array of ``shape`` (small dims only), sometimes non-contiguous."""
    dtype = dtype or d.pick(DTYPES)
    n = int(np.prod(shape)) if shape else 1
    a = (np.arange(n) % 7 - 3).astype(dtype).reshape(shape)
    if d.byte() >= 240 and a.ndim >= 1 and a.shape[-1] > 1:
        a = np.repeat(a, 2, axis=-1)[..., ::2]  # same values, a stride of 2 elements
    return a


def _expected_refusal(exc: BaseException, stems: Sequence[str]) -> bool:
    """ember's documented refusal: ValueError / TypeError / IndexError / OverflowError (or a
    MemoryError for an output larger than the machine's memory) whose message names the op
    (pybind11's own argument errors name the function)."""
    if not isinstance(exc, (ValueError, TypeError, IndexError, OverflowError, MemoryError)):
        return False
    msg = str(exc)
    return any(s in msg for s in stems)


def _out_len(n: int, k: int, s: int, p: int, d: int, ceil: bool = False) -> int:
    """The output extent PyTorch's formula gives (-1 for parameters it refuses)."""
    if s <= 0 or d <= 0 or k <= 0 or p < 0:
        return -1
    span = d * (k - 1) + 1
    num = n + 2 * p - span
    q = -(-num // s) if ceil else num // s
    out = q + 1
    if ceil and (out - 1) * s >= n + p:
        out -= 1
    return out


def _affordable(*shape: int) -> bool:
    """An output ember may really allocate and fill here: a small one, or one so large that
    the allocation must fail (a MemoryError to check); sizes in between would only use up
    the fuzzer's memory."""
    n = 8
    for v in shape:
        n *= max(v, 0)
    return n <= 1 << 22 or n >= 1 << 46


def _guard(stems: Sequence[str], call: Callable[[], None]) -> None:
    try:
        call()
    except Exception as exc:
        if not _expected_refusal(exc, stems):
            raise


# ---------------------------------------------------------------- C++ entry points


def conv2d(data: bytes) -> None:
    d = Decoder(data)
    n, c, h, w = d.size(0, 3), d.size(0, 4), d.size(0, 9), d.size(0, 9)
    groups = d.pick([1, 1, 1, 2, 3, 0, -1])
    o, kh, kw = d.size(0, 4), d.size(0, 4), d.size(0, 4)
    cg = d.pick([c // groups if groups > 0 else c, c, 1, 0])
    stride = (d.size(1, 3), d.size(1, 3))
    padding = (d.size(0, 2), d.size(0, 2))
    dilation = (d.size(1, 2), d.size(1, 2))
    dtype = d.pick(DTYPES)
    shapes_ok = all(0 <= v <= 16 for v in (n, c, h, w, o, kh, kw, cg))
    if not shapes_ok:  # an edge value as a dimension: only the parameters are huge
        n, c, h, w, o, kh, kw, cg = (min(max(v, 0), 4) for v in (n, c, h, w, o, kh, kw, cg))
    x = _array(d, (n, c, h, w), dtype)
    wt = _array(d, (o, cg, kh, kw), d.pick([dtype, dtype, np.float64]))
    bias = d.pick([None, _array(d, (o,), dtype), _array(d, (o + 1,), dtype)])
    which = d.small(0, 2)

    def call():
        if which == 0:
            if not _affordable(n, o, _out_len(h, kh, stride[0], padding[0], dilation[0]),
                               _out_len(w, kw, stride[1], padding[1], dilation[1])):
                return
            y = _C.conv2d_forward(x, wt, bias, stride, padding, dilation, groups)
            want = (n, o, _out_len(h, kh, stride[0], padding[0], dilation[0]),
                    _out_len(w, kw, stride[1], padding[1], dilation[1]))
            assert y.shape == want, (y.shape, want)
            assert np.isfinite(y).all()
        elif which == 1:
            oh = _out_len(h, kh, stride[0], padding[0], dilation[0])
            ow = _out_len(w, kw, stride[1], padding[1], dilation[1])
            g = _array(d, (n, o, max(oh, 0) % 17, max(ow, 0) % 17), dtype)
            dx = _C.conv2d_backward_input(g, wt, (h, w), stride, padding, dilation, groups)
            assert dx.shape == (n, wt.shape[1] * groups, h, w)
        else:
            oh = _out_len(h, kh, stride[0], padding[0], dilation[0])
            ow = _out_len(w, kw, stride[1], padding[1], dilation[1])
            g = _array(d, (n, o, max(oh, 0) % 17, max(ow, 0) % 17), dtype)
            dw, _ = _C.conv2d_backward_weight(x, g, (kh, kw), stride, padding, dilation, groups,
                                              d.flag())
            assert dw.shape == (g.shape[1], c // groups, kh, kw)
    _guard(["conv2d"], call)


def pool2d(data: bytes) -> None:
    d = Decoder(data)
    n, c, h, w = d.size(0, 3), d.size(0, 3), d.size(0, 9), d.size(0, 9)
    if not all(0 <= v <= 16 for v in (n, c, h, w)):
        n, c, h, w = (min(max(v, 0), 4) for v in (n, c, h, w))
    k = (d.size(0, 4), d.size(0, 4))
    s = (d.size(0, 3), d.size(0, 3))
    p = (d.size(0, 2), d.size(0, 2))
    dil = (d.size(0, 2), d.size(0, 2))
    ceil = d.flag()
    x = _array(d, (n, c, h, w))
    which = d.small(0, 5)

    def call():
        if which == 0:
            y, idx = _C.max_pool2d_forward(x, k, s, p, dil, ceil)
            want = (n, c, _out_len(h, k[0], s[0], p[0], dil[0], ceil),
                    _out_len(w, k[1], s[1], p[1], dil[1], ceil))
            assert y.shape == want and idx.shape == want, (y.shape, want)
            if y.size:  # a window of padding only (dilation skips the input) gives -inf, -1
                assert idx.min() >= -1 and idx.max() < h * w
                assert (y[idx == -1] == -np.inf).all()
                assert np.isfinite(y[idx >= 0]).all()
        elif which == 1:
            y = _C.avg_pool2d_forward(x, k, s, p, ceil, d.flag())
            want = (n, c, _out_len(h, k[0], s[0], p[0], 1, ceil),
                    _out_len(w, k[1], s[1], p[1], 1, ceil))
            assert y.shape == want, (y.shape, want)
            assert np.isfinite(y).all()
        elif which == 2:
            g = _array(d, (n, c, d.small(0, 5), d.small(0, 5)), x.dtype)
            dx = _C.avg_pool2d_backward(g, (h, w), k, s, p, ceil, d.flag())
            assert dx.shape == (n, c, h, w)
        elif which == 3:
            out = (d.size(0, 6), d.size(0, 6))
            if not _affordable(n, c, *out):
                return
            y = _C.adaptive_avg_pool2d_forward(x, out)
            assert y.shape == (n, c) + out and np.isfinite(y).all()
        elif which == 4:
            out = (d.size(0, 6), d.size(0, 6))
            if not _affordable(n, c, *out):
                return
            y, idx = _C.adaptive_max_pool2d_forward(x, out)
            assert y.shape == (n, c) + out and np.isfinite(y).all()
        else:
            oh, ow = d.small(0, 4), d.small(0, 4)
            g = _array(d, (n, c, oh, ow), x.dtype)
            idx = np.array([d.pick(EDGES) for _ in range(n * c * oh * ow)],
                           np.int64).reshape(n, c, oh, ow)
            dx = _C.pool2d_index_backward(g, idx, (h, w))
            assert dx.shape == (n, c, h, w)
    _guard(["pool2d", "pool", "input_size", "output_size"], call)


def gemm(data: bytes) -> None:
    d = Decoder(data)
    m, k, n = d.size(0, 9), d.size(0, 9), d.size(0, 9)
    if not all(0 <= v <= 16 for v in (m, k, n)):
        m, k, n = (min(max(v, 0), 6) for v in (m, k, n))
    ta, tb = d.flag(), d.flag()
    dtype = d.pick(DTYPES)
    a = _array(d, (k, m) if ta else (m, k), dtype)
    b = _array(d, (n, k) if tb else (k, n), d.pick([dtype, dtype, np.float64, np.float32]))
    out = d.pick([None, None, np.zeros((m, n), dtype), np.zeros((n, m), dtype),
                  np.zeros((m, n + 1), dtype)])
    bias = d.pick([None, None, np.ones(n, dtype), np.ones(n + 1, dtype)])
    relu = d.flag()

    def call():
        y = _C.gemm(a, b, out=out, trans_a=ta, trans_b=tb, bias=bias, relu=relu)
        assert y.shape == (m, n)
        ref = (a.T if ta else a).astype(np.float64) @ (b.T if tb else b).astype(np.float64)
        if bias is not None:
            ref = ref + bias
        if relu:
            ref = np.maximum(ref, 0)
        np.testing.assert_allclose(y, ref, atol=1e-3)
    _guard(["gemm"], call)


def cross_entropy(data: bytes) -> None:
    d = Decoder(data)
    n, c, s = d.size(0, 4), d.size(0, 5), d.small(0, 3)
    if not all(0 <= v <= 16 for v in (n, c)):
        n, c = min(max(n, 0), 4), min(max(c, 0), 4)
    x = _array(d, (n, c, s) if s else (n, c))
    t = np.array([d.pick(EDGES + [0, 1, 2]) for _ in range(n * max(s, 1))], np.int64)
    t = t.astype(d.pick([np.int64, np.int64, np.int32])).reshape((n, s) if s else (n,))
    weight = d.pick([None, np.ones(c, x.dtype), np.ones(c + 1, x.dtype)])

    def call():
        losses, lse, total = _C.cross_entropy_forward(x, t, weight, d.pick([-100, 0, 1]),
                                                      d.pick([0.0, 0.1, 1.0, -1.0, 2.0]))
        assert np.isfinite(losses).all()
    _guard(["cross_entropy"], call)


# ---------------------------------------------------------------- file parsers


def idx(data: bytes) -> None:
    """Raw bytes as an IDX file, plain and gzip-compressed."""
    for contents in (data, gzip.compress(data, compresslevel=1)):
        for ndim in (1, 3):
            try:
                a = read_idx("<fuzz>", ndim, data=contents)
                assert a.ndim == ndim
            except DatasetError as exc:
                assert str(exc).startswith("<fuzz>"), exc


def idx_gz(data: bytes) -> None:
    """Raw bytes as the compressed stream of an IDX .gz file (corrupt gzip included)."""
    for ndim in (1, 3):
        try:
            read_idx("<fuzz>", ndim, data=b"\x1f\x8b" + data)
        except DatasetError as exc:
            assert str(exc).startswith("<fuzz>"), exc


def cifar(data: bytes) -> None:
    try:
        images, labels = read_cifar_records("<fuzz>", contents=data)
        assert images.shape[1:] == (32, 32, 3) and len(images) == len(labels)
    except DatasetError as exc:
        assert str(exc).startswith("<fuzz>"), exc


def checkpoint(data: bytes) -> None:
    try:
        serialization._parse(data, "<fuzz>")
    except ValueError as exc:
        assert "'<fuzz>'" in str(exc), exc


TARGETS: Dict[str, Callable[[bytes], None]] = {
    "conv2d": conv2d, "pool2d": pool2d, "gemm": gemm, "cross_entropy": cross_entropy,
    "idx": idx, "idx_gz": idx_gz, "cifar": cifar, "checkpoint": checkpoint,
}
PARSERS = ("idx", "idx_gz", "cifar", "checkpoint")


def seeds(name: str) -> List[bytes]:
    """Valid inputs for a target, from which mutation starts (atheris's corpus)."""
    if name in ("idx", "idx_gz"):
        out = []
        for shape in ((3,), (2, 3, 4), (1, 28, 28)):
            raw = bytes([0, 0, 0x08, len(shape)]) + struct.pack(">" + "I" * len(shape),
                                                                 *shape)
            raw += bytes(int(np.prod(shape)))
            out.append(gzip.compress(raw)[2:] if name == "idx_gz" else raw)
        return out
    if name == "cifar":
        return [bytes([3]) + bytes(3072), bytes([1]) + bytes(3072) + bytes([9]) + bytes(3072)]
    if name == "checkpoint":
        buf = io.BytesIO()
        from safetensors.numpy import save as st_save
        obj = {"w": np.ones((2, 3), np.float32), "b": np.zeros(3, np.float64)}
        tensors: Dict[str, np.ndarray] = {}
        structure = serialization._flatten({"model": obj, "epoch": 3, "t": (1, None)},
                                           tensors, "")
        meta = json.dumps({"format": 1, "object": structure})
        buf.write(st_save(tensors, metadata={"ember": meta}))
        return [buf.getvalue(), st_save({"a": np.arange(4, dtype=np.int64)})]
    return [bytes(range(64)), bytes(64), bytes([255] * 64)]
