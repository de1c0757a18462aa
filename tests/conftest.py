"""Test configuration: make ``tests/helpers.py`` importable from every test folder, give each
test a freshly seeded default generator and grad mode on, so that results never depend on
test order, and the ``isa`` / ``threads`` fixtures: the test runs once per ISA tier this machine can
run / with 1 and 2 threads."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ember  # noqa: E402
from ember import _C  # noqa: E402
from helpers import available_isas  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_state():
    """Seed the default generator and restore grad mode, whatever the previous test did."""
    ember.manual_seed(0)
    ember.set_grad_enabled(True)
    yield
    ember.set_grad_enabled(True)


@pytest.fixture(params=available_isas())
def isa(request):
    """Runs the test with the kernels of each available ISA tier (generic, avx2, avx512)."""
    before = _C.get_isa()
    _C.set_isa(request.param)
    yield request.param
    _C.set_isa(before)


@pytest.fixture(params=[1, 2])
def threads(request):
    """Runs the test with 1 and with 2 kernel threads."""
    before = ember.get_num_threads()
    ember.set_num_threads(request.param)
    yield request.param
    ember.set_num_threads(before)
