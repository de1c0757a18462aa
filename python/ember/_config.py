"""Build and run-time configuration: ISA path, threads, compiler, memory reuse."""
from __future__ import annotations

import os

import numpy as np

from ember import _C

# Reuse of freed memory (see _tune_malloc): glibc gives every array above its mmap threshold
# (128 KiB to 32 MiB, adapting) fresh zeroed pages and unmaps them on free, so each training
# step page-faults all its activations in again (docs/results.md has the effect).
# EMBER_KEEP_FREED_MEMORY=0 turns it off; a number sets the size (bytes) it applies up to.
_KEEP_DEFAULT = 1 << 30
_malloc_tuned = False


def _tune_malloc() -> None:
    global _malloc_tuned
    raw = os.environ.get("EMBER_KEEP_FREED_MEMORY", "")
    try:
        size = int(raw) if raw.strip() else _KEEP_DEFAULT
    except ValueError:
        raise ValueError(f"EMBER_KEEP_FREED_MEMORY must be an integer number of bytes (0 "
                         f"turns the reuse of freed memory off), got {raw!r}") from None
    if size > 0:
        _malloc_tuned = bool(_C.keep_freed_memory(min(size, (1 << 31) - 1)))


def config() -> dict:
    """What this ember runs with: ISA path in use, CPU support, threads, compiler."""
    from ember import __version__, cuda

    return {
        "version": __version__,
        "isa": _C.get_isa(),
        "cpu_supports_avx2": _C.cpu_supports_avx2(),
        "built_with_avx2": _C.built_with_avx2(),
        "cpu_supports_avx512": _C.cpu_supports_avx512(),
        "built_with_avx512": _C.built_with_avx512(),
        "num_threads": _C.get_num_threads(),
        "max_threads": _C.max_threads,
        "compiler": _C.compiler(),
        "keeps_freed_memory": _malloc_tuned,
        "cuda": cuda.info(),
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
    if not -2**63 <= n < 2**63:  # too large to cross into C++, which checks the range
        raise ValueError(f"set_num_threads: argument 'n' must be in [1, {_C.max_threads}], "
                         f"got {n}")
    _C.set_num_threads(n)


def get_num_threads() -> int:
    """Threads used by ember's parallel C++ kernels."""
    return _C.get_num_threads()
