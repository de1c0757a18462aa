"""CUDA devices, with ``torch.cuda``'s names.

A CUDA device is usable when ember was built with its CUDA extension (``ember._C_cuda``,
``EMBER_CUDA=ON``), CuPy imports (the ``ember[cuda]`` extra) and the driver reports at least
one device. Every question here answers without raising on a machine that lacks any of them
(``is_available()`` is then False and ``device_count()`` 0); asking such a machine to put a
tensor on a GPU raises a ``RuntimeError`` saying which of the three is missing.

Random numbers: tensors drawn with ``device='cuda'`` come from ember's one generator (the
one ``ember.manual_seed`` seeds) and are then copied, so a GPU run sees the numbers a CPU run
with the same seed sees; ``manual_seed`` and ``manual_seed_all`` here seed that generator.
"""
from __future__ import annotations

import importlib
from typing import Any, Dict, Optional, Tuple

from ember import _random

_state: Dict[str, Any] = {}


def _probe() -> Tuple[Optional[Any], Optional[Any], str]:
    """(cupy, ember._C_cuda, why not) once per process; why is '' when both are usable."""
    if "probe" not in _state:
        cp = ext = None
        why = ""
        try:
            ext = importlib.import_module("ember._C_cuda")
        except ImportError as e:
            why = (f"ember was built without CUDA (rebuild with EMBER_CUDA=ON and a CUDA "
                   f"compiler: {e})")
        if not why:
            try:
                cp = importlib.import_module("cupy")
            except ImportError as e:
                why = f"CuPy is not installed (pip install 'ember[cuda]'): {e}"
        if not why:
            try:
                if int(cp.cuda.runtime.getDeviceCount()) < 1:
                    why = "the CUDA driver reports no device"
            except Exception as e:  # a missing or too old driver: CuPy raises its own error
                why = f"no usable CUDA driver ({type(e).__name__}: {e})"
        _state["probe"] = (cp, ext, why)
    return _state["probe"]


def is_built() -> bool:
    """Whether this ember has its CUDA extension (``ember._C_cuda``)."""
    try:
        importlib.import_module("ember._C_cuda")
    except ImportError:
        return False
    return True


def is_available() -> bool:
    """Whether tensors can be put on a CUDA device here."""
    return _probe()[2] == ""


def unavailable_reason() -> str:
    """Why ``is_available()`` is False ('' when it is True)."""
    return _probe()[2]


def _require(op: str) -> Any:
    """CuPy, or a RuntimeError naming ``op`` and what is missing."""
    cp, _, why = _probe()
    if why:
        raise RuntimeError(f"{op}: CUDA is not available: {why}")
    return cp


def _extension(op: str) -> Any:
    """ember._C_cuda, or the RuntimeError of ``_require``."""
    _require(op)
    return _probe()[1]


def device_count() -> int:
    """How many CUDA devices can be used (0 where CUDA is not available)."""
    if not is_available():
        return 0
    return int(_probe()[0].cuda.runtime.getDeviceCount())


def current_device() -> int:
    return int(_require("current_device").cuda.runtime.getDevice())


def set_device(index: int) -> None:
    cp = _require("set_device")
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < device_count():
        raise ValueError(f"set_device: index must be an int in [0, {device_count()}), "
                         f"got {index!r}")
    cp.cuda.runtime.setDevice(index)


def synchronize(device: Optional[int] = None) -> None:
    """Wait for everything queued on the device (the current one by default)."""
    cp = _require("synchronize")
    with cp.cuda.Device(current_device() if device is None else device):
        cp.cuda.Device().synchronize()


def get_device_properties(device: Optional[int] = None) -> Dict[str, Any]:
    """name, compute capability (major, minor), total memory in bytes, multiprocessors."""
    cp = _require("get_device_properties")
    p = cp.cuda.runtime.getDeviceProperties(current_device() if device is None else device)
    name = p["name"]
    return {"name": name.decode() if isinstance(name, bytes) else str(name),
            "capability": (int(p["major"]), int(p["minor"])),
            "total_memory": int(p["totalGlobalMem"]),
            "multi_processor_count": int(p["multiProcessorCount"])}


def get_device_name(device: Optional[int] = None) -> str:
    return get_device_properties(device)["name"]


def get_device_capability(device: Optional[int] = None) -> Tuple[int, int]:
    return get_device_properties(device)["capability"]


def memory_allocated() -> int:
    """Bytes held by live GPU arrays (CuPy's memory pool, which ember allocates through)."""
    return int(_require("memory_allocated").get_default_memory_pool().used_bytes())


def memory_reserved() -> int:
    """Bytes the memory pool holds from the driver, in use or cached."""
    return int(_require("memory_reserved").get_default_memory_pool().total_bytes())


def empty_cache() -> None:
    """Return the pool's unused cached blocks to the driver."""
    _require("empty_cache").get_default_memory_pool().free_all_blocks()


def manual_seed(seed: int) -> None:
    """Seed the generator GPU tensors are drawn from (ember's one generator)."""
    _random.manual_seed(seed)


def manual_seed_all(seed: int) -> None:
    """As ``manual_seed``: every device draws from ember's one generator."""
    _random.manual_seed(seed)


def info() -> Dict[str, Any]:
    """What ``ember.config()`` and ``ember info`` report about CUDA."""
    out: Dict[str, Any] = {"built": is_built(), "available": is_available()}
    if out["available"]:
        out["devices"] = [get_device_properties(i) for i in range(device_count())]
    else:
        out["reason"] = unavailable_reason()
    return out
