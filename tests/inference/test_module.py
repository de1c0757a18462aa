"""ember.inference.optimize_for_inference: the traced, fused model computes what the eager model
computes (on whole models, new input shapes, tuple outputs), fuses the convolution + ReLU and
convolution + residual add + ReLU patterns it should and no others, and refuses models a
trace cannot capture instead of returning a wrong one."""
import numpy as np
import pytest

import ember
from ember import nn
from ember.nn import functional as F
from ember.inference import InferenceModule, optimize_for_inference
from benchmarks import _models
from helpers import randomise_bn


def eager(model, *xs):
    model.eval()
    with ember.no_grad():
        return model(*xs)


def close(got, want, rtol=1e-4):
    want = np.asarray(want)
    np.testing.assert_allclose(np.asarray(got), want, rtol=rtol,
                               atol=rtol * max(1.0, np.abs(want).max()))


def small_resnet():
    """He et al.'s CIFAR ResNet-20 as the benchmarks write it: ReLUs as F.relu calls (not
    modules), 1x1 projection shortcuts."""
    return _models.resnet20(nn, F)


@pytest.mark.parametrize("build, convs, conv_relu, conv_add", [
    (small_resnet, 21, 10, 9),
    (lambda: ember.models.resnet20(10, 3), 19, 10, 9),
    (lambda: ember.models.se_resnet20(10, 3), 37, 19, 0),
    (lambda: ember.models.vgg11_bn(10, pool_size=1, hidden=64, dropout=0.0), 8, 8, 0),
], ids=["functional-relu-resnet", "resnet20", "se_resnet20", "vgg11_bn"])
def test_whole_models_match_eager_and_fuse(build, convs, conv_relu, conv_add):
    """Every ReLU after a convolution (module or functional, a shared nn.ReLU too) and every
    residual add of a convolution's output are fused. In se_resnet20 the squeeze-excitation
    scaling sits between conv and add, so its adds stay separate, and each SE block adds a
    fused 1x1 conv + ReLU."""
    ember.manual_seed(0)
    model = build()
    randomise_bn(model)
    x = ember.tensor(np.random.default_rng(0).standard_normal((4, 3, 32, 32)).astype(np.float32))
    want = eager(model, x).numpy()
    model.train()
    opt = optimize_for_inference(model, x)
    assert model.training  # the original is left alone
    assert isinstance(opt, InferenceModule)
    close(opt(x).numpy(), want)
    plan = opt.plan_for(x)
    ops = [n.op.__name__ for n in plan.nodes]
    assert ops.count("Conv2d") == convs
    assert "BatchNorm2d" not in ops
    assert plan.count("conv_relu") == conv_relu
    assert plan.count("conv_add") == conv_add
    if conv_add:
        assert "Add" not in ops


@pytest.mark.parametrize("name, shape", [
    ("resnet18", (2, 3, 32, 32)), ("googlenet", (2, 3, 32, 32)), ("unet", (2, 1, 32, 32)),
    ("nin", (2, 3, 32, 32)),
])
def test_zoo_models_match_eager(name, shape):
    """Bottleneck-free ImageNet ResNet, inception branches (concatenations), U-Net's
    upsampling and skip concatenations, NiN's 1x1 stacks: traced, fused and checked."""
    ember.manual_seed(0)
    model = ember.models.get_model(name, num_classes=10)
    randomise_bn(model)
    x = ember.tensor(np.random.default_rng(6).standard_normal(shape).astype(np.float32))
    want = eager(model, x).numpy()
    opt = optimize_for_inference(model, x)
    close(opt(x).numpy(), want)
    assert opt.plan_for(x).count("conv_relu") > 0


def test_mlp_linear_relu_fused_and_chained():
    """Linear + ReLU runs as one GEMM with the bias and ReLU applied by its threads, and the
    three layers, each read only by the next, as one linear_chain call; the profiler names
    the chain."""
    ember.manual_seed(0)
    model = _models.mlp(nn)
    x = ember.tensor(np.random.default_rng(5).standard_normal((16, 1, 28, 28)).astype(np.float32))
    opt = optimize_for_inference(model, x)
    plan = opt.plan_for(x)
    assert plan.count("linear_relu") == 2 and plan.count("linear_chain") == 3
    assert [n.op.__name__ for n in plan.nodes] == ["Reshape", "Linear"]
    assert plan.nodes[1].name() == "LinearChain x3"
    close(opt(x).numpy(), eager(model, x).numpy())
    with ember.profiler.profile() as prof:
        opt(x)
    assert [(r.name, r.calls) for r in prof.key_averages()] == [("Reshape", 1),
                                                                ("LinearChain x3", 1)]
    # float64, and a batch too small for two threads, take the same chain
    x64 = ember.tensor(np.random.default_rng(6).standard_normal((3, 1, 28, 28)))
    opt64 = optimize_for_inference(model.double(), x64)
    assert opt64.plan_for(x64).count("linear_chain") == 3
    close(opt64(x64).numpy(), eager(model, x64).numpy())


class HiddenUsedTwice(nn.Module):
    """The first layer's output feeds the second layer and is also returned; the second and
    third layers still chain. Linear on 3-D inputs takes the per-layer fallback."""

    def __init__(self):
        super().__init__()
        self.a, self.b, self.c = nn.Linear(6, 8), nn.Linear(8, 8), nn.Linear(8, 3)

    def forward(self, x):
        h = F.relu(self.a(x))
        return self.c(F.relu(self.b(h))), h


def test_chain_stops_at_shared_results_and_falls_back():
    ember.manual_seed(0)
    model = HiddenUsedTwice()
    x = ember.randn(5, 6)
    opt = optimize_for_inference(model, x)
    plan = opt.plan_for(x)
    assert [n.name() for n in plan.nodes] == ["Linear+Relu", "LinearChain x2"]
    for got, want in zip(opt(x), eager(model, x)):
        close(got.numpy(), want.numpy())
    x3 = ember.randn(2, 5, 6)  # (batch, tokens, features): the chain's per-layer fallback
    assert opt.plan_for(x3).count("linear_chain") == 2
    for got, want in zip(opt(x3), eager(model, x3)):
        close(got.numpy(), want.numpy())


def test_matches_torch():
    """The fused ResNet against PyTorch's eager eval-mode forward on the same weights."""
    torch = pytest.importorskip("torch")
    ember.manual_seed(0)
    em = _models.resnet20(nn, F)
    randomise_bn(em)
    tm = _models.resnet20(torch.nn, torch.nn.functional)
    with torch.no_grad():
        for tp, p in zip(tm.parameters(), em.parameters()):
            tp.copy_(torch.from_numpy(p.detach().numpy().copy()))
        for (_, tb), (_, eb) in zip(tm.named_buffers(), em.named_buffers()):
            tb.copy_(torch.from_numpy(np.asarray(eb.detach().numpy()).copy()))
    tm.eval()
    x = np.random.default_rng(3).standard_normal((8, 3, 32, 32)).astype(np.float32)
    opt = optimize_for_inference(em, ember.tensor(x))
    assert opt.plan_for(ember.tensor(x)).count("conv_add") == 9
    with torch.no_grad():
        want = tm(torch.from_numpy(x)).numpy()
    close(opt(ember.tensor(x)).numpy(), want, rtol=1e-3)


def test_mlp_chain_matches_torch():
    """The MLP as one linear chain against PyTorch's eval-mode forward on the same weights,
    at a batch that splits across threads and at one that does not."""
    torch = pytest.importorskip("torch")
    ember.manual_seed(0)
    em = _models.mlp(nn)
    tm = _models.mlp(torch.nn)
    with torch.no_grad():
        for tp, p in zip(tm.parameters(), em.parameters()):
            tp.copy_(torch.from_numpy(p.detach().numpy().copy()))
    tm.eval()
    for batch in (128, 3):
        x = np.random.default_rng(batch).standard_normal((batch, 1, 28, 28)).astype(np.float32)
        opt = optimize_for_inference(em, ember.tensor(x))
        assert opt.plan_for(ember.tensor(x)).count("linear_chain") == 3
        with torch.no_grad():
            want = tm(torch.from_numpy(x)).numpy()
        close(opt(ember.tensor(x)).numpy(), want, rtol=1e-4)


def test_new_shapes_are_traced_and_cached():
    ember.manual_seed(0)
    model = small_resnet()
    randomise_bn(model)
    rng = np.random.default_rng(1)
    x = ember.tensor(rng.standard_normal((4, 3, 16, 16)).astype(np.float32))
    opt = optimize_for_inference(model, x)
    for shape in [(1, 3, 16, 16), (3, 3, 20, 12), (4, 3, 16, 16)]:
        xs = rng.standard_normal(shape).astype(np.float32)
        close(opt(xs).numpy(), eager(model, ember.tensor(xs)).numpy())
    assert len(opt._plans) == 3
    x64 = rng.standard_normal((2, 3, 16, 16))  # float64 input: its own trace
    model64 = small_resnet().double()
    randomise_bn(model64)
    opt64 = optimize_for_inference(model64, x64)
    out = opt64(x64)
    assert out.dtype == np.float64
    close(out.numpy(), eager(model64, ember.tensor(x64)).numpy(), rtol=1e-10)


class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.head = nn.Linear(4, 2)

    def forward(self, x, scale):
        y = F.relu(self.conv(x))
        return y, self.head(y.mean((2, 3)) * scale)


def test_tuple_outputs_and_several_inputs():
    """Results used twice (here as an output too) are not fused away; two inputs."""
    ember.manual_seed(0)
    model = TwoHeads()
    rng = np.random.default_rng(2)
    x = ember.tensor(rng.standard_normal((2, 3, 6, 6)).astype(np.float32))
    s = ember.tensor(rng.standard_normal((2, 1)).astype(np.float32))
    opt = optimize_for_inference(model, (x, s))
    got = opt(x, s)
    want = eager(model, x, s)
    assert isinstance(got, tuple) and len(got) == 2
    for g, w in zip(got, want):
        close(g.numpy(), w.numpy())
    assert opt.plan_for(x, s).count("conv_relu") == 1


class OneConv(nn.Module):
    """A 3 -> 3 channel 3x3 convolution; subclasses say what forward does with it."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)


class ConvUsedTwice(OneConv):
    """The conv's output feeds the add and the ReLU: fusing either would change the other."""

    def forward(self, x):
        y = self.conv(x)
        return F.relu(y) + (y + x)


def test_shared_results_are_not_fused():
    ember.manual_seed(0)
    model = ConvUsedTwice()
    x = ember.randn(2, 3, 5, 5)
    opt = optimize_for_inference(model, x)
    plan = opt.plan_for(x)
    assert plan.count("conv_relu") == 0 and plan.count("conv_add") == 0
    close(opt(x).numpy(), eager(model, x).numpy())


class NumpyInside(OneConv):
    """Computes on .data, outside ember's ops: the trace would bake in the example's values."""

    def forward(self, x):
        y = self.conv(x)
        return y * ember.tensor(np.abs(y.numpy()).max())


class Branches(OneConv):
    """Takes a branch by the input's values: a trace records only the one it saw."""

    def forward(self, x):
        return self.conv(x) if float(x.min().item()) > 0 else -self.conv(x)


class InPlace(OneConv):
    def forward(self, x):
        y = self.conv(x)
        y += x
        return y


@pytest.mark.parametrize("cls, match", [
    (NumpyInside, "differs from the eager model's"),
    (Branches, "differs from the eager model's"),
    (InPlace, "modifies a tensor in place"),
])
def test_untraceable_models_raise(cls, match):
    ember.manual_seed(0)
    x = np.abs(np.random.default_rng(4).standard_normal((2, 3, 5, 5))) + 0.1  # all > 0
    with pytest.raises(RuntimeError, match=match):
        optimize_for_inference(cls(), ember.tensor(x.astype(np.float32)))


class _ListOp(ember.autograd.Function):
    """An op that takes its tensors inside a list (the trace follows only direct tensor
    arguments)."""

    @staticmethod
    def forward(ctx, xs):
        return xs[0].data + xs[1].data


class TensorsInList(nn.Module):
    def forward(self, x):
        return _ListOp.apply([x * 2, x])


def test_tensors_inside_containers_are_refused():
    with pytest.raises(RuntimeError, match="cannot trace this model: _ListOp takes tensors "
                                           "inside a list"):
        optimize_for_inference(TensorsInList(), ember.randn(2, 3))


def test_argument_errors():
    with pytest.raises(TypeError, match="example_inputs is required"):
        optimize_for_inference(small_resnet())

    class Dict(nn.Module):
        def forward(self, x):
            return {"y": x * 2}

    with pytest.raises(TypeError, match="returns a dict; expected a Tensor"):
        optimize_for_inference(Dict(), ember.randn(2, 3))
