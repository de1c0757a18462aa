"""The default random generator behind ``rand``, ``randn``, initialisation and dropout."""
from __future__ import annotations

from typing import Optional

import numpy as np


class Generator:
    """A seeded source of random numbers (wraps ``numpy.random.Generator`` with PCG64)."""

    def __init__(self, seed: Optional[int] = None) -> None:
        self._seed = seed
        self.np = np.random.Generator(np.random.PCG64(seed))

    def manual_seed(self, seed: int) -> "Generator":
        """Reseed in place; returns self (like ``torch.Generator.manual_seed``)."""
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
            raise TypeError(f"manual_seed: seed must be an int, got {type(seed).__name__}")
        self._seed = int(seed)
        self.np = np.random.Generator(np.random.PCG64(int(seed) & (2**128 - 1)))
        return self

    def initial_seed(self) -> Optional[int]:
        return self._seed

    def get_state(self) -> dict:
        return self.np.bit_generator.state

    def set_state(self, state: dict) -> None:
        self.np.bit_generator.state = state


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed ember's default generator (used by rand/randn, layer initialisation, dropout)."""
    return default_generator.manual_seed(seed)


def get_generator(generator: Optional[Generator] = None) -> np.random.Generator:
    return (generator or default_generator).np
