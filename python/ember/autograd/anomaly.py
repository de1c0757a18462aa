"""Anomaly detection: find the operation that first produced NaN or Inf.

``with ember.autograd.detect_anomaly(): ...`` (or ``set_detect_anomaly(True)``) makes every
differentiable op check its output in forward, and every backward check the gradients it
returns; the first non-finite value raises a ``RuntimeError`` naming the op and, for
forward, the line of user code that called it. It costs a scan of every array, so it is off
by default (PyTorch's ``torch.autograd.detect_anomaly`` has the same contract).
"""
from __future__ import annotations

import threading
import traceback
from typing import Any, Optional, Sequence

import numpy as np

class _State(threading.local):
    enabled = False  # the default of every thread


_state = _State()


def is_anomaly_enabled() -> bool:
    return _state.enabled


class set_detect_anomaly:
    """Turn anomaly detection on or off (also a context manager restoring the old mode)."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self._prev = is_anomaly_enabled()
        _state.enabled = bool(mode) and check_nan

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: Any) -> None:
        _state.enabled = self._prev


class detect_anomaly(set_detect_anomaly):
    """Context manager enabling anomaly detection for its body."""

    def __init__(self, check_nan: bool = True) -> None:
        super().__init__(True, check_nan)


def _bad(a: Any) -> Optional[str]:
    if isinstance(a, np.ndarray) and a.dtype.kind == "f" and a.size:
        if np.isnan(a).any():
            return "nan"
        if np.isinf(a).any():
            return "inf"
    return None


def _user_frame() -> str:
    """The innermost stack frame outside ember's own package (the user's call site)."""
    for frame in reversed(traceback.extract_stack()[:-1]):
        if "/ember/" not in frame.filename.replace("\\", "/"):
            return f"{frame.filename}:{frame.lineno} ({frame.line})"
    return "<unknown>"


def check_forward(name: str, raw_inputs: Sequence[Any], out: Any) -> None:
    """Raise if ``out`` has NaN/Inf that the (finite) inputs did not have."""
    kind = _bad(out)
    if kind is None or any(_bad(a) for a in raw_inputs):
        return
    raise RuntimeError(f"detect_anomaly: {name} produced {kind} values in its forward output "
                       f"from finite inputs, called at {_user_frame()}")


def check_backward(name: str, grads: Sequence[Any]) -> None:
    """Raise if a backward returned NaN/Inf gradients."""
    for i, g in enumerate(grads):
        kind = _bad(g)
        if kind is not None:
            raise RuntimeError(f"detect_anomaly: {name}Backward returned {kind} values in its "
                               f"gradient for input {i}")
