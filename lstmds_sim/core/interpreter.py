"""The numpy interpreter: a :class:`~.schedule.Schedule` executed block by block (``backend="numpy"``).

The reference backend every lab runs. At each output instant ``t_k = k h``
every block whose clock ticks (and every unclocked block) computes its output
in dataflow order and puts it on its output ports; a sampled block whose
clock does not tick keeps the value it put there at its last tick (its output
is held). Sinks record, the ticking blocks take their next state
(``y(k) = x(k-1)``: the input at t = 0 takes effect), and the continuous
states are integrated to ``t_{k+1}`` with the discrete outputs held
(:mod:`.integrate`). Stock bdsim blocks run through :mod:`.kernels` (batched
where listed there); SCOPE draws through :mod:`.scope`.

How it is fast enough to be the reference: the per-step work is a flat list
of prepared calls (a block's ``output`` with its input and output ports
looked up once), one list per pattern of ticking clocks; a held output is
simply left on its port.
"""

from __future__ import annotations

import math
import time
from types import SimpleNamespace

import numpy as np

from .backend import Backend
from .bdsim_adapter import crossing, port_slots
from .errors import ArgumentError, DiagramError, NonFiniteError, ShapeError, add_note
from .result import RunResult, stack_steps
from .schedule import Schedule

__all__ = ["Interpreter"]


class Interpreter(Backend):
    """Run a schedule with numpy, block by block (``backend="numpy"``; the reference).

    Takes every solver (``"rk4"``, ``"solve_ivp"``), reports ``progress(k)``
    after each step, and draws SCOPE blocks live when matplotlib's backend is
    interactive. A batch runs on one thread.
    """

    name = "numpy"

    def __init__(self, threads: int | None = None) -> None:
        if threads is not None:
            raise ArgumentError("threads=... splits a batch for backend='jax'; the numpy interpreter runs on one "
                             "thread (drop threads= or add backend='jax')")

    def execute(self, schedule: Schedule, *, progress=None, live=None) -> RunResult:
        return _Run(schedule, progress, live).result()


class _Call:
    """One block's prepared call: its output function, its state's key, its input and output ports."""

    __slots__ = ("block", "output", "stateful", "inputs", "outputs", "single")

    def __init__(self, block, kernel, stateful: bool) -> None:
        self.block = block
        self.output = kernel.output if kernel is not None else block.output
        self.stateful = stateful
        self.inputs, self.outputs = port_slots(block)
        self.single = self.outputs[0] if len(self.outputs) == 1 else None  # the common case: one output port


class _Run:
    """One run of a schedule: the prepared calls, the states, what is recorded."""

    def __init__(self, schedule: Schedule, progress, live) -> None:
        from bdsim.blocks.displays import Scope, ScopeXY
        from bdsim.graphics_block import GraphicsBlock
        from bdsim.blocks.sinks import Stop, Watch

        from .kernels import Kernel, kernel_for
        from .scope import GraphicsView, ScopeView, XYView

        self.schedule, self.progress = schedule, progress
        sampled, continuous, sinks = schedule.sampled, schedule.continuous, schedule.sinks
        # a block's batched kernel, or the block itself (a plain kernel only forwards to the block's methods)
        self.kernel = {b: k if type(k) is not Kernel else b for b in sampled + continuous if (k := kernel_for(b))}
        stateful = set(sampled) | set(continuous)
        self.calls = {b: _Call(b, self.kernel.get(b), b in stateful) for b in schedule.plan}
        self.path = [self.calls[b] for b in schedule.path]
        views = ((Scope, ScopeView), (ScopeXY, XYView), (GraphicsBlock, GraphicsView))  # ScopeXY1 is a ScopeXY
        self.scopes = {b: next(view for cls, view in views if isinstance(b, cls))(b, schedule.steps * schedule.h, live)
                       for b in sinks if isinstance(b, GraphicsBlock)}
        self.watched = {b: [] for b in sinks if isinstance(b, Watch)}
        self.stops = {b: SimpleNamespace(stop=None) for b in sinks if isinstance(b, Stop)}
        self.plain_sinks = [b for b in sinks if b not in self.scopes and b not in self.watched
                            and b not in self.stops]
        self.state = {b: b.getstate0() for b in sampled + continuous}
        self.probes = [(name, port_slots(b)[1][port]) for name, b, port in schedule.probe_slots]
        self.kept: dict[str, list] = {name: [] for name in schedule.probes}
        self._plans: dict = {}
        self.crossing_path = [self.calls[b] for b in schedule.crossing_path]
        self.crossings = [(b, *crossing(b), port_slots(b)[0]) for b in schedule.crossings]
        # EVENT blocks whose input changes only at output instants: compared from one instant to the next
        self.at_instants = [[b, *crossing(b), port_slots(b)[0], None] for b in sinks
                            if b.type == "event" and b not in schedule.crossings]
        self.events: list = []

    def plan_for(self, ticking: frozenset) -> tuple:
        """The calls made at a step where the clocks ``ticking`` tick, and the sampled blocks that update."""
        plan = self._plans.get(ticking)
        if plan is None:
            clock_of = self.schedule.clock_of
            calls = [self.calls[b] for b in self.schedule.plan if clock_of.get(b) is None or clock_of[b] in ticking]
            updates = [(b, self.kernel[b].next, port_slots(b)[0]) for b in self.schedule.sampled
                       if clock_of[b] in ticking]
            plan = self._plans[ticking] = (calls, updates)
        return plan

    def evaluate_path(self, path: list, t, x) -> None:
        """Evaluate ``path`` (blocks between output instants) at ``t`` with the continuous states ``x``."""
        for call in path:
            out = call.output(t, [s.value for s in call.inputs], x.get(call.block))
            for slot, value in zip(call.outputs, out):
                slot.value = value

    def derivative(self, t, x):
        """The continuous states' derivatives at ``t`` (the path re-evaluated, discrete outputs held)."""
        self.evaluate_path(self.path, t, x)
        kernel = self.kernel
        return {b: kernel[b].deriv(t, [s.value for s in port_slots(b)[0]], x[b]) for b in self.schedule.continuous}

    def metrics(self, t, x) -> list:
        """Every watched zero-crossing detector's value at ``t`` with the continuous states ``x``."""
        self.evaluate_path(self.crossing_path, t, x)
        return [metric(slots[0].value) for _, metric, _, slots in self.crossings]

    def advance(self, t0: float, t1: float, x: dict) -> tuple:
        """Integrate the continuous states from ``t0`` to ``t1``: ``(states, stop time or None)``.

        The interval is cut at the sources' breakpoints, and on each piece
        ``[a, b]`` every block reads time ``b`` as its left limit
        (:func:`.integrate.left_limit`: a source that jumps at ``b`` is read
        before the jump), so a jump is never inside an integration step. Zero crossings end a step early: located, their
        handlers called, the integration goes on from the crossing (or the run
        stops there, for STOP).
        """
        cuts = [t0] + [tb for tb in self.schedule.breakpoints if t0 < tb < t1] + [t1]
        for a, b in zip(cuts, cuts[1:]):
            x, stop = self.piece(a, b, x)
            if stop is not None:
                return x, stop
        return x, None

    def piece(self, a: float, b: float, x: dict) -> tuple:
        from .integrate import ivp, left_limit, rk4, rk4_step

        schedule, integrator = self.schedule, self.schedule.integrator
        left = left_limit(a, b)

        def f(t, xs):
            return self.derivative(min(t, left), xs)

        if integrator.solver != "rk4":
            t = a
            while True:
                events = [self._ivp_event(i, left) for i in range(len(self.crossings))]
                x, t_end, hit = ivp(f, t, b - t, x, integrator, events)
                self.check(t_end, x)
                if hit is None:
                    return x, None
                x, stop = self.crossed(hit, t_end, x)
                if stop is not None or t_end >= b:
                    return x, stop
                t = t_end
        n = max(1, math.ceil(integrator.steps_for(schedule.h) * (b - a) / schedule.h - 1e-9))
        if not self.crossings:
            return rk4(f, a, b - a, x, n, self.check), None
        t, dt = a, (b - a) / n

        def g(time, xs):
            return self.metrics(min(time, left), xs)

        before = g(t, x)
        while b - t > 1e-15 * max(1.0, abs(b)):
            step = min(dt, b - t)
            x_new = rk4_step(f, t, step, x)
            self.check(t + step, x_new)
            after = g(t + step, x_new)
            hits = [i for i, (g0, g1) in enumerate(zip(before, after)) if _crosses(g0, g1, self.crossings[i][2])]
            if not hits:
                t, x, before = t + step, x_new, after
                continue
            tau, i = min((self._locate(f, g, t, step, x, i, before[i]), i) for i in hits)
            x = rk4_step(f, t, tau, x) if tau < step else x_new
            t = t + tau
            x, stop = self.crossed(i, t, x)
            if stop is not None:
                return x, stop
            before = g(t, x)
        return x, None

    def _locate(self, f, g, t, step, x, i, g0) -> float:
        """The crossing of detector ``i`` within ``(0, step]`` of an RK4 step from ``(t, x)`` (to 1e-14 s)."""
        from scipy.optimize import brentq

        from .integrate import rk4_step

        def value(tau):
            return g(t + tau, rk4_step(f, t, tau, x))[i] if tau > 0 else g0

        end = value(step)
        if end == 0.0:
            return step
        return float(brentq(value, 0.0, step, xtol=1e-14, rtol=4 * np.finfo(float).eps))

    def _ivp_event(self, i: int, left: float):
        def event(t, xs):
            return self.metrics(min(t, left), xs)[i]

        event.direction = self.crossings[i][2]
        return event

    def crossed_at_instant(self, block, t: float) -> None:
        """An EVENT fed by discrete signals crossed between the last instant and this one: its handler, at ``t``."""
        from .bdsim_adapter import call_crossing_handler

        self.events.append((t, block.name))
        state_map = {b: np.array(v, dtype=float) for b, v in self.state.items()}
        call_crossing_handler(block, t, state_map, SimpleNamespace(stop=None, t=t))
        self.state.update(state_map)

    def crossed(self, i: int, t: float, x: dict) -> tuple:
        """Detector ``i`` crossed at ``t``: call its handler on the states, as bdsim does; ``(states, stop)``."""
        from .bdsim_adapter import call_crossing_handler

        block = self.crossings[i][0]
        self.events.append((t, block.name))
        state_map = {b: np.array(v, dtype=float) for b, v in self.state.items()}
        state_map.update({b: np.array(v, dtype=float) for b, v in x.items()})
        simstate = self.stops.get(block) or SimpleNamespace(stop=None, t=t)
        simstate.t = t
        call_crossing_handler(block, t, state_map, simstate)
        for b in self.schedule.sampled:
            self.state[b] = state_map[b]
        x = {b: state_map[b] for b in x}
        stopped = simstate.stop is not None or any(flag.stop is not None for flag in self.stops.values())
        return x, (t if stopped else None)

    def check(self, t, x) -> None:
        for b, v in x.items():
            if not np.all(np.isfinite(v)):
                raise NonFiniteError(
                    f"{b.type.upper()} block '{b.name}': its state became non-finite at t = {t:g} "
                    f"(integrating with {self.schedule.integrator.solver}); take shorter steps (run(..., substeps=N) "
                    "or max_step=...) or solver='solve_ivp', and check the signals feeding it"
                )

    def result(self) -> RunResult:
        start_time = time.perf_counter()
        schedule, state, progress = self.schedule, self.state, self.progress
        bd, h, steps = schedule.bd, schedule.h, schedule.steps
        continuous = schedule.continuous
        for b, flag in self.stops.items():
            b.start(flag)
        for b in self.plain_sinks:
            if hasattr(b, "clear"):
                b.clear()
        ratios = sorted(set(schedule.timing.ratio.values()))
        every_step = frozenset(schedule.timing.ratio)
        sink_inputs = [(b, port_slots(b)[0]) for b in self.plain_sinks]
        scopes = [(view, port_slots(b)[0]) for b, view in self.scopes.items()]
        watched = [(values, port_slots(b)[0]) for b, values in self.watched.items()]
        stops = [(b, port_slots(b)[0]) for b in self.stops]
        probes, kept = self.probes, self.kept
        block = None
        k = done = 0
        stop_time = None
        phase = "evaluating"
        try:
            for k in range(steps):
                t = k * h
                phase = "evaluating"
                ticking = every_step if ratios == [1] else frozenset(schedule.ticking(k))
                calls, updates = self.plan_for(ticking)
                for call in calls:
                    block = call.block
                    out = call.output(t, [s.value for s in call.inputs], state[block] if call.stateful else None)
                    single = call.single
                    if single is not None:
                        single.value = out[0]
                    else:
                        for slot, value in zip(call.outputs, out):
                            slot.value = value
                block = None
                for b, slots in sink_inputs:
                    block = b
                    b.step(t, [s.value for s in slots])
                for view, slots in scopes:
                    view.add(t, [s.value for s in slots])
                for values, slots in watched:
                    values.append([np.array(s.value, dtype=float) for s in slots])
                for name, slot in probes:
                    kept[name].append(np.array(slot.value, dtype=float))
                block = None
                done = k + 1
                for b, slots in stops:
                    b.step(t, [s.value for s in slots])
                for entry in self.at_instants:
                    b, metric, direction, slots, before = entry
                    block = b
                    entry[4] = now = metric(slots[0].value)
                    if before is not None and _crosses(before, now, direction):
                        self.crossed_at_instant(b, t)
                block = None
                if any(flag.stop is not None for flag in self.stops.values()):
                    break
                phase = "updating"
                new = {}
                for block, next_state, slots in updates:
                    new[block] = next_state(t, [s.value for s in slots], state[block])
                state.update(new)
                block = None
                if continuous:
                    phase = "integrating"
                    x, stopped_at = self.advance(t, t + h, {b: state[b] for b in continuous})
                    state.update(x)
                    if stopped_at is not None:
                        stop_time = stopped_at
                        break
                if progress is not None:
                    progress(k)
        except Exception as err:
            if isinstance(err, (ShapeError, NonFiniteError, IndexError)) or (
                    block is not None and f"'{block.name}'" in str(err)):
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
        result.recorders = {b.name: b.data for b in self.plain_sinks if getattr(b, "records", False)}
        for b, values in self.watched.items():
            for port in range(b.nin):
                key = b.name if b.nin == 1 else f"{b.name}[{port}]"
                result.recorders[key] = stack_steps([v[port] for v in values])
        result.figures = {b.name: view.finish() for b, view in self.scopes.items()}
        result.final_states = {b.name: state[b] for b in schedule.sampled + continuous}
        result.events = list(self.events)
        result.t_stop = stop_time
        result.timing = {"run_s": time.perf_counter() - start_time}
        return result


def _crosses(g0: float, g1: float, direction: float) -> bool:
    """Whether a detector's value went through zero from ``g0`` to ``g1`` in ``direction`` (as solve_ivp's events:
    +1 rising, -1 falling, 0 either); a value that starts at zero (just after a crossing) does not cross again."""
    rising, falling = g0 < 0.0 <= g1, g0 > 0.0 >= g1
    return rising if direction > 0 else falling if direction < 0 else (rising or falling)
