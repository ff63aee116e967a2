"""bdsim as the diagram engine, with exact discrete-time semantics and continuous states between samples.

:func:`blockdiagram` gives a bdsim ``BlockDiagram`` whose factory methods include
this project's blocks (``bd.HADAMARD``, ``bd.UNITDELAY``, ...), created quietly.
:func:`run` executes a diagram over bdsim's compiled schedule, at the output
instants ``t_k = k h``: every block's output is evaluated in dataflow order,
sinks record, every block whose clock ticks takes its input as its next state,
and the continuous states are integrated to ``t_{k+1}`` with the discrete
outputs held (zero-order hold; :mod:`.integrate`). So the input at step 0 takes
effect, and ``y(k) = x(k-1)``, ``y(0) = x0`` (bdsim's own clocked runner first
ticks at t = Ts and drops the input at t = 0). Stock bdsim blocks run through
:mod:`.kernels` (batched where listed there); SCOPE draws through :mod:`.scope`.

:func:`analyse` works out what a run executes (a :class:`Schedule`: the plan,
the clocks, the continuous path, probes and sinks); the numpy interpreter here
and the compiled JAX backend (:mod:`.compiled`, ``run(..., backend="jax")``)
both execute it.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import inspect
import io
import pkgutil
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np

from .bdsim_adapter import block_classes, blockdiagram, clock_of as _block_clock, compile_diagram, simulator, stock_blocks  # noqa: F401
from .errors import DiagramError, NonFiniteError, ShapeError, add_note
from .validation import positive


@dataclass
class RunResult:
    """What :func:`run` returns: step times, probed signals and recorder contents.

    Signals are (T, ...) or, batched, (B, T, n) (batch first). ``timing`` holds
    ``run_s`` (seconds spent running) and, for ``backend="jax"``, ``compile_s``.
    """

    t: np.ndarray
    signals: dict[str, np.ndarray] = field(default_factory=dict)
    recorders: dict[str, np.ndarray] = field(default_factory=dict)
    figures: dict = field(default_factory=dict)
    final_states: dict[str, np.ndarray] = field(default_factory=dict)
    timing: dict[str, float] = field(default_factory=dict)

    def __getitem__(self, name: str) -> np.ndarray:
        if name in self.signals:
            return self.signals[name]
        if name in self.recorders:
            return self.recorders[name]
        raise KeyError(f"no probe or recorder named {name!r}; have {sorted(self.signals) + sorted(self.recorders)}")


def signal_names(bd) -> dict[str, tuple]:
    """Every probe-able signal of a compiled diagram: name -> (block, port).

    A signal is named by its source block's name (``"lstm1/Wi"``, or
    ``"name[1]"`` for output port 1) and by its wire name, prefixed with the
    subsystem path (or layer prefix) of the blocks it connects, e.g.
    ``"lstm1/z_i"``. A wire that crosses from one prefix to another is named as
    its destination sees it (layer 1's output entering layer 2 as ``u`` is
    ``"lstm2/u"``), and also with its source's prefix when no wire inside that
    prefix has the name already.
    """
    compile_diagram(bd)
    names: dict[str, tuple] = {}
    for b in bd.blocklist:
        for port in range(b.nout):
            names[b.name if port == 0 else f"{b.name}[{port}]"] = (b, port)

    def prefixed(block, name):
        prefix = block.name.rpartition("/")[0]
        return f"{prefix}/{name}" if prefix else name

    wires = [w for w in bd.wirelist if w.name]
    claimed = set()
    for w in wires:
        name = prefixed(w.end.block, w.name)
        names[name] = (w.start.block, w.start.port)
        claimed.add(name)
    for w in wires:
        name = prefixed(w.start.block, w.name)
        if name not in claimed:
            names[name] = (w.start.block, w.start.port)
    return names


def stack_steps(values: list[np.ndarray]) -> np.ndarray:
    """Stack one signal's per-step values into (T, ...), or (B, T, n) when batched.

    A value that is not batched yet (a delay's unbatched initial state at step 0,
    before a batched input reaches it) stands for every batch row: it is
    broadcast to the batched shape of the other steps.
    """
    if not values:
        return np.empty((0,))
    shape = max((np.shape(v) for v in values), key=len)
    unbatched = shape[1:] if len(shape) == 2 else shape  # only a missing batch axis is filled in
    odd = [np.shape(v) for v in values if np.shape(v) not in (shape, unbatched)]
    if odd:
        raise ShapeError(f"a recorded signal changes shape between steps: {odd[0]} and {shape}")
    out = np.stack([np.broadcast_to(v, shape) for v in values], axis=0)
    return np.moveaxis(out, 0, 1) if out.ndim == 3 else out


def _check_period(T, name: str) -> None:
    """A clock period must be a finite number of seconds > 0 (bdsim's ``bd.clock(Ts)`` takes anything)."""
    try:
        ok = bool(np.isfinite(T) and T > 0)
    except TypeError:
        ok = False
    if not ok:
        raise ValueError(
            f"diagram '{name}': a clock has the sample time Ts = {T!r}; "
            "give bd.clock(Ts) a finite Ts > 0 (the sampling period in seconds, e.g. bd.clock(10.0))"
        )


@dataclass
class _Timing:
    """The output grid ``t_k = k h`` and, per clock, every how many grid steps it ticks."""

    h: float
    ratio: dict


def _timing(bd, clocks: set, continuous: list, dt) -> _Timing:
    for clock in clocks:
        _check_period(clock.T, bd.name)
        if clock.offset:
            raise DiagramError(
                f"diagram '{bd.name}': clock '{clock.name}' has offset {clock.offset:g}; "
                "lstmds runs clocks that tick at t = 0 (give bd.clock(Ts) without an offset)"
            )
    if dt is not None:
        h = positive(dt, "dt (the output time step in seconds)")
    elif clocks:
        h = min(c.T for c in clocks)
    elif continuous:
        names = ", ".join(f"'{b.name}'" for b in continuous)
        raise ValueError(
            f"diagram '{bd.name}' is continuous-only (blocks {names}) and has no clock: "
            "give the output time step, run(bd, steps, dt=0.01)"
        )
    else:
        h = 1.0
    ratio = {}
    for clock in clocks:
        r = clock.T / h
        if abs(r - round(r)) > 1e-9 * max(1.0, r) or round(r) < 1:
            periods = ", ".join(f"{c.T:g}" for c in sorted(clocks, key=lambda c: c.T))
            base = f"dt = {h:g}" if dt is not None else f"the shortest period {h:g}"
            raise DiagramError(
                f"diagram '{bd.name}': clock '{clock.name}' has period {clock.T:g}, not an integer multiple of "
                f"{base} (periods: {periods}); make every clock period an integer multiple of one base period"
            )
        ratio[clock] = round(r)
    return _Timing(h, ratio)


def _continuous_path(bd, plan: list, continuous: list, clocked: set) -> list:
    """Blocks to evaluate at every integration stage, in plan order.

    Those on a path from a continuous state or a time-varying source (an
    unclocked source other than CONSTANT) to a continuous block's input. Sampled blocks and clocked sources
    cut the path: their outputs are held between their ticks.
    """
    from bdsim.components import SinkBlock, SourceBlock

    after, before = {}, {}
    for w in bd.wirelist:
        after.setdefault(w.start.block, set()).add(w.end.block)
        before.setdefault(w.end.block, set()).add(w.start.block)

    def reach(seeds, edges):
        seen, todo = set(seeds), list(seeds)
        while todo:
            for nxt in edges.get(todo.pop(), ()):
                if nxt not in seen and nxt not in clocked and not isinstance(nxt, SinkBlock):
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    sources = [b for b in plan if isinstance(b, SourceBlock) and b not in clocked and b.type != "constant"]
    downstream = reach(continuous + sources, after)
    upstream = reach(continuous, before)
    return [b for b in plan if b in downstream and b in upstream]


@dataclass
class Schedule:
    """What a run executes, whatever the backend: the analysis of a compiled diagram.

    :func:`analyse` builds it; the numpy interpreter (:func:`run`) and the
    compiled JAX backend (:mod:`lstmds_sim.core.compiled`) execute the same one.

    ``plan`` is bdsim's dataflow order (flattened); ``clock_of`` maps every
    sampled block and clocked source to its clock; ``timing`` holds the output
    step ``h`` and every clock's tick ratio; ``sampled`` are the blocks with a
    discrete state, ``continuous`` those with a continuous state, and ``path``
    the blocks re-evaluated at every integration stage (in plan order).
    """

    bd: Any
    blocks: list
    plan: list
    clock_of: dict
    timing: _Timing
    steps: int
    probes: list
    probe_slots: list
    sampled: list
    continuous: list
    path: list
    sinks: list
    integrator: Any

    @property
    def h(self) -> float:
        return self.timing.h

    def ticking(self, k: int) -> set:
        """The clocks that tick at step ``k``."""
        return {c for c, r in self.timing.ratio.items() if k % r == 0}


def analyse(bd, steps: int | None = None, *, probes: Iterable[str] = (), dt: float | None = None,
            solver: str = "rk4", substeps: int = 10, max_step: float | None = None, method: str = "RK45",
            rtol: float = 1e-10, atol: float = 1e-12) -> Schedule:
    """Compile ``bd`` and work out what a run executes (see :class:`Schedule`); refuse what cannot run.

    The arguments are those of :func:`run`. Raises before anything runs: an
    unsupported stock block, a bad clock, an unknown probe, a bad step count.
    """
    from bdsim.components import SinkBlock

    from .integrate import Solver
    from .kernels import refusal

    compile_diagram(bd)
    blocks = bd.blocklist
    for b in blocks:
        reason = refusal(b)
        if reason:
            raise DiagramError(f"diagram '{bd.name}': {reason}")
    integrator = Solver(solver, substeps, max_step, method, rtol, atol)
    continuous = [b for b in blocks if b.blockclass == "continuous"]
    clock_of = {b: c for b in blocks if (c := _block_clock(b)) is not None}
    timing = _timing(bd, set(clock_of.values()), continuous, dt)
    if steps is None:
        lengths = [b.n_samples * timing.ratio[clock_of[b]] for b in blocks if b.type == "sequence"]
        if not lengths:
            raise ValueError("give the number of steps: the diagram has no SEQUENCE source to take it from")
        steps = min(lengths)
    steps = int(steps)
    if steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps}")

    available = signal_names(bd)
    probes = list(probes)
    if "*" in probes:
        probes = [n for n in available if any(w.name and n.endswith(w.name) for w in bd.wirelist)]
    unknown = [p for p in probes if p not in available]
    if unknown:
        raise KeyError(f"unknown signal(s) {unknown}; named signals are: {sorted(available)}")

    plan = [b for group in bd.plan for b in group]
    return Schedule(
        bd=bd, blocks=blocks, plan=plan, clock_of=clock_of, timing=timing, steps=steps, probes=probes,
        probe_slots=[(name, *available[name]) for name in probes],
        sampled=[b for b in blocks if b.hasstate and b in clock_of], continuous=continuous,
        path=_continuous_path(bd, plan, continuous, set(clock_of)),
        sinks=[b for b in blocks if isinstance(b, SinkBlock)], integrator=integrator,
    )


BACKENDS = ("numpy", "jax")


def run(bd, steps: int | None = None, *, probes: Iterable[str] = (), progress=None, dt: float | None = None,
        solver: str = "rk4", substeps: int = 10, max_step: float | None = None, method: str = "RK45",
        rtol: float = 1e-10, atol: float = 1e-12, live: bool | None = None, backend: str = "numpy",
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
    backend : ``"numpy"`` (this interpreter, the reference) or ``"jax"``: the
        same schedule compiled into one jitted ``lax.scan``
        (:mod:`lstmds_sim.core.compiled`; ``result.timing`` then holds
        ``compile_s`` and ``run_s``).
    threads : ``backend="jax"`` only: a batch is run in this many parts at once,
        each on its own thread (default: one per core on the CPU, parts of at
        least 256 rows; 1 on a GPU).

    Returns
    -------
    RunResult
        ``t``, probed ``signals``, ``recorders`` (RECORDER and WATCH blocks),
        ``figures`` (one matplotlib figure per SCOPE block) and ``final_states``
        (every state at ``t = steps h``, ready to continue).
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "jax":
        from .compiled import run_compiled

        return run_compiled(bd, steps, probes=probes, progress=progress, dt=dt, solver=solver, substeps=substeps,
                            max_step=max_step, live=live, threads=threads)
    if threads is not None:
        raise ValueError("threads=... splits a batch for backend='jax'; the numpy interpreter runs on one thread "
                         "(drop threads= or add backend='jax')")
    schedule = analyse(bd, steps, probes=probes, dt=dt, solver=solver, substeps=substeps, max_step=max_step,
                       method=method, rtol=rtol, atol=atol)
    return _interpret(schedule, progress, live)


def _interpret(schedule: Schedule, progress, live) -> RunResult:
    """Execute ``schedule`` block by block with numpy (the reference backend)."""
    from bdsim.blocks.displays import Scope
    from bdsim.blocks.sinks import Stop, Watch

    from .integrate import ivp, rk4
    from .kernels import kernel_for
    from .scope import ScopeView

    start_time = time.perf_counter()
    bd, h, steps = schedule.bd, schedule.h, schedule.steps
    plan, clock_of, integrator = schedule.plan, schedule.clock_of, schedule.integrator
    sampled, continuous, path, sinks = schedule.sampled, schedule.continuous, schedule.path, schedule.sinks
    probe_slots = schedule.probe_slots
    solver = integrator.solver
    kernel = {b: kernel_for(b) for b in sampled + continuous}
    scopes = {b: ScopeView(b, steps * h, live) for b in sinks if isinstance(b, Scope)}
    watched = {b: [] for b in sinks if isinstance(b, Watch)}
    stops = {b: SimpleNamespace(stop=None) for b in sinks if isinstance(b, Stop)}
    for b, flag in stops.items():
        b.start(flag)
    plain_sinks = [b for b in sinks if b not in scopes and b not in watched and b not in stops]
    for b in plain_sinks:
        if hasattr(b, "clear"):
            b.clear()
    state = {b: b.getstate0() for b in sampled + continuous}
    held: dict = {}
    kept: dict[str, list] = {name: [] for name in schedule.probes}

    def evaluate(b, t, x):
        out = kernel[b].output(t, b.inport_values, x) if b in kernel else b.output(t, b.inport_values, x)
        b._publish_output_values(out)
        return out

    def derivative(t, x):
        for b in path:
            evaluate(b, t, x.get(b))
        return {b: kernel[b].deriv(t, b.inport_values, x[b]) for b in continuous}

    def check(t, x):
        for b, v in x.items():
            if not np.all(np.isfinite(v)):
                raise NonFiniteError(
                    f"{b.type.upper()} block '{b.name}': its state became non-finite at t = {t:g} "
                    f"(integrating with {solver}); take shorter steps (run(..., substeps=N) or max_step=...) "
                    "or solver='solve_ivp', and check the signals feeding it"
                )

    block = None
    k = done = 0
    phase = "evaluating"
    try:
        for k in range(steps):
            t = k * h
            phase = "evaluating"
            ticking = schedule.ticking(k)
            for block in plan:
                clock = clock_of.get(block)
                if clock is not None and clock not in ticking:
                    block._publish_output_values(held[block])
                    continue
                out = evaluate(block, t, state.get(block))
                if clock is not None:
                    held[block] = out
            for block in plain_sinks:
                block.step(t, block.inport_values)
            for block, view in scopes.items():
                view.add(t, block.inport_values)
            for block, values in watched.items():
                values.append([np.array(u, dtype=float) for u in block.inport_values])
            for name, b, port in probe_slots:
                kept[name].append(np.array(b._output_values[port], dtype=float))
            done = k + 1
            for block, flag in stops.items():
                block.step(t, block.inport_values)
            if any(flag.stop is not None for flag in stops.values()):
                break
            phase = "updating"
            updates = {}
            for block in sampled:
                if clock_of[block] in ticking:
                    updates[block] = kernel[block].next(t, block.inport_values, state[block])
            state.update(updates)
            if continuous:
                phase = "integrating"
                block = None
                x = {b: state[b] for b in continuous}
                if integrator.solver == "rk4":
                    x = rk4(derivative, t, h, x, integrator.steps_for(h), check)
                else:
                    x = ivp(derivative, t, h, x, integrator)
                    check(t + h, x)
                state.update(x)
            if progress is not None:
                progress(k)
    except Exception as err:
        if isinstance(err, (ShapeError, NonFiniteError, IndexError)) or (block is not None and f"'{block.name}'" in str(err)):
            # our blocks' errors already name the block and say how to fix it: keep their type
            add_note(err, f"(at step {k}, t = {k * h:g}, in diagram '{bd.name}')")
            raise
        if phase == "integrating":
            raise DiagramError(
                f"diagram '{bd.name}': integrating the continuous states from t = {k * h:g} to {(k + 1) * h:g} "
                f"failed: {type(err).__name__}: {err}"
            ) from err
        where = f"{block.type.upper()} block '{block.name}'" if block is not None else "the diagram"
        raise DiagramError(f"{where} failed at step {k} (t = {k * h:g}): {type(err).__name__}: {err}") from err

    result = RunResult(t=np.arange(done) * h)
    result.signals = {name: stack_steps(v) for name, v in kept.items()}
    result.recorders = {b.name: b.data for b in plain_sinks if b.type == "recorder"}
    for b, values in watched.items():
        for port in range(b.nin):
            key = b.name if b.nin == 1 else f"{b.name}[{port}]"
            result.recorders[key] = stack_steps([v[port] for v in values])
    result.figures = {b.name: view.finish() for b, view in scopes.items()}
    result.final_states = {b.name: state[b] for b in sampled + continuous}
    result.timing = {"run_s": time.perf_counter() - start_time}
    return result
