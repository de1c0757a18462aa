"""GPU tests: skipped, with the reason, wherever ember cannot use a CUDA device."""
import pytest

import ember


def pytest_collection_modifyitems(config, items):
    if ember.cuda.is_available():
        return
    skip = pytest.mark.skip(reason=f"no usable CUDA device: {ember.cuda.unavailable_reason()}")
    for item in items:
        if "tests/cuda/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(skip)
