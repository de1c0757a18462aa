"""Files ember writes: every one through ``atomic_write``, so a reader (or a crash) never sees
half a file."""
from __future__ import annotations

import os
import tempfile
from typing import Any, Callable, Union

PathLike = Union[str, "os.PathLike[str]"]

__all__ = ["atomic_write"]


def atomic_write(path: PathLike, write: Callable[[Any], None], mode: str = "wb") -> None:
    """Create or replace ``path`` atomically: ``write(file)`` fills a temporary file in the
    same folder, which is fsync'ed and renamed over ``path``."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp",
                               dir=folder)
    try:
        with os.fdopen(fd, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    try:  # make the rename itself durable
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:  # pragma: no cover - some filesystems refuse directory fsync
        pass
