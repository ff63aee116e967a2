"""The compiled backend as the front door sees it: :class:`Compiled` (``run(bd, backend="jax")``)."""

from __future__ import annotations

from ..backend import Backend
from ..errors import ArgumentError
from ..result import RunResult
from ..schedule import Schedule
from .program import CompiledRun, check_threads

__all__ = ["Compiled"]


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
        return CompiledRun(schedule, unroll=self.unroll, threads=self.threads).run()

    def __repr__(self) -> str:
        return f"Compiled(threads={self.threads!r})"
