"""Files ember writes: every one through ``atomic_write``, so a reader (or a crash) never sees
half a file."""
from __future__ import annotations

import glob
import os
import tempfile
from typing import Any, Callable, Union

PathLike = Union[str, "os.PathLike[str]"]

__all__ = ["atomic_write"]


def _temp_prefix(path: str) -> str:
    """The name every temporary of ``path`` starts with; the writer's PID follows it."""
    return "." + os.path.basename(path) + "."


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):  # a process of another user: alive
        return True
    return True


def _remove_stale_temporaries(path: str) -> None:
    """Delete temporaries of ``path`` left by a write that was killed: those whose writer (the
    PID in the name) no longer runs. A temporary of a live writer (another process saving
    the same file right now) is left alone."""
    folder = os.path.dirname(os.path.abspath(path))
    prefix = _temp_prefix(path)
    for tmp in glob.glob(os.path.join(glob.escape(folder), glob.escape(prefix) + "*.tmp")):
        pid_text = os.path.basename(tmp)[len(prefix):].split(".", 1)[0]
        # A temporary of this process belongs to a write still under way in another thread
        # (a failed write removes its own).
        if pid_text.isdigit() and (int(pid_text) == os.getpid() or _pid_alive(int(pid_text))):
            continue
        try:
            os.unlink(tmp)
        except OSError:
            pass


def _current_umask() -> int:
    """The process's umask, read without changing it where Linux reports it (setting and
    restoring it would briefly affect files other threads create)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def atomic_write(path: PathLike, write: Callable[[Any], None], mode: str = "wb") -> None:
    """Create or replace ``path`` atomically: ``write(file)`` fills a temporary file in the
    same folder, which is fsync'ed and renamed over ``path``. Temporaries a killed earlier
    write left behind are removed first. The file gets the permissions of a newly created
    file (the umask's)."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    _remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(prefix=f"{_temp_prefix(path)}{os.getpid()}.", suffix=".tmp",
                               dir=folder)
    try:
        os.fchmod(fd, 0o666 & ~_current_umask())  # mkstemp makes 0600; give what open() would
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
