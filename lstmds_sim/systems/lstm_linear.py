"""The LSTM that imitates a linear system, and the linear system read back from LSTM weights.

* :func:`lstm_from_linear` -- LSTM weights that make the layer behave like the
  linear system (every gate saturated, every tanh in its linear region).
* :func:`linear_from_lstm` -- the linear system read back from any LSTM weights.
* :func:`reproduced_system` -- the linear system that :func:`lstm_from_linear`'s
  LSTM really reproduces (it differs from ``(A, B, C, D)`` for ``units="n"``).

A linear system is a discrete ``scipy.signal.StateSpace(A, B, C, D, dt=Ts)``
that carries its own sample time (see :func:`lstmds_sim.systems.lti.as_discrete`).

Why the LSTM construction works
-------------------------------
With gate biases ``+100`` (input and output gates) and ``-100`` (forget gate) the
gates are 1, 0 and 1 to double precision, so one step of the layer reduces to
``c(k) = tanh(z_g)`` and ``h(k) = tanh(c(k))``.  When ``z_g`` is small (``scale``
small) both tanh are the identity up to a cubic term, and::

    h(k) ~= z_g(k) = W_g u(k) + R_g h(k-1)

which is a linear recursion.  With ``W_g = scale [B; I]`` and ``R_g = blkdiag(A, 0)``
the hidden state is ``h(k) = scale [x(k+1); u(k)]``: the LSTM carries the *next*
state.  The output layer must therefore undo one step of the dynamics,
``x(k) = A^-1 (x(k+1) - B u(k))``, which is why ``F`` contains ``A^-1`` and A must be
invertible.  The error of the approximation is the cubic term of
``tanh(tanh(z)) = z - 2 z^3 / 3 + ...``: relative to the output it shrinks like
``scale^2``.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.signal

from ..core.params import LSTMParams
from ..core.validation import positive
from .lti import as_discrete, condition_number

__all__ = ["MAX_COND", "UNITS", "linear_from_lstm", "lstm_from_linear", "reproduced_system"]

#: Systems whose A has a larger 2-norm condition number are refused by :func:`lstm_from_linear`.
MAX_COND = 1e12

UNITS = ("n+m", "n")


def _check_invertible(A: np.ndarray, max_cond: float) -> None:
    cond = condition_number(A)
    if not cond <= max_cond:
        raise ValueError(
            f"A has condition number {cond:.3g} (limit max_cond = {max_cond:.3g}): A must be invertible "
            "because the output layer F contains A^-1. The LSTM's hidden state holds "
            "scale*(A x(k) + B u(k)) = scale*x(k+1), one step ahead, and recovering y(k) = C x(k) + D u(k) "
            "needs x(k) = A^-1 (x(k+1) - B u(k)). A singular A (a pole at z = 0, e.g. a pure delay) "
            "loses x(k) for good; an ill-conditioned one amplifies the tanh error by up to the condition number"
        )


def lstm_from_linear(
    system, *, scale: float = 1e-3, gate_bias: float = 100.0, units: str = "n+m", max_cond: float = MAX_COND,
) -> LSTMParams:
    """LSTM weights that make one layer (plus output layer) imitate the linear system.

    Gates are stacked ``[i; f; g; o]``; only the cell-candidate gate g has
    non-zero weights, the biases hold the input and output gates open and the
    forget gate shut.  With ``units="n+m"`` (``Nn = n + m``)::

        W  = scale * [0; 0; [B; I_m]; 0]
        R  = [0; 0; blkdiag(A, 0_m); 0]
        b  = [+gate_bias; -gate_bias; 0; +gate_bias]
        F  = [C A^-1,  D - C A^-1 B] / scale,    bF = 0

    so that ``h(k) ~= scale [x(k+1); u(k)]`` and ``y(k) ~= C x(k) + D u(k)``.

    With ``units="n"`` (``Nn = n``): ``W_g = scale B``, ``R_g = A``,
    ``F = C A^-1 / scale``.  Then ``h(k) ~= scale x(k+1)`` and
    ``y(k) ~= C A^-1 x(k+1) = C x(k) + C A^-1 B u(k)``: the LSTM realises
    ``(A, B, C, C A^-1 B)`` -- D is replaced by ``C A^-1 B``, whatever D was.
    Its transfer function is ``H(z) - H(0)``, which vanishes at z = 0, so it
    equals the original only when ``D = C A^-1 B``.  :func:`reproduced_system`
    returns the system each variant imitates.

    Parameters
    ----------
    system : scipy.signal.StateSpace
        The discrete-time system, carrying its sample time ``dt`` (see
        :func:`~lstmds_sim.systems.lti.as_discrete`).  The weights do not
        depend on ``dt``: the LSTM runs at the system's sample time.
    scale : float
        Size of the signals inside the LSTM (> 0).  The tanh error relative to the
        output shrinks like ``scale^2``; too small a scale loses precision to the
        ``1/scale`` in F.
    gate_bias : float
        Bias that saturates the gates (sigmoid(100) is 1 in double precision).
    units : ``"n+m"`` or ``"n"``
    max_cond : float
        Largest accepted 2-norm condition number of A.

    Raises
    ------
    ValueError
        A is singular or its condition number exceeds ``max_cond``; ``scale`` or
        ``gate_bias`` is not a finite positive number; unknown ``units``; a
        continuous system or one without ``dt``.
    """
    system = as_discrete(system)
    A, B, C, D = system.A, system.B, system.C, system.D
    scale = positive(scale, "scale")
    gate_bias = positive(gate_bias, "gate_bias")
    if units not in UNITS:
        raise ValueError(f"units must be one of {UNITS}, got {units!r}")
    _check_invertible(A, max_cond)
    n, m = B.shape
    CAinv = np.linalg.solve(A.T, C.T).T  # C A^-1 without forming the inverse
    if units == "n+m":
        Wg = scale * np.vstack([B, np.eye(m)])
        Rg = scipy.linalg.block_diag(A, np.zeros((m, m)))
        F = np.hstack([CAinv, D - CAinv @ B]) / scale
    else:
        Wg = scale * B
        Rg = A
        F = CAinv / scale
    nn = Rg.shape[0]
    W = np.vstack([np.zeros((2 * nn, m)), Wg, np.zeros((nn, m))])
    R = np.vstack([np.zeros((2 * nn, nn)), Rg, np.zeros((nn, nn))])
    b = np.concatenate([np.full(nn, gate_bias), np.full(nn, -gate_bias), np.zeros(nn), np.full(nn, gate_bias)])
    return LSTMParams(W, R, b, F, np.zeros(F.shape[0]))


def reproduced_system(system, *, units: str = "n+m") -> scipy.signal.StateSpace:
    """The linear system that :func:`lstm_from_linear`'s LSTM imitates (as scale -> 0).

    ``system`` is a discrete ``scipy.signal.StateSpace`` carrying its sample time
    ``dt``; so is the result, with the same ``dt``.  ``units="n+m"``:
    ``(A, B, C, D)`` itself.  ``units="n"``: ``(A, B, C, C A^-1 B)``.
    """
    system = as_discrete(system)
    if units not in UNITS:
        raise ValueError(f"units must be one of {UNITS}, got {units!r}")
    if units == "n+m":
        return system
    A, B, C = system.A, system.B, system.C
    return scipy.signal.StateSpace(A, B, C, C @ np.linalg.solve(A, B), dt=system.dt)


def linear_from_lstm(params: LSTMParams, *, scale: float = 1e-3, dt: float) -> scipy.signal.StateSpace:
    """The linear system in an LSTM's cell-candidate weights (section 3 of the example).

    ``Ann = R_g``, ``Bnn = W_g / scale``, ``Cnn = scale F Ann``, ``Dnn = scale F Bnn``.

    This is the layer's small-signal model when the input and output gates are
    open (1), the forget gate shut (0) and ``b_g`` negligible: then
    ``h(k) ~= R_g h(k-1) + W_g u(k)`` and, with the state ``xi(k) = h(k-1) / scale``,
    ``xi(k+1) = Ann xi(k) + Bnn u(k)``, ``y(k) = F h(k) = Cnn xi(k) + Dnn u(k)``.
    It can be applied to any weights with an output layer (trained ones, too):
    the gate weights, the biases and the output bias bF are ignored, so judge
    whether the gates really are saturated before trusting the result.  The
    transfer function ``z F (zI - R_g)^-1 W_g`` does not depend on ``scale``;
    ``scale`` only chooses the state coordinates.  Its factor ``z`` puts a zero
    at the origin in every channel, cancelled only by a pole at the origin
    (a singular R_g, like the ``blkdiag(A, 0)`` of :func:`lstm_from_linear`).

    ``dt`` is the sample time the LSTM runs at (> 0, required: the weights do not
    hold it); the result carries it.

    Returns
    -------
    scipy.signal.StateSpace
        Discrete (``dt``), with Ann, Bnn, Cnn, Dnn of shapes (Nn, Nn), (Nn, Ni), (No, Nn), (No, Ni).
    """
    if not isinstance(params, LSTMParams):
        raise TypeError(f"params is {type(params).__name__}, expected LSTMParams")
    if params.F is None:
        raise ValueError("params has no output layer F: y = F h is needed to read C and D; pass LSTMParams(..., F=...)")
    scale = positive(scale, "scale")
    Wg, Rg, _ = params.gate("g")
    Ann = np.array(Rg)
    Bnn = np.array(Wg) / scale
    Cnn = scale * params.F @ Ann
    Dnn = scale * params.F @ Bnn
    return as_discrete((Ann, Bnn, Cnn, Dnn), dt)
