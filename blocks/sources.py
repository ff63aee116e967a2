"""Source blocks."""

from __future__ import annotations

from typing import Any

import numpy as np
from bdsim.components import Clock, SourceBlock

from lstmds_sim.core.errors import SequenceEndError
from lstmds_sim.core.validation import check_input_sequence

__all__ = ["Sequence", "SequenceEndError"]


class Sequence(SourceBlock):
    r"""
    :blockname:`SEQUENCE`

    Emit sample k of an array at step k (Simulink's From Workspace).

    :inputs: 0
    :outputs: 1
    :states: 0

    .. list-table::
        :header-rows: 1

        *   - Port type
            - Port number
            - Types
            - Description
        *   - Output
            - 0
            - ndarray (n,) or (B, n)
            - :math:`u(k)`: ``data[k]``, or ``data[:, k]`` for batched data

    ``data`` is (T, n), or (B, T, n) for a batch of B sequences; a 1-D array
    of length T is one channel (T, 1). Step k is the clock tick at
    ``t = k T``; asking for k >= T raises an error saying so.
    """

    nin = 0
    nout = 1
    jax_twin = "lstmds_sim.blocks._compiled:Sequence"  # its compiled twin (backend="jax")

    def __init__(self, data: Any, clock: Clock, **blockargs: Any) -> None:
        """
        :param data: samples, (T, n) or batched (B, T, n)
        :type data: array_like
        :param clock: clock that sets the sample time
        :type clock: Clock
        :param blockargs: common block options
        :type blockargs: dict
        """
        super().__init__(**blockargs)
        sequence = check_input_sequence(data, None, f"SEQUENCE block '{self.name}': data")
        self.data = sequence.data
        self.batch = sequence.batch  #: B for a batch of sequences, None for one
        self.clock = clock
        self._steps = None  # the samples step-major, made when the interpreter first asks for one

    @property
    def steps_major(self) -> np.ndarray:
        """The samples laid out step-major, (T, [B,] n), so that each step's batch slice is contiguous.

        Made on first use: a diagram that only the compiled backend runs (with
        its own inputs, say) never pays for the copy.
        """
        if self._steps is None:
            self._steps = np.ascontiguousarray(np.moveaxis(self.data, -2, 0)) if self.batch is not None else self.data
        return self._steps

    @property
    def n_samples(self) -> int:
        """T, the number of samples."""
        return self.data.shape[-2]

    def output(self, t: float, inputs: list[Any], x: Any) -> list[Any]:
        k = int(round((t - self.clock.offset) / self.clock.T))  # noqa: RUF046 (numpy 1.x: round gives a float64)
        if not 0 <= k < self.n_samples:
            raise SequenceEndError(
                f"SEQUENCE block '{self.name}': step {k} (t = {t:g}) is past the end of its "
                f"{self.n_samples} samples; run fewer steps or give more data"
            )
        return [self.steps_major[k]]
