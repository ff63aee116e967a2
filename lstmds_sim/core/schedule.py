"""What a run executes, whatever the backend: :func:`analyse` turns a diagram into a :class:`Schedule`.

The schedule holds bdsim's dataflow order (subsystems flattened), every
sampled block's clock, the output grid ``t_k = k h`` with each clock's tick
ratio, the blocks with discrete and with continuous states, the continuous
path (the blocks re-evaluated at every integration stage), the probes and
sinks, and the integrator's settings. The numpy interpreter
(:mod:`.interpreter`) and the compiled backend (:mod:`.compiled`) execute the
same schedule. :func:`signal_names` names every signal a run can probe.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .bdsim_adapter import clock_of as _block_clock
from .bdsim_adapter import compile_diagram
from .errors import ArgumentError, DiagramError, UnknownNameError
from .validation import positive

__all__ = ["Schedule", "analyse", "signal_names"]


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


def _check_period(T, name: str) -> None:
    """A clock period must be a finite number of seconds > 0 (bdsim's ``bd.clock(Ts)`` takes anything)."""
    try:
        ok = bool(np.isfinite(T) and T > 0)
    except TypeError:
        ok = False
    if not ok:
        raise ArgumentError(
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
        raise ArgumentError(
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
        lengths = [b.n_samples * timing.ratio[clock_of[b]] for b in blocks  # sources of recorded data
                   if getattr(b, "n_samples", None) is not None and b in clock_of]
        if not lengths:
            raise ArgumentError("give the number of steps: the diagram has no SEQUENCE source to take it from")
        steps = min(lengths)
    steps = int(steps)
    if steps < 1:
        raise ArgumentError(f"steps must be a positive integer, got {steps}")

    available = signal_names(bd)
    probes = list(probes)
    if "*" in probes:
        probes = [n for n in available if any(w.name and n.endswith(w.name) for w in bd.wirelist)]
    unknown = [p for p in probes if p not in available]
    if unknown:
        raise UnknownNameError(f"unknown signal(s) {unknown}; named signals are: {sorted(available)}")

    plan = [b for group in bd.plan for b in group]
    return Schedule(
        bd=bd, blocks=blocks, plan=plan, clock_of=clock_of, timing=timing, steps=steps, probes=probes,
        probe_slots=[(name, *available[name]) for name in probes],
        sampled=[b for b in blocks if b.hasstate and b in clock_of], continuous=continuous,
        path=_continuous_path(bd, plan, continuous, set(clock_of)),
        sinks=[b for b in blocks if isinstance(b, SinkBlock)], integrator=integrator,
    )
