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

import time
from types import SimpleNamespace

import numpy as np

from .backend import Backend
from .bdsim_adapter import port_slots
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
        from bdsim.blocks.displays import Scope
        from bdsim.blocks.sinks import Stop, Watch

        from .kernels import kernel_for
        from .scope import ScopeView

        self.schedule, self.progress = schedule, progress
        sampled, continuous, sinks = schedule.sampled, schedule.continuous, schedule.sinks
        self.kernel = {b: kernel_for(b) for b in sampled + continuous}
        stateful = set(sampled) | set(continuous)
        self.calls = {b: _Call(b, self.kernel.get(b), b in stateful) for b in schedule.plan}
        self.path = [self.calls[b] for b in schedule.path]
        self.scopes = {b: ScopeView(b, schedule.steps * schedule.h, live) for b in sinks if isinstance(b, Scope)}
        self.watched = {b: [] for b in sinks if isinstance(b, Watch)}
        self.stops = {b: SimpleNamespace(stop=None) for b in sinks if isinstance(b, Stop)}
        self.plain_sinks = [b for b in sinks if b not in self.scopes and b not in self.watched
                            and b not in self.stops]
        self.state = {b: b.getstate0() for b in sampled + continuous}
        self.probes = [(name, port_slots(b)[1][port]) for name, b, port in schedule.probe_slots]
        self.kept: dict[str, list] = {name: [] for name in schedule.probes}
        self._plans: dict = {}

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

    def derivative(self, t, x):
        """The continuous states' derivatives at ``t`` (the path re-evaluated, discrete outputs held)."""
        for call in self.path:
            out = call.output(t, [s.value for s in call.inputs], x.get(call.block))
            for slot, value in zip(call.outputs, out):
                slot.value = value
        kernel = self.kernel
        return {b: kernel[b].deriv(t, [s.value for s in port_slots(b)[0]], x[b]) for b in self.schedule.continuous}

    def check(self, t, x) -> None:
        for b, v in x.items():
            if not np.all(np.isfinite(v)):
                raise NonFiniteError(
                    f"{b.type.upper()} block '{b.name}': its state became non-finite at t = {t:g} "
                    f"(integrating with {self.schedule.integrator.solver}); take shorter steps (run(..., substeps=N) "
                    "or max_step=...) or solver='solve_ivp', and check the signals feeding it"
                )

    def result(self) -> RunResult:
        from .integrate import ivp, rk4

        start_time = time.perf_counter()
        schedule, state, progress = self.schedule, self.state, self.progress
        bd, h, steps, integrator = schedule.bd, schedule.h, schedule.steps, schedule.integrator
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
                    x = {b: state[b] for b in continuous}
                    if integrator.solver == "rk4":
                        x = rk4(self.derivative, t, h, x, integrator.steps_for(h), self.check)
                    else:
                        x = ivp(self.derivative, t, h, x, integrator)
                        self.check(t + h, x)
                    state.update(x)
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
        result.timing = {"run_s": time.perf_counter() - start_time}
        return result
