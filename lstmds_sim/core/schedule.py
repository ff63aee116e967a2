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

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from .bdsim_adapter import clock_of as _block_clock
from .bdsim_adapter import compile_diagram, crossing, declared_events, feedthrough
from .errors import ArgumentError, ArgumentTypeError, DiagramError, UnknownNameError
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


def _as_fraction(T: float) -> Fraction | None:
    """A period as a fraction with a denominator of at most a million (1/3 s, 0.5 s, 0.1 s), or None."""
    f = Fraction(T).limit_denominator(1_000_000)
    return f if abs(float(f) - T) <= 1e-12 * max(1.0, T) else None


def _base_period(clocks: set) -> float | None:
    """The greatest common divisor of the clocks' periods (Simulink's fixed-step base rate), or None."""
    fractions = [_as_fraction(c.T) for c in clocks]
    if any(f is None for f in fractions):
        return None
    g = fractions[0]
    for f in fractions[1:]:
        g = Fraction(math.gcd(g.numerator * f.denominator, f.numerator * g.denominator), g.denominator * f.denominator)
    return float(g)


def _timing(bd, clocks: set, continuous: list, dt) -> _Timing:
    for clock in clocks:
        _check_period(clock.T, bd.name)
        if clock.offset:
            raise DiagramError(
                f"diagram '{bd.name}': clock '{clock.name}' has offset {clock.offset:g}; "
                "lstmds runs clocks that tick at t = 0 (give bd.clock(Ts) without an offset)"
            )
    periods = ", ".join(f"{c.T:g}" for c in sorted(clocks, key=lambda c: c.T))
    if dt is not None:
        h = positive(dt, "dt (the output time step in seconds)")
    elif clocks:
        h = _base_period(clocks)
        if h is None or min(c.T for c in clocks) / h > 10_000:
            raise DiagramError(
                f"diagram '{bd.name}': the clock periods {periods} have no common base period of a useful size "
                "(their ratios are not simple fractions); give periods with simple ratios (0.5 and 1/3: base 1/6), "
                "or the output step run(..., dt=...) that divides every period"
            )
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
            raise DiagramError(
                f"diagram '{bd.name}': clock '{clock.name}' has period {clock.T:g}, not an integer multiple of "
                f"dt = {h:g} (periods: {periods}); give a dt that divides every clock period, or leave dt out "
                "(the base step is then their greatest common divisor)"
            )
        ratio[clock] = round(r)
    return _Timing(h, ratio)


def _plan(bd, blocks: list) -> list:
    """The dataflow order of the blocks that compute outputs (sinks and displays apart), as bdsim's plan.

    Sources and blocks whose output does not depend on their input at the same
    instant (a delay, an integrator) come first; every other block after the
    blocks that feed it. Unlike bdsim's own plan, a sample-and-hold (ZOH) waits
    for its input: it samples it at its tick (:func:`.bdsim_adapter.feedthrough`).
    """
    import networkx as nx

    computing = [b for b in blocks if b.blockclass not in ("sink", "graphics")]
    graph = nx.DiGraph()
    graph.add_nodes_from(computing)
    graph.add_edges_from((w.start.block, w.end.block) for w in bd.wirelist
                         if w.end.block in graph and feedthrough(w.end.block) and w.start.block in graph)
    order = {b: i for i, b in enumerate(blocks)}
    try:
        return list(nx.lexicographical_topological_sort(graph, key=lambda b: order[b]))
    except nx.NetworkXUnfeasible:
        cycle = [edge[0] for edge in nx.find_cycle(graph)]
        path = " -> ".join(f"{b.type.upper()} '{b.name}'" for b in cycle + cycle[:1])
        raise DiagramError(
            f"diagram '{bd.name}' has an algebraic loop: {path}; every loop needs a block with state "
            "(UNITDELAY, an INTEGRATOR, or a system without feedthrough) to break it (a ZOH samples its input "
            "at its tick, so it does not break a loop)"
        ) from None


def _path_to(bd, plan: list, targets: list, continuous: list, clocked: set) -> list:
    """Blocks to evaluate between output instants to know the inputs of ``targets``, in plan order.

    Those on a path from a continuous state or a time-varying source (an
    unclocked source other than CONSTANT) to an input of a target. Sampled
    blocks and clocked sources cut the path: their outputs are held between their ticks.
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

    # time-varying sources: unclocked blocks without inputs other than CONSTANT (INTERPOLATE(time=True) too)
    sources = [b for b in plan if (isinstance(b, SourceBlock) or b.nin == 0) and b not in clocked
               and b.type != "constant"]
    downstream = reach(continuous + sources, after)
    upstream = reach(targets, before)
    return [b for b in plan if b in downstream and b in upstream]


@dataclass
class Schedule:
    """What a run executes, whatever the backend: the analysis of a compiled diagram.

    :func:`analyse` builds it; the numpy interpreter (:func:`run`) and the
    compiled JAX backend (:mod:`lstmds_sim.core.compiled`) execute the same one.

    ``plan`` is the dataflow order (flattened; :func:`_plan`); ``clock_of`` maps
    every sampled block and clocked source to its clock; ``timing`` holds the
    output step ``h`` (the greatest common divisor of the clock periods, or
    ``dt``) and every clock's tick ratio; ``sampled`` are the blocks with a
    discrete state, ``continuous`` those with a continuous state, and ``path``
    the blocks re-evaluated at every integration stage (in plan order).
    ``breakpoints`` are the instants where a source on ``path`` jumps (the
    integrator stops there and restarts); ``crossings`` the zero-crossing
    detectors (EVENT, STOP) watched while integrating, ``crossing_path`` the
    blocks evaluated to read their inputs. A detector whose input changes only
    at output instants (no continuous state feeds it) is checked there: an
    EVENT between two instants' values, a STOP at each instant.
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
    breakpoints: tuple = ()
    crossings: list = field(default_factory=list)
    crossing_path: list = field(default_factory=list)

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

    if not (hasattr(bd, "blocklist") and hasattr(bd, "wirelist")):
        raise ArgumentTypeError(f"run(bd, ...): bd must be a bdsim BlockDiagram (from lstmds_sim.blockdiagram()), "
                                f"got {type(bd).__name__}")
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
    steps = _step_count(steps)

    available = signal_names(bd)
    probes = _probe_list(probes)
    if "*" in probes:
        probes = [n for n in available if any(w.name and n.endswith(w.name) for w in bd.wirelist)]
    unknown = [p for p in probes if p not in available]
    if unknown:
        raise UnknownNameError(f"unknown signal(s) {unknown}; named signals are: {sorted(available)}")

    plan = _plan(bd, blocks)
    clocked = set(clock_of)
    path = _path_to(bd, plan, continuous, continuous, clocked)
    sinks = [b for b in blocks if isinstance(b, SinkBlock)]
    crossings = [b for b in sinks if crossing(b) is not None]
    crossing_path = _path_to(bd, plan, crossings, continuous, clocked)
    watched = [b for b in crossings if continuous and _fed_between_instants(bd, b, crossing_path, continuous)]
    tf = steps * timing.h
    breakpoints = sorted({t for b in path + [x for x in crossing_path if x not in path]
                          for t in declared_events(b, tf) if 0.0 < t < tf})
    return Schedule(
        bd=bd, blocks=blocks, plan=plan, clock_of=clock_of, timing=timing, steps=steps, probes=probes,
        probe_slots=[(name, *available[name]) for name in probes],
        sampled=[b for b in blocks if b.hasstate and b in clock_of], continuous=continuous,
        path=path, sinks=sinks, integrator=integrator, breakpoints=tuple(breakpoints),
        crossings=watched, crossing_path=crossing_path,
    )


def _fed_between_instants(bd, sink, crossing_path: list, continuous: list) -> bool:
    """Whether a sink's input comes from a continuous state or through the blocks evaluated between instants."""
    moving = set(crossing_path) | set(continuous)
    return any(w.end.block is sink and w.start.block in moving for w in bd.wirelist)


def _step_count(steps) -> int:
    """``steps`` as a positive int; a non-integer count (2.7), a bool, NaN or inf is refused in one line."""
    if isinstance(steps, (bool, np.bool_)) or not isinstance(steps, (int, np.integer, float, np.floating)):
        raise ArgumentTypeError(f"steps must be a positive integer (the number of output instants), got {steps!r}")
    if isinstance(steps, (float, np.floating)):
        if not math.isfinite(steps) or steps != int(steps):
            raise ArgumentError(f"steps must be a positive integer (the number of output instants), got {steps!r}; "
                                "for a run of T seconds give round(T / h) steps")
    if int(steps) < 1:
        raise ArgumentError(f"steps must be a positive integer (the number of output instants), got {steps!r}")
    return int(steps)


def _probe_list(probes) -> list:
    """``probes`` as a list of names: None is none; ``"*"`` every named wire; another string is refused."""
    if probes is None:
        return []
    if isinstance(probes, str):
        if probes == "*":
            return ["*"]
        raise ArgumentTypeError(f"probes must be a list of signal names, e.g. probes=[{probes!r}] "
                                f"(the string {probes!r} would be read letter by letter)")
    probes = list(probes)
    odd = [p for p in probes if not isinstance(p, str)]
    if odd:
        raise ArgumentTypeError(f"probes must be signal names (strings), got {odd[0]!r}")
    return probes
