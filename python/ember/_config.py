"""Build and run-time configuration: ISA path, threads, compiler, OpenMP."""
from __future__ import annotations

import numpy as np

from ember import _C


def config() -> dict:
    """What this ember runs with: ISA path in use, CPU support, threads, compiler, OpenMP."""
    from ember import __version__

    return {
        "version": __version__,
        "isa": _C.get_isa(),
        "cpu_supports_avx2": _C.cpu_supports_avx2(),
        "built_with_avx2": _C.built_with_avx2(),
        "cpu_supports_avx512": _C.cpu_supports_avx512(),
        "built_with_avx512": _C.built_with_avx512(),
        "num_threads": _C.get_num_threads(),
        "openmp": _C.have_openmp(),
        "compiler": _C.compiler(),
        "numpy": np.__version__,
    }


def show_config() -> str:
    """``config()`` as aligned text lines (also printed by ``ember config``)."""
    cfg = config()
    width = max(len(k) for k in cfg)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in cfg.items())


def set_num_threads(n: int) -> None:
    """Threads used by ember's parallel C++ kernels (default: OMP_NUM_THREADS or all cores)."""
    if not isinstance(n, int) or isinstance(n, bool):
        raise TypeError(f"set_num_threads: n must be an int, got {type(n).__name__}")
    _C.set_num_threads(n)


def get_num_threads() -> int:
    """Threads used by ember's parallel C++ kernels."""
    return _C.get_num_threads()
