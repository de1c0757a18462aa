"""``ember.profiler``: where the time of a training step goes.

    with ember.profiler.profile() as prof:
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
    print(prof.key_averages().table(sort_by="total", row_limit=15))

While a ``profile`` is active every differentiable op (each ``autograd.Function``) records its
forward and, separately, its backward: calls, wall time, and the bytes of the arrays it read
and wrote (inputs + output in forward; incoming gradient + input gradients in backward).
Optimizer steps and ``record_function("name")`` blocks are recorded as regions.

Each row's time is split into **kernel** time, the time spent inside ember's C++ kernels
(every function of ``ember._C`` is timed while the profiler is on), and the rest: NumPy
calls and the Python around them. The summary also reports the wall time of the whole block
and the part spent outside any op (module calls, data loading, the autograd engine itself),
which is pure Python overhead. ``kernel_averages()`` lists the C++ kernels alone.

It is installed through ``ember.autograd.hooks`` (the profiler slot): a few microseconds
per op while on; one attribute read per op when off.
Like ``torch.profiler``, times are inclusive (an op called inside another op's forward is
counted in both) and the profiler is not thread-aware (record from one thread).
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

import numpy as np

from ember import _C
from ember._files import atomic_write
from ember.autograd import hooks

_clock = time.perf_counter

__all__ = ["profile", "record_function", "OpStat", "EventList"]


@dataclass
class OpStat:
    """Aggregate of one (name, phase): phase is 'forward', 'backward', 'region' or 'kernel'."""

    name: str
    phase: str
    calls: int = 0
    total_s: float = 0.0
    kernel_s: float = 0.0
    bytes: int = 0

    @property
    def other_s(self) -> float:
        """Time not in ember C++ kernels: NumPy calls and Python."""
        return max(self.total_s - self.kernel_s, 0.0)

    @property
    def avg_us(self) -> float:
        return 1e6 * self.total_s / self.calls if self.calls else 0.0


class EventList(list):
    """A list of ``OpStat`` rows with a ``table()`` printer (torch's ``key_averages()``)."""

    def __init__(self, rows: Iterable[OpStat], wall_s: float = 0.0, kernel_s: float = 0.0,
                 op_s: float = 0.0, op_kernel_s: float = 0.0) -> None:
        super().__init__(rows)
        self.wall_s, self.kernel_s, self.op_s = wall_s, kernel_s, op_s
        self.op_kernel_s = op_kernel_s

    _SORT: Dict[str, Callable[[OpStat], Any]] = {
        "total": lambda r: r.total_s, "kernel": lambda r: r.kernel_s,
        "other": lambda r: r.other_s, "calls": lambda r: r.calls,
        "avg": lambda r: r.avg_us, "bytes": lambda r: r.bytes, "name": lambda r: r.name,
    }

    def table(self, sort_by: str = "total", row_limit: int = 20) -> str:
        """The rows sorted by ``sort_by`` (total, kernel, other, calls, avg, bytes, name;
        descending except name), at most ``row_limit`` of them (all if <= 0), then a summary."""
        if sort_by not in self._SORT:
            raise ValueError(f"table: sort_by must be one of {sorted(self._SORT)}, got "
                             f"{sort_by!r}")
        rows = sorted(self, key=self._SORT[sort_by], reverse=sort_by != "name")
        if row_limit > 0:
            rows = rows[:row_limit]
        base = self.wall_s or sum(r.total_s for r in self) or 1.0
        head = (f"{'name':<28} {'phase':<8} {'calls':>6} {'total ms':>9} {'%wall':>6} "
                f"{'avg us':>8} {'kernel ms':>9} {'other ms':>9} {'MB':>8}")
        lines = [head, "-" * len(head)]
        for r in rows:
            lines.append(f"{r.name[:28]:<28} {r.phase:<8} {r.calls:>6} {1e3 * r.total_s:>9.2f} "
                         f"{100 * r.total_s / base:>5.1f}% {r.avg_us:>8.1f} "
                         f"{1e3 * r.kernel_s:>9.2f} {1e3 * r.other_s:>9.2f} "
                         f"{r.bytes / 1e6:>8.1f}")
        lines.append("-" * len(head))
        if self.wall_s:
            lines.append(self.summary())
        return "\n".join(lines)

    def summary(self) -> str:
        """One line: the wall time split into C++ kernels and NumPy + Python inside ops, and
        the time outside any op (with its own C++ kernels, e.g. the engine's gradient sums)."""
        base = self.wall_s or 1.0
        outside = max(self.wall_s - self.op_s, 0.0)
        out_k = max(self.kernel_s - self.op_kernel_s, 0.0)
        other = max(self.op_s - self.op_kernel_s, 0.0)

        def part(v: float) -> str:
            return f"{1e3 * v:.2f} ms ({100 * v / base:.1f}%)"

        return (f"wall {1e3 * self.wall_s:.2f} ms = in ops {part(self.op_s)}: C++ kernels "
                f"{part(self.op_kernel_s)}, NumPy + Python {part(other)}; outside ops "
                f"(modules, engine, loop) {part(outside)}, of which C++ kernels {part(out_k)}")

    def __str__(self) -> str:
        return self.table()


class profile:
    """Context manager that records per-op forward/backward statistics (see module doc).

    ``enabled=False`` makes it a no-op, so a script can keep the ``with`` in place.
    Profiles do not nest: entering one while another is active raises RuntimeError."""

    def __init__(self, enabled: bool = True, record_shapes: bool = False) -> None:
        self.enabled = enabled
        self.record_shapes = record_shapes
        self._stats: Dict[Tuple[str, str], OpStat] = {}
        self._kernels: Dict[str, OpStat] = {}
        self._kernel_clock = 0.0  # running total of C++ kernel time
        self._op_s = 0.0          # time inside outermost ops and regions
        self._op_kernel_s = 0.0   # C++ kernel time inside them
        self._depth = 0
        self._wall_s = 0.0
        self._start = 0.0
        self._patched: List[Tuple[str, Any]] = []
        self._installed: Any = None

    # -- context manager -------------------------------------------------------------------
    def __enter__(self) -> "profile":
        if not self.enabled:
            return self
        self._installed = hooks.profiling(self)
        self._installed.__enter__()  # raises if another profile is active
        self._patch_kernels()
        self._start = _clock()
        return self

    def __exit__(self, *exc: Any) -> None:
        if not self.enabled or self._installed is None:
            return
        self._wall_s += _clock() - self._start
        self._installed.__exit__(None, None, None)
        self._installed = None
        for name, fn in self._patched:
            setattr(_C, name, fn)
        self._patched = []

    # -- results ---------------------------------------------------------------------------
    def key_averages(self) -> EventList:
        """One row per (op, phase) and per region."""
        return EventList((OpStat(**asdict(s)) for s in self._stats.values()), *self._totals())

    def kernel_averages(self) -> EventList:
        """One row per C++ kernel of ``ember._C`` that ran (time, calls, bytes of its array
        arguments); all of a kernel's time is kernel time."""
        rows = (OpStat(**{**asdict(s), "kernel_s": s.total_s})
                for s in self._kernels.values() if s.calls)
        return EventList(rows, *self._totals())

    def _totals(self) -> Tuple[float, float, float, float]:
        return (self._wall_s, sum(k.total_s for k in self._kernels.values()), self._op_s,
                self._op_kernel_s)

    @property
    def wall_s(self) -> float:
        return self._wall_s

    def to_dict(self) -> Dict[str, Any]:
        """Plain data (for JSON): wall time, ops, kernels."""
        return {"wall_s": self._wall_s, "op_s": self._op_s, "op_kernel_s": self._op_kernel_s,
                "kernel_s": sum(k.total_s for k in self._kernels.values()),
                "ops": [asdict(s) for s in self._stats.values()],
                "kernels": [asdict(s) for s in self._kernels.values()]}

    def export_json(self, path: str) -> None:
        """Write ``to_dict()`` as JSON (atomically)."""
        text = json.dumps(self.to_dict(), indent=1)
        atomic_write(path, lambda f: f.write(text), mode="w")

    # -- recording (the profiler interface of ember.autograd.hooks) ----------------------
    def timed(self, name: str, phase: str, fn: Callable[..., Any], /, *args: Any,
              **kwargs: Any) -> Any:
        """Run ``fn(*args, **kwargs)`` and record it as ``(name, phase)``: time, C++ kernel
        time inside it, and the bytes of its array arguments and results."""
        token = self._begin()
        out = fn(*args, **kwargs)
        self._end(self.key(name, args), phase, token,
                  hooks.nbytes(args) + hooks.nbytes((out,)))
        return out

    def key(self, name: str, arrays: Iterable[Any]) -> str:
        """The row name of an op: its name, with ``record_shapes`` followed by the shapes of
        its array arguments (forward: inputs; backward: the incoming gradient)."""
        if not self.record_shapes:
            return name
        shapes = [tuple(a.shape) for a in arrays if isinstance(a, np.ndarray)]
        return f"{name}{shapes}"

    def _begin(self) -> Tuple[float, float]:
        self._depth += 1
        return _clock(), self._kernel_clock

    def _end(self, name: str, phase: str, token: Tuple[float, float], nbytes: int) -> None:
        t0, k0 = token
        dt = _clock() - t0
        self._depth -= 1
        if self._depth == 0:
            self._op_s += dt
            self._op_kernel_s += self._kernel_clock - k0
        stat = self._stats.get((name, phase))
        if stat is None:
            stat = self._stats[(name, phase)] = OpStat(name, phase)
        stat.calls += 1
        stat.total_s += dt
        stat.kernel_s += self._kernel_clock - k0
        stat.bytes += nbytes

    def _patch_kernels(self) -> None:
        for name in dir(_C):
            fn = getattr(_C, name)
            if name.startswith("_") or not callable(fn) or isinstance(fn, type):
                continue
            self._patched.append((name, fn))
            setattr(_C, name, self._timed_kernel(name, fn))

    def _timed_kernel(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        stat = self._kernels.setdefault(name, OpStat(name, "kernel"))

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = _clock()
            try:
                return fn(*args, **kwargs)
            finally:
                dt = _clock() - t0
                self._kernel_clock += dt
                stat.calls += 1
                stat.total_s += dt
                stat.bytes += hooks.nbytes(args)

        timed.__name__ = name
        timed.__doc__ = fn.__doc__
        return timed


class record_function:
    """Record a named region (``with record_function("data"): ...``) in the active profile;
    does nothing when no profile is active."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._prof: Optional[profile] = None

    def __enter__(self) -> "record_function":
        self._prof = hooks.HOOKS.profiler
        if self._prof is not None:
            self._token = self._prof._begin()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._prof is not None:
            self._prof._end(self.name, "region", self._token, 0)
            self._prof = None
