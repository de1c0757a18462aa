"""Files: every malformed file ember reads raises an error naming the file and what is
wrong (never a bare KeyError / JSONDecodeError / RecursionError, never Pillow's own types),
a compressed file is bounded by its header before its body is inflated, a checkpoint's
structure must agree with its stored tensors, and a save killed mid-write leaves nothing
behind the next save does not clean up."""
import gzip
import json
import os
import struct
import subprocess
import sys

import numpy as np
import pytest

import ember
from ember.data.datasets import DatasetError, ImageFolder
from ember.data.datasets.files import read_idx


def _idx_header(shape, code=0x08):
    return bytes([0, 0, code, len(shape)]) + struct.pack(">" + "I" * len(shape), *shape)


# ---------------------------------------------------------------- IDX and gzip


def test_gzip_bomb_is_refused_from_its_header_without_inflating_the_body(tmp_path):
    # The header promises 10 images; the body inflates to 256 MiB of zeros.
    path = tmp_path / "bomb-idx3-ubyte.gz"
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(_idx_header((10, 28, 28)))
        chunk = bytes(1 << 24)
        for _ in range(16):
            f.write(chunk)
    code = ("import resource, sys\n"
            "from ember.data.datasets.files import read_idx, DatasetError\n"
            "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
            "try:\n"
            f"    read_idx({str(path)!r}, 3)\n"
            "except DatasetError as e:\n"
            "    print('refused:', e)\n"
            "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[0].startswith("refused:") and str(path) in lines[0]
    assert "unexpected bytes after" in lines[0]
    assert int(lines[-1]) < 32, f"reading grew the process by {lines[-1]} MiB"


def test_header_promising_more_than_gzip_can_hold_is_refused_before_allocation(tmp_path):
    path = tmp_path / "liar-idx3-ubyte.gz"
    with gzip.open(path, "wb") as f:
        f.write(_idx_header((2**20, 2**16, 2**16)))
    with pytest.raises(DatasetError, match=r"more than a gzip file of its size can hold"):
        read_idx(str(path), 3)


@pytest.mark.parametrize("damage,message", [
    (lambda b: b[:3], "too short for an IDX header"),
    (lambda b: b"\x01\x02" + b[2:], "not an IDX file"),
    (lambda b: b[:-1], "truncated"),
    (lambda b: b + b"\x00", "unexpected bytes"),
    (lambda b: b[:2] + b"\x42" + b[3:], "not an IDX file"),
    (lambda b: b[:3] + b"\x02" + b[4:], "dimensions, expected 3"),
])
@pytest.mark.parametrize("compress", [False, True])
def test_damaged_idx_files_name_the_file_and_the_damage(tmp_path, damage, message, compress):
    good = _idx_header((2, 3, 4)) + bytes(range(24))
    bad = damage(good)
    path = tmp_path / ("x-idx3-ubyte" + (".gz" if compress else ""))
    path.write_bytes(gzip.compress(bad) if compress else bad)
    if compress and message == "too short for an IDX header":
        message = "truncated"
    with pytest.raises(DatasetError) as info:
        read_idx(str(path), 3)
    assert str(path) in str(info.value) and message in str(info.value)


def test_corrupt_gzip_stream_is_a_dataset_error(tmp_path):
    data = bytearray(gzip.compress(_idx_header((2, 3, 4)) + bytes(24)))
    data[12:16] = b"\xff\xff\xff\xff"
    path = tmp_path / "c-idx3-ubyte.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(DatasetError, match=str(path)):
        read_idx(str(path), 3)


# ---------------------------------------------------------------- checkpoints


def _safetensors(header: dict, body: bytes = b"") -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + body


def _write(tmp_path, data: bytes):
    path = tmp_path / "ckpt.safetensors"
    path.write_bytes(data)
    return str(path)


BAD_CHECKPOINTS = {
    "empty file": (b"", "too short"),
    "header length past the end": (struct.pack("<Q", 10**6) + b"{}", "header length"),
    "header not JSON": (struct.pack("<Q", 3) + b"{x}", "not valid JSON"),
    "header a list": (_safetensors([]), "not a JSON object"),  # type: ignore[arg-type]
    "entry not an object": (_safetensors({"a": 3}), "not an object"),
    "bf16": (_safetensors({"a": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]}},
                          bytes(4)), "unsupported dtype"),
    "fp8": (_safetensors({"a": {"dtype": "F8_E4M3", "shape": [2], "data_offsets": [0, 2]}},
                         bytes(2)), "unsupported dtype"),
    "missing dtype": (_safetensors({"a": {"shape": [2], "data_offsets": [0, 8]}}, bytes(8)),
                      "dtype None"),
    "negative shape": (_safetensors({"a": {"dtype": "F32", "shape": [-1],
                                           "data_offsets": [0, 4]}}, bytes(4)),
                       "malformed shape"),
    "huge shape": (_safetensors({"a": {"dtype": "F32", "shape": [2**40, 2**40],
                                       "data_offsets": [0, 8]}}, bytes(8)), "needs"),
    "offsets past the data": (_safetensors({"a": {"dtype": "F32", "shape": [4],
                                                  "data_offsets": [0, 16]}}, bytes(8)),
                              "outside"),
    "metadata not strings": (_safetensors({"__metadata__": {"ember": 3}}), "map of strings"),
    "ember metadata not JSON": (_safetensors({"__metadata__": {"ember": "{"}}),
                                "cannot be read"),
    "ember metadata without object": (_safetensors({"__metadata__": {"ember": "{}"}}),
                                      "no 'object'"),
    "dangling tensor reference": (_safetensors({"__metadata__": {"ember": json.dumps(
        {"format": 1, "object": {"__array__": "t9"}})}}), "does not hold"),
    "deep nesting": (_safetensors({"__metadata__": {"ember": '{"format": 1, "object": ' +
                                                    "[" * 5000 + "]" * 5000 + "}"}}),
                     "damaged"),
    "tuple not a list": (_safetensors({"__metadata__": {"ember": json.dumps(
        {"format": 1, "object": {"__tuple__": 3}})}}), "not a JSON list"),
    "newer format": (_safetensors({"__metadata__": {"ember": json.dumps(
        {"format": 99, "object": 1})}}), "newer ember"),
}


@pytest.mark.parametrize("name", sorted(BAD_CHECKPOINTS))
def test_malformed_checkpoints_raise_value_error_naming_the_file(tmp_path, name):
    data, message = BAD_CHECKPOINTS[name]
    path = _write(tmp_path, data)
    with pytest.raises(ValueError) as info:
        ember.load(path)
    assert repr(path) in str(info.value) and message in str(info.value), str(info.value)


def test_checkpoint_whose_structure_disagrees_with_the_stored_shape_is_refused(tmp_path):
    path = tmp_path / "m.safetensors"
    ember.save({"w": ember.randn(6)}, path)
    raw = path.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    meta = json.loads(header["__metadata__"]["ember"])
    meta["object"]["w"]["shape"] = [2, 3]  # same element count: once silently reshaped
    header["__metadata__"]["ember"] = json.dumps(meta)
    path.write_bytes(_safetensors(header, raw[8 + n:]))
    with pytest.raises(ValueError, match=r"stored with shape \(6,\) but the structure says "
                                         r"\(2, 3\)"):
        ember.load(path)


def test_round_trip_still_works_including_zero_dim_tensors(tmp_path):
    obj = {"a": ember.randn(2, 3), "s": ember.Tensor(np.float32(3.0)), "t": (1, "x", None)}
    ember.save(obj, tmp_path / "ok.safetensors")
    back = ember.load(tmp_path / "ok.safetensors")
    np.testing.assert_array_equal(back["a"].numpy(), obj["a"].numpy())
    assert back["s"].shape == () and back["t"] == (1, "x", None)


# ---------------------------------------------------------------- atomic writes


def test_a_save_killed_mid_write_leaves_a_temporary_the_next_save_removes(tmp_path):
    target = tmp_path / "model.safetensors"
    code = ("import os, ember\n"
            "from ember import _files\n"
            "def write(f):\n"
            "    f.write(b'partial')\n"
            "    f.flush()\n"
            "    os._exit(9)  # killed in the middle of the save\n"
            f"_files.atomic_write({str(target)!r}, write)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    assert out.returncode == 9
    leftovers = [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
    assert len(leftovers) == 1 and not target.exists()
    ember.save({"x": ember.ones(2)}, target)
    assert sorted(os.listdir(tmp_path)) == ["model.safetensors"]
    np.testing.assert_array_equal(ember.load(target)["x"].numpy(), [1, 1])


def test_concurrent_saves_of_one_file_from_two_threads_both_succeed(tmp_path):
    import threading
    target = tmp_path / "same.safetensors"
    errors = []

    def save(i):
        try:
            for _ in range(20):
                ember.save({"x": ember.full((1000,), float(i))}, target)
        except Exception as e:  # a thread deleting the other's temporary shows here
            errors.append(e)

    ts = [threading.Thread(target=save, args=(i,)) for i in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors
    assert ember.load(target)["x"].numpy()[0] in (0.0, 1.0)
    assert sorted(os.listdir(tmp_path)) == ["same.safetensors"]


# ---------------------------------------------------------------- images


def test_an_oversized_image_is_a_dataset_error_not_pillows(tmp_path):
    from PIL import Image
    (tmp_path / "c").mkdir()
    Image.new("L", (64, 64)).save(tmp_path / "c" / "big.png")
    code = ("from PIL import Image\n"
            "Image.MAX_IMAGE_PIXELS = 1000  # the 64x64 image is then a decompression bomb\n"
            "from ember.data.datasets import ImageFolder, DatasetError\n"
            "try:\n"
            f"    ImageFolder({str(tmp_path)!r})\n"
            "except DatasetError as e:\n"
            "    print('refused:', e)\n")
    out = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("refused:") and "big.png" in out.stdout


def test_an_undecodable_image_is_a_dataset_error_naming_it(tmp_path):
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(40))
    with pytest.raises(DatasetError, match="broken.png"):
        ImageFolder(str(tmp_path))


def test_header_whose_shape_numpy_cannot_index_is_refused(tmp_path):
    path = tmp_path / "huge-idx3-ubyte"
    path.write_bytes(_idx_header((2**31, 2**16, 2**16)))
    with pytest.raises(DatasetError, match=r"too large for an array"):
        read_idx(str(path), 3)
