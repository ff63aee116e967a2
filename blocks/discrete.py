"""Discrete-time state blocks."""

from __future__ import annotations

from typing import Any

import numpy as np
from bdsim.components import Clock, SampledBlock

from lstmds_sim.blocks._ports import (
    BatchedState,
    block_label,
    check_block_finite,
    creation_label,
)
from lstmds_sim.core.validation import delay_input, initial_state


class UnitDelay(BatchedState, SampledBlock):
    r"""
    :blockname:`UNITDELAY`

    Unit delay :math:`y(k) = x(k-1)`, :math:`y(0) = x_0` (Simulink's Unit Delay, :math:`z^{-1}`).

    :inputs: 1
    :outputs: 1
    :states: size of x0

    .. list-table::
        :header-rows: 1

        *   - Port type
            - Port number
            - Types
            - Description
        *   - Input
            - 0
            - ndarray (n,) or (B, n)
            - :math:`x(k)`, the shape of ``x0`` (a batch of B rows allowed when ``x0`` is (n,))
        *   - Output
            - 0
            - ndarray, shape of the state
            - :math:`x(k-1)`

    The state keeps its shape: a vector, or a batch x vector array. Run it with
    :func:`lstmds_sim.run`, which gives exact discrete-time semantics: the
    input at step 0 reaches the output at step 1 (an accumulator fed 1, 10,
    100 outputs 1, 11, 111).
    """

    nin = 1
    nout = 1
    jax_twin = "lstmds_sim.blocks._compiled:UnitDelay"  # its compiled twin (backend="jax")

    def __init__(self, clock: Clock, x0: Any = 0.0, **blockargs: Any) -> None:
        """
        :param clock: clock that sets the sample time
        :type clock: Clock
        :param x0: initial state, (n,) or (B, n), defaults to 0
        :type x0: array_like, optional
        :param blockargs: common block options
        :type blockargs: dict
        """
        x0 = initial_state(x0, None, f"{creation_label('UNITDELAY', blockargs)}: x0")
        super().__init__(clock=clock, x0=x0.ravel(), **blockargs)
        self.x0 = x0

    def output(self, t: float, inputs: list[Any], x: np.ndarray) -> list[Any]:
        return [self.shaped(x)]

    def next(self, t: float, inputs: list[Any], x: np.ndarray) -> np.ndarray:
        u = np.asarray(inputs[0], dtype=float)
        if u.shape != x.shape:
            delay_input(u.shape, x.shape, self.x0.ndim, block_label(self))
            u = np.broadcast_to(u, np.broadcast_shapes(u.shape, x.shape))
        return check_block_finite(self, "input 0 (next state)", np.array(u, dtype=float))
