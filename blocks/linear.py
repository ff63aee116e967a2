"""Linear discrete-time systems."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.signal
from bdsim.components import Clock, SampledBlock

from lstmds_sim.blocks._ports import (
    BatchedState,
    check_block_finite,
    check_width,
    creation_label,
)
from lstmds_sim.core.validation import (
    ShapeError,
    as_float_array,
    initial_state,
    matrix,
)
from lstmds_sim.systems.lti import as_discrete


def _as_matrix(value, n: int, which: str, what: str) -> np.ndarray:
    """B or C given as a scalar or a 1-D array, made 2-D as in MATLAB's ss():

    a scalar is 1 x 1; with one state a vector is B's row (1, m) or C's column (p, 1);
    otherwise a vector of n entries is B's column (n, 1) or C's row (1, n).
    """
    arr = as_float_array(value, what)
    if arr.ndim == 0:
        return arr.reshape(1, 1)
    if arr.ndim == 1 and (n == 1 or arr.size == n):
        one_input_or_output = arr.size == n and n != 1
        if which == "B":
            return arr[:, None] if one_input_or_output else arr[None, :]
        return arr[None, :] if one_input_or_output else arr[:, None]
    return arr


def _system_matrices(name: str, system, others: tuple, clock: Clock) -> tuple:
    """``(A, B, C, D)`` of a discrete scipy system given to the block, whose ``dt`` must be the clock's period."""
    if any(x is not None for x in others):
        raise ValueError(f"{name}: a StateSpace holds B, C and D already; give it alone, or the matrices A, B, C, D")
    try:
        system = as_discrete(system)
    except ValueError as err:
        raise type(err)(f"{name}: {err}") from None
    if not np.isclose(system.dt, clock.T, rtol=1e-9, atol=0.0):
        raise ValueError(
            f"{name}: the system's sample time dt = {system.dt:g} differs from the clock's period "
            f"{clock.T:g}; use bd.clock({system.dt:g}) or discretise the system at {clock.T:g}"
        )
    return system.A, system.B, system.C, system.D


class DSS(BatchedState, SampledBlock):
    r"""
    :blockname:`DSS`

    Discrete-time state space :math:`x(k+1) = A x(k) + B u(k)`, :math:`y(k) = C x(k) + D u(k)` (Simulink's Discrete State-Space), batched.

    :inputs: 1
    :outputs: 1
    :states: n (or B x n)

    .. list-table::
        :header-rows: 1

        *   - Port type
            - Port number
            - Types
            - Description
        *   - Input
            - 0
            - ndarray (m,) or (B, m)
            - :math:`u(k)`
        *   - Output
            - 0
            - ndarray (p,) or (B, p)
            - :math:`y(k) = C x(k) + D u(k)`

    The system is given either as one discrete ``scipy.signal.StateSpace``
    carrying its sample time, ``bd.DSS(StateSpace(A, B, C, D, dt=Ts), clock=clock)``,
    whose ``dt`` must equal the clock's period, or as its matrices,
    ``bd.DSS(A, B, C, D, clock=clock)``, like Simulink's block (the sample
    time is then the clock's).

    With a non-zero D the block has direct feedthrough (bdsim schedules it
    after its input). Run it with :func:`lstmds_sim.run`: ``x(0) = x0`` and the
    input at step 0 acts, as in ``scipy.signal.dlsim``.
    """

    nin = 1
    nout = 1
    jax_twin = "lstmds_sim.blocks._compiled:DSS"  # its compiled twin (backend="jax")

    def __init__(self, A: Any, B: Any = None, C: Any = None, D: Any = None, clock: Clock = None, x0: Any = None,
                 **blockargs: Any) -> None:
        """
        :param A: state matrix, n x n; or the whole system, a discrete
            ``scipy.signal.StateSpace`` whose ``dt`` equals the clock's period
            (then B, C and D are not given)
        :type A: array_like or scipy.signal.StateSpace
        :param B: input matrix, n x m (not with a StateSpace)
        :type B: array_like
        :param C: output matrix, p x n (not with a StateSpace)
        :type C: array_like
        :param D: feedthrough matrix, p x m, defaults to zeros (not with a StateSpace)
        :type D: array_like, optional
        :param clock: clock that sets the sample time
        :type clock: Clock
        :param x0: initial state, (n,) or (B, n), defaults to zeros
        :type x0: array_like, optional
        :param blockargs: common block options
        :type blockargs: dict
        """
        name = creation_label("DSS", blockargs)
        if clock is None:
            raise ValueError(f"{name}: give the clock (bd.clock(Ts)) that sets the sample time")
        if isinstance(A, (scipy.signal.lti, scipy.signal.dlti)):
            A, B, C, D = _system_matrices(name, A, (B, C, D), clock)
        elif B is None or C is None:
            raise ValueError(
                f"{name}: give the system as a discrete scipy.signal.StateSpace(A, B, C, D, dt=Ts), "
                "or its matrices A, B, C (and D)"
            )
        A = np.atleast_2d(as_float_array(A, f"{name}: A"))
        if A.ndim != 2 or A.shape[0] != A.shape[1]:
            raise ShapeError(f"{name}: A has shape {A.shape}, expected a square (n, n) matrix")
        n = A.shape[0]
        A = matrix(A, (n, n), f"{name}: A")
        B = matrix(_as_matrix(B, n, "B", f"{name}: B"), (n, None), f"{name}: B (n = {n} states)")
        C = matrix(_as_matrix(C, n, "C", f"{name}: C"), (None, n), f"{name}: C (n = {n} states)")
        m, p = B.shape[1], C.shape[0]
        D = np.zeros((p, m)) if D is None else as_float_array(D, f"{name}: D")
        if D.ndim < 2 and D.size == p * m:
            D = D.reshape(p, m)
        elif D.size == 1 and D.item() == 0:
            D = np.zeros((p, m))  # D = 0 means no feedthrough, whatever the size (as in MATLAB's ss)
        D = matrix(D, (p, m), f"{name}: D (p = {p} outputs, m = {m} inputs)")
        x0 = initial_state(np.zeros(n) if x0 is None else x0, n, f"{name}: x0")
        super().__init__(clock=clock, x0=x0.ravel(), feedthrough=bool(np.any(D)), **blockargs)
        self.A, self.B, self.C, self.D = A, B, C, D
        self.x0 = x0

    def output(self, t: float, inputs: list[Any], x: np.ndarray) -> list[Any]:
        y = np.dot(self.shaped(x), self.C.T)
        if self._feedthrough:
            y = y + np.dot(check_width(self, 0, inputs[0], self.B.shape[1]), self.D.T)
        return [y]

    def next(self, t: float, inputs: list[Any], x: np.ndarray) -> np.ndarray:
        u = check_width(self, 0, inputs[0], self.B.shape[1])
        return check_block_finite(self, "next state", np.dot(x, self.A.T) + np.dot(u, self.B.T))
