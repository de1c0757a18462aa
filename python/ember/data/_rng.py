"""Where random data transforms get their random numbers.

Augmentations call :func:`current` for a ``numpy.random.Generator``. Outside a DataLoader
that is ember's default generator (seeded by ``ember.manual_seed``). A DataLoader instead
installs, per batch and per thread, a generator seeded from (its base seed, batch index), so
the augmentation of batch i is the same whether the batch was built on the main thread or by
a background prefetch thread, and a run is reproducible from ``ember.manual_seed`` (or the
loader's ``generator``).
"""
from __future__ import annotations

import contextlib
import threading
from typing import Iterator, Optional

import numpy as np

from ember._random import get_generator

_local = threading.local()


def current() -> np.random.Generator:
    """The generator random transforms should draw from on this thread now."""
    rng: Optional[np.random.Generator] = getattr(_local, "rng", None)
    return rng if rng is not None else get_generator(None)


@contextlib.contextmanager
def using(rng: np.random.Generator) -> Iterator[np.random.Generator]:
    """Make ``rng`` the transforms' generator on this thread for the duration."""
    prev = getattr(_local, "rng", None)
    _local.rng = rng
    try:
        yield rng
    finally:
        _local.rng = prev


def for_batch(base_seed: int, batch_index: int) -> np.random.Generator:
    """The generator for batch ``batch_index`` of an epoch whose base seed is ``base_seed``."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([base_seed,
                                                                       batch_index])))
