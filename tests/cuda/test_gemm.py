"""The CUDA GEMM against the CPU engine (float64 to 1e-10, float32 to 1e-4 relative) and
torch CUDA where present, odd sizes and both transposes; device rules of GPU tensors."""
import numpy as np
import pytest

import ember

SHAPES = [(1, 1, 1), (7, 5, 3), (64, 64, 64), (65, 33, 17), (129, 257, 63), (300, 1, 511)]


def _ref(a, b, ta, tb):
    return (a.T if ta else a) @ (b.T if tb else b)


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 1e-4)])
@pytest.mark.parametrize("m, n, k", SHAPES)
@pytest.mark.parametrize("ta, tb", [(False, False), (True, False), (False, True), (True, True)])
def test_gemm_matches_the_cpu_engine(m, n, k, ta, tb, dtype, tol):
    import cupy as cp

    from ember.cuda import kernels

    rng = np.random.default_rng(m * 1000 + n * 10 + k)
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(dtype)
    want = ember._C.gemm(a, b, trans_a=ta, trans_b=tb)
    got = kernels.gemm(cp.asarray(a), cp.asarray(b), trans_a=ta, trans_b=tb).get()
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * max(1, k) ** 0.5)
    np.testing.assert_allclose(got, _ref(a, b, ta, tb), rtol=tol, atol=tol * max(1, k) ** 0.5)


def test_gemm_alpha_beta_and_strided_views():
    import cupy as cp

    from ember.cuda import kernels

    rng = np.random.default_rng(0)
    big = rng.standard_normal((40, 50))
    a, b = big[:30:2, 3:20], big[5:22, 1:41:3]  # strided views: copied on the device
    c = rng.standard_normal((15, 14))
    out = cp.asarray(c)
    kernels.gemm(cp.asarray(a), cp.asarray(b), out=out, alpha=0.5, beta=2.0)
    np.testing.assert_allclose(out.get(), 0.5 * a @ b + 2.0 * c, rtol=1e-12)


def test_batched_matmul_on_tensors_and_gradient():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((3, 9, 7))
    b = rng.standard_normal((3, 7, 5))
    ta = ember.tensor(a, device="cuda", requires_grad=True)
    tb = ember.tensor(b, device="cuda", requires_grad=True)
    out = ember.matmul(ta, tb)
    assert out.device == ember.device("cuda:0")
    np.testing.assert_allclose(out.cpu().numpy(), a @ b, rtol=1e-12)
    out.sum().backward()
    np.testing.assert_allclose(ta.grad.cpu().numpy(), np.ones((3, 9, 5)) @ np.swapaxes(b, 1, 2),
                               rtol=1e-12)


def test_gpu_tensor_rules():
    x = ember.ones(2, 3, device="cuda")
    assert x.is_cuda and x.device.type == "cuda"
    with pytest.raises(TypeError, match="use Tensor.cpu"):
        x.numpy()
    with pytest.raises(RuntimeError, match="same device, but found at least two devices"):
        x + ember.ones(2, 3)
    y = x.cpu()
    assert y.device == ember.device("cpu") and (y.numpy() == 1).all()
    assert ember.cuda.memory_allocated() > 0
    ember.cuda.synchronize()
    props = ember.cuda.get_device_properties(0)
    assert props["capability"][0] >= 8 and props["total_memory"] > 0


def test_gemm_matches_torch_cuda():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch has no CUDA here")
    import cupy as cp

    from ember.cuda import kernels

    torch.backends.cuda.matmul.allow_tf32 = False
    rng = np.random.default_rng(2)
    a = rng.standard_normal((513, 300)).astype(np.float32)
    b = rng.standard_normal((300, 257)).astype(np.float32)
    want = (torch.from_numpy(a).cuda() @ torch.from_numpy(b).cuda()).cpu().numpy()
    got = kernels.gemm(cp.asarray(a), cp.asarray(b)).get()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3)


def test_checkpoint_saved_on_gpu_loads_on_cpu(tmp_path):
    w = ember.randn(3, 4, device="cuda")
    ember.save({"w": w}, tmp_path / "g.safetensors")
    back = ember.load(tmp_path / "g.safetensors")["w"]
    assert back.device == w.device
    cpu = ember.load(tmp_path / "g.safetensors", map_location="cpu")["w"]
    np.testing.assert_array_equal(cpu.numpy(), w.cpu().numpy())


def test_ops_without_a_cuda_kernel_refuse_gpu_tensors_by_name():
    x = ember.randn(1, 1, 4, 4, device="cuda")
    w = ember.randn(1, 1, 3, 3, device="cuda")
    for call, op in ((lambda: ember.nn.functional.conv2d(x, w), "conv2d"),
                     (lambda: ember.nn.functional.max_pool2d(x, 2), "max_pool2d"),
                     (lambda: ember.nn.functional.cross_entropy(
                         x.reshape(1, 16), ember.tensor([3], device="cuda")), "cross_entropy")):
        with pytest.raises(NotImplementedError, match=f"^{op}: no CUDA kernel yet"):
            call()
