"""ember: a deep learning engine with its own C++ kernels."""
from ember import _C  # noqa: F401
