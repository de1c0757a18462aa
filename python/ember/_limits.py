"""The largest sizes ember accepts, and the checks that refuse larger ones before anything is
allocated or handed to a kernel.

``MAX_EXTENT`` is the C++ core's bound on every extent and size parameter
(``csrc/ember/checked.h``), read from the extension so that both sides agree.
"""
from __future__ import annotations

from typing import Sequence

from ember import _C

MAX_EXTENT: int = int(_C.max_extent)
# The most elements one tensor may hold: a size whose byte count stays far from int64's limit.
MAX_ELEMENTS: int = 1 << 56


def check_extents(op: str, name: str, values: Sequence[int], minimum: int = 0) -> None:
    """Each of ``values`` in [minimum, MAX_EXTENT], else ValueError naming op and argument."""
    for v in values:
        if v < minimum or v > MAX_EXTENT:
            raise ValueError(f"{op}: {name} must be in [{minimum}, 2^40], got "
                             f"{tuple(values)}")


def check_shape(op: str, shape: Sequence[int], what: str = "the output") -> None:
    """A shape ember can allocate: every dimension in [0, MAX_EXTENT] and at most
    MAX_ELEMENTS elements in all."""
    check_extents(op, f"{what}'s size", shape)
    n = 1
    for d in shape:
        n *= d
    if n > MAX_ELEMENTS:
        raise ValueError(f"{op}: {what} of shape {tuple(shape)} would hold {n} elements, "
                         f"more than the 2^56 a tensor may hold")
