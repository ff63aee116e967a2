"""The compiled twins of this library's blocks: pure ``jax.numpy`` functions with the numpy blocks' checks.

HADAMARD, SIGMOID, TANH, MATGAIN, UNITDELAY, SEQUENCE, DSS and RECORDER (the
LSTM block is a subsystem: bdsim flattens it into the others; PHPLANT's twin
lives with the plant, in :mod:`lstmds_sim.systems.ph_jax`). Each block names
its twin in its ``jax_twin`` attribute (``"lstmds_sim.blocks._compiled:Hadamard"``),
and the compiled backend imports it only when it compiles the block, so the
block library loads without JAX. Shapes are known when the step is traced,
so a wrong shape is the numpy block's own :class:`ShapeError` (the same
check, :mod:`lstmds_sim.core.validation`), raised at compile time. Values
the numpy blocks refuse while running (a state turning non-finite) are
checked every step and reported after the run.

(bdsim's block discovery skips modules whose name starts with ``_``: nothing here is a block.)
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from lstmds_sim.core.compiled.registry import JaxBlock, Stateful, label
from lstmds_sim.core.errors import ShapeError
from lstmds_sim.core.validation import delay_input, port_width


def check_width(block, port: int, value, width: int):
    """Input ``port`` must be (width,) or batched (B, width) (the numpy block's check)."""
    return port_width(value, width, lambda: label(block), port)


class Hadamard(JaxBlock):
    def output(self, t, k, inputs, x, data):
        out = inputs[0]
        for port, value in enumerate(inputs[1:], start=1):
            if value.shape != out.shape and value.ndim and out.ndim \
                    and not (value.ndim == 2 and out.shape == value.shape[1:]) \
                    and not (out.ndim == 2 and value.shape == out.shape[1:]):
                raise ShapeError(f"{label(self.block)}: input {port} has shape {value.shape}, "
                                 f"expected {inputs[0].shape} like input 0")
            out = out * value
        return [out]


class Sigmoid(JaxBlock):
    def output(self, t, k, inputs, x, data):
        return [jnp.tanh(inputs[0] * 0.5) * 0.5 + 0.5]  # activations.sigmoid, operation by operation


class Tanh(JaxBlock):
    def output(self, t, k, inputs, x, data):
        return [jnp.tanh(inputs[0])]


class MatGain(JaxBlock):
    tunable = "K"  # a run may give another K (compile_run(params=[name]))

    def __init__(self, block) -> None:
        super().__init__(block)
        self.KT = np.ascontiguousarray(block.K.T)

    def output(self, t, k, inputs, x, data):
        u = check_width(self.block, 0, inputs[0], self.KT.shape[0])
        return [u @ (self.KT if data is None else data.T)]


class UnitDelay(Stateful):
    def output(self, t, k, inputs, x, data):
        return [x]

    def next(self, t, inputs, x):
        u = inputs[0]
        if u.shape != x.shape:
            delay_input(u.shape, x.shape, self.x0.ndim, label(self.block))
            u = jnp.broadcast_to(u, jnp.broadcast_shapes(u.shape, x.shape))
        return u


class DSS(Stateful):
    def __init__(self, block) -> None:
        super().__init__(block)
        self.AT, self.BT, self.CT, self.DT = (np.ascontiguousarray(m.T) for m in (block.A, block.B, block.C, block.D))
        self.feedthrough = bool(np.any(block.D))  # as the block decides it (D = 0: no feedthrough)

    def output(self, t, k, inputs, x, data):
        y = x @ self.CT
        if self.feedthrough:
            y = y + check_width(self.block, 0, inputs[0], self.BT.shape[0]) @ self.DT
        return [y]

    def next(self, t, inputs, x):
        u = check_width(self.block, 0, inputs[0], self.BT.shape[0])
        return x @ self.AT + u @ self.BT


class Sequence(JaxBlock):
    """Sample ``k // r`` of its data (r: its clock's ticks per output step); the data is a run argument."""

    def __init__(self, block) -> None:
        super().__init__(block)
        self.data = block.data

    def output(self, t, k, inputs, x, data):
        # data arrives step-major: (T, n) or (T, B, n)
        return [data[k]]


class Recorder(JaxBlock):
    """A sink: the backend records its input every step (``result.recorders[name]``)."""

    records = True
