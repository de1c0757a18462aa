"""The device model on a machine without a usable GPU: PyTorch's names, parsing and errors,
and CPU behaviour unchanged (tests/cuda holds the GPU half)."""
import numpy as np
import pytest

import ember
from ember import nn

needs_no_gpu = pytest.mark.skipif(ember.cuda.is_available(), reason="a GPU is usable here")


@pytest.mark.parametrize("spec, type_, index, text", [
    ("cpu", "cpu", None, "cpu"), ("cuda", "cuda", None, "cuda"), ("cuda:0", "cuda", 0, "cuda:0"),
    ("cuda:12", "cuda", 12, "cuda:12")])
def test_device_strings_parse_as_torch_does(spec, type_, index, text):
    d = ember.device(spec)
    assert (d.type, d.index, str(d)) == (type_, index, text)
    assert d == ember.device(d) == spec and hash(d) == hash(ember.device(spec))


def test_device_with_separate_index_and_repr():
    assert ember.device("cuda", 1) == ember.device("cuda:1")
    assert repr(ember.device("cuda", 1)) == "device(type='cuda', index=1)"
    assert repr(ember.device("cpu")) == "device(type='cpu')"
    assert ember.device("cpu") != ember.device("cuda")


@pytest.mark.parametrize("spec, exc, match", [
    ("tpu", RuntimeError, "expected one of cpu, cuda device type"),
    ("cuda:-1", RuntimeError, "invalid device string"),
    ("cuda:x", RuntimeError, "invalid device string"),
    ("cuda:01", RuntimeError, "invalid device string"),
    ("cpu:1", RuntimeError, "index 0 only"),
    (3.0, TypeError, "expected a string or a device, got float")])
def test_bad_device_specs_are_refused(spec, exc, match):
    with pytest.raises(exc, match=match):
        ember.device(spec)


def test_index_twice_and_bad_index_are_refused():
    with pytest.raises(RuntimeError, match="already holds an index"):
        ember.device("cuda:0", 1)
    with pytest.raises(TypeError, match="index must be an int"):
        ember.device("cuda", 1.5)
    with pytest.raises(RuntimeError, match="non-negative"):
        ember.device("cuda", -2)


def test_tensors_report_cpu_and_factories_take_device():
    for t in (ember.zeros(2, 3, device="cpu"), ember.ones(2, device=ember.device("cpu")),
              ember.randn(3, device="cpu"), ember.arange(4, device="cpu"),
              ember.tensor([1.0], device="cpu"), ember.full((2,), 1.5, device="cpu"),
              ember.eye(2, device="cpu"), ember.randint(0, 3, (2,), device="cpu"),
              ember.zeros_like(ember.ones(2)), ember.linspace(0, 1, 3, device="cpu")):
        assert t.device == ember.device("cpu") and not t.is_cuda


def test_to_parses_dtype_device_tensor_and_keywords():
    x = ember.randn(2, 3, requires_grad=True)
    assert x.to("cpu") is x and x.cpu() is x and x.to(device="cpu") is x
    assert x.to(ember.float64).dtype == np.float64
    assert x.to("cpu", ember.float64).dtype == np.float64
    assert x.to(dtype=np.float64, device="cpu").dtype == np.float64
    assert x.to(ember.zeros(1, dtype=ember.float64)).dtype == np.float64
    y = x.to(ember.float64)
    y.sum().backward()  # the cast stays differentiable
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((2, 3), np.float32))
    with pytest.raises(TypeError, match="unexpected keyword argument 'memory_format'"):
        x.to(memory_format=None)
    with pytest.raises(TypeError, match="too many positional"):
        x.to("cpu", ember.float64, 3)


@needs_no_gpu
def test_asking_for_a_gpu_without_one_names_op_and_reason():
    assert not ember.cuda.is_available() and ember.cuda.device_count() == 0
    reason = ember.cuda.unavailable_reason()
    assert reason
    x = ember.ones(2)
    for call, op in ((lambda: x.cuda(), "to"), (lambda: x.to("cuda:0"), "to"),
                     (lambda: ember.zeros(2, device="cuda"), "zeros"),
                     (lambda: nn.Linear(2, 2).cuda(), "Module.to"),
                     (lambda: ember.cuda.synchronize(), "synchronize"),
                     (lambda: ember.cuda.memory_allocated(), "memory_allocated")):
        with pytest.raises(RuntimeError, match=rf"^{op}: CUDA is not available: "):
            call()
    info = ember.config()["cuda"]
    assert info["available"] is False and info["reason"] == reason
    assert info["built"] == ember.cuda.is_built()


def test_module_to_moves_and_casts_in_place_keeping_parameter_objects():
    m = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    params = list(m.parameters())
    m(ember.randn(5, 3)).sum().backward()
    assert m.to("cpu", ember.float64) is m
    assert [p is q for p, q in zip(params, m.parameters())] == [True] * len(params)
    assert all(p.dtype == np.float64 and p.grad.dtype == np.float64 for p in m.parameters())
    assert m[1].running_mean.dtype == np.float64
    assert m[1].num_batches_tracked.dtype.kind == "i"  # integer buffers keep their dtype
    assert m.cpu() is m


def test_manual_seed_all_seeds_the_one_generator():
    ember.cuda.manual_seed_all(3)
    a = ember.randn(4).numpy().copy()
    ember.manual_seed(3)
    np.testing.assert_array_equal(a, ember.randn(4).numpy())


def _checkpoint_saved_on(tmp_path, device_string):
    """A checkpoint as save() writes it for a tensor that lived on ``device_string``."""
    import json

    from safetensors.numpy import save_file

    path = tmp_path / "gpu.safetensors"
    meta = {"format": 1, "object": {"w": {"__array__": "t0", "tensor": True, "shape": [2, 2],
                                          "device": device_string}}}
    save_file({"t0": np.arange(4, dtype=np.float32).reshape(2, 2)}, str(path),
              metadata={"ember": json.dumps(meta)})
    return path


@needs_no_gpu
def test_checkpoint_saved_on_gpu_needs_a_gpu_or_map_location(tmp_path):
    path = _checkpoint_saved_on(tmp_path, "cuda:0")
    with pytest.raises(RuntimeError, match="^load: CUDA is not available"):
        ember.load(path)
    for where in ("cpu", ember.device("cpu"), {"cuda:0": "cpu"}):
        w = ember.load(path, map_location=where)["w"]
        assert w.device == ember.device("cpu")
        np.testing.assert_array_equal(w.numpy(), np.arange(4).reshape(2, 2))


def test_checkpoint_with_malformed_device_is_refused_naming_the_file(tmp_path):
    path = _checkpoint_saved_on(tmp_path, "gpu:7")
    with pytest.raises(ValueError, match=r"gpu.safetensors.*damaged.*'t0'.*device type"):
        ember.load(path)


def test_cpu_checkpoint_round_trip_keeps_no_device_entry(tmp_path):
    path = tmp_path / "cpu.safetensors"
    ember.save({"w": ember.ones(3)}, path)
    from safetensors import safe_open

    with safe_open(str(path), "np") as f:
        assert '"device"' not in f.metadata()["ember"]
    assert ember.load(path, map_location="cpu")["w"].device == ember.device("cpu")


def test_fit_with_device_cpu_moves_batches_and_matches_no_device():
    from ember.data import DataLoader, TensorDataset
    from ember.train import fit

    def run(device):
        ember.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
        rng = np.random.default_rng(0)
        data = TensorDataset(ember.tensor(rng.standard_normal((32, 4)).astype(np.float32)),
                             ember.tensor(rng.integers(0, 3, 32)))
        opt = ember.optim.SGD(model.parameters(), lr=0.1)
        hist = fit(model, DataLoader(data, batch_size=8), nn.CrossEntropyLoss(), opt, 2,
                   val_loader=DataLoader(data, batch_size=16), verbose=0, device=device)
        return hist["loss"], hist["val_loss"]

    assert run("cpu") == run(None)
    with pytest.raises(RuntimeError, match="^device: expected one of cpu"):
        run("tpu")


def test_dlpack_exchange_with_numpy_is_zero_copy_both_ways():
    t = ember.arange(6, dtype=ember.float32).reshape(2, 3)
    a = np.from_dlpack(t)
    assert np.shares_memory(a, t.numpy())
    back = ember.from_dlpack(a)
    back.numpy()[0, 0] = 42.0
    assert t.numpy()[0, 0] == 42.0 and back.device == ember.device("cpu")
    assert t.__dlpack_device__() == (1, 0)
    with pytest.raises(RuntimeError, match="requires grad; use tensor.detach"):
        np.from_dlpack(ember.ones(2, requires_grad=True))
    with pytest.raises(TypeError, match="expected an object with __dlpack__, got list"):
        ember.from_dlpack([1, 2])
    assert not hasattr(t, "__cuda_array_interface__")  # CPU tensors have none


def test_dlpack_exchange_with_torch():
    torch = pytest.importorskip("torch")
    t = ember.randn(3, 4)
    tt = torch.from_dlpack(t)
    np.testing.assert_array_equal(tt.numpy(), t.numpy())
    tt[0, 0] = 7.0  # shared memory
    assert t.numpy()[0, 0] == 7.0
    e = ember.from_dlpack(torch.arange(5, dtype=torch.float64))
    np.testing.assert_array_equal(e.numpy(), np.arange(5.0))
