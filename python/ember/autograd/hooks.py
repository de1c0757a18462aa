"""The observers of every op: how ``ember.profiler`` and the inference tracer watch ops
without patching ``Function``, the backward engine or the optimizers.

Two slots, each holding at most one observer:

* a **profiler** times calls. ``Function.apply`` runs an op's forward as
  ``profiler.timed(name, "forward", cls.forward, ctx, *inputs)``, the engine a node's backward
  as ``timed(name, "backward", node.backward, node, grad)``, ``Optimizer.step`` its update as
  ``timed(name, "region", fn)``; ``timed`` returns what the call returned.
  (``ember.profiler.profile`` is the implementation.)
* a **tracer** is called as ``tracer(cls, args, kwargs, result)`` after every op, with the
  op's ``Function`` subclass, its arguments and the ``Tensor`` it returned
  (``ember.inference`` records a model's forward this way).

Install them with the context managers :func:`profiling` and :func:`tracing`, which refuse
to nest. ``HOOKS`` is read on every op, so it stays a plain object with two attributes.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator, Optional


class _Hooks:
    __slots__ = ("profiler", "tracer")

    def __init__(self) -> None:
        self.profiler: Optional[Any] = None
        self.tracer: Optional[Callable[[type, tuple, dict, Any], None]] = None


HOOKS = _Hooks()


@contextmanager
def profiling(profiler: Any) -> Iterator[Any]:
    """Install ``profiler`` for the duration of the block."""
    if HOOKS.profiler is not None:
        raise RuntimeError("profile: another ember.profiler.profile is already active")
    HOOKS.profiler = profiler
    try:
        yield profiler
    finally:
        HOOKS.profiler = None


@contextmanager
def tracing(tracer: Callable[[type, tuple, dict, Any], None]) -> Iterator[None]:
    """Call ``tracer`` after every op run in the block."""
    if HOOKS.tracer is not None:
        raise RuntimeError("tracing: another trace is already running")
    HOOKS.tracer = tracer
    try:
        yield
    finally:
        HOOKS.tracer = None


def nbytes(items: Any) -> int:
    """Bytes of the arrays among ``items`` (also inside lists/tuples of arrays): what a
    profiler counts as an op's traffic."""
    import numpy as np

    total = 0
    for a in items:
        if isinstance(a, np.ndarray):
            total += a.nbytes
        elif isinstance(a, (list, tuple)):
            total += sum(x.nbytes for x in a if isinstance(x, np.ndarray))
    return total
