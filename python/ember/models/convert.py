"""Load weights exported from PyTorch (e.g. torchvision) into ember models.

Export on the torch side (torch only needed there)::

    from safetensors.torch import save_file
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, "weights.safetensors")

then ``ember.models.load_pretrained(ember_model, "weights.safetensors")``. Parameter names are
the same for the models torchvision has (ResNets, VGG, AlexNet, GoogLeNet), so the mapping is
mostly identity: a DataParallel ``module.`` prefix is stripped, ``num_batches_tracked``
becomes a 0-d int64, and float16/bfloat16-free float arrays are cast to the model's dtype.
"""
from __future__ import annotations

import os
from typing import Any, Dict, Mapping, Union

import numpy as np

from ember.nn.module import IncompatibleKeys, Module
from ember.tensor import Tensor

__all__ = ["convert_state_dict", "load_pretrained"]


def convert_state_dict(state: Union[str, "os.PathLike[str]", Mapping[str, Any]]
                       ) -> Dict[str, np.ndarray]:
    """A torch-style state dict (a path to a safetensors file, or a mapping of names to
    arrays, ember Tensors or anything with ``.numpy()``) as NumPy arrays under ember's
    names."""
    if isinstance(state, (str, os.PathLike)):
        from ember.utils.serialization import load

        state = load(state)
        if not isinstance(state, Mapping):
            raise ValueError("convert_state_dict: the file does not hold a flat state dict")
    out: Dict[str, np.ndarray] = {}
    for key, value in state.items():
        name = key[len("module."):] if key.startswith("module.") else key
        if isinstance(value, Tensor):
            arr = value.numpy()
        elif hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch.Tensor
            arr = value.detach().cpu().numpy()
        else:
            arr = np.asarray(value)
        if name.endswith("num_batches_tracked"):
            arr = np.asarray(arr, dtype=np.int64).reshape(())
        out[name] = arr
    return out


def load_pretrained(model: Module, source: Union[str, "os.PathLike[str]", Mapping[str, Any]],
                    strict: bool = True) -> IncompatibleKeys:
    """Load converted weights into ``model`` (see :func:`convert_state_dict`); with
    ``strict`` every key must match, and shapes must always match."""
    return model.load_state_dict(convert_state_dict(source), strict=strict)
