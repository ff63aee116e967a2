"""A diagram compiled into one jitted ``lax.scan``: :func:`compile_run` -> :class:`CompiledRun`.

``compile_run(bd, steps, ...)`` analyses the diagram exactly as the numpy
interpreter does (:func:`..schedule.analyse`), builds the scan body
(:class:`.step.Step`), works out the shapes the states settle to (a state
that meets a batch becomes batched, as in the interpreter), and compiles the
whole run ahead of time. ``CompiledRun.run(inputs=..., x0=...)`` then runs it
with new SEQUENCE data and initial states of the same shapes, without
recompiling, and returns the interpreter's :class:`..result.RunResult` (same
arrays, same shapes) with ``timing = {"compile_s": ..., "run_s": ...}``.

A batched run on the CPU is split into parts of the batch, one per core (parts
of at least :data:`PART_ROWS` rows), all compiled as one program and run at
once on as many threads: XLA's CPU code spreads one small loop at a time over
the cores, which costs more hand-offs than it saves; independent parts keep
every core busy (the 2964-scenario LSTM batch: 0.08 to 0.10 us per
scenario-step on one part, about 0.04 on two, on 2 cores). The rows do not
interact, so the result is the whole batch's; its last bits can differ with
the part size, as they can with the batch size (``threads=1`` runs the whole
batch as one part).

JAX runs in float64 inside this module only (``jax.enable_x64``, scoped to each
call); the process-wide setting is left as it is. The program runs on JAX's
default device (a GPU when JAX sees one).
"""

from __future__ import annotations

import functools
import math
import os
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import ArgumentError, ArgumentTypeError, DiagramError, SequenceEndError, ShapeError, UnknownNameError
from ..jax_x64 import enable_x64
from ..result import RunResult
from ..schedule import Schedule, analyse
from .registry import label
from .step import Step

__all__ = ["PART_ROWS", "CompiledRun", "check_threads", "compile_run", "default_threads"]

#: scan iterations unrolled into one loop iteration, for runs of at least UNROLL_FROM steps whose
#: signals have at most UNROLL_WIDTH elements (unrolling a batched step only costs compile time)
UNROLL, UNROLL_FROM, UNROLL_WIDTH = 8, 256, 1024

#: the fewest rows of a part of a batch run on its own thread (see :func:`default_threads`)
PART_ROWS = 256


def default_threads(batch: int | None) -> int:
    """Parts (and threads) for a batch of ``batch`` rows: one per core this process may use, each of at
    least :data:`PART_ROWS` rows, on the CPU; 1 for an unbatched run or on a GPU (one program fills it)."""
    if not batch or jax.default_backend() != "cpu":
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, batch // PART_ROWS))


def check_threads(threads):
    """``threads`` as given, if it is None or a positive integer; else one line saying what it must be."""
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, (int, np.integer))
                                or threads < 1):
        raise ArgumentError(f"threads must be a positive integer (parts of the batch run at once), got {threads!r}")
    return threads


@dataclass
class _Shapes:
    """What :meth:`CompiledRun._settle_shapes` finds for one set of input and initial-state shapes."""

    records: list  # per step: {(kind, name): shape}, until the states settle
    states: list  # per step: {block index: state shape}
    carry: dict  # block index -> the settled state shape (the scan's carry)
    held: dict  # block index -> the settled shapes of a slow block's held outputs


def _shape_struct(shape, dtype=jnp.float64):
    return jax.ShapeDtypeStruct(tuple(shape), dtype)


class CompiledRun:
    """A diagram's run compiled once; :meth:`run` it again with new inputs and initial states.

    Attributes
    ----------
    steps : the number of output instants of every run.
    inputs : SEQUENCE block name -> the shape of its data ((T, n) or (B, T, n)).
    states : block name -> the shape of its initial state (what ``x0`` takes).
    batch : B, the rows of the batched SEQUENCE data (None when no data is batched).
    threads : parts of the batch run at once, each on its own thread (1: the whole run as one part).
    compile_s : seconds spent tracing and compiling.
    unroll : scan iterations per loop iteration.

    Each result's ``timing["run_s"]`` counts from the call to the results as
    numpy arrays, moving new inputs to the device included.
    """

    def __init__(self, schedule: Schedule, *, unroll: int | None = None, threads: int | None = None,
                 params: Iterable[str] = (), body: Step | None = None) -> None:
        start = time.perf_counter()
        self.schedule = schedule
        self.steps = schedule.steps
        self.body = Step(schedule) if body is None else body
        body = self.body
        blocks = schedule.blocks
        self._index = {b.name: i for i, b in enumerate(blocks)}  # block name -> index in schedule.blocks
        self._check_lengths()
        self._params0 = self._tunable(params)
        self.params = {name: np.shape(v) for name, v in self._params0.items()}
        self.inputs = {blocks[i].name: np.shape(d) for i, d in body.data.items()}
        self.states = {blocks[i].name: np.shape(x) for i, x in body.x0.items()}
        self.batch = _batch_of(self.inputs.values())
        with enable_x64(True):
            # the diagram's own SEQUENCE data, step-major ((T, [B,] n)) on the device when a run first needs
            # it (a run given its own inputs never does: the sweep's template data is never copied), and states
            self._data_own = {blocks[i].name: d for i, d in body.data.items()}
            self._data0 = {}
            self._x00 = {blocks[i].name: jax.device_put(np.asarray(x, dtype=float)) for i, x in body.x0.items()}
            self._params0 = {name: jax.device_put(v) for name, v in self._params0.items()}
            self.shapes = self._settle_shapes(self.inputs, self.states)
            if unroll is None:  # unrolling pays where a step is short: long runs of small (unbatched) signals
                widest = max((int(np.prod(s)) for s in self.shapes.records[-1].values()), default=0)
                widest = max([widest, *(int(np.prod(s)) for s in self.shapes.carry.values())])
                unroll = UNROLL if self.steps >= UNROLL_FROM and widest <= UNROLL_WIDTH else 1
            self.unroll = max(1, min(int(unroll), self.steps))
            self._split(threads)
            structs = ({name: _shape_struct(_step_major_shape(s)) for name, s in self._part_inputs.items()},
                       {name: _shape_struct(s) for name, s in self._part_states.items()},
                       {name: _shape_struct(s) for name, s in self.params.items()})
            program = functools.partial(self._program, self._part_shapes)
            self._compiled = jax.jit(program).lower(*structs).compile()
        self.compile_s = time.perf_counter() - start

    # ---------------------------------------------------------------- analysis

    def _tunable(self, names: Iterable[str]) -> dict:
        """The blocks whose parameter is an argument of the program: name -> its value now (numpy, float)."""
        if isinstance(names, str):
            raise ArgumentTypeError(f"params must be a list of block names, e.g. params=[{names!r}]")
        values = {}
        tunable = sorted(b.name for b in self.schedule.blocks if self.body.jax[b].tunable is not None)
        for name in names:
            i = self._index.get(name)
            twin = None if i is None else self.body.jax[self.schedule.blocks[i]]
            if twin is None or twin.tunable is None:
                what = f"no block is named {name!r}" if i is None else \
                    f"{label(self.schedule.blocks[i])} has no parameter a run can replace"
                raise ArgumentError(f"params: {what}; the blocks whose parameter can be (a CONSTANT's value, a "
                                    f"GAIN's or MATGAIN's K): {tunable}")
            values[name] = np.array(twin.tunable_value(), dtype=float)
        return values

    def _check_lengths(self) -> None:
        """Every SEQUENCE must cover the run (the interpreter would stop at the first missing sample)."""
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

    def _settle_shapes(self, inputs: Mapping[str, tuple], states: Mapping[str, tuple]) -> _Shapes:
        """Step the shapes (not the values) until the states stop growing; keep each step's record shapes.

        ``inputs``/``states``: the data and initial-state shapes by block name.
        The interpreter's states start in the shape of ``x0`` and grow to the
        batch where they meet a batched signal; the scan's carry must have one
        shape, the settled one. The record shapes of the first steps say what
        the interpreter's arrays look like for a run that ends before the states settle.
        """
        body, index = self.body, self._index
        x = {index[name]: tuple(s) for name, s in states.items()}
        held = {body.index[b]: [()] * b.nout for b in body.ratio if body.ratio[b] != 1}
        data = {index[name]: _shape_struct(_step_major_shape(s)) for name, s in inputs.items()}
        data.update({index[name]: _shape_struct(s) for name, s in self.params.items()})
        records, state_shapes = [], [dict(x)]
        for _ in range(len(x) + len(held) + 2):
            carry = ({i: _shape_struct(s) for i, s in x.items()},
                     {i: [_shape_struct(s) for s in ss] for i, ss in held.items()},
                     (_shape_struct((), jnp.int64), _shape_struct((), jnp.int64)))
            (new_x, new_held, _), recorded = jax.eval_shape(body, carry, _shape_struct((), jnp.int64), data)
            records.append({(kind, name): r.shape for kind, rs in recorded.items() for name, r in rs.items()})
            grown_x = {i: new_x[i].shape for i in x}
            grown_held = {i: [v.shape for v in vs] for i, vs in new_held.items()}
            state_shapes.append(dict(grown_x))
            if grown_x == x and grown_held == held:
                break
            x, held = grown_x, grown_held
        else:
            raise DiagramError(f"diagram '{self.schedule.bd.name}': the states' shapes do not settle "
                               f"({ {self.schedule.blocks[i].name: s for i, s in x.items()} })")
        return _Shapes(records, state_shapes, x, held)

    def _split(self, threads: int | None) -> None:
        """Decide the parts: ``threads`` parts of ``ceil(B / threads)`` rows, the last padded with copies of
        the batch's last row; the batched data (B, T, n) and the initial states with B rows are cut.

        The parts' program is compiled for a part's shapes; what it returns is
        put back together along each output's batch axis (``self._axes``). A
        diagram whose outputs do not all keep the batch on one axis runs as one part.
        """
        check_threads(threads)
        n = default_threads(self.batch) if threads is None else min(int(threads), self.batch or 1)
        self.threads, self._rows = 1, self.batch
        self._part_inputs, self._part_states, self._part_shapes = self.inputs, self.states, self.shapes
        self._cut_states: set = set()
        if n == 1:
            return
        rows, batch = math.ceil(self.batch / n), self.batch
        cut_states = {name for name, s in self.states.items() if len(s) == 2 and s[0] == batch}
        part_inputs = {name: (rows, *s[1:]) if len(s) == 3 else s for name, s in self.inputs.items()}
        part_states = {name: (rows, *s[1:]) if name in cut_states else s for name, s in self.states.items()}
        part = self._settle_shapes(part_inputs, part_states)
        whole, blocks = self.shapes, self.schedule.blocks
        try:
            records = {kind: {name: _batch_axis((self.steps, *whole.records[-1][kind, name]),
                                                (self.steps, *part.records[-1][kind, name]), batch, rows)
                              for name in sources} for kind, sources in self.body.records.items()}
            final = {blocks[i].name: _batch_axis(whole.carry[i], part.carry[i], batch, rows) for i in whole.carry}
            for i, shapes in whole.held.items():
                for s, p in zip(shapes, part.held[i]):
                    _batch_axis(s, p, batch, rows)
        except _NoSplit:  # some output does not carry the batch on one axis: run the whole batch at once
            return
        self.threads, self._rows, self._axes, self._cut_states = n, rows, (records, final), cut_states
        self._part_inputs, self._part_states, self._part_shapes = part_inputs, part_states, part

    # ---------------------------------------------------------------- the program

    def _program(self, shapes: _Shapes, data: dict, x0: dict, params: dict):
        body, blocks = self.body, self.schedule.blocks
        index = self._index
        steps_data = {index[n]: d for n, d in data.items()}
        steps_data.update({index[n]: v for n, v in params.items()})  # a tunable block reads its value as its data
        x = {index[n]: jnp.broadcast_to(v, shapes.carry[index[n]]) for n, v in x0.items()}
        held = {i: [jnp.zeros(s) for s in ss] for i, ss in shapes.held.items()}
        carry = (x, held, (jnp.asarray(-1, jnp.int64), jnp.asarray(-1, jnp.int64)))
        (x, _, bad), records = jax.lax.scan(lambda c, k: body(c, k, steps_data), carry,
                                            jnp.arange(self.steps, dtype=jnp.int64), unroll=self.unroll)
        return records, {blocks[i].name: v for i, v in x.items()}, bad

    # ---------------------------------------------------------------- running

    def run(self, inputs: Mapping[str, np.ndarray] | None = None,
            x0: Mapping[str, np.ndarray] | None = None, params: Mapping[str, np.ndarray] | None = None) -> RunResult:
        """Run the compiled program; ``inputs``/``x0``/``params`` replace SEQUENCE data / initial states / the
        parameters of the blocks named when compiling (:attr:`params`), by block name.

        Each replacement must have the shape it was compiled with
        (:attr:`inputs`, :attr:`states`, :attr:`params`); what is not given keeps
        the diagram's value. ``x0=result.final_states`` continues a previous run's
        states (when each kept the shape it started with). Nothing is compiled again.
        """
        start = time.perf_counter()
        with enable_x64(True):
            data = {name: self._parts(_step_major(value), 1, value.ndim == 3)
                    for name, value in self._checked(inputs, self.inputs, "inputs", "SEQUENCE data")}
            for name in self._data_own.keys() - data.keys():  # the diagram's own data, moved once and kept
                if name not in self._data0:
                    own = _step_major(jax.device_put(np.asarray(self._data_own[name], dtype=float)))
                    self._data0[name] = self._parts(own, 1, own.ndim == 3)
                data[name] = self._data0[name]
            states = dict(self._x00)
            states.update(self._checked(x0, self.states, "x0", "initial state"))
            states = {name: self._parts(v, 0, name in self._cut_states) for name, v in states.items()}
            tuned = dict(self._params0)
            tuned.update(self._checked(params, self.params, "params", "a parameter"))
            args = [({name: d[p] for name, d in data.items()}, {name: v[p] for name, v in states.items()}, tuned)
                    for p in range(self.threads)]
        if self.threads == 1:
            records, final, bad = _execute(self._compiled, args[0])
        else:
            records, final, bad = self._joined(_execute_at_once(self._compiled, args))
        run_s = time.perf_counter() - start
        self._raise_if_bad(int(bad[0]), int(bad[1]))
        return self._result(records, final, run_s)

    def _parts(self, value, axis: int, cut: bool) -> list:
        """``value`` for each part: when ``cut`` (the value is batched), rows ``[p r, (p + 1) r)`` along
        ``axis``, the last part padded with copies of the last row; else the same value for every part."""
        if self.threads == 1 or not cut:
            return [value] * self.threads
        rows, batch = self._rows, self.batch
        pieces = []
        for p in range(self.threads):
            lo, hi = p * rows, min((p + 1) * rows, batch)
            piece = jax.lax.slice_in_dim(value, lo, hi, axis=axis)
            if hi - lo < rows:
                last = jax.lax.slice_in_dim(value, batch - 1, batch, axis=axis)
                piece = jnp.concatenate([piece, jnp.repeat(last, rows - (hi - lo), axis=axis)], axis=axis)
            pieces.append(piece)
        return pieces

    def _joined(self, outs: list) -> tuple:
        """The parts' results as the whole batch's: batched outputs joined along their batch axis, the
        padding dropped; an output without the batch is the same in every part; the first failure overall."""
        batch = self.batch

        def join(axis, *values):
            if axis < 0:
                return values[0]
            index = [slice(None)] * values[0].ndim
            index[axis] = slice(0, batch)
            return np.concatenate(values, axis=axis)[tuple(index)]

        records, final = jax.tree.map(join, self._axes, *[(o[0], o[1]) for o in outs])
        failed = [(int(o[2][0]), int(o[2][1])) for o in outs if int(o[2][0]) >= 0]
        return records, final, min(failed) if failed else (-1, -1)
    @staticmethod
    def _checked(given, shapes: dict, what: str, meaning: str):
        """``(name, device array)`` for each replacement given, checked: a known name, the compiled shape, finite."""
        for name, value in (given or {}).items():
            if name not in shapes:
                raise UnknownNameError(f"{what}: no block named {name!r} takes {meaning}; have {sorted(shapes)}")
            value = jnp.asarray(value, dtype=jnp.float64)  # a NumPy array is copied to the device; a JAX one stays
            if value.shape != tuple(shapes[name]):
                raise ShapeError(f"{what}[{name!r}] has shape {value.shape}; the run was compiled for "
                                 f"{tuple(shapes[name])} (compile again for another shape)")
            if not bool(jnp.all(jnp.isfinite(value))):
                raise ArgumentError(f"{what}[{name!r}] contains NaN or inf")
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
        seen = self.shapes.records[:steps]
        kept = {}
        for kind, values_of in records.items():
            for name, values in values_of.items():
                shape = max((s[kind, name] for s in seen), key=len)  # what stack_steps of the interpreter gives
                values = _narrow(np.asarray(values), (steps, *shape), keep=1)
                kept[kind, name] = np.moveaxis(values, 0, 1) if values.ndim == 3 else values
        last = self.shapes.states[min(steps, len(self.shapes.states) - 1)]
        result = RunResult(t=np.arange(steps) * self.schedule.h)
        result.signals = {name: kept["signals", name] for name in self.schedule.probes}
        result.recorders = {name: kept["recorders", name] for name in self.body.records["recorders"]}
        result.final_states = {b.name: _narrow(np.asarray(final[b.name]), last[self._index[b.name]])
                               for b in self.body.stateful}
        result.timing = {"compile_s": self.compile_s, "run_s": run_s}
        return result


def _batch_of(shapes: Iterable[tuple]) -> int | None:
    """B of the batched SEQUENCE data ((B, T, n)); None when none is batched or two batches differ."""
    batches = {s[0] for s in shapes if len(s) == 3}
    return batches.pop() if len(batches) == 1 else None


class _NoSplit(Exception):
    """An output whose shape does not carry the batch on exactly one axis."""


def _batch_axis(whole: tuple, part: tuple, batch: int, rows: int) -> int:
    """The axis along which a part's output of shape ``part`` joins into ``whole`` (-1: not batched)."""
    whole, part = tuple(whole), tuple(part)
    if whole == part:
        return -1
    differ = [a for a, (w, p) in enumerate(zip(whole, part)) if w != p]
    if len(whole) != len(part) or len(differ) != 1 or (whole[differ[0]], part[differ[0]]) != (batch, rows):
        raise _NoSplit
    return differ[0]


def _execute(compiled, args: tuple):
    """One part: run the compiled program on ``args`` and return its results as numpy arrays."""
    with enable_x64(True):  # the setting is per thread
        return jax.device_get(compiled(*args))


def _execute_at_once(compiled, parts: list) -> list:
    """Every part at once, each on its own thread (XLA releases the GIL while it runs)."""
    pool = ThreadPoolExecutor(len(parts), thread_name_prefix="lstmds-part")
    try:
        return list(pool.map(lambda args: _execute(compiled, args), parts))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


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
                unroll: int | None = None, threads: int | None = None, params: Iterable[str] = ()) -> CompiledRun:
    """Compile ``bd`` for ``backend="jax"``; the arguments are :func:`lstmds_sim.run`'s.

    Refuses, before anything runs, a block without a JAX function, a FUNCTION
    whose function cannot be traced, ``solver="solve_ivp"`` (numpy only) and
    every shape error. ``unroll``: scan iterations per loop iteration (default
    8 for runs of 256 steps or more whose signals are small, unbatched say; else 1).
    ``threads``: parts of a batch run at once (default :func:`default_threads`:
    one per core on the CPU, each of at least :data:`PART_ROWS` rows; 1 on a GPU).
    ``params``: names of blocks whose parameter (a CONSTANT's value, a GAIN's or
    MATGAIN's K) becomes an argument of the program, so that
    ``CompiledRun.run(params={name: value})`` changes it without compiling again
    (a live page's sliders).
    """
    from .backend import Compiled

    Compiled(threads, unroll).check(solver=solver, progress=None)
    schedule = analyse(bd, steps, probes=probes, dt=dt, solver=solver, substeps=substeps, max_step=max_step)
    return CompiledRun(schedule, unroll=unroll, threads=threads, params=params)
