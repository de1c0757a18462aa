"""python/ember/_C.pyi is current: it declares every function of the compiled ember._C with
the same arguments (names, and which have defaults). Regenerate it with
scripts/make_stub.py after changing a binding."""
import ast
import os

import pytest

import ember
from ember import _C

STUB = os.path.join(os.path.dirname(ember.__file__), "_C.pyi")


def stub_signatures():
    tree = ast.parse(open(STUB).read())
    out = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            a = node.args
            names = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs]
            out[node.name] = (names, len(a.defaults) + sum(d is not None for d in a.kw_defaults))
    return out


def module_signatures():
    out = {}
    for name in dir(_C):
        fn = getattr(_C, name)
        if name.startswith("_") or not callable(fn) or isinstance(fn, type):
            continue
        # pybind11 puts the signature on the docstring's first line: name(arg: type = ...)
        first = (fn.__doc__ or "").split("\n", 1)[0]
        params = first[first.index("(") + 1:first.rindex(")")]
        depth, parts, cur = 0, [], ""
        for ch in params:
            depth += ch in "([{"
            depth -= ch in ")]}"
            if ch == "," and depth == 0:
                parts.append(cur)
                cur = ""
            else:
                cur += ch
        parts = [p.strip() for p in parts + [cur] if p.strip()]
        out[name] = ([p.split(":")[0].strip() for p in parts], sum("=" in p for p in parts))
    return out


def test_stub_exists_and_is_typed():
    assert os.path.isfile(STUB), "python/ember/_C.pyi is missing: run scripts/make_stub.py"
    assert os.path.isfile(os.path.join(os.path.dirname(STUB), "py.typed"))


def test_stub_lists_every_function_with_its_arguments():
    if not os.path.isfile(STUB):
        pytest.skip("no stub installed next to _C (see test_stub_exists_and_is_typed)")
    stub, real = stub_signatures(), module_signatures()
    assert sorted(stub) == sorted(real), "functions differ: run scripts/make_stub.py"
    for name, sig in real.items():
        assert stub[name] == sig, f"{name}: stub {stub[name]} vs _C {sig}: run " \
                                  "scripts/make_stub.py"
