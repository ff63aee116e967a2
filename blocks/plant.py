"""Process plants as sampled blocks: continuous-time states integrated over each sample period."""

from __future__ import annotations

from typing import Any

import numpy as np
from bdsim.components import Clock, SampledBlock

from lstmds_sim.blocks._ports import BatchedState, check_width, creation_label
from lstmds_sim.core.validation import initial_state
from lstmds_sim.systems.ph_plant import (
    DEFAULT_PARAMS,
    ph_from_invariants,
    steady_state,
    step_plant,
)


class PHPlant(BatchedState, SampledBlock):
    r"""
    :blockname:`PHPLANT`

    pH neutralisation tank (Henson & Seborg), sampled every Ts with the base flow held (zero-order hold).

    :inputs: 1
    :outputs: 1
    :states: 3 (h, Wa4, Wb4), or B x 3

    .. list-table::
        :header-rows: 1

        *   - Port type
            - Port number
            - Types
            - Description
        *   - Input
            - 0
            - float, ndarray (1,) or (B, 1)
            - base flow :math:`q_3(k)` [ml/s], held over :math:`[k T_s, (k+1) T_s)`
        *   - Output
            - 0
            - ndarray (1,) or (B, 1)
            - :math:`pH(k) = pH(x(k T_s))`, sampled before :math:`q_3(k)` acts (strictly proper)

    The continuous-time states (level h [cm], reaction invariants Wa4, Wb4
    [mol/L]) live inside the block and are integrated over each period with
    RK4 (:func:`lstmds_sim.systems.ph_plant.step_plant`). Negative or non-finite flows
    are refused with an error naming the flow.
    """

    nin = 1
    nout = 1
    jax_twin = "lstmds_sim.systems.ph_jax:PHPlantTwin"  # its compiled twin (backend="jax")

    def __init__(self, clock: Clock, x0: Any = None, q3_0: float = 15.55, params: Any = None,
                 substeps: int = 4, **blockargs: Any) -> None:
        """
        :param clock: clock whose period is the sampling time Ts [s]
        :type clock: Clock
        :param x0: initial state (h, Wa4, Wb4), (3,) or (B, 3), defaults to the steady state at q3_0
        :type x0: array_like, optional
        :param q3_0: base flow [ml/s] whose steady state is the default x0, defaults to 15.55 (pH 7.0)
        :type q3_0: float, optional
        :param params: plant parameters, defaults to the nominal PHParams()
        :type params: PHParams, optional
        :param substeps: RK4 steps per sample period, defaults to 4
        :type substeps: int, optional
        :param blockargs: common block options
        :type blockargs: dict
        """
        self.params = DEFAULT_PARAMS if params is None else params
        x0 = initial_state(steady_state(q3_0, self.params).x if x0 is None else x0, 3,
                           f"{creation_label('PHPLANT', blockargs)}: x0", meaning=" = (h, Wa4, Wb4)")
        super().__init__(clock=clock, x0=x0.ravel(), **blockargs)
        self.x0 = x0
        self.substeps = int(substeps)
        self.Ts = clock.T

    def output(self, t: float, inputs: list[Any], x: np.ndarray) -> list[Any]:
        x = self.shaped(x)
        return [ph_from_invariants(x[..., 1], x[..., 2], self.params)[..., None]]

    def next(self, t: float, inputs: list[Any], x: np.ndarray) -> np.ndarray:
        q3 = check_width(self, 0, inputs[0], 1)[..., 0]  # (1,) -> one tank, (B, 1) -> B tanks
        try:
            return step_plant(x, q3, Ts=self.Ts, params=self.params, substeps=self.substeps)
        except ValueError as err:
            raise type(err)(f"PHPLANT block '{self.name}': {err}") from None
