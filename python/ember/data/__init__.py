"""Data: synthetic data sets for examples and tests (datasets and loaders come later)."""
from ember.data.synthetic import linearly_separable, two_spirals

__all__ = ["two_spirals", "linearly_separable"]
