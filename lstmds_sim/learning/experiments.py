"""Measurements shared by the training labs (section 4 of the example): data, errors, what moved.

Plain functions: a linear system is a discrete ``scipy.signal.StateSpace(A, B, C, D, dt=Ts)``
that carries its own sample time (see :func:`lstmds_sim.systems.lti.as_discrete`);
responses of the true system come from ``scipy.signal.dlsim`` (the independent
reference), those of the LSTM from :func:`lstmds_sim.core.matrix.simulate`.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from ..core.matrix import simulate
from ..core.params import GATES, LSTMParams
from ..systems.lstm_linear import linear_from_lstm
from ..systems.lti import as_discrete, describe


def linear_response(system, u) -> np.ndarray:
    """y (T, p) of the linear system for input u (T, m), zero initial state.

    ``system`` is a discrete ``scipy.signal.StateSpace`` carrying its sample time ``dt``.
    """
    system = as_discrete(system)
    _, y, _ = signal.dlsim(system, u)
    return y.reshape(len(u), system.C.shape[0])


def linear_dataset(system, n_samples: int, seed: int):
    """Input ``randn(n_samples, m)`` (seeded) and the response from rest of ``system``
    (a discrete ``scipy.signal.StateSpace`` carrying its sample time ``dt``)."""
    system = as_discrete(system)
    u = np.random.default_rng(seed).standard_normal((n_samples, system.B.shape[1]))
    return u, linear_response(system, u)


def validation_errors(params: LSTMParams, system, u) -> dict:
    """Norm of the LSTM's difference from ``system`` on ``u``, and the 3u linearity test.

    ``system`` is a discrete ``scipy.signal.StateSpace`` carrying its sample time ``dt``.

    ``ratio_3u`` is error(3u) / error(u): 3 for an error that scales with the
    signal (a wrong linear model), 27 for the cubic tanh term of a good one.
    """
    y = linear_response(system, u)
    error = float(np.linalg.norm(simulate(params, u).y - y))
    error3 = float(np.linalg.norm(simulate(params, 3 * u).y - 3 * y))
    return {"norm_difference": error, "norm_y": float(np.linalg.norm(y)), "norm_difference_3u": error3,
            "ratio_3u": error3 / error if error > 0 else float("nan")}


def weight_changes(before: LSTMParams, after: LSTMParams) -> dict[str, float]:
    """Largest absolute change of each weight block: W, R, b per gate, then F and bF."""
    changes = {}
    for index, name in enumerate(("W", "R", "b")):
        for g in GATES:
            changes[f"{name}_{g}"] = float(np.max(np.abs(after.gate(g)[index] - before.gate(g)[index])))
    for name in ("F", "bF"):
        a, b = getattr(before, name), getattr(after, name)
        if a is not None:
            changes[name] = float(np.max(np.abs(b - a)))
    return changes


def weight_distance(a: LSTMParams, b: LSTMParams) -> float:
    """Euclidean distance between two parameter sets of the same shapes (all arrays together)."""
    arrays_a, arrays_b = a.arrays(), b.arrays()
    return float(np.sqrt(sum(np.sum((arrays_a[k] - arrays_b[k]) ** 2) for k in arrays_a)))


def extracted_system(params: LSTMParams, *, scale: float, dt: float) -> dict:
    """The linear system read from the weights (section 3 formulas), described like the true one.

    ``dt`` is the sample time the LSTM runs at (the weights do not hold it); see
    :func:`~lstmds_sim.systems.lstm_linear.linear_from_lstm`.
    """
    return describe(linear_from_lstm(params, scale=scale, dt=dt))


def loss_summary(history: np.ndarray) -> dict:
    """Where the loss curve has its minimum, and the final / initial ratio."""
    finite = np.where(np.isfinite(history), history, np.inf)
    best = int(np.argmin(finite))
    return {
        "initial_loss": float(history[0]), "final_loss": float(history[-1]), "best_epoch": best,
        "best_loss": float(history[best]), "final_over_initial": float(history[-1] / history[0]),
    }
