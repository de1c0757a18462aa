"""Differentiable operations, one module per family. Each op is a ``Function`` subclass
plus a functional wrapper that validates the user's arguments."""
from ember.ops import activation, elementwise, linalg, loss, reduce, shape  # noqa: F401
