"""Real learning, end to end: logistic regression on a separable set, an MLP on spirals."""
import numpy as np

import ember
from ember import nn
from ember.data import linearly_separable, two_spirals


def test_logistic_regression_separates_linear_data():
    ember.manual_seed(0)
    x, y = linearly_separable(400, dim=5, margin=0.1, seed=3)
    model = nn.Linear(5, 1)
    opt = ember.optim.SGD(model.parameters(), lr=2.0, momentum=0.9)
    loss_fn = nn.BCEWithLogitsLoss()
    xt, yt = ember.from_numpy(x), ember.from_numpy(y.astype(np.float32)[:, None])
    losses = []
    for _ in range(300):
        loss = loss_fn(model(xt), yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    with ember.no_grad():
        acc = ((model(xt).numpy()[:, 0] > 0) == (y == 1)).mean()
    assert acc == 1.0, f"accuracy {acc}"
    assert losses[-1] < 0.25 * losses[0]


def test_mlp_learns_two_spirals():
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).resolve().parents[1] / "examples" / "mlp_spirals.py"
    spec = importlib.util.spec_from_file_location("mlp_spirals", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    result = mod.train(epochs=80, verbose=False, seed=0)
    assert result["train_acc"] >= 0.98, result
    assert result["test_acc"] >= 0.95, result


def test_spirals_are_not_linearly_separable():
    # The spirals really need the hidden layers: a linear model stays near chance.
    ember.manual_seed(0)
    x, y = two_spirals(500, seed=0)
    model = nn.Linear(2, 2)
    opt = ember.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    xt, yt = ember.from_numpy(x), ember.from_numpy(y)
    for _ in range(200):
        loss = nn.functional.cross_entropy(model(xt), yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with ember.no_grad():
        acc = (model(xt).argmax(1).numpy() == y).mean()
    assert acc < 0.75, acc
