"""One step of a :class:`~lstmds_sim.core.schedule.Schedule` as a pure JAX function (the body of the scan).

:class:`Step` does, in ``jax.numpy``, what the interpreter's loop body does at
``t_k = k h``:

1. every block's output in plan order; a block on a slower clock (ticking
   every ``r`` steps) keeps its held output between ticks (``where``);
2. the probed signals and the sinks' inputs are recorded;
3. every ticking sampled block takes its next state;
4. the continuous states are integrated to ``t_{k+1}`` with classical RK4
   (``substeps`` per interval, a ``fori_loop``), re-evaluating only the blocks
   on the continuous path, every other output held;
5. every state is checked finite, with the blocks' own checks; the first
   failure (step, which check) rides in the carry and is raised after the run.

The carry is ``(states, held outputs, (first bad step, its check))``, keyed by
the block's index in ``schedule.blocks``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ..errors import DiagramError
from ..schedule import Schedule
from ..validation import NonFiniteError, ShapeError
from .registry import jax_block, label

NON_FINITE = ("its state became non-finite; check the signals feeding it (and, for continuous states, "
              "take shorter steps: substeps=N or max_step=...)")


class Step:
    """The scan body for ``schedule``; building it refuses every block without a JAX function."""

    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule
        blocks = schedule.blocks
        self.index = {b: i for i, b in enumerate(blocks)}
        self.jax = {b: jax_block(b) for b in blocks}
        sources: dict = {b: [None] * b.nin for b in blocks}
        for w in schedule.bd.wirelist:
            sources[w.end.block][w.end.port] = (self.index[w.start.block], w.start.port)
        self.sources = sources
        ratio = schedule.timing.ratio
        self.ratio = {b: ratio[c] for b, c in schedule.clock_of.items()}
        self.stateful = schedule.sampled + schedule.continuous
        self.x0 = {self.index[b]: self.jax[b].x0 for b in self.stateful}
        missing = [label(b) for b in self.stateful if self.jax[b].x0 is None]
        if missing:
            raise DiagramError(f"{', '.join(missing)}: backend='jax' has no state for it; use backend='numpy'")
        self.data = {self.index[b]: self.jax[b].data for b in blocks if self.jax[b].data is not None}
        self.n_rk4 = schedule.integrator.steps_for(schedule.h) if schedule.continuous else 0
        self.records = self._records()
        self.checks: list = []  # (block, reason, exception type), filled while tracing

    def _records(self) -> dict:
        """What is kept every step: ``{"signals": {probe: (block index, port)}, "recorders": {name: ...}}``."""
        probes = {name: (self.index[b], port) for name, b, port in self.schedule.probe_slots}
        recorders = {}
        for b in self.schedule.sinks:
            if self.jax[b].records:
                for port in range(b.nin):
                    recorders[b.name if b.nin == 1 else f"{b.name}[{port}]"] = self.sources[b][port]
        return {"signals": probes, "recorders": recorders}

    # ---------------------------------------------------------------- evaluation

    def _inputs(self, b, env) -> list:
        """The block's input values; None for one not computed yet (a block without direct
        feedthrough, a delay say, comes before its input in the plan and does not read it)."""
        return [env.get(s) for s in self.sources[b]]

    def _call(self, b, what: str, *args):
        try:
            return getattr(self.jax[b], what)(*args)
        except (DiagramError, ShapeError):
            raise
        except Exception as err:
            raise DiagramError(f"{label(b)}: backend='jax' cannot compute its {what} "
                               f"({type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''})"
                               ) from err

    def _output(self, b, t, k, env, x, data) -> list:
        i = self.index[b]
        out = self._call(b, "output", t, k, self._inputs(b, env), x.get(i), data.get(i))
        if len(out) != b.nout:
            raise DiagramError(f"{label(b)}: backend='jax' computed {len(out)} outputs, the block has {b.nout}")
        for port, value in enumerate(out):
            env[(i, port)] = value
        return out

    def evaluate(self, k, t, x, held, data) -> tuple[dict, dict]:
        """Every block's output at step ``k`` in plan order; returns ``(signals, held outputs)``."""
        env: dict = {}
        new_held = {}
        for b in self.schedule.plan:
            i = self.index[b]
            r = self.ratio.get(b, 1)
            if r == 1:
                self._output(b, t, k, env, x, data)
                continue
            tick = k % r == 0
            out = self._output(b, t, k // r, env, x, data)
            out = [jnp.where(tick, o, h) for o, h in zip(out, held[i])]
            for port, value in enumerate(out):
                env[(i, port)] = value
            new_held[i] = out
        return env, new_held

    def derivative(self, t, xc, env, data) -> dict:
        """The continuous states' derivatives at ``t``, the blocks on the continuous path re-evaluated."""
        env = dict(env)
        for b in self.schedule.path:
            self._output(b, t, None, env, xc, data)
        return {self.index[b]: self._call(b, "deriv", t, self._inputs(b, env), xc[self.index[b]])
                for b in self.schedule.continuous}

    def integrate(self, t, xc, env, data) -> dict:
        """Classical RK4 from ``t`` over one output interval, as :func:`..integrate.rk4`."""
        h, n = self.schedule.h, self.n_rk4
        dt = h / n
        for _ in range(len(xc)):  # a state meeting a batch becomes batched (through a chain: repeat)
            d0 = jax.eval_shape(lambda x: self.derivative(t, x, env, data), xc)
            grown = {i: jnp.broadcast_to(v, jnp.broadcast_shapes(v.shape, d0[i].shape)) for i, v in xc.items()}
            if all(grown[i].shape == xc[i].shape for i in xc):
                break
            xc = grown

        def substep(j, x):
            tt = t + j * dt
            k1 = self.derivative(tt, x, env, data)
            k2 = self.derivative(tt + dt / 2, {i: x[i] + dt / 2 * k1[i] for i in x}, env, data)
            k3 = self.derivative(tt + dt / 2, {i: x[i] + dt / 2 * k2[i] for i in x}, env, data)
            k4 = self.derivative(tt + dt, {i: x[i] + dt * k3[i] for i in x}, env, data)
            return {i: x[i] + dt / 6 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]) for i in x}

        return jax.lax.fori_loop(0, n, substep, xc)

    # ---------------------------------------------------------------- the step

    def __call__(self, carry, k, data):
        """One scan iteration: ``(carry, k) -> (carry, records)``."""
        x, held, (bad_step, bad_check) = carry
        t = k * self.schedule.h
        env, new_held = self.evaluate(k, t, x, held, data)
        records = {kind: {name: env[src] for name, src in sources.items()} for kind, sources in self.records.items()}

        self.checks = []
        oks = []
        new_x = dict(x)
        for b in self.schedule.sampled:
            i = self.index[b]
            x_next, checks = self._call(b, "next_checked", t, self._inputs(b, env), x[i])
            r = self.ratio[b]
            if r != 1:
                tick = k % r == 0
                x_next = jnp.where(tick, x_next, x[i])
                checks = [(ok | ~tick, reason) for ok, reason in checks]
            new_x[i] = x_next
            for ok, reason in checks:
                oks.append(ok)
                self.checks.append((b, reason, ValueError))
        if self.schedule.continuous:
            xc = {self.index[b]: x[self.index[b]] for b in self.schedule.continuous}
            new_x.update(self.integrate(t, xc, env, data))
        for b in self.stateful:
            oks.append(jnp.all(jnp.isfinite(new_x[self.index[b]])))
            self.checks.append((b, NON_FINITE, NonFiniteError))
        new_x = {i: _grown(v, x[i]) for i, v in new_x.items()}
        new_held = {i: [_grown(v, h) for v, h in zip(out, held[i])] for i, out in new_held.items()}
        if oks:
            oks = jnp.stack(oks)
            first = (bad_step < 0) & ~jnp.all(oks)
            bad_step = jnp.where(first, k, bad_step)
            bad_check = jnp.where(first, jnp.argmin(oks), bad_check)
        return (new_x, new_held, (bad_step, bad_check)), records


def _grown(value, before):
    """``value`` in the broadcast shape of itself and ``before`` (a state meeting a batch becomes batched)."""
    return jnp.broadcast_to(value, jnp.broadcast_shapes(jnp.shape(value), jnp.shape(before)))
