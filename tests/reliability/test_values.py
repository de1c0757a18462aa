"""Invalid values: every loss given values torch refuses (probabilities outside [0, 1] or
NaN, class indices out of range, negative margins' powers, bad smoothing) raises a
ValueError naming the loss, where it once returned a number; values torch accepts give
torch's number."""
import numpy as np
import pytest

import ember
import ember.nn.functional as F
from helpers import import_torch

NAN = float("nan")


def _logits():
    return np.random.default_rng(0).standard_normal((4, 3))


CASES = [  # (loss, kwargs builder(np) -> (args, kwargs)), each a separate value class
    ("binary_cross_entropy", lambda: ([np.array([0.2, 1.5]), np.array([0.0, 1.0])], {})),
    ("binary_cross_entropy", lambda: ([np.array([-0.1, 0.5]), np.array([0.0, 1.0])], {})),
    ("binary_cross_entropy", lambda: ([np.array([NAN, 0.5]), np.array([0.0, 1.0])], {})),
    ("binary_cross_entropy", lambda: ([np.array([0.0, 1.0]), np.array([0.0, 1.0])], {})),
    ("binary_cross_entropy", lambda: ([np.array([0.3, 0.9]), np.array([0.0, 1.0])], {})),
    ("cross_entropy", lambda: ([_logits(), np.array([0, 1, 3, 2])], {})),
    ("cross_entropy", lambda: ([_logits(), np.array([0, 1, -2, 2])], {})),
    ("cross_entropy", lambda: ([_logits(), np.array([0, 1, -100, 2])], {})),
    ("cross_entropy", lambda: ([_logits(), np.array([0, 1, 2, 2])],
                               {"label_smoothing": 1.5})),
    ("cross_entropy", lambda: ([_logits(), np.array([0, 1, 2, 2])],
                               {"label_smoothing": 0.2})),
    ("nll_loss", lambda: ([_logits(), np.array([0, 1, 3, 2])], {})),
    ("nll_loss", lambda: ([_logits(), np.array([0, 1, 5, 2])], {"ignore_index": 5})),
    ("multi_margin_loss", lambda: ([_logits(), np.array([0, 1, 3, 2])], {})),
    ("multi_margin_loss", lambda: ([_logits(), np.array([0, 1, 2, 2])], {"p": 3})),
    ("multi_margin_loss", lambda: ([_logits(), np.array([0, 1, 2, 2])], {"p": 2})),
    ("mse_loss", lambda: ([np.array([1.0, NAN]), np.array([0.0, 1.0])], {})),
    ("binary_cross_entropy_with_logits",
     lambda: ([np.array([50.0, -50.0]), np.array([0.0, 1.0])], {})),
]


def _call(mod, name, args, kwargs, wrap):
    try:
        return float(getattr(mod, name)(*[wrap(a) for a in args], **kwargs))
    except Exception as e:
        return e


@pytest.mark.parametrize("i", range(len(CASES)), ids=[f"{c[0]}-{i}" for i, c in
                                                       enumerate(CASES)])
def test_loss_values_are_refused_where_torch_refuses_them(i):
    torch = import_torch()
    name, build = CASES[i]
    args, kwargs = build()
    want = _call(torch.nn.functional, name, args, kwargs, torch.from_numpy)
    got = _call(F, name, args, kwargs, ember.Tensor)
    if isinstance(want, Exception):
        assert isinstance(got, (ValueError, IndexError)), \
            f"torch raises {want!r}, ember gives {got!r}"
        assert str(got).startswith(name + ":"), str(got)
    else:
        assert not isinstance(got, Exception), f"torch gives {want}, ember raises {got!r}"
        np.testing.assert_allclose(got, want, rtol=1e-7, equal_nan=True)


def test_negative_label_smoothing_is_refused():
    # torch documents label_smoothing in [0, 1] but computes a loss for negative values;
    # ember holds to the documented range.
    with pytest.raises(ValueError, match=r"cross_entropy: label_smoothing must be in \[0, 1\]"):
        F.cross_entropy(ember.Tensor(_logits()), ember.Tensor(np.array([0, 1, 2, 2])),
                        label_smoothing=-0.1)


def test_bce_message_names_the_probability_range():
    with pytest.raises(ValueError, match=r"binary_cross_entropy: all elements of input should "
                                         r"be probabilities in \[0, 1\]"):
        F.binary_cross_entropy(ember.Tensor([0.5, 2.0]), ember.Tensor([0.0, 1.0]))
