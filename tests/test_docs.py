"""docs/ARCHITECTURE.md stays true: every file it names exists, and every C++ or Python name
in its op walk is defined where it says (a newcomer's walk must not dead-end)."""
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, "docs", "ARCHITECTURE.md")


def doc_text():
    if not os.path.isfile(DOC):
        pytest.skip("not a source checkout")
    return open(DOC).read()


def test_named_files_exist():
    text = doc_text()
    paths = set(re.findall(r"`((?:csrc|python|tests|benchmarks|scripts|docs)/[\w./-]+)`", text))
    assert paths, "the architecture document names no files"
    missing = [p for p in sorted(paths) if not os.path.exists(os.path.join(ROOT, p))]
    assert not missing, f"ARCHITECTURE.md names files that do not exist: {missing}"


@pytest.mark.parametrize("path,names", [
    ("csrc/bindings/conv.cpp", ["conv2d_forward_py", "make_shape"]),
    ("csrc/ember/conv/conv2d.cpp", ["conv2d_forward", "choose_algo"]),
    ("csrc/ember/conv/select.cpp", ["choose_algo", "kForward", "set_conv_algo"]),
    ("csrc/ember/conv/direct.cpp", ["void forward("]),
    ("csrc/ember/conv/products.cpp", ["gemm_frame_rows"]),
    ("csrc/ember/cpu.cpp", ["detect_isa"]),
    ("csrc/ember/isa.h", ["IsaTables", "EMBER_ISA_DECLARE"]),
    ("csrc/ember/gemm/driver.h", ["a_in_place", "direct_b", "choose_grid"]),
    ("python/ember/ops/conv.py", ["def conv2d(", "class Conv2d("]),
    ("python/ember/autograd/hooks.py", ["def profiling(", "def tracing("]),
    ("tests/helpers.py", ["def helper_test_op("]),
])
def test_walk_names_are_defined(path, names):
    doc_text()
    src = open(os.path.join(ROOT, path)).read()
    for name in names:
        assert name in src, f"{path} has no {name!r}"
