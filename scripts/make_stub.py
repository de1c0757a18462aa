"""Regenerate python/ember/_C.pyi, the type stub of the compiled module, from the installed
ember._C (pybind11-stubgen reads its signatures and docstrings).

    pip install pybind11-stubgen && python scripts/make_stub.py

tests/test_stub.py fails when the checked-in stub no longer lists _C's functions and their
arguments: run this after adding or changing a binding.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TARGET = os.path.join(HERE, "..", "python", "ember", "_C.pyi")


def generate() -> str:
    """The stub text pybind11-stubgen writes for the installed ember._C."""
    out = tempfile.mkdtemp()
    try:
        subprocess.run([sys.executable, "-m", "pybind11_stubgen", "ember._C", "-o", out],
                       check=True, capture_output=True, text=True)
        with open(os.path.join(out, "ember", "_C.pyi")) as f:
            return f.read()
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main() -> None:
    text = generate()
    sys.path.insert(0, os.path.join(HERE, "..", "python"))
    from ember._files import atomic_write

    atomic_write(TARGET, lambda f: f.write(text), mode="w")
    print(f"wrote {os.path.normpath(TARGET)}")


if __name__ == "__main__":
    main()
