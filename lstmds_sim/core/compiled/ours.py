"""This project's blocks as pure ``jax.numpy`` functions, with the shape checks of the numpy blocks.

HADAMARD, SIGMOID, TANH, MATGAIN, UNITDELAY, SEQUENCE, DSS, PHPLANT and
RECORDER (the LSTM block is a subsystem: bdsim flattens it into the others).
Shapes are known when the step is traced, so a wrong shape is the numpy
block's own :class:`ShapeError`, raised at compile time. Values the numpy
blocks refuse while running (a state turning non-finite, a negative flow into
PHPLANT) are checked every step and reported after the run.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from ..validation import ShapeError
from .registry import JaxBlock, label, register


def check_width(block, port: int, value, width: int):
    """Input ``port`` must be (width,) or batched (B, width), as ``blocks._ports.check_width``."""
    if value.ndim == 0 and width == 1:
        value = value.reshape(1)
    if value.ndim not in (1, 2) or value.shape[-1] != width:
        raise ShapeError(f"{label(block)}: input {port} has shape {value.shape}, expected ({width},) or (B, {width})")
    return value


class Stateful(JaxBlock):
    """A block whose initial state is the block's own ``getstate0()`` (kept in its shape)."""

    def __init__(self, block) -> None:
        super().__init__(block)
        self.x0 = np.asarray(block.getstate0(), dtype=float)


@register("hadamard")
class Hadamard(JaxBlock):
    def output(self, t, k, inputs, x, data):
        out = inputs[0]
        for port, value in enumerate(inputs[1:], start=1):
            if value.shape != out.shape and not (value.ndim == 2 and out.shape == value.shape[1:]) \
                    and not (out.ndim == 2 and value.shape == out.shape[1:]):
                raise ShapeError(f"{label(self.block)}: input {port} has shape {value.shape}, "
                                 f"expected {inputs[0].shape} like input 0")
            out = out * value
        return [out]


@register("sigmoid")
class Sigmoid(JaxBlock):
    def output(self, t, k, inputs, x, data):
        return [jnp.tanh(inputs[0] * 0.5) * 0.5 + 0.5]  # activations.sigmoid, operation by operation


@register("tanh")
class Tanh(JaxBlock):
    def output(self, t, k, inputs, x, data):
        return [jnp.tanh(inputs[0])]


@register("matgain")
class MatGain(JaxBlock):
    def __init__(self, block) -> None:
        super().__init__(block)
        self.KT = np.ascontiguousarray(block.K.T)

    def output(self, t, k, inputs, x, data):
        u = check_width(self.block, 0, inputs[0], self.KT.shape[0])
        return [u @ self.KT]


@register("unitdelay")
class UnitDelay(Stateful):
    def output(self, t, k, inputs, x, data):
        return [x]

    def next(self, t, inputs, x):
        u = inputs[0]
        if u.shape != x.shape:
            n = self.x0.shape[-1]
            if not (u.ndim == 2 and u.shape[-1] == n and (x.ndim == 1 or x.shape[0] == u.shape[0])) \
                    and not (x.ndim == 2 and u.shape == (n,)):
                batch = f" or (B, {n})" if self.x0.ndim == 1 else ""
                raise ShapeError(f"{label(self.block)}: input 0 has shape {u.shape}, expected {x.shape}{batch} "
                                 "(the shape of the initial state x0)")
            u = jnp.broadcast_to(u, jnp.broadcast_shapes(u.shape, x.shape))
        return u


@register("dss")
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


@register("sequence")
class Sequence(JaxBlock):
    """Sample ``k // r`` of its data (r: its clock's ticks per output step); the data is a run argument."""

    def __init__(self, block) -> None:
        super().__init__(block)
        self.data = block.data

    def output(self, t, k, inputs, x, data):
        # data arrives step-major: (T, n) or (T, B, n)
        return [data[k]]


REFUSED_FLOW = ("its base flow q3 is negative or non-finite, or the tank emptied, or the RK4 step Ts / substeps "
                "is longer than the time A h / q_in in which the inflow renews the tank (keep q3 in the spec's "
                "range [12.5, 17] ml/s; backend='numpy' names the tank and the flow)")


@register("phplant")
class PHPlant(Stateful):
    def __init__(self, block) -> None:
        super().__init__(block)
        from ...systems import ph_jax  # the plant's maths in jax.numpy (as the block takes them from systems/)

        self.ph = ph_jax

    def output(self, t, k, inputs, x, data):
        pH, _ = self.ph.ph_from_invariants_jax(x[..., 1], x[..., 2], self.block.params)
        return [pH[..., None]]

    def next_checked(self, t, inputs, x):
        q3 = check_width(self.block, 0, inputs[0], 1)[..., 0]
        b = self.block
        x_next, ok = self.ph.plant_step_jax(x, q3, b.Ts, b.params, b.substeps)
        return x_next, [(ok, REFUSED_FLOW)]


@register("recorder")
class Recorder(JaxBlock):
    """A sink: the backend records its input every step (``result.recorders[name]``)."""
