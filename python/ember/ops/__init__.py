"""Differentiable operations, one module per family. Each op is a ``Function`` subclass
plus a functional wrapper that validates the user's arguments."""
from ember.ops import (activation, conv, dropout, elementwise, interpolate, linalg, loss,  # noqa
                       norm, pool, reduce, shape)
