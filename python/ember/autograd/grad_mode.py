"""Grad mode: whether operations record the graph (``no_grad`` / ``enable_grad``)."""
from __future__ import annotations

import functools
import threading
from typing import Any, Callable, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

_state = threading.local()


def is_grad_enabled() -> bool:
    """True when operations on tensors that require grad record a graph (per thread)."""
    return getattr(_state, "enabled", True)


def set_grad_enabled(mode: bool) -> None:
    """Turn graph recording on or off for the current thread."""
    _state.enabled = bool(mode)


class _GradMode:
    """Context manager and decorator that sets grad mode to ``self._mode`` while active."""

    _mode = True

    def __enter__(self) -> None:
        self._prev = is_grad_enabled()
        set_grad_enabled(self._mode)

    def __exit__(self, *exc: Any) -> None:
        set_grad_enabled(self._prev)

    def __call__(self, fn: F) -> F:
        mode = self._mode

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            prev = is_grad_enabled()
            set_grad_enabled(mode)
            try:
                return fn(*args, **kwargs)
            finally:
                set_grad_enabled(prev)

        return wrapper  # type: ignore[return-value]


class no_grad(_GradMode):
    """Disable graph recording: ``with ember.no_grad(): ...`` or ``@ember.no_grad()``."""

    _mode = False


class enable_grad(_GradMode):
    """Re-enable graph recording inside a ``no_grad`` block."""

    _mode = True
