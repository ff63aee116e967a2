"""The linear reference plant of the LSTM-as-a-dynamical-system example.

A fourth-order continuous plant (zero -4, poles -9+-5j and -2+-50j, gain 5e5)
discretised with a zero-order hold at Ts = 0.01, in scipy's canonical or the
balanced realisation.
"""

from __future__ import annotations

import scipy.signal

from ..core.validation import positive
from .lti import balanced_realization

__all__ = ["REALIZATIONS", "REFERENCE_ZPK", "reference_system", "reference_system_continuous"]

#: The example's continuous-time plant: (zeros, poles, gain).
REFERENCE_ZPK: tuple[tuple[complex, ...], tuple[complex, ...], float] = (
    (-4.0,),
    (-9 + 5j, -9 - 5j, -2 + 50j, -2 - 50j),
    5e5,
)

REALIZATIONS = ("canonical", "balanced")


def reference_system_continuous() -> scipy.signal.ZerosPolesGain:
    """The example's continuous-time plant as a ``scipy.signal.ZerosPolesGain``.

    ``H(s) = 5e5 (s + 4) / ((s^2 + 18 s + 106) (s^2 + 4 s + 2504))``: 4 poles, one
    zero, relative degree 3, DC gain ``5e5 * 4 / (106 * 2504) ~= 7.535``.
    """
    zeros, poles, gain = REFERENCE_ZPK
    return scipy.signal.ZerosPolesGain(list(zeros), list(poles), gain)


def reference_system(Ts: float = 0.01, *, realization: str = "canonical") -> scipy.signal.StateSpace:
    """The example's plant discretised with a zero-order hold at sample time ``Ts``.

    Returns a discrete ``scipy.signal.StateSpace`` (``dt = Ts``) with A (4, 4),
    B (4, 1), C (1, 4) and D (1, 1); D is 0 because the continuous model is
    strictly proper.  A state-space realisation is not unique:

    * ``"canonical"``: scipy's controller canonical form of the continuous model
      (``zpk2ss``), discretised exactly (``cont2discrete``, ``"zoh"``).  Its states
      differ in size by ten orders of magnitude (B ~ 1e-10 ... 1e-2, C ~ 2e6,
      cond(A) ~ 7e6), so the LSTM's output weights reach ~2e9.
    * ``"balanced"``: the same discrete system in balanced coordinates
      (:func:`balanced_realization`, MATLAB's ``balreal``): every state equally
      controllable and observable, cond(A) ~ 1.2, output weights ~1.6e3.

    Other state coordinates mean other LSTM weights and another size of the tanh
    error (which depends on the size of x, not of y) -- and a very different
    training landscape (see the ``training_basin`` lab).
    """
    Ts = positive(Ts, "Ts (sample time)")
    if realization not in REALIZATIONS:
        raise ValueError(f"realization must be one of {REALIZATIONS}, got {realization!r}")
    sys = reference_system_continuous().to_ss().to_discrete(Ts, method="zoh")
    if realization == "balanced":
        return balanced_realization(sys)
    return sys
