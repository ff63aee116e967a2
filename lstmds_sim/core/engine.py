"""The front door: :func:`run` a diagram on a backend, with exact discrete-time semantics.

``run(bd, ...)`` analyses the diagram once (:func:`.schedule.analyse`: the
dataflow order, the clocks, the continuous path, the probes) and hands the
:class:`~.schedule.Schedule` to a backend (:mod:`.backend`): the numpy
interpreter (:mod:`.interpreter`, the reference) or the compiled JAX program
(:mod:`.compiled`). Neither backend imports this module.

The names a user of the engine reaches for are here too, re-exported from
the modules that own them: :func:`blockdiagram` (:mod:`.bdsim_adapter`, the
only module that touches bdsim's internals), :func:`signal_names` and
:func:`analyse` (:mod:`.schedule`), :class:`RunResult` (:mod:`.result`) and
:class:`DiagramError` (:mod:`.errors`).
"""

from __future__ import annotations

from collections.abc import Iterable

from .backend import BACKENDS as _BACKENDS
from .backend import Backend, backend_named
from .bdsim_adapter import block_classes as block_classes
from .bdsim_adapter import blockdiagram as blockdiagram
from .bdsim_adapter import compile_diagram as compile_diagram
from .bdsim_adapter import simulator as simulator
from .bdsim_adapter import stock_blocks as stock_blocks
from .errors import DiagramError as DiagramError
from .result import RunResult as RunResult
from .result import stack_steps as stack_steps
from .schedule import Schedule as Schedule
from .schedule import analyse as analyse
from .schedule import signal_names as signal_names

__all__ = [
    "BACKENDS", "DiagramError", "RunResult", "Schedule", "analyse", "block_classes", "blockdiagram",
    "compile_diagram", "run", "signal_names", "simulator", "stack_steps", "stock_blocks",
]

#: the names ``run(..., backend=NAME)`` takes
BACKENDS = tuple(_BACKENDS)


def run(bd, steps: int | None = None, *, probes: Iterable[str] = (), progress=None, dt: float | None = None,
        solver: str = "rk4", substeps: int = 10, max_step: float | None = None, method: str = "RK45",
        rtol: float = 1e-10, atol: float = 1e-12, live: bool | None = None, backend: str | Backend = "numpy",
        threads: int | None = None) -> RunResult:
    """Run a diagram, discrete, continuous or both, with exact discrete-time semantics.

    The run visits the output instants ``t_k = k h`` (``h``: ``dt``, or the
    shortest clock period). At each one, every block's output is evaluated in
    dataflow order (a sampled block only when its clock ticks; between ticks
    its output is held), sinks record, then every ticking block takes its input
    as its next state: ``y(k) = x(k-1)``, and the input at t = 0 takes effect.
    Then the continuous states (``INTEGRATOR``, ``LTI_SS``, any block with
    ``deriv``) are integrated to ``t_{k+1}`` with every discrete output held
    (zero-order hold).

    Parameters
    ----------
    bd : bdsim BlockDiagram (from :func:`blockdiagram`)
    steps : number of output instants; default: the length of the shortest SEQUENCE source.
    probes : signal names to keep every step (see :func:`signal_names`);
        ``"*"`` keeps all named wires.
    progress : optional callable ``progress(k)`` called after each step (numpy backend).
    dt : output time step; required for a diagram without clocks that has
        continuous states; every clock period must be an integer multiple of it.
    solver : ``"rk4"`` (fixed step, batched; ``substeps`` per output interval,
        more if ``max_step`` asks for shorter steps) or ``"solve_ivp"`` (scipy,
        adaptive ``method`` with ``rtol``/``atol``: the accurate reference; numpy backend only).
    live : SCOPE blocks update while running (default: when matplotlib's
        backend is interactive); otherwise they draw at the end.
    backend : ``"numpy"`` (the interpreter, :class:`~.interpreter.Interpreter`,
        the reference) or ``"jax"``: the same schedule compiled into one jitted
        ``lax.scan`` (:class:`lstmds_sim.core.compiled.Compiled`; ``result.timing``
        then holds ``compile_s`` and ``run_s``); or a :class:`~.backend.Backend`
        object carrying its own options (``Compiled(threads=1)``).
    threads : ``backend="jax"`` only, shorthand for ``Compiled(threads=...)``:
        a batch is run in this many parts at once, each on its own thread
        (default: one per core on the CPU, parts of at least 256 rows; 1 on a GPU).

    Returns
    -------
    RunResult
        ``t``, probed ``signals``, ``recorders`` (RECORDER and WATCH blocks),
        ``figures`` (one matplotlib figure per SCOPE block) and ``final_states``
        (every state at ``t = steps h``, ready to continue).
    """
    engine = backend_named(backend, threads=threads)
    engine.check(solver=solver, progress=progress)
    schedule = analyse(bd, steps, probes=probes, dt=dt, solver=solver, substeps=substeps, max_step=max_step,
                       method=method, rtol=rtol, atol=atol)
    return engine.execute(schedule, progress=progress, live=live)
