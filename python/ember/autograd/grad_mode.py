"""Grad mode: whether operations record the graph (``no_grad`` / ``enable_grad`` /
``set_grad_enabled``), per thread, as in PyTorch."""
from __future__ import annotations

import functools
import threading
from typing import Any, Callable, Optional, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

class _State(threading.local):
    enabled = True  # the default of every thread (a class attribute: no getattr fallback)


_state = _State()


def is_grad_enabled() -> bool:
    """True when operations on tensors that require grad record a graph (per thread)."""
    return _state.enabled


def _set(mode: bool) -> None:
    _state.enabled = bool(mode)


class _GradMode:
    """Context manager and decorator that sets grad mode to ``self._mode`` while active.

    Usable as ``with no_grad():``, ``@no_grad()`` and bare ``@no_grad`` (like PyTorch 2).
    """

    _mode = True

    def __new__(cls, orig_func: Optional[Callable] = None):
        self = super().__new__(cls)
        if orig_func is not None:  # bare decorator: @no_grad
            if not callable(orig_func):
                raise TypeError(f"{cls.__name__}() takes no arguments (got "
                                f"{type(orig_func).__name__}); use it as a context manager or "
                                "a decorator")
            return self(orig_func)
        return self

    def __init__(self, orig_func: Optional[Callable] = None) -> None:
        pass

    def __enter__(self) -> None:
        self._prev = is_grad_enabled()
        _set(self._mode)

    def __exit__(self, *exc: Any) -> None:
        _set(self._prev)

    def __call__(self, fn: F) -> F:
        mode = self._mode

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            prev = is_grad_enabled()
            _set(mode)
            try:
                return fn(*args, **kwargs)
            finally:
                _set(prev)

        return wrapper  # type: ignore[return-value]


class no_grad(_GradMode):
    """Disable graph recording: ``with ember.no_grad(): ...`` or ``@ember.no_grad``."""

    _mode = False


class enable_grad(_GradMode):
    """Re-enable graph recording inside a ``no_grad`` block."""

    _mode = True


class set_grad_enabled:
    """Turn graph recording on or off for the current thread, at once.

    As in PyTorch it also works as a context manager that restores the previous mode on exit:
    ``with ember.set_grad_enabled(is_train): ...``.
    """

    def __init__(self, mode: bool) -> None:
        self._prev = is_grad_enabled()
        _set(mode)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: Any) -> None:
        _set(self._prev)
