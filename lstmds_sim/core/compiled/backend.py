"""The compiled backend as the front door sees it: :class:`Compiled` (``run(bd, backend="jax")``).

A run of a diagram it has already compiled, with the same shapes and
settings, reuses the program (no compiling: about 0.8 s saved for an LSTM
layer). What is "the same" is read from the run's analysis and from every
block's parameters (numbers, arrays, strings, the functions a block calls):
change a block's parameter or data and the next run compiles again.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import OrderedDict

import numpy as np

from ..backend import Backend
from ..errors import ArgumentError
from ..result import RunResult
from ..schedule import Schedule
from .program import CompiledRun, check_threads
from .step import Step

__all__ = ["Compiled", "clear_cache"]

#: programs kept for re-runs: (id of the diagram, fingerprint) -> CompiledRun, the least recently used dropped
_PROGRAMS: OrderedDict = OrderedDict()
KEEP = 8


def clear_cache() -> None:
    """Forget every compiled program kept for re-runs (their diagrams and device memory are freed)."""
    _PROGRAMS.clear()


class Compiled(Backend):
    """Run a schedule as one jitted ``lax.scan`` (:class:`.program.CompiledRun`), compiled for this run.

    ``threads``: a batch runs in this many parts at once, each on its own
    thread (default: one per core on the CPU, parts of at least
    :data:`.program.PART_ROWS` rows; 1 on a GPU). ``unroll``: scan iterations
    per loop iteration (default: chosen by the run's length and width).
    To run one diagram many times without compiling again, use
    :func:`.program.compile_run` and :meth:`CompiledRun.run`.
    """

    name = "jax"

    def __init__(self, threads: int | None = None, unroll: int | None = None) -> None:
        self.threads = check_threads(threads)
        self.unroll = unroll

    def check(self, *, solver: str, progress) -> None:
        if solver == "solve_ivp":
            raise ArgumentError("solver='solve_ivp' runs with backend='numpy' only; backend='jax' integrates with "
                             "solver='rk4' (substeps=N or max_step=...)")
        if progress is not None:
            raise ArgumentError("progress=... is not reported by backend='jax' (the run is one compiled loop); "
                             "drop it or use backend='numpy'")

    def execute(self, schedule: Schedule, *, progress=None, live=None) -> RunResult:
        body = Step(schedule)  # refuses what cannot be compiled, before anything is hashed
        key = (id(schedule.bd), _fingerprint(schedule, self.threads, self.unroll))
        program = _PROGRAMS.pop(key, None)
        reused = program is not None
        if program is None:
            program = CompiledRun(schedule, unroll=self.unroll, threads=self.threads, body=body)
        _PROGRAMS[key] = program
        while len(_PROGRAMS) > KEEP:
            _PROGRAMS.popitem(last=False)
        result = program.run()
        if reused:
            result.timing["compile_s"] = 0.0
        return result

    def __repr__(self) -> str:
        return f"Compiled(threads={self.threads!r})"


def _fingerprint(schedule: Schedule, threads, unroll) -> str:
    """What makes a compiled program the one for this run: the analysis, the wiring and every block's parameters."""
    digest = hashlib.blake2b(digest_size=20)

    def feed(value, depth: int = 0) -> None:
        if isinstance(value, np.ndarray) or (isinstance(value, (list, tuple)) and value
                                              and all(isinstance(v, (int, float)) for v in value)):
            a = np.ascontiguousarray(value)
            digest.update(f"{a.dtype}{a.shape}".encode())
            digest.update(a.view(np.uint8).reshape(-1) if a.dtype != object else repr(a.tolist()).encode())
        elif isinstance(value, (bool, int, float, complex, str, bytes, type(None), np.generic)):
            digest.update(repr(value).encode())
        elif depth < 4 and isinstance(value, (list, tuple)):
            digest.update(b"(")
            for v in value:
                feed(v, depth + 1)
            digest.update(b")")
        elif depth < 4 and isinstance(value, dict):
            for k in sorted(value, key=repr):
                digest.update(repr(k).encode())
                feed(value[k], depth + 1)
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            digest.update(repr(value).encode())
        else:  # a function or another object: this very object (a new one compiles again)
            digest.update(f"{type(value).__qualname__}@{id(value)}".encode())

    h = schedule.h
    feed((schedule.steps, h, tuple(schedule.probes), tuple(schedule.breakpoints), threads, unroll))
    feed(tuple(dataclasses.astuple(schedule.integrator)))
    feed(tuple((b.name, schedule.timing.ratio.get(schedule.clock_of.get(b), 0)) for b in schedule.plan))
    feed(tuple((w.start.block.name, w.start.port, w.end.block.name, w.end.port) for w in schedule.bd.wirelist))
    for b in schedule.blocks:
        feed((type(b).__qualname__, b.name))
        for name, value in sorted(vars(b).items()):
            if not name.startswith("_") and name not in ("bd", "inputs", "outputs"):
                digest.update(name.encode())
                feed(value)
    return digest.hexdigest()
