"""A diagram compiled into one jitted ``lax.scan``: :func:`compile_run` -> :class:`CompiledRun`.

``compile_run(bd, steps, ...)`` analyses the diagram exactly as the numpy
interpreter does (:func:`..engine.analyse`), builds the scan body
(:class:`.step.Step`), works out the shapes the states settle to (a state
that meets a batch becomes batched, as in the interpreter), and compiles the
whole run ahead of time. ``CompiledRun.run(inputs=..., x0=...)`` then runs it
with new SEQUENCE data and initial states of the same shapes, without
recompiling, and returns the interpreter's :class:`..engine.RunResult` (same
arrays, same shapes) with ``timing = {"compile_s": ..., "run_s": ...}``.

JAX runs in float64 inside this module only (``jax.enable_x64``, scoped to each
call); the process-wide setting is left as it is. The program runs on JAX's
default device (a GPU when JAX sees one).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from ..engine import DiagramError, RunResult, Schedule, analyse
from ..validation import ShapeError
from .registry import label
from .step import Step

__all__ = ["CompiledRun", "compile_run", "run_compiled"]

#: scan iterations unrolled into one loop iteration, for runs of at least UNROLL_FROM steps whose
#: signals have at most UNROLL_WIDTH elements (unrolling a batched step only costs compile time)
UNROLL, UNROLL_FROM, UNROLL_WIDTH = 8, 256, 1024


def _shape_struct(shape, dtype=jnp.float64):
    return jax.ShapeDtypeStruct(tuple(shape), dtype)


class CompiledRun:
    """A diagram's run compiled once; :meth:`run` it again with new inputs and initial states.

    Attributes
    ----------
    steps : the number of output instants of every run.
    inputs : SEQUENCE block name -> the shape of its data ((T, n) or (B, T, n)).
    states : block name -> the shape of its initial state (what ``x0`` takes).
    compile_s : seconds spent tracing and compiling.
    unroll : scan iterations per loop iteration.

    Each result's ``timing["run_s"]`` counts from the call to the results as
    numpy arrays, moving new inputs to the device included.
    """

    def __init__(self, schedule: Schedule, *, unroll: int | None = None) -> None:
        start = time.perf_counter()
        self.schedule = schedule
        self.steps = schedule.steps
        self.body = Step(schedule)
        body = self.body
        blocks = schedule.blocks
        self._check_lengths()
        self.inputs = {blocks[i].name: np.shape(d) for i, d in body.data.items()}
        self.states = {blocks[i].name: np.shape(x) for i, x in body.x0.items()}
        with jax.enable_x64(True):
            # the diagram's own SEQUENCE data, step-major ((T, [B,] n)) on the device when a run first needs
            # it (a run given its own inputs never does: the sweep's template data is never copied), and states
            self._data_own = {blocks[i].name: d for i, d in body.data.items()}
            self._data0 = {}
            self._x00 = {blocks[i].name: jax.device_put(np.asarray(x, dtype=float)) for i, x in body.x0.items()}
            self._settle_shapes()
            if unroll is None:  # unrolling pays where a step is short: long runs of small (unbatched) signals
                widest = max((int(np.prod(s)) for shapes in self.record_shapes[-1:] for s in shapes.values()),
                             default=0)
                widest = max([widest, *(int(np.prod(s)) for s in self.carry_shapes.values())])
                unroll = UNROLL if self.steps >= UNROLL_FROM and widest <= UNROLL_WIDTH else 1
            self.unroll = max(1, min(int(unroll), self.steps))
            structs = ({name: _shape_struct(_step_major_shape(np.shape(d))) for name, d in self._data_own.items()},
                       {name: _shape_struct(s) for name, s in self.states.items()})
            self._compiled = jax.jit(self._program).lower(*structs).compile()
        self.compile_s = time.perf_counter() - start

    # ---------------------------------------------------------------- analysis

    def _check_lengths(self) -> None:
        """Every SEQUENCE must cover the run (the interpreter would stop at the first missing sample)."""
        from lstmds_sim.blocks.sources import SequenceEndError

        for i in self.body.data:
            b = self.schedule.blocks[i]
            r = self.body.ratio[b]
            needed = (self.steps - 1) // r + 1
            if needed > b.n_samples:
                k = b.n_samples * r
                raise SequenceEndError(
                    f"SEQUENCE block '{b.name}': step {k} (t = {k * self.schedule.h:g}) is past the end of its "
                    f"{b.n_samples} samples; run fewer steps or give more data"
                )

    def _settle_shapes(self) -> None:
        """Step the shapes (not the values) until the states stop growing; keep each step's record shapes.

        The interpreter's states start in the shape of ``x0`` and grow to the
        batch where they meet a batched signal; the scan's carry must have one
        shape, the settled one. The record shapes of the first steps say what
        the interpreter's arrays look like for a run that ends before the states settle.
        """
        body = self.body
        x = {i: np.shape(v) for i, v in body.x0.items()}
        held = {body.index[b]: [()] * b.nout for b in body.ratio if body.ratio[b] != 1}
        data = {i: _shape_struct(np.moveaxis(np.empty(np.shape(d), dtype=np.uint8), -2, 0).shape)
                for i, d in body.data.items()}
        self.record_shapes, self.state_shapes = [], [dict(x)]
        for _ in range(len(x) + len(held) + 2):
            carry = ({i: _shape_struct(s) for i, s in x.items()},
                     {i: [_shape_struct(s) for s in ss] for i, ss in held.items()},
                     (_shape_struct((), jnp.int64), _shape_struct((), jnp.int64)))
            (new_x, new_held, _), records = jax.eval_shape(body, carry, _shape_struct((), jnp.int64), data)
            self.record_shapes.append({(kind, name): r.shape for kind, rs in records.items() for name, r in rs.items()})
            grown_x = {i: new_x[i].shape for i in x}
            grown_held = {i: [v.shape for v in vs] for i, vs in new_held.items()}
            self.state_shapes.append(dict(grown_x))
            if grown_x == x and grown_held == held:
                break
            x, held = grown_x, grown_held
        else:
            raise DiagramError(f"diagram '{self.schedule.bd.name}': the states' shapes do not settle "
                               f"({ {self.schedule.blocks[i].name: s for i, s in x.items()} })")
        self.carry_shapes, self.held_shapes = x, held

    # ---------------------------------------------------------------- the program

    def _program(self, data: dict, x0: dict):
        body, blocks = self.body, self.schedule.blocks
        by_name = {b.name: i for i, b in enumerate(blocks)}
        steps_data = {by_name[n]: d for n, d in data.items()}
        x = {by_name[n]: jnp.broadcast_to(v, self.carry_shapes[by_name[n]]) for n, v in x0.items()}
        held = {i: [jnp.zeros(s) for s in ss] for i, ss in self.held_shapes.items()}
        carry = (x, held, (jnp.asarray(-1, jnp.int64), jnp.asarray(-1, jnp.int64)))
        (x, _, bad), records = jax.lax.scan(lambda c, k: body(c, k, steps_data), carry,
                                            jnp.arange(self.steps, dtype=jnp.int64), unroll=self.unroll)
        return records, {blocks[i].name: v for i, v in x.items()}, bad

    # ---------------------------------------------------------------- running

    def run(self, inputs: Mapping[str, np.ndarray] | None = None,
            x0: Mapping[str, np.ndarray] | None = None) -> RunResult:
        """Run the compiled program; ``inputs``/``x0`` replace SEQUENCE data / initial states by block name.

        Each replacement must have the shape it was compiled with
        (:attr:`inputs`, :attr:`states`); what is not given keeps the diagram's
        value. ``x0=result.final_states`` continues a previous run's states (when
        each kept the shape it started with).
        """
        start = time.perf_counter()
        with jax.enable_x64(True):
            data = {name: _step_major(value)
                    for name, value in self._checked(inputs, self.inputs, "inputs", "SEQUENCE data")}
            for name in self._data_own.keys() - data.keys():  # the diagram's own data, moved once and kept
                if name not in self._data0:
                    self._data0[name] = _step_major(jax.device_put(np.asarray(self._data_own[name], dtype=float)))
                data[name] = self._data0[name]
            states = dict(self._x00)
            states.update(self._checked(x0, self.states, "x0", "initial state"))
            records, final, bad = self._compiled(data, states)
            records, final, bad = jax.device_get((records, final, bad))
        run_s = time.perf_counter() - start
        self._raise_if_bad(int(bad[0]), int(bad[1]))
        return self._result(records, final, run_s)

    @staticmethod
    def _checked(given, shapes: dict, what: str, meaning: str):
        """``(name, device array)`` for each replacement given, checked: a known name, the compiled shape, finite."""
        for name, value in (given or {}).items():
            if name not in shapes:
                raise KeyError(f"{what}: no block named {name!r} takes {meaning}; have {sorted(shapes)}")
            value = jnp.asarray(value, dtype=jnp.float64)  # a NumPy array is copied to the device; a JAX one stays
            if value.shape != tuple(shapes[name]):
                raise ShapeError(f"{what}[{name!r}] has shape {value.shape}; the run was compiled for "
                                 f"{tuple(shapes[name])} (compile again for another shape)")
            if not bool(jnp.all(jnp.isfinite(value))):
                raise ValueError(f"{what}[{name!r}] contains NaN or inf")
            yield name, value

    def _raise_if_bad(self, step: int, check: int) -> None:
        if step < 0:
            return
        block, reason, error = self.body.checks[check]
        t = step * self.schedule.h
        raise error(f"{label(block)}: {reason} (at step {step}, t = {t:g}, in diagram "
                    f"'{self.schedule.bd.name}', backend='jax')")

    def _result(self, records: dict, final: dict, run_s: float) -> RunResult:
        steps = self.steps
        seen = self.record_shapes[:steps]
        kept = {}
        for kind, values_of in records.items():
            for name, values in values_of.items():
                shape = max((s[kind, name] for s in seen), key=len)  # what stack_steps of the interpreter gives
                values = _narrow(np.asarray(values), (steps, *shape), keep=1)
                kept[kind, name] = np.moveaxis(values, 0, 1) if values.ndim == 3 else values
        last = self.state_shapes[min(steps, len(self.state_shapes) - 1)]
        by_name = {b.name: i for i, b in enumerate(self.schedule.blocks)}
        result = RunResult(t=np.arange(steps) * self.schedule.h)
        result.signals = {name: kept["signals", name] for name in self.schedule.probes}
        result.recorders = {name: kept["recorders", name] for name in self.body.records["recorders"]}
        result.final_states = {b.name: _narrow(np.asarray(final[b.name]), last[by_name[b.name]])
                               for b in self.body.stateful}
        result.timing = {"compile_s": self.compile_s, "run_s": run_s}
        return result


def _step_major_shape(shape: tuple) -> tuple:
    """The shape :func:`_step_major` gives: (T, n) as it is, (B, T, n) as (T, B, n)."""
    return (shape[1], shape[0], shape[2]) if len(shape) == 3 else tuple(shape)


@jax.jit
def _step_major(data):
    """SEQUENCE data as the scan reads it: (T, n) as it is, (B, T, n) as (T, B, n)."""
    return jnp.moveaxis(data, -2, 0) if data.ndim == 3 else data


def _narrow(values: np.ndarray, shape: tuple, keep: int = 0) -> np.ndarray:
    """``values``, computed in a broadcast (batched) shape, in the interpreter's smaller ``shape``.

    Rows that were broadcast are identical, so the first one stands for them.
    The first ``keep`` axes (the time axis of a record) are left alone.
    """
    shape = tuple(shape)
    if values.shape == shape:
        return values
    lead = (slice(None),) * keep
    while values.ndim > len(shape):
        values = values[lead + (0,)]
    index = tuple(slice(0, 1) if want == 1 and have != 1 else slice(None) for have, want in zip(values.shape, shape))
    return values[index].reshape(shape)


def compile_run(bd, steps: int | None = None, *, probes: Iterable[str] = (), dt: float | None = None,
                solver: str = "rk4", substeps: int = 10, max_step: float | None = None,
                unroll: int | None = None) -> CompiledRun:
    """Compile ``bd`` for ``backend="jax"``; the arguments are :func:`lstmds_sim.run`'s.

    Refuses, before anything runs, a block without a JAX function, a FUNCTION
    whose function cannot be traced, ``solver="solve_ivp"`` (numpy only) and
    every shape error. ``unroll``: scan iterations per loop iteration (default
    8 for runs of 256 steps or more whose signals are small, unbatched say; else 1).
    """
    if solver == "solve_ivp":
        raise ValueError("solver='solve_ivp' runs with backend='numpy' only; backend='jax' integrates with "
                         "solver='rk4' (substeps=N or max_step=...)")
    schedule = analyse(bd, steps, probes=probes, dt=dt, solver=solver, substeps=substeps, max_step=max_step)
    return CompiledRun(schedule, unroll=unroll)


def run_compiled(bd, steps: int | None = None, *, probes: Iterable[str] = (), progress=None,
                 dt: float | None = None, solver: str = "rk4", substeps: int = 10, max_step: float | None = None,
                 live: bool | None = None, unroll: int | None = None) -> RunResult:
    """``lstmds_sim.run(bd, ..., backend="jax")``: compile, run once, report both times."""
    if progress is not None:
        raise ValueError("progress=... is not reported by backend='jax' (the run is one compiled loop); "
                         "drop it or use backend='numpy'")
    return compile_run(bd, steps, probes=probes, dt=dt, solver=solver, substeps=substeps, max_step=max_step,
                       unroll=unroll).run()
