"""ember.summary against known totals; plots write real PNG files; saliency and feature
maps against direct computations; forward hooks."""
import numpy as np
import pytest

import ember
from ember import models, nn
from ember.utils import summary, visualize

PNG = b"\\x89PNG\\r\\n\\x1a\\n".decode("unicode_escape").encode("latin-1")


def test_summary_lenet5_totals_and_rows():
    s = summary(models.lenet5(), (1, 28, 28))
    assert s.total_params == 61706 and s.trainable_params == 61706
    conv1 = s.rows[0]
    assert conv1.type == "Conv2d" and conv1.output_shape == (1, 6, 28, 28)
    assert conv1.params == 156 and conv1.macs == 6 * 28 * 28 * 25
    assert s.rows[-1].macs == 84 * 10 and s.output_shape == (1, 10)
    assert "Total params: 61,706" in str(s)


def test_summary_resnet18_matches_torchvision_totals():
    s = summary(models.resnet18(), (3, 224, 224))
    assert s.total_params == 11_689_512
    assert s.total_macs / 1e9 == pytest.approx(1.82, abs=0.01)
    assert s.output_shape == (1, 1000)
    names = [r.name for r in s.rows]
    assert "layer1.0.conv1" in names and "fc" in names


def test_summary_restores_mode_and_leaves_bn_statistics():
    m = models.resnet20()
    m.train()
    before = {k: v.numpy().copy() for k, v in m.state_dict().items()}
    summary(m, (3, 32, 32), batch_size=2)
    assert m.training and all(mod.training for mod in m.modules())
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])
    with pytest.raises(ValueError, match="input sizes must be positive"):
        summary(m, (3, 0, 32))


def test_forward_hooks_and_pre_hooks():
    lin = nn.Linear(3, 2)
    seen = []
    h = lin.register_forward_hook(lambda m, i, o: seen.append(o.shape))
    lin(ember.randn(4, 3))
    h.remove()
    lin(ember.randn(5, 3))
    assert seen == [(4, 2)]
    with lin.register_forward_hook(lambda m, i, o: o * 0):
        assert float(lin(ember.randn(2, 3)).abs().sum()) == 0.0
    with lin.register_forward_pre_hook(lambda m, i: (i[0] * 0,)):
        np.testing.assert_allclose(lin(ember.randn(2, 3)).numpy(),
                                   np.broadcast_to(lin.bias.numpy(), (2, 2)))


def test_plots_write_pngs(tmp_path):
    hist = {"loss": [1.0, 0.5, 0.3], "val_loss": [1.1, 0.6, 0.4], "accuracy": [0.5, 0.8, 0.9],
            "val_accuracy": [0.4, 0.7, 0.85]}
    m = models.lenet5()
    x = ember.randn(1, 1, 28, 28)
    outs = [visualize.plot_history(hist, str(tmp_path / "curves.png")),
            visualize.plot_filters(m[0].weight, str(tmp_path / "filters.png")),
            visualize.plot_confusion_matrix(np.array([[5, 1], [2, 7]]),
                                            str(tmp_path / "cm.png"), ["a", "b"]),
            visualize.plot_saliency(x, visualize.saliency(m, x), str(tmp_path / "sal.png")),
            visualize.plot_feature_maps(visualize.feature_maps(m, "1", x),
                                        str(tmp_path / "fm.png"))]
    for path in outs:
        with open(path, "rb") as f:
            assert f.read(8) == PNG, path
    with pytest.raises(ValueError, match="no layer named 'nope'"):
        visualize.feature_maps(m, "nope", x)


def test_saliency_is_the_input_gradient():
    w = np.random.default_rng(0).standard_normal((3, 1 * 2 * 2)).astype(np.float32)
    m = nn.Sequential(nn.Flatten(), nn.Linear(4, 3, bias=False))
    with ember.no_grad():
        m[1].weight.copy_(w)
    x = np.ones((1, 2, 2), np.float32)
    sal = visualize.saliency(m, x, target=2)
    np.testing.assert_allclose(sal, np.abs(w[2]).reshape(2, 2))
    fm = visualize.feature_maps(m, "0", ember.tensor(x[None]))
    np.testing.assert_array_equal(fm, x.reshape(1, 4))
