"""How the engine runs bdsim's stock blocks: batched kernels, and the blocks it refuses.

This project's blocks take a vector ``(n,)`` or a batch ``(B, n)`` on every port.
bdsim's own blocks take one vector (``smb.getvector``) and output a one-element
vector as a float, so a batch of 2964 tanks drawn from ``INTEGRATOR`` blocks
could not run. A *kernel* runs a stock block with the block's own parameters in
this project's convention: outputs ``(n,)`` or ``(B, n)`` arrays, a batch kept
row by row. Every other block runs through its own ``output`` / ``deriv`` /
``next`` methods, one vector at a time, with bdsim's semantics.

=================  ==============================================================
stock block        how it runs under :func:`lstmds_sim.run`
=================  ==============================================================
INTEGRATOR         batched kernel (gain, min/max limits as bdsim)
LTI_SS, LTI_SISO,  batched kernel ``x' = A x + B u``, ``y = C x (+ D u)``
DERIV2
ZOH                batched kernel: samples its input at the tick, holds it until the next
SCOPE, SCOPEXY,    recorded each step, drawn by :mod:`lstmds_sim.core.scope`
SCOPEXY1
WATCH              recorded each step, returned like a RECORDER
STOP               ends the run where its metric rises through zero (located while
                   integrating), or at the first output instant it is true
EVENT              its handler called where its input crosses zero (located while
                   integrating; RK4 with root finding, or solve_ivp's events)
ANIMATION, other   run through their own start/step (graphics on, animation off):
graphics blocks    each draws into its figure, returned at the end
everything else    the block's own methods, one vector at a time
=================  ==============================================================
"""

from __future__ import annotations

import numpy as np

__all__ = ["REFUSED", "kernel_for", "refusal"]

#: Stock blocks the engine cannot run, and what to use instead.
REFUSED: dict = {}


def refusal(block) -> str | None:
    """Why ``block`` cannot run (one line), or None."""
    reason = REFUSED.get(block.type)
    return None if reason is None else f"{block.type.upper()} block '{block.name}' is not supported: {reason}"


def _column(value) -> np.ndarray:
    """A port value as ``(n,)`` or ``(B, n)`` (a scalar is ``(1,)``)."""
    arr = np.asarray(value, dtype=float)
    return arr.reshape(1) if arr.ndim == 0 else arr


def _wire(value):
    """An output as bdsim's blocks give it: a one-element vector as a float, anything else as it is
    (a batch ``(B, 1)`` stays an array)."""
    if isinstance(value, np.ndarray) and value.ndim == 1 and value.size == 1:
        return value.item()
    return value


class Kernel:
    """The block's own methods (bdsim semantics, one vector at a time)."""

    def __init__(self, block) -> None:
        self.block = block

    def output(self, t, inputs, x):
        return self.block.output(t, inputs, x)

    def deriv(self, t, inputs, x):
        return self.block.deriv(t, inputs, x)

    def next(self, t, inputs, x):
        return self.block.next(t, inputs, x)


class IntegratorKernel(Kernel):
    """``INTEGRATOR``: ``x' = gain u``, held at its ``min``/``max`` limits; ``y = x``, ``(n,)`` or ``(B, n)``
    (one state: a float, as bdsim's)."""

    def output(self, t, inputs, x):
        return [_wire(x)]

    def deriv(self, t, inputs, x):
        b = self.block
        u = _column(inputs[0])
        xd = b.gain * np.broadcast_to(u, np.broadcast_shapes(u.shape, x.shape))
        if b.min is not None or b.max is not None:
            xd = xd.copy()
            xb = np.broadcast_to(x, xd.shape)
            if b.min is not None:
                xd[xb < b.min] = 0.0
            if b.max is not None:
                xd[xb > b.max] = 0.0
        return xd


class LTIKernel(Kernel):
    """``LTI_SS`` and its subclasses: ``x' = A x + B u``, ``y = C x + D u``, over rows of a batch."""

    def _u(self, inputs) -> np.ndarray:
        cols = [_column(u) for u in inputs]
        if len(cols) == 1:
            return cols[0]
        rows = max((c.shape[0] for c in cols if c.ndim == 2), default=None)
        if rows is not None:
            cols = [np.broadcast_to(c, (rows, c.shape[-1])) for c in cols]
        return np.concatenate(cols, axis=-1)

    def output(self, t, inputs, x):
        b = self.block
        y = x @ b.C.T
        if b.D is not None:
            y = y + self._u(inputs) @ b.D.T
        return [_wire(y)]

    def deriv(self, t, inputs, x):
        b = self.block
        return x @ b.A.T + self._u(inputs) @ b.B.T


class ZOHKernel(Kernel):
    """``ZOH``: samples its input at its tick and holds it until the next (Simulink's Zero-Order Hold, and what
    bdsim's runner gives: direct feedthrough at the tick); the state keeps the last sample. A batch is kept."""

    def output(self, t, inputs, x):
        value = inputs[0]
        return [_wire(np.array(value, dtype=float)) if isinstance(value, np.ndarray) else value]

    def next(self, t, inputs, x):
        return np.array(_column(inputs[0]), dtype=float)


def kernel_for(block) -> Kernel:
    """The kernel that runs ``block`` (its own methods unless a batched kernel is listed)."""
    from bdsim.blocks.continuous import LTI_SS, Integrator
    from bdsim.blocks.sampled import ZOH

    for cls, kernel in ((Integrator, IntegratorKernel), (LTI_SS, LTIKernel), (ZOH, ZOHKernel)):
        if type(block) is cls or (cls is LTI_SS and isinstance(block, cls)):
            return kernel(block)
    return Kernel(block)
