"""Test configuration: make ``tests/helpers.py`` importable from every test folder, and give
each test a freshly seeded default generator and grad mode on, so that results never depend
on test order."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ember  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_state():
    """Seed the default generator and restore grad mode, whatever the previous test did."""
    ember.manual_seed(0)
    ember.set_grad_enabled(True)
    yield
    ember.set_grad_enabled(True)
