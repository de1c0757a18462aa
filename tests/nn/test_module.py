"""Module mechanics: registration, traversal, train/eval, state_dict round trips and errors."""
from collections import OrderedDict

import numpy as np
import pytest

import ember
from ember import nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self.act = nn.ReLU()
        self.register_buffer("count", ember.zeros(1))
        self.scale = nn.Parameter(ember.ones(3))

    def forward(self, x):
        return self.act(self.fc(x)) * self.scale


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList([Block(), Block()])
        self.head = nn.Sequential(nn.Linear(3, 2), nn.Identity())

    def forward(self, x):
        return self.head(self.blocks[1](x[:, :4]) + self.blocks[0](x[:, :4]))


def test_named_parameters_and_children():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["blocks.0.scale", "blocks.0.fc.weight", "blocks.0.fc.bias",
                     "blocks.1.scale", "blocks.1.fc.weight", "blocks.1.fc.bias",
                     "head.0.weight", "head.0.bias"]
    assert len(list(net.children())) == 2
    assert len(list(net.modules())) == 1 + 1 + 2 * 3 + 1 + 2
    assert sum(p.numel() for p in net.parameters()) == 2 * (12 + 3 + 3) + 6 + 2


def test_shared_parameter_listed_once():
    lin = nn.Linear(2, 2)
    seq = nn.Sequential(lin, lin)
    assert len(list(seq.parameters())) == 2


def test_train_eval_propagates():
    net = Net()
    net.eval()
    assert all(not m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())


def test_train_calls_each_childs_own_train():
    """As PyTorch: a sub-module overriding train() (here one that keeps its batch norm in eval
    mode, a common fine-tuning trick) is honoured when its parent switches modes."""
    class FrozenBN(nn.BatchNorm1d):
        def train(self, mode=True):
            return super().train(False)

    net = nn.Sequential(nn.Linear(3, 4), FrozenBN(4), nn.Sequential(nn.ReLU()))
    net.eval()
    net.train()
    assert net.training and net[0].training and net[2][0].training
    assert not net[1].training
    with pytest.raises(TypeError, match="train: mode must be a bool, got int"):
        net.train(1)


def test_state_dict_round_trip_and_buffers():
    ember.manual_seed(0)
    a, b = Net(), Net()
    sd = a.state_dict()
    assert "blocks.0.count" in sd and "head.0.weight" in sd
    result = b.load_state_dict(sd)
    assert result.missing_keys == [] and result.unexpected_keys == []
    x = ember.randn(5, 6)
    np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())
    # numpy arrays are accepted too, and loading copies (no aliasing)
    b.load_state_dict({k: v.numpy().copy() for k, v in sd.items()})
    with ember.no_grad():
        b.head[0].weight.add_(1.0)
    assert not np.allclose(a.head[0].weight.numpy(), b.head[0].weight.numpy())


def test_load_state_dict_errors():
    net = Net()
    sd = net.state_dict()
    missing = OrderedDict((k, v) for k, v in sd.items() if k != "head.0.bias")
    with pytest.raises(RuntimeError, match='Missing key.*"head.0.bias"'):
        net.load_state_dict(missing)
    extra = OrderedDict(sd)
    extra["head.9.weight"] = ember.zeros(1)
    with pytest.raises(RuntimeError, match='Unexpected key.*"head.9.weight"'):
        net.load_state_dict(extra)
    bad = OrderedDict(sd)
    bad["head.0.weight"] = ember.zeros(3, 3)
    with pytest.raises(RuntimeError, match=r"size mismatch for head.0.weight.*\(3, 3\).*\(2, 3\)"):
        net.load_state_dict(bad)
    # strict=False reports instead of raising, but shape mismatches still raise
    result = net.load_state_dict(missing, strict=False)
    assert result.missing_keys == ["head.0.bias"]
    with pytest.raises(RuntimeError, match="size mismatch"):
        net.load_state_dict(bad, strict=False)


def test_zero_grad_and_assignment_rules():
    net = Net()
    x = ember.randn(2, 6)
    net(x).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(float(np.abs(p.grad.numpy()).sum()) == 0 for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    with pytest.raises(TypeError, match="cannot assign Tensor as parameter 'weight'"):
        net.head[0].weight = ember.zeros(2, 3)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = net.nope


def test_repr_matches_pytorch_style():
    seq = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.LeakyReLU(0.2))
    assert repr(seq) == ("Sequential(\n  (0): Linear(in_features=3, out_features=4, bias=True)\n"
                         "  (1): ReLU()\n  (2): LeakyReLU(negative_slope=0.2)\n)")


def test_double_casts_parameters():
    net = Net().double()
    assert all(p.dtype == np.float64 for p in net.parameters())
    out = net(ember.randn(2, 6, dtype=ember.float64))
    assert out.dtype == np.float64


def test_setattr_before_init_is_clear():
    class Bad(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match="super\\(\\).__init__\\(\\)"):
        Bad()
