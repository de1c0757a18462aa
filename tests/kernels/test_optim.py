"""The fused optimizer kernels (_C.optim_*) on every ISA tier: three steps of each optimizer,
with each option that changes the element loop, agree with the portable tier's (which
tests/optim checks against PyTorch's trajectories), for float32 and float64 parameter
groups of awkward sizes (vector remainders, several chunks of parallel work)."""
import numpy as np
import pytest

import ember
from ember import _C, nn
from helpers import available_isas

CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=1e-2)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, maximize=True)),
    ("Adam", dict(lr=1e-2)),
    ("Adam", dict(lr=1e-2, amsgrad=True, weight_decay=1e-2)),
    ("AdamW", dict(lr=1e-2, weight_decay=0.1)),
    ("RMSprop", dict(lr=1e-2)),
    ("RMSprop", dict(lr=1e-2, centered=True, momentum=0.9, weight_decay=1e-3)),
    ("Adagrad", dict(lr=1e-1, lr_decay=1e-2, weight_decay=1e-3)),
    ("Adadelta", dict(lr=1.0, weight_decay=1e-3)),
]
SIZES = [(3,), (17, 5), (40000,), (129,)]  # 40000: more than one chunk of parallel work


def run(name, kwargs, dtype, tier):
    before = _C.get_isa()
    _C.set_isa(tier)
    try:
        rng = np.random.default_rng(0)
        params = [nn.Parameter(rng.standard_normal(s).astype(dtype)) for s in SIZES]
        opt = getattr(ember.optim, name)(params, **kwargs)
        for _ in range(3):
            for p in params:
                p.grad = ember.tensor(rng.standard_normal(p.shape).astype(dtype))
            opt.step()
        return [p.numpy().copy() for p in params]
    finally:
        _C.set_isa(before)


@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=lambda v: str(v))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_optimizer_kernels_agree_across_tiers(name, kwargs, dtype):
    ref = run(name, kwargs, dtype, "generic")
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for tier in available_isas()[1:]:
        for got, want in zip(run(name, kwargs, dtype, tier), ref):
            np.testing.assert_allclose(got, want, rtol=tol, atol=tol, err_msg=tier)
