"""The model zoo: parameter counts and MACs against the reference numbers, forward/backward
smoke tests and a few training steps per family, equality with PyTorch twins (same weights:
outputs and gradients, train and eval), and loading weights exported from torch."""
import importlib.util
import os

import numpy as np
import pytest

import ember
from ember import models, nn
from ember.utils import summary

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "examples")


def nparams(m):
    return sum(p.numel() for p in m.parameters())


@pytest.mark.parametrize("name,kwargs,count", [
    ("lenet5", {}, 61_706),
    ("alexnet", {}, 61_100_840),
    ("vgg11", {}, 132_863_336),
    ("vgg16", {}, 138_357_544),
    ("vgg16_bn", {}, 138_365_992),
    ("googlenet", {}, 6_624_904),
    ("googlenet", {"aux_logits": True}, 13_004_888),
    ("resnet18", {}, 11_689_512),
    ("resnet34", {}, 21_797_672),
    ("resnet50", {}, 25_557_032),
    ("resnet101", {}, 44_549_160),
    ("resnet20", {}, 269_722),
    ("resnet20", {"shortcut": "B"}, 272_474),
    ("resnet56", {}, 853_018),
    ("se_resnet50", {}, 28_088_024),
    ("unet", {"num_classes": 2}, 31_036_546),
])
def test_parameter_counts_match_the_references(name, kwargs, count):
    assert nparams(models.get_model(name, **kwargs)) == count


@pytest.mark.parametrize("name,macs", [("resnet18", 1.814), ("resnet50", 4.09),
                                       ("googlenet", 1.50), ("alexnet", 0.714)])
def test_macs_at_224(name, macs):
    s = summary(models.get_model(name), (3, 224, 224))
    assert s.total_macs / 1e9 == pytest.approx(macs, rel=0.01)
    assert s.output_shape == (1, 1000)


SMALL = [  # (builder, input shape): each family at a small resolution
    (lambda: models.mlp(3 * 16 * 16, 5, hidden=(32,)), (4, 3, 16, 16)),
    (lambda: models.lenet5(5), (4, 1, 28, 28)),
    (lambda: models.smallcnn(5), (4, 1, 8, 8)),
    (lambda: models.alexnet(5, original=True), (2, 3, 67, 67)),
    (lambda: models.alexnet(5, lrn=True), (2, 3, 64, 64)),
    (lambda: models.vgg11_bn(5, pool_size=1, hidden=64), (2, 3, 32, 32)),
    (lambda: models.nin(5), (2, 3, 32, 32)),
    (lambda: models.googlenet(5, aux_logits=True), (2, 3, 64, 64)),
    (lambda: models.resnet18(5), (2, 3, 32, 32)),
    (lambda: models.resnet50(5), (2, 3, 32, 32)),
    (lambda: models.resnet20(5), (4, 3, 16, 16)),
    (lambda: models.se_resnet20(5), (4, 3, 16, 16)),
    (lambda: models.se_resnet18(5), (2, 3, 32, 32)),
    (lambda: models.unet(3, 1, base=8, depth=2), (2, 1, 16, 16)),
]


@pytest.mark.parametrize("i", range(len(SMALL)))
def test_family_smoke_training_reduces_the_loss(i):
    ember.manual_seed(i)
    build, shape = SMALL[i]
    model = build()
    x = ember.randn(*shape)
    segment = isinstance(model, models.UNet)
    y = ember.randint(0, 3 if segment else 5, (shape[0],) + (shape[2:] if segment else ()))
    opt = ember.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
    losses = []
    for _ in range(6):
        out = model(x)
        if isinstance(out, tuple):  # GoogLeNet's auxiliary heads in training mode
            loss = sum(nn.functional.cross_entropy(o, y) for o in out)
        else:
            loss = nn.functional.cross_entropy(out, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert all(np.isfinite(losses)) and losses[-1] < losses[0], losses
    model.eval()
    with ember.no_grad():
        out = model(x)
    assert not isinstance(out, tuple) and out.shape[0] == shape[0]


def test_unet_rejects_sizes_not_divisible():
    with pytest.raises(ValueError, match="divisible by 4"):
        models.unet(2, 1, base=4, depth=2)(ember.randn(1, 1, 10, 12))


def _twins():
    torch = pytest.importorskip("torch")
    spec = importlib.util.spec_from_file_location("torch_models",
                                                  os.path.join(EXAMPLES, "torch_models.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return torch, mod


@pytest.mark.parametrize("name,kwargs,shape", [
    ("lenet5", {}, (3, 1, 28, 28)),
    ("smallcnn", {}, (5, 1, 8, 8)),
    ("resnet20", {}, (4, 3, 16, 16)),
    ("se_resnet20", {}, (4, 3, 16, 16)),
    ("unet", {"num_classes": 3, "base": 4, "depth": 2}, (2, 1, 16, 16)),
])
@pytest.mark.parametrize("train", [True, False])
def test_matches_pytorch_twin(name, kwargs, shape, train):
    torch, twins = _twins()
    ember.manual_seed(1)
    em = models.get_model(name, **kwargs).double()
    tm = twins.TWINS[name](**kwargs).double()
    twins.copy_weights(em, tm)
    em.train(train)
    tm.train(train)
    for m in em.modules():  # dropout off on both sides so that outputs are comparable
        if isinstance(m, nn.Dropout):
            m.p = 0.0
    for m in tm.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
    x = np.random.default_rng(2).standard_normal(shape)
    ex = ember.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    eo, to = em(ex), tm(tx)
    np.testing.assert_allclose(eo.numpy(), to.detach().numpy(), rtol=1e-9, atol=1e-10)
    g = np.random.default_rng(3).standard_normal(eo.shape)
    eo.backward(g)
    to.backward(torch.tensor(g))
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-8, atol=1e-10)
    tparams = dict(tm.named_parameters())
    for k, p in em.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tparams[k].grad.numpy(), rtol=1e-7,
                                   atol=1e-9, err_msg=k)
    if train:  # running statistics moved the same way
        tbufs = dict(tm.named_buffers())
        for k, b in em.named_buffers():
            np.testing.assert_allclose(b.numpy(), tbufs[k].numpy(), rtol=1e-9, err_msg=k)


def test_load_weights_exported_from_torch(tmp_path):
    torch, twins = _twins()
    from safetensors.torch import save_file

    tm = twins.CifarResNet(20)
    tm.eval()
    state = {("module." + k): v.contiguous() for k, v in tm.state_dict().items()}
    save_file(state, str(tmp_path / "w.safetensors"))
    em = models.resnet20()
    models.load_pretrained(em, tmp_path / "w.safetensors")
    em.eval()
    x = np.random.default_rng(0).standard_normal((2, 3, 16, 16)).astype(np.float32)
    with torch.no_grad():
        want = tm(torch.from_numpy(x)).numpy()
    with ember.no_grad():
        got = em(ember.tensor(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    conv = models.convert_state_dict({"module.bn.num_batches_tracked": np.array([3])})
    assert conv["bn.num_batches_tracked"].shape == () and conv["bn.num_batches_tracked"] == 3
    with pytest.raises(RuntimeError, match="size mismatch"):
        models.load_pretrained(models.resnet20(num_classes=7), tmp_path / "w.safetensors")
