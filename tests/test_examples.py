"""The examples run and learn (shortened runs of each script's main routine)."""
import importlib.util
import os

import pytest

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")


def _load(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(EXAMPLES, name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("name", ["Adam", "RMSprop", "Adagrad"])
def test_optimizers_example_learns(name):
    mod = _load("optimizers")
    result = mod.run(name, epochs=60, seed=0)
    assert result["train_acc"] > 0.9, result
