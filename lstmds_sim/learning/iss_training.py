"""ISS-constrained identification (Bonassi et al., Section 4): the paper's fmincon step, with SciPy's SLSQP.

The state-space LSTM (Bonassi eq. 2: y(k) = C xi(k) + b_y, strictly proper)
is fitted to normalised data by minimising the mean squared error (after a
washout of the first samples, from a zero initial state) subject to the two
conditions of Theorem 4 written as smooth-almost-everywhere inequalities::

    1 - margin - (1 + sigma_o) sigma_f              >= 0
    1 - margin - (1 + sigma_o) sigma_i ||U_c||_1    >= 0
    sigma_g = sigmoid(|| [W_g  U_g  b_g] ||_inf)

Loss, constraints and their gradients come from JAX (float64). The result is
certified by the independent numpy check :func:`lstmds_sim.safety.iss.iss_check`; if
the optimiser stops marginally outside, the weights of the gates in the
conditions are shrunk until the check passes (reported as ``repaired``).
``constrained=False`` runs the same optimiser without the conditions, for
comparison.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import jax
import jax.numpy as jnp
import numpy as np
from scipy.optimize import minimize

from ..core.params import LSTMParams
from ..safety.iss import iss_check
from .forward import float64, lstm_forward
from ..core.progress import HEARTBEAT_S, Reporter

KEYS = ("W", "R", "b", "F", "bF")


@dataclass(frozen=True)
class ISSTrainOptions:
    """Options of :func:`train_iss`.

    Attributes
    ----------
    n_units : int
        nx, the number of cells (the paper: 5).
    washout : int
        Samples at the start left out of the loss (initial transient).
    margin : float
        Required distance of each left-hand side from 1 (strict inequality with room
        for the optimiser's tolerance).
    max_iter : int
        SLSQP iterations.
    init_range : float
        Initial weights uniform in [-init_range, init_range] (a start that satisfies
        the conditions).
    seed : int
    constrained : bool
        False: the same optimisation without the ISS conditions.
    """

    n_units: int = 5
    washout: int = 50
    margin: float = 1e-3
    max_iter: int = 1500
    init_range: float = 0.1
    seed: int = 0
    constrained: bool = True

    def __post_init__(self) -> None:
        if self.n_units < 1 or self.max_iter < 1 or self.washout < 0:
            raise ValueError("n_units and max_iter must be positive and washout >= 0")
        if not 0 <= self.margin < 1:
            raise ValueError(f"margin must lie in [0, 1), got {self.margin}")


def _shapes(n_inputs: int, n_units: int, n_outputs: int) -> dict[str, tuple[int, ...]]:
    return {"W": (4 * n_units, n_inputs), "R": (4 * n_units, n_units), "b": (4 * n_units,),
            "F": (n_outputs, n_units), "bF": (n_outputs,)}


def _unflatten(v, shapes):
    out, i = {}, 0
    for key, shape in shapes.items():
        size = int(np.prod(shape))
        out[key] = v[i:i + size].reshape(shape)
        i += size
    return out


def _flatten(params: LSTMParams) -> np.ndarray:
    return np.concatenate([np.ravel(getattr(params, k)) for k in KEYS])


@float64
def iss_constraints_jax(arrays, margin: float = 0.0):
    """Theorem 4 as two inequalities ``>= 0`` in ``jax.numpy`` (differentiable)."""
    n = arrays["R"].shape[1]

    def sigma(k):
        rows = slice(k * n, (k + 1) * n)
        stacked = jnp.concatenate([arrays["W"][rows], arrays["R"][rows], arrays["b"][rows][:, None]], axis=1)
        return jax.nn.sigmoid(jnp.max(jnp.sum(jnp.abs(stacked), axis=1)))

    sigma_i, sigma_f, sigma_o = sigma(0), sigma(1), sigma(3)
    uc_norm = jnp.max(jnp.sum(jnp.abs(arrays["R"][2 * n:3 * n]), axis=0))  # induced 1-norm: max column sum
    return jnp.stack([1 - margin - (1 + sigma_o) * sigma_f, 1 - margin - (1 + sigma_o) * sigma_i * uc_norm])


@dataclass
class ISSTrainResult:
    """What :func:`train_iss` returns."""

    params: LSTMParams
    loss_history: np.ndarray
    iterations: int
    elapsed_s: float
    message: str
    constrained: bool
    iss: dict
    repaired: bool = False
    options: dict = field(default_factory=dict)
    #: The two Theorem 4 constraints (1 - margin - lhs) at the optimiser's last point,
    #: before any repair: >= 0 when SLSQP itself ended feasible.
    optimizer_constraints: np.ndarray = field(default_factory=lambda: np.zeros(0))
    #: Training loss of the returned weights (after a repair it differs from loss_history[-1],
    #: which is the optimiser's last iterate).
    final_loss: float = float("nan")


def loop_gain_text(value: float) -> str:
    """A left-hand side of Theorem 4 as the progress shows it, said against 1 truthfully:
    ``0.9990 (< 1)`` or ``1.8541 (>= 1)`` (the comparison is of the value, not of its rounding)."""
    return f"{value:.4f} ({'< 1' if value < 1 else '>= 1' if value >= 1 else 'not < 1'})"


class _iteration_report:
    """What ``progress`` asks for after each SLSQP iteration: a callable called as before, or a Reporter
    line/bar with the loss, the training FIT and Theorem 4's two left-hand sides."""

    def __init__(self, progress, options: ISSTrainOptions, label: str, y_used: np.ndarray, constraint):
        self.callable = progress if callable(progress) else None
        self.reporter = None
        if progress not in (None, False) and self.callable is None:
            self.reporter = Reporter(progress, options.max_iter, label=label, unit="iteration", every_s=5.0,
                                     heartbeat_s=HEARTBEAT_S, announce=True)
        self.constraint, self.margin = constraint, options.margin
        # FIT = 100 (1 - ||e|| / ||y - mean y||) with ||e||^2 = mse * (number of values after the washout)
        self.n_values = y_used.size
        self.spread = float(np.linalg.norm(y_used - y_used.mean(axis=0)))

    def __call__(self, iteration: int, loss: float, v) -> None:
        if self.callable is not None:
            self.callable(iteration, loss)
        if self.reporter is not None:
            fit = 100.0 * (1.0 - np.sqrt(loss * self.n_values) / self.spread) if self.spread > 0 else float("nan")
            lhs = 1.0 - self.margin - np.asarray(self.constraint(v), dtype=float)
            self.reporter.show(iteration, text=f"loss {loss:.3e}  training FIT {fit:.2f} %  "
                                               f"Theorem 4: {loop_gain_text(lhs[0])}, {loop_gain_text(lhs[1])}")

    def close(self) -> None:
        if self.reporter is not None:
            self.reporter.close()


def _repair(params: LSTMParams, max_rounds: int = 200) -> tuple[LSTMParams, bool]:
    """Shrink the i, f, o gate rows and U_c by 1 % a round until the independent check passes.

    SLSQP may stop (at max_iter) on a point that violates the constraints by a
    little; this gives a certified network nearby. The result says whether it
    was needed (``repaired``) and how far the optimiser was (``optimizer_constraints``).
    """
    if iss_check(params).satisfied:
        return params, False
    n = params.n_units
    W, R, b = params.W.copy(), params.R.copy(), params.b.copy()
    for _ in range(max_rounds):
        for k in (0, 1, 3):
            rows = slice(k * n, (k + 1) * n)
            W[rows] *= 0.99
            R[rows] *= 0.99
            b[rows] *= 0.99
        R[2 * n:3 * n] *= 0.99
        candidate = params.replace(W=W, R=R, b=b)
        if all(m > 0 for m in iss_check(candidate).margins):
            return candidate, True
    raise RuntimeError("could not repair the weights to satisfy Theorem 4 (the optimiser ended far from "
                       "feasible); increase max_iter or the constraint margin")


@float64
def train_iss(u, y, options: ISSTrainOptions | None = None, *, start: LSTMParams | None = None,
              progress=None, label: str = "SLSQP") -> ISSTrainResult:
    """Fit a state-space LSTM to (normalised) data, with the ISS conditions of Theorem 4 as constraints.

    Parameters
    ----------
    u, y : arrays (T, Ni), (T, No) -- normalised to about [-1, 1] (Theorem 4 assumes |u| <= 1)
    options : ISSTrainOptions
    start : initial weights (default: uniform in +-init_range, seeded)
    progress : None or False (silent, the default), True (auto), ``"bar"``, ``"lines"``, or a callable
        A callable is called as ``progress(iteration, loss)`` after each SLSQP iteration.
        The others show the iterations as a labelled bar on a terminal, as one line redrawn in
        place in a notebook, else as a line at most every 5 s (and a "still working" line when
        an iteration, or the compilation before the first, takes longer than 8 s): the training
        loss, the training FIT (mean-subtracted, after the washout, from that loss) and the two
        left-hand sides of Theorem 4, each marked ``(< 1)`` or ``(>= 1)`` (a certificate needs
        both below 1; they are shown without constraints too, and SLSQP's iterates may leave
        its constraints on the way).
        See :class:`~lstmds_sim.core.progress.Reporter`.
    label : str
        Names this run on the bar and lines (e.g. ``"SLSQP with the ISS conditions"``).
    """
    options = options or ISSTrainOptions()
    u = np.asarray(u, dtype=float).reshape(len(u), -1)
    y = np.asarray(y, dtype=float).reshape(len(y), -1)
    if np.max(np.abs(u)) > 1 + 1e-9:
        raise ValueError("normalise the inputs to [-1, 1] first: Theorem 4 bounds the gates for |u| <= 1")
    shapes = _shapes(u.shape[1], options.n_units, y.shape[1])
    if start is None:
        start = LSTMParams.random(u.shape[1], options.n_units, y.shape[1], rng=options.seed,
                                  low=-options.init_range, high=options.init_range, output_bias=True)
    uj, yj, wash = jnp.asarray(u), jnp.asarray(y), options.washout

    def loss(v):
        y_hat = lstm_forward(_unflatten(v, shapes), uj, form="statespace")
        return jnp.mean((y_hat[wash:] - yj[wash:]) ** 2)

    value_and_grad = jax.jit(jax.value_and_grad(loss))
    constraint = jax.jit(lambda v: iss_constraints_jax(_unflatten(v, shapes), options.margin))
    constraint_jac = jax.jit(jax.jacfwd(lambda v: iss_constraints_jax(_unflatten(v, shapes), options.margin)))

    history: list[float] = []
    report = _iteration_report(progress, options, label, y[wash:], constraint)

    def objective(v):
        f, g = value_and_grad(v)
        return float(f), np.asarray(g, dtype=float)

    def callback(v):
        history.append(float(value_and_grad(v)[0]))
        report(len(history) - 1, history[-1], v)

    constraints = [{"type": "ineq", "fun": lambda v: np.asarray(constraint(v), dtype=float),
                    "jac": lambda v: np.asarray(constraint_jac(v), dtype=float)}] if options.constrained else []
    v0 = _flatten(start)
    try:
        history.append(float(value_and_grad(v0)[0]))  # compiles the loss (the heartbeat covers it)
        t0 = time.perf_counter()
        res = minimize(objective, v0, jac=True, method="SLSQP", constraints=constraints,
                       options={"maxiter": options.max_iter, "ftol": 1e-12}, callback=callback)
        elapsed = time.perf_counter() - t0
    finally:
        report.close()
    params = LSTMParams(**{k: np.asarray(a) for k, a in _unflatten(res.x, shapes).items()})
    optimizer_constraints = np.asarray(constraint(res.x), dtype=float)
    repaired = False
    if options.constrained:
        params, repaired = _repair(params)
    return ISSTrainResult(
        params=params, loss_history=np.array(history), iterations=int(res.nit), elapsed_s=elapsed,
        message=str(res.message), constrained=options.constrained, iss=iss_check(params).as_dict(),
        repaired=repaired, options=asdict(options), optimizer_constraints=optimizer_constraints,
        final_loss=float(loss(_flatten(params))),
    )
