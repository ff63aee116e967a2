"""bdsim's stock blocks as pure ``jax.numpy`` functions, with the semantics the numpy engine gives them.

=================  ==============================================================
stock block        under ``backend="jax"``
=================  ==============================================================
CONSTANT           its value (baked into the compiled program)
SUM                signed sum (``mode`` for angles is refused)
GAIN               bdsim's rule: array input and array K: ``u @ K`` (``K @ u`` with
                   ``premul``), otherwise ``u * K``
POW                ``u ** p`` elementwise (``matrix=True`` is refused)
FUNCTION           its function on JAX arrays, or its registered ``jax.numpy``
                   twin; refused at compile time when it cannot be traced
INTEGRATOR         :mod:`..kernels`' batched integrator (gain, min/max)
LTI_SS, LTI_SISO,  ``x' = A x + B u``, ``y = C x (+ D u)``, batched
DERIV2
ZOH                samples its input at its tick, holds it until the next
INPORT, OUTPORT    pass their inputs through (subsystems are flattened)
NULL, WATCH        NULL discards; WATCH records like a RECORDER
=================  ==============================================================

A value is a JAX array; a 0-d array stands for the Python float bdsim's blocks
pass (a CONSTANT 2.0), so rules that depend on "is it an ndarray" read
``ndim >= 1``.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from ..errors import DiagramError
from .registry import JaxBlock, function_twin, label, register


def wire(value):
    """An output as bdsim's blocks give it (:func:`..kernels._wire`): a one-element vector as a 0-d value."""
    return value.reshape(()) if value.ndim == 1 and value.shape[0] == 1 else value


def column(value):
    """A port value as ``(n,)`` or ``(B, n)`` (a scalar is ``(1,)``), as :func:`..kernels._column`."""
    value = jnp.asarray(value)
    return value.reshape(1) if value.ndim == 0 else value


@register("constant")
class Constant(JaxBlock):
    def __init__(self, block) -> None:
        super().__init__(block)
        self.value = np.asarray(block.value, dtype=float)

    def output(self, t, k, inputs, x, data):
        return [jnp.asarray(self.value)]


@register("sum")
class Sum(JaxBlock):
    def __init__(self, block) -> None:
        super().__init__(block)
        if block.mode is not None:
            raise DiagramError(f"{label(block)}: backend='jax' does not wrap angles (mode={block.mode!r}); "
                               "drop mode or use backend='numpy'")
        self.signs = block.signs

    def output(self, t, k, inputs, x, data):
        total = None
        for sign, value in zip(self.signs, inputs):
            if total is None:
                total = -value if sign == "-" else value
            else:
                total = total - value if sign == "-" else total + value
        return [total]


@register("gain")
class Gain(JaxBlock):
    def __init__(self, block) -> None:
        super().__init__(block)
        self.K = block.K
        self.matrix = isinstance(block.K, np.ndarray)
        self.premul = block.premul

    def output(self, t, k, inputs, x, data):
        u = inputs[0]
        if self.matrix and u.ndim >= 1:
            K = jnp.asarray(self.K, dtype=float)
            return [K @ u if self.premul else u @ K]
        return [u * self.K]


@register("pow")
class Pow(JaxBlock):
    def __init__(self, block) -> None:
        super().__init__(block)
        if block.matrix:
            raise DiagramError(f"{label(block)}: backend='jax' raises elementwise only (matrix=True); "
                               "use backend='numpy'")
        self.p = block.p

    def output(self, t, k, inputs, x, data):
        u = inputs[0]
        if self.p == -1:  # numpy's fast path: the reciprocal
            return [1.0 / u]
        return [u**self.p]


@register("function")
class Function(JaxBlock):
    def __init__(self, block) -> None:
        super().__init__(block)
        if block.userdata is not None:
            raise DiagramError(f"{label(block)}: backend='jax' cannot run a FUNCTION with persistent=True "
                               "(its state lives in Python); use backend='numpy'")
        functions = block.func if isinstance(block.func, (list, tuple)) else [block.func]
        self.functions = [function_twin(f) or f for f in functions]
        self.single = callable(block.func)

    def output(self, t, k, inputs, x, data):
        b = self.block
        try:
            values = [f(*inputs, *b.args, **b.kwargs) for f in self.functions]
        except Exception as err:  # noqa: BLE001  (any failure to trace is the same refusal)
            name = getattr(b.func, "__name__", type(b.func).__name__) if self.single else "its functions"
            reason = str(err).strip().splitlines()[0] if str(err).strip() else ""
            raise DiagramError(
                f"{label(b)}: its function {name} cannot run on JAX arrays ({type(err).__name__}: {reason}); "
                "write it with jax.numpy, register a jax.numpy twin with "
                "lstmds_sim.core.compiled.register_function(f, f_jax), or use backend='numpy'"
            ) from None
        if self.single:
            value = values[0]
            values = list(value) if isinstance(value, (list, tuple)) else [value]
        if len(values) != b.nout:
            raise DiagramError(f"{label(b)}: its function returns {len(values)} value(s), the block has "
                               f"{b.nout} output(s)")
        return [jnp.asarray(v, dtype=float) for v in values]


@register("integrator")
class Integrator(JaxBlock):
    def __init__(self, block) -> None:
        super().__init__(block)
        self.x0 = np.asarray(block.getstate0(), dtype=float)

    def output(self, t, k, inputs, x, data):
        return [wire(x)]

    def deriv(self, t, inputs, x):
        b = self.block
        u = column(inputs[0])
        xd = b.gain * jnp.broadcast_to(u, jnp.broadcast_shapes(u.shape, x.shape))
        xb = jnp.broadcast_to(x, xd.shape)
        if b.min is not None:
            xd = jnp.where(xb < b.min, 0.0, xd)
        if b.max is not None:
            xd = jnp.where(xb > b.max, 0.0, xd)
        return xd


@register("lti_ss", "lti_siso", "deriv2")
class LTI(JaxBlock):
    def __init__(self, block) -> None:
        from bdsim.blocks.continuous import LTI_SS

        super().__init__(block)
        if not isinstance(block, LTI_SS):
            raise DiagramError(f"{label(block)} is not an LTI_SS system; backend='jax' cannot run it")
        self.x0 = np.asarray(block.getstate0(), dtype=float)
        self.A, self.B, self.C = (np.asarray(m, dtype=float) for m in (block.A, block.B, block.C))
        self.D = None if block.D is None else np.asarray(block.D, dtype=float)

    @staticmethod
    def _u(inputs):
        cols = [column(u) for u in inputs]
        if len(cols) == 1:
            return cols[0]
        rows = max((c.shape[0] for c in cols if c.ndim == 2), default=None)
        if rows is not None:
            cols = [jnp.broadcast_to(c, (rows, c.shape[-1])) for c in cols]
        return jnp.concatenate(cols, axis=-1)

    def output(self, t, k, inputs, x, data):
        y = x @ self.C.T
        if self.D is not None:
            y = y + self._u(inputs) @ self.D.T
        return [wire(y)]

    def deriv(self, t, inputs, x):
        return x @ self.A.T + self._u(inputs) @ self.B.T


@register("zoh")
class ZOH(JaxBlock):
    """Samples its input at its tick (direct feedthrough) and holds it until the next; the state keeps the sample."""

    def __init__(self, block) -> None:
        super().__init__(block)
        self.x0 = np.asarray(block.getstate0(), dtype=float)

    def output(self, t, k, inputs, x, data):
        return [wire(inputs[0]) if inputs[0].ndim == 1 else inputs[0]]

    def next(self, t, inputs, x):
        return column(inputs[0])


@register("inport", "outport")
class PassThrough(JaxBlock):
    def output(self, t, k, inputs, x, data):
        return list(inputs)


@register("null", "watch")
class Sink(JaxBlock):
    """NULL and WATCH have no outputs; the backend records WATCH's inputs like a RECORDER's."""

    def __init__(self, block) -> None:
        super().__init__(block)
        self.records = block.type == "watch"
