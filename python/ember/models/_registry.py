"""Model registry: ``ember.models.get_model(name, **kwargs)`` and ``list_models()``, used by
the ``ember`` command to build a model from its name (and from a checkpoint's config)."""
from __future__ import annotations

from typing import Any, Callable, Dict, List

_MODELS: Dict[str, Callable[..., Any]] = {}


def register(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator: make ``fn`` buildable by name."""
    _MODELS[fn.__name__] = fn
    return fn


def list_models() -> List[str]:
    """Names of every model in the zoo."""
    return sorted(_MODELS)


def get_model(name: str, **kwargs: Any) -> Any:
    """Build zoo model ``name`` (e.g. ``get_model('resnet18', num_classes=10)``)."""
    if name not in _MODELS:
        raise ValueError(f"unknown model {name!r}; available: {', '.join(list_models())}")
    return _MODELS[name](**kwargs)
