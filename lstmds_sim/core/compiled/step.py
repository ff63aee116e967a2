"""One step of a :class:`~lstmds_sim.core.schedule.Schedule` as a pure JAX function (the body of the scan).

:class:`Step` does, in ``jax.numpy``, what the interpreter's loop body does at
``t_k = k h``:

1. every block's output in plan order; a block on a slower clock (ticking
   every ``r`` steps) keeps its held output between ticks (``where``);
2. the probed signals and the sinks' inputs are recorded;
3. every ticking sampled block takes its next state;
4. the continuous states are integrated to ``t_{k+1}`` with classical RK4,
   re-evaluating only the blocks on the continuous path, every other output
   held. As in the interpreter (``_Run.advance``), the interval is cut at the
   schedule's breakpoints (where a source on the path jumps), each piece
   ``[a, b]`` takes ``max(1, ceil(N (b - a) / h - 1e-9))`` RK4 steps (``N``
   the steps of a whole interval) and its blocks read time as at most ``b``'s
   left limit (:func:`..integrate.left_limit`, just before ``b``): a jump is
   never inside a step. The pieces are known before the run (:class:`Pieces`): an interval
   without a breakpoint, nearly every one, is one piece (a loop of ``N``
   steps); those with breakpoints read their cut points and step counts from
   a small table baked into the program, padded to the most pieces any
   interval has (a padded piece has no steps);
5. every state is checked finite, with the blocks' own checks (and the
   checks of values computed at the instant: an INTERPOLATE outside its
   data); the first failure (step, which check) rides in the carry and is
   raised after the run.

The carry is ``(states, held outputs, (first bad step, its check))``, keyed by
the block's index in ``schedule.blocks``.
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import DiagramError
from ..integrate import LEFT_LIMIT
from ..schedule import Schedule
from ..validation import NonFiniteError, ShapeError
from .registry import jax_block, label
from .stock import rounded

NON_FINITE = ("its state became non-finite; check the signals feeding it (and, for continuous states, "
              "take shorter steps: substeps=N or max_step=...)")


def rk4_steps(n: int, a, b, h: float):
    """RK4 steps over the piece ``[a, b]`` of an interval of ``h`` taken in ``n``: the interpreter's
    ``max(1, ceil(n (b - a) / h - 1e-9))``, with floats or arrays (numpy or traced: the same operations)."""
    xp = jnp if isinstance(a, jax.Array) or isinstance(b, jax.Array) else np
    return xp.maximum(1, xp.ceil(n * (b - a) / h - 1e-9)).astype(np.int64)


class Pieces:
    """How each output interval ``[t, t + h]`` (``t = k h``) is integrated: the interpreter's cuts, before the run.

    ``n`` is the RK4 steps of a whole interval (the integrator's
    ``steps_for(h)``); an interval without a breakpoint is one piece of
    :func:`rk4_steps` steps, which is ``n`` unless the interval's rounded
    length ``(t + h) - t`` says otherwise (far from t = 0: ``varies``; the
    count is then computed in the loop, as the interpreter does). ``ks`` lists
    the intervals with breakpoints inside; row ``j`` of ``cuts`` holds the cut
    points of interval ``ks[j]`` (``t, ..., t + h``, padded with ``t + h``)
    and of ``counts`` the steps of each piece (padded with 0). Every number is
    computed with the interpreter's own float operations.
    """

    def __init__(self, schedule: Schedule) -> None:
        h, steps = schedule.h, schedule.steps
        self.h, self.n = h, schedule.integrator.steps_for(h)
        starts = np.arange(steps, dtype=np.int64) * h  # t = k * h, as the interpreter's loop
        ends = starts + h
        self.varies = bool(np.any(rk4_steps(self.n, starts, ends, h) != self.n))
        inside: dict = {}
        for tb in schedule.breakpoints:
            for k in range(max(0, int(tb // h) - 1), min(steps, int(tb // h) + 2)):
                if starts[k] < tb < ends[k]:
                    inside.setdefault(k, []).append(tb)
        self.ks = np.array(sorted(inside), dtype=np.int64)
        rows = []
        for k in self.ks:
            cuts = [float(starts[k]), *sorted(inside[int(k)]), float(ends[k])]
            rows.append((cuts, [int(rk4_steps(self.n, a, b, h)) for a, b in itertools.pairwise(cuts)]))
        self.most = max((len(c) for _, c in rows), default=1)  # pieces in the most-cut interval
        self.cuts = np.array([c + [c[-1]] * (self.most - len(p)) for c, p in rows],
                             dtype=float).reshape(-1, self.most + 1)
        self.counts = np.array([p + [0] * (self.most - len(p)) for _, p in rows],
                               dtype=np.int64).reshape(-1, self.most)

    def of(self, k, t, t_end) -> list:
        """The pieces ``(a, b, steps)`` of interval ``k`` (from ``t`` to ``t_end``); ``steps`` a number where it can."""
        count = rk4_steps(self.n, t, t_end, self.h) if self.varies else self.n
        if not len(self.ks):
            return [(t, t_end, count)]
        ks = jnp.asarray(self.ks)
        j = jnp.clip(jnp.searchsorted(ks, k), 0, len(self.ks) - 1)
        listed = ks[j] == k
        plain_cuts = jnp.concatenate([jnp.reshape(t, (1,)), jnp.full((self.most,), t_end)])
        plain_counts = jnp.zeros((self.most,), dtype=jnp.int64).at[0].set(count)
        cuts = jnp.where(listed, jnp.asarray(self.cuts)[j], plain_cuts)
        counts = jnp.where(listed, jnp.asarray(self.counts)[j], plain_counts)
        return [(cuts[p], cuts[p + 1], counts[p]) for p in range(self.most)]


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
        self.pieces = Pieces(schedule) if schedule.continuous else None
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

    def evaluate(self, k, t, x, held, data) -> tuple[dict, dict, list]:
        """Every block's output at step ``k`` in plan order: ``(signals, held outputs, checks)``.

        ``checks`` are ``(block, ok, reason)`` for the values computed at the
        instant that the numpy block raises on (a twin's ``output_checks``).
        """
        env: dict = {}
        new_held = {}
        checks = []
        for b in self.schedule.plan:
            i = self.index[b]
            r = self.ratio.get(b, 1)
            tick = True if r == 1 else k % r == 0
            if r == 1:
                self._output(b, t, k, env, x, data)
            else:
                out = self._output(b, t, k // r, env, x, data)
                out = [jnp.where(tick, o, h) for o, h in zip(out, held[i])]
                for port, value in enumerate(out):
                    env[(i, port)] = value
                new_held[i] = out
            output_checks = getattr(self.jax[b], "output_checks", None)
            if output_checks is not None:
                for ok, reason in self._call(b, "output_checks", t, self._inputs(b, env)):
                    checks.append((b, ok | ~tick if r != 1 else ok, reason))
        return env, new_held, checks

    def derivative(self, t, xc, env, data) -> dict:
        """The continuous states' derivatives at ``t``, the blocks on the continuous path re-evaluated."""
        env = dict(env)
        for b in self.schedule.path:
            self._output(b, t, None, env, xc, data)
        return {self.index[b]: self._call(b, "deriv", t, self._inputs(b, env), xc[self.index[b]])
                for b in self.schedule.continuous}

    def integrate(self, k, t, xc, env, data) -> dict:
        """RK4 from ``t`` to ``t + h``, cut into the interpreter's pieces (:class:`Pieces`)."""
        for _ in range(len(xc)):  # a state meeting a batch becomes batched (through a chain: repeat)
            d0 = jax.eval_shape(lambda x: self.derivative(t, x, env, data), xc)
            grown = {i: jnp.broadcast_to(v, jnp.broadcast_shapes(v.shape, d0[i].shape)) for i, v in xc.items()}
            if all(grown[i].shape == xc[i].shape for i in xc):
                break
            xc = grown
        for a, b, n in self.pieces.of(k, t, t + self.schedule.h):
            xc = self.piece(a, b, n, xc, env, data)
        return xc

    def piece(self, a, b, n, x, env, data) -> dict:
        """``n`` classical RK4 steps over ``[a, b]`` (:func:`..integrate.rk4`), time read as ``b``'s left limit
        at ``b`` (:func:`..integrate.left_limit`, as ``_Run.piece``); ``n`` is a number, or traced (0: padding)."""
        dt = (b - a) / n
        left = jnp.maximum(a, b - LEFT_LIMIT * jnp.abs(b))  # :func:`..integrate.left_limit`

        def f(time, xs):
            return self.derivative(jnp.minimum(time, left), xs, env, data)

        def substep(i, x):
            tt = a + rounded(i * dt)
            k1 = f(tt, x)
            k2 = f(tt + dt / 2, {j: x[j] + dt / 2 * k1[j] for j in x})
            k3 = f(tt + dt / 2, {j: x[j] + dt / 2 * k2[j] for j in x})
            k4 = f(tt + dt, {j: x[j] + dt * k3[j] for j in x})
            return {j: x[j] + dt / 6 * (k1[j] + 2 * k2[j] + 2 * k3[j] + k4[j]) for j in x}

        return jax.lax.fori_loop(0, n, substep, x)

    # ---------------------------------------------------------------- the step

    def __call__(self, carry, k, data):
        """One scan iteration: ``(carry, k) -> (carry, records)``."""
        x, held, (bad_step, bad_check) = carry
        t = k * self.schedule.h
        env, new_held, value_checks = self.evaluate(k, t, x, held, data)
        records = {kind: {name: env[src] for name, src in sources.items()} for kind, sources in self.records.items()}

        self.checks = [(b, reason, ValueError) for b, _, reason in value_checks]
        oks = [ok for _, ok, _ in value_checks]
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
            new_x.update(self.integrate(k, t, xc, env, data))
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
