"""Measurements of the training and identification labs: data, errors, what moved, named runs.

The training labs (section 4 of the "LSTM as a dynamical system" example) train from computed or
random weights and compare with the linear system (:func:`train_named`, :func:`training_record`,
:func:`round_trip`); the identification lab fits the pH plant with and without Theorem 4
(:func:`identify`); the scenario lab trains its ISS-certified model the same way when given none
(:func:`train_iss_model`).

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


def train_named(start: LSTMParams, u, y, options, *, label: str, progress=None):
    """:func:`~lstmds_sim.learning.training.train` with the run named before it starts.

    On a terminal a tqdm bar labelled ``label`` appears at once; elsewhere a line
    ``LABEL: N epochs ...`` comes first, then at most one line per 5 s (and a "still
    working" line after 8 s of silence, e.g. while the training loop compiles), then
    ``LABEL: done in S s``. ``progress=False`` is silent. The result is the same
    whatever is shown.
    """
    from ..core.progress import HEARTBEAT_S, Reporter
    from .training import train

    reporter = Reporter(progress, options.max_epochs, label=label, every_s=5.0, heartbeat_s=HEARTBEAT_S, announce=True)
    with reporter:
        return train(start, u, y, options, label=label,
                     progress=lambda epoch, loss, lr: reporter.update(epoch, epoch - reporter.done, loss, lr))


def training_record(start: LSTMParams, result, system, u_val, *, scale: float) -> dict:
    """What the training labs report of one run: where the loss went, what moved, how it validates
    against ``system`` before and after, and the linear system read back from the trained weights."""
    return {
        **loss_summary(result.history),
        "elapsed_s": result.elapsed_s,
        "weight_changes": weight_changes(start, result.params),
        "validation_before": validation_errors(start, system, u_val),
        "validation": validation_errors(result.params, system, u_val),
        "extracted_system": extracted_system(result.params, scale=scale, dt=system.dt),
    }


def round_trip(system, params: LSTMParams, *, scale: float, points: int = 200) -> dict:
    """system -> weights -> system: the system read back from ``params`` (described) and the largest
    difference of the two frequency responses, relative to the largest gain, up to Nyquist."""
    from ..systems.lti import frequency_response

    system = as_discrete(system)
    extracted = linear_from_lstm(params, scale=scale, dt=system.dt)  # the LSTM runs at the system's dt
    w = np.logspace(-1, np.log10(np.pi / system.dt), points)
    H = frequency_response(system, w)
    H_back = frequency_response(extracted, w)
    return {
        "extracted": describe(extracted),
        "max_relative_frequency_response_difference": float(np.max(np.abs(H_back - H)) / np.max(np.abs(H))),
    }


def identify(data, *, constrained: bool, max_iter: int, seed: int, washout: int, progress=True) -> dict:
    """Fit a state-space LSTM to the identification ``data`` (a
    :class:`~lstmds_sim.learning.dataset.IdentificationData`) with SLSQP, with or without Theorem 4's
    conditions as constraints; the run shows its iterations (``progress``, see
    :func:`~lstmds_sim.learning.iss_training.train_iss`).

    Returns ``{"result": ISSTrainResult, "model": IdentifiedModel, "summary": {...}}``, the summary
    holding the FITs on the normalised validation data (both definitions, after ``washout``), the FIT
    on physical pH, the independent Theorem 4 check and what the optimiser did.
    """
    from ..safety.iss import iss_check
    from .iss_training import ISSTrainOptions, train_iss
    from .metrics import fit_paper, fit_report
    from .model import IdentifiedModel

    u, y = data.normalise_u(data.u_train), data.normalise_y(data.y_train)
    uv, yv = data.normalise_u(data.u_val), data.normalise_y(data.y_val)
    options = ISSTrainOptions(max_iter=max_iter, washout=washout, seed=seed, constrained=constrained)
    label = f"SLSQP {'with the ISS conditions' if constrained else 'without constraints'}"
    result = train_iss(u, y, options, progress=progress, label=label)
    model = IdentifiedModel(result.params, data.u_mean, data.u_scale, data.y_mean, data.y_scale, data.Ts)
    yv_hat = simulate(result.params, uv[:, None], form="statespace").y[:, 0]
    report = iss_check(result.params)
    summary = {
        **fit_report(yv, yv_hat, skip=washout),
        "fit_paper_percent_physical_pH": fit_paper(data.y_val, model.predict(data.u_val), skip=washout),
        "training_loss": result.final_loss, "iterations": result.iterations,
        "training_time_s": result.elapsed_s, "iss_satisfied": report.satisfied,
        "iss_left_hand_sides": report.lhs, "iss_margins": report.margins,
        "optimizer_constraints_before_repair": result.optimizer_constraints, "repaired": result.repaired,
        "single_condition_satisfied": iss_check(result.params, condition="single").satisfied,
    }
    return {"result": result, "model": model, "summary": summary}


def train_iss_model(max_iter: int, seed: int, *, progress=None):
    """An ISS-certified LSTM of the pH plant, trained the way of lab 7: an
    :class:`~lstmds_sim.learning.model.IdentifiedModel` (weights and normalisation).

    The identification data of ``seed`` (:func:`~lstmds_sim.learning.dataset.generate_identification_data`),
    normalised; SLSQP with Theorem 4's conditions as constraints for ``max_iter`` iterations
    (:func:`~lstmds_sim.learning.iss_training.train_iss`, its default options otherwise; ``progress``
    as there, silent by default). The same arguments give the same model.
    """
    from .dataset import generate_identification_data
    from .iss_training import ISSTrainOptions, train_iss
    from .model import IdentifiedModel

    data = generate_identification_data(seed=seed)
    result = train_iss(data.normalise_u(data.u_train), data.normalise_y(data.y_train),
                       ISSTrainOptions(max_iter=max_iter, seed=seed), progress=progress,
                       label="SLSQP with the ISS conditions")
    return IdentifiedModel(result.params, data.u_mean, data.u_scale, data.y_mean, data.y_scale, data.Ts)
