"""ember.save / ember.load: round trips, safetensors compatibility, atomic writes (a killed
writer leaves the previous file intact), no pickle."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import ember
from ember import nn


def test_round_trip_of_a_nested_checkpoint(tmp_path):
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(16, 3))
    opt = ember.optim.Adam(model.parameters(), lr=1e-3, betas=(0.8, 0.9))
    loss = model(ember.randn(2, 1, 4, 4)).sum()
    loss.backward()
    opt.step()
    obj = {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3,
           "lr": 0.5, "name": "run", "flags": [True, None, 2.5], "tuple": (1, "a"),
           "inf": float("inf"), "arr": np.arange(6, dtype=np.int64).reshape(2, 3),
           "scalar": np.float32(1.5), "bytes0d": np.array(7, dtype=np.uint8)}
    path = tmp_path / "ck.safetensors"
    ember.save(obj, path)
    back = ember.load(path)
    assert back["epoch"] == 3 and back["name"] == "run" and back["flags"] == [True, None, 2.5]
    assert back["tuple"] == (1, "a") and back["inf"] == float("inf") and back["scalar"] == 1.5
    np.testing.assert_array_equal(back["arr"], obj["arr"])
    assert back["bytes0d"].shape == () and back["bytes0d"].dtype == np.uint8
    for k, v in model.state_dict().items():
        assert isinstance(back["model"][k], ember.Tensor)
        np.testing.assert_array_equal(back["model"][k].numpy(), v.numpy())
        assert back["model"][k].shape == v.shape  # incl. 0-d num_batches_tracked
    assert sorted(back["optimizer"]["state"]) == sorted(opt.state_dict()["state"])  # int keys
    assert back["optimizer"]["param_groups"][0]["betas"] == (0.8, 0.9)
    model2 = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.Flatten(),
                           nn.Linear(16, 3))
    model2.load_state_dict(back["model"])
    opt2 = ember.optim.Adam(model2.parameters())
    opt2.load_state_dict(back["optimizer"])


def test_plain_safetensors_files_load_as_dicts(tmp_path):
    from safetensors.numpy import save_file

    arrays = {"weight": np.ones((2, 3), np.float32), "bias": np.zeros(2, np.float32)}
    save_file(arrays, str(tmp_path / "plain.safetensors"))
    back = ember.load(tmp_path / "plain.safetensors")
    assert set(back) == {"weight", "bias"}
    np.testing.assert_array_equal(back["weight"], arrays["weight"])


def test_bad_files_and_objects(tmp_path):
    (tmp_path / "junk").write_bytes(b"\x80\x04 this is a pickle, not safetensors")
    with pytest.raises(ValueError, match="is not a valid ember/safetensors file"):
        ember.load(tmp_path / "junk")
    with pytest.raises(FileNotFoundError, match="cannot read"):
        ember.load(tmp_path / "absent")
    with pytest.raises(TypeError, match="cannot save an object of type object at /x"):
        ember.save({"x": object()}, tmp_path / "o")
    with pytest.raises(TypeError, match="dict keys must be str or int"):
        ember.save({(1, 2): 3}, tmp_path / "k")
    assert not (tmp_path / "o").exists()


def test_failed_save_leaves_previous_file_and_no_temp(tmp_path):
    path = tmp_path / "ck.safetensors"
    ember.save({"a": np.ones(3)}, path)
    with pytest.raises(TypeError):
        ember.save({"a": np.zeros(3), "b": object()}, path)
    np.testing.assert_array_equal(ember.load(path)["a"], np.ones(3))
    assert os.listdir(tmp_path) == ["ck.safetensors"]


WRITER = textwrap.dedent("""
    import sys
    import numpy as np
    import ember
    path = sys.argv[1]
    big = np.random.default_rng(0).standard_normal(4_000_000).astype(np.float32)
    print("ready", flush=True)
    i = 1
    while True:
        ember.save({"version": i, "big": big + i, "tail": np.full(3, i)}, path)
        i += 1
""")


def test_killing_a_writer_mid_save_leaves_a_complete_file(tmp_path):
    """Kill -9 a process that keeps rewriting a 16 MB checkpoint: whenever it dies, the file
    on disk is a complete, consistent version (header, every tensor, matching contents)."""
    path = str(tmp_path / "ck.safetensors")
    base = np.random.default_rng(0).standard_normal(4_000_000).astype(np.float32)
    ember.save({"version": 0, "big": base, "tail": np.zeros(3)}, path)
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    versions = []
    for delay in (0.2, 0.5, 0.8):
        proc = subprocess.Popen([sys.executable, str(script), path], stdout=subprocess.PIPE)
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        back = ember.load(path)
        v = back["version"]
        versions.append(v)
        assert back["tail"].tolist() == [v] * 3
        np.testing.assert_array_equal(back["big"], base + np.float32(v))
    assert max(versions) > 0  # the writer did replace the file at least once
    for f in os.listdir(tmp_path):  # a killed writer may leave its temporary file behind
        assert f in ("ck.safetensors", "writer.py") or f.endswith(".tmp")
