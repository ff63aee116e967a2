"""Sink blocks."""

from __future__ import annotations

from typing import Any

import numpy as np
from bdsim.components import SinkBlock

from lstmds_sim.core.engine import stack_steps


class Recorder(SinkBlock):
    r"""
    :blockname:`RECORDER`

    Keep every step's value of a signal (Simulink's To Workspace), batched or not.

    :inputs: 1
    :outputs: 0
    :states: 0

    .. list-table::
        :header-rows: 1

        *   - Port type
            - Port number
            - Types
            - Description
        *   - Input
            - 0
            - float, ndarray (n,) or (B, n)
            - :math:`x(k)`

    After a run, :attr:`data` is (T, n), or (B, T, n) for a batched signal
    (batch first, as the inputs of :class:`SEQUENCE`), and :attr:`t` the step
    times. Only this signal is kept, not the whole diagram state.
    """

    nin = 1
    nout = 0
    jax_twin = "lstmds_sim.blocks._compiled:Recorder"  # its compiled twin (backend="jax")
    records = True  # its data is a record of the run (RunResult.recorders)

    def __init__(self, **blockargs: Any) -> None:
        """
        :param blockargs: common block options
        :type blockargs: dict
        """
        super().__init__(**blockargs)
        self.clear()

    def clear(self) -> None:
        """Forget what was recorded."""
        self._values: list[np.ndarray] = []
        self._times: list[float] = []

    def start(self, simstate: Any = None) -> None:
        self.clear()

    def step(self, t: float, inputs: list[Any]) -> None:
        self._values.append(np.array(inputs[0], dtype=float))
        self._times.append(t)

    @property
    def t(self) -> np.ndarray:
        """Times of the recorded steps."""
        return np.array(self._times)

    @property
    def data(self) -> np.ndarray:
        """Recorded values, (T, ...) or (B, T, n) for batched signals."""
        return stack_steps(self._values)
