"""nn.init: fans and gains against torch, sample statistics of large tensors, PyTorch-style
default initialisation of layers."""
import math

import numpy as np
import pytest

import ember
from ember import nn
from ember.nn import init


def _torch():
    return pytest.importorskip("torch")


@pytest.mark.parametrize("shape", [(30, 20), (16, 3, 5, 5), (8, 4, 3), (64, 64, 1, 1)])
def test_fans_match_torch(shape):
    torch = _torch()
    ours = init.calculate_fan_in_and_fan_out(ember.empty(*shape))
    theirs = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))
    assert ours == theirs


@pytest.mark.parametrize("name,param", [("linear", None), ("conv2d", None), ("sigmoid", None),
                                        ("tanh", None), ("relu", None), ("leaky_relu", None),
                                        ("leaky_relu", 0.2), ("selu", None)])
def test_gains_match_torch(name, param):
    torch = _torch()
    assert init.calculate_gain(name, param) == pytest.approx(
        torch.nn.init.calculate_gain(name, param), rel=1e-12)


def test_unknown_nonlinearity_and_bad_mode():
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out'"):
        init.kaiming_uniform_(ember.empty(4, 4), mode="fan_avg")
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.xavier_uniform_(ember.empty(5))


def _stats(fill, shape=(600, 500)):
    t = ember.empty(*shape, dtype=ember.float64)
    fill(t)
    a = t.numpy()
    return a.mean(), a.std(), a.min(), a.max()


def test_uniform_and_normal_families_have_intended_statistics():
    fan_in, fan_out = 500, 600
    mean, std, lo, hi = _stats(lambda t: init.kaiming_uniform_(t, a=math.sqrt(5)))
    bound = 1 / math.sqrt(fan_in)  # gain(leaky_relu, sqrt 5) * sqrt(3 / fan_in)
    assert abs(mean) < 0.01 * bound and lo >= -bound and hi <= bound
    assert std == pytest.approx(bound / math.sqrt(3), rel=0.01)
    mean, std, _, _ = _stats(lambda t: init.kaiming_normal_(t, mode="fan_out",
                                                            nonlinearity="relu"))
    assert std == pytest.approx(math.sqrt(2 / fan_out), rel=0.01) and abs(mean) < 1e-3
    mean, std, lo, hi = _stats(lambda t: init.xavier_uniform_(t, gain=2.0))
    a = 2.0 * math.sqrt(6 / (fan_in + fan_out))
    assert lo >= -a and hi <= a and std == pytest.approx(a / math.sqrt(3), rel=0.01)
    _, std, _, _ = _stats(lambda t: init.xavier_normal_(t))
    assert std == pytest.approx(math.sqrt(2 / (fan_in + fan_out)), rel=0.01)
    mean, std, _, _ = _stats(lambda t: init.normal_(t, 3.0, 0.5))
    assert mean == pytest.approx(3.0, abs=0.005) and std == pytest.approx(0.5, rel=0.01)
    mean, _, lo, hi = _stats(lambda t: init.uniform_(t, -2.0, 4.0))
    assert lo >= -2 and hi < 4 and mean == pytest.approx(1.0, abs=0.01)
    assert _stats(lambda t: init.constant_(t, 0.25))[:1] == (0.25,)
    assert _stats(init.zeros_)[3] == 0 and _stats(init.ones_)[2] == 1


def test_trunc_normal_matches_the_truncated_distribution():
    mean, std, lo, hi = _stats(lambda t: init.trunc_normal_(t, 0.5, 2.0, -1.0, 3.0))
    assert lo >= -1.0 and hi <= 3.0 and hi > 2.99 and lo < -0.99
    # Moments of N(0.5, 2^2) truncated to [-1, 3]
    phi = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    Phi = lambda z: (1 + math.erf(z / math.sqrt(2))) / 2  # noqa: E731
    a, b = (-1 - 0.5) / 2, (3 - 0.5) / 2
    z = Phi(b) - Phi(a)
    want_mean = 0.5 + 2 * (phi(a) - phi(b)) / z
    want_var = 4 * (1 + (a * phi(a) - b * phi(b)) / z - ((phi(a) - phi(b)) / z) ** 2)
    assert mean == pytest.approx(want_mean, abs=0.01)
    assert std == pytest.approx(math.sqrt(want_var), rel=0.01)
    with pytest.raises(ValueError, match="expected a < b"):
        init.trunc_normal_(ember.empty(3), a=1.0, b=0.0)


@pytest.mark.parametrize("shape", [(40, 40), (20, 50), (50, 20), (8, 3, 3, 3)])
def test_orthogonal_rows_or_columns_are_orthonormal(shape):
    t = ember.empty(*shape, dtype=ember.float64)
    init.orthogonal_(t, gain=1.5)
    m = t.numpy().reshape(shape[0], -1)
    gram = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
    np.testing.assert_allclose(gram, 1.5 ** 2 * np.eye(gram.shape[0]), atol=1e-10)


def test_init_is_seeded_and_does_not_track_grad():
    p = nn.Parameter(ember.empty(10, 10))
    ember.manual_seed(3)
    init.kaiming_normal_(p)
    a = p.numpy().copy()
    ember.manual_seed(3)
    init.kaiming_normal_(p)
    np.testing.assert_array_equal(a, p.numpy())
    assert p.grad_fn is None and p.requires_grad


@pytest.mark.parametrize("make_e,make_t", [
    (lambda: nn.Linear(300, 200), lambda t: t.nn.Linear(300, 200)),
    (lambda: nn.Conv2d(32, 64, 3), lambda t: t.nn.Conv2d(32, 64, 3)),
    (lambda: nn.Conv2d(16, 16, 3, groups=4), lambda t: t.nn.Conv2d(16, 16, 3, groups=4)),
    (lambda: nn.ConvTranspose2d(32, 16, 4), lambda t: t.nn.ConvTranspose2d(32, 16, 4)),
])
def test_default_layer_init_matches_torch_statistics(make_e, make_t):
    """Seed-independent statistics of the default initialisation equal torch's: weight and
    bias uniform within 1/sqrt(fan_in) of torch's weight, standard deviation bound/sqrt(3)."""
    torch = _torch()
    e, t = make_e(), make_t(torch)
    fan_in, _ = torch.nn.init._calculate_fan_in_and_fan_out(t.weight)
    bound = 1 / math.sqrt(fan_in)
    for (name, ep), (_, tp) in zip(e.named_parameters(), t.named_parameters()):
        ea, ta = ep.numpy(), tp.detach().numpy()
        assert ea.shape == ta.shape and ea.dtype == np.float32, name
        assert np.abs(ea).max() <= bound and np.abs(ta).max() <= bound, name
        if ea.size >= 1000:
            assert ea.std() == pytest.approx(bound / math.sqrt(3), rel=0.05), name
            assert ta.std() == pytest.approx(bound / math.sqrt(3), rel=0.05), name
