"""The MPI world of ``ember.distributed``: joining it, this process's rank and size, and the
abort-on-error hook (one rank's exception ends every rank)."""
from __future__ import annotations

import sys
import traceback
from dataclasses import dataclass
from typing import Any, Optional

__all__ = ["World", "init", "is_initialized", "get_rank", "get_world_size", "is_main_process",
           "barrier", "get_comm", "in_place"]


@dataclass(frozen=True)
class World:
    """rank (0..size-1), size (processes), local_rank / local_size (on this machine)."""

    rank: int
    size: int
    local_rank: int
    local_size: int


_world: Optional[World] = None
_comm: Any = None
_SINGLE = World(0, 1, 0, 1)


def _mpi() -> Any:
    try:
        from mpi4py import MPI
    except ImportError as exc:
        raise ImportError("ember.distributed needs mpi4py: pip install 'ember[distributed]' "
                          "(or pip install mpi4py mpich for an MPI too)") from exc
    return MPI


def init() -> World:
    """Join the MPI world (idempotent); returns this process's World. Installs the abort-on-
    error hook when the world has more than one rank."""
    global _world, _comm
    if _world is not None:
        return _world
    MPI = _mpi()
    comm = MPI.COMM_WORLD
    local = comm.Split_type(MPI.COMM_TYPE_SHARED, key=comm.Get_rank())
    _comm = comm
    _world = World(comm.Get_rank(), comm.Get_size(), local.Get_rank(), local.Get_size())
    local.Free()
    if _world.size > 1:
        _install_abort_hook(comm)
    return _world


def _install_abort_hook(comm: Any) -> None:
    previous = sys.excepthook

    def hook(kind: Any, value: Any, tb: Any) -> None:
        rank = comm.Get_rank()
        sys.stderr.write(f"ember.distributed: rank {rank} failed; aborting all ranks\n")
        sys.stderr.write("".join(traceback.format_exception(kind, value, tb)))
        sys.stderr.flush()
        try:
            comm.Abort(1)
        finally:
            previous(kind, value, tb)

    sys.excepthook = hook


def is_initialized() -> bool:
    """True after init()."""
    return _world is not None


def _get_world() -> World:
    return _world if _world is not None else _SINGLE


def get_rank() -> int:
    """This process's rank (0 without init())."""
    return _get_world().rank


def get_world_size() -> int:
    """Number of ranks (1 without init())."""
    return _get_world().size


def is_main_process() -> bool:
    """True on rank 0: the one that prints, logs and writes files."""
    return get_rank() == 0


def barrier() -> None:
    """Wait until every rank gets here."""
    if _comm is not None and get_world_size() > 1:
        _comm.Barrier()


def get_comm() -> Any:
    """The mpi4py communicator of the world (None before init())."""
    return _comm


def in_place() -> Any:
    """MPI.IN_PLACE, for an in-place collective on the communicator."""
    return _mpi().IN_PLACE
