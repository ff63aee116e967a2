"""Scenario approach to the output reachable set (Bonassi et al., L4DC 2020, Section 3).

The radius of the smallest ball containing every output trajectory::

    rho_y* = min rho_y   s.t.  ||y(chi0, u)||_inf <= rho_y   for all chi0 in X0, u in U_tau     (8)

has infinitely many constraints.  The scenario approach (Campi, Garatti and
Prandini 2009) keeps only ``N`` of them, one per random *scenario* (an initial
state and an input sequence drawn from their distributions)::

    rho_y*(eps, beta) = min rho_y   s.t.  ||y(chi0_i, u_i)||_inf <= rho_y,  i = 1..N      (10)

and guarantees, with confidence ``1 - beta`` over the draw of the scenarios,
that a *new* scenario violates the bound with probability at most ``eps``
(eq. 9), provided ``N`` is large enough.  With ``d = 1`` decision variable
(the radius), (10) is a linear program whose solution is simply the largest
output seen (:func:`scenario_bound`).

Contents: :func:`sample_size` (eq. 11 and the exact binomial bound),
:func:`scenario_bound`, :func:`scenario_peaks`, :func:`count_violations`,
:func:`violation_probability_estimate` and :func:`consistent_with_eps`
(a check of the guarantee on fresh scenarios), and the scenarios themselves:
:class:`ScenarioClass`, :func:`draw_scenarios` (one generator) and
:func:`draw_scenario_range` (seeded blocks of :data:`DRAW_BLOCK` scenarios, so
that any range of a set is drawn the same however a sweep cuts it into chunks).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy import stats

from ..core.validation import as_float_array, check_finite, open_interval, positive_int

SAMPLE_SIZE_METHODS = ("paper", "exact")


# --------------------------------------------------------------------------- sample size
def _probability(value, name: str, hint: str) -> float:
    """``value`` in the open interval (0, 1), or a ValueError that says how to fix it."""
    try:
        return open_interval(value, name)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{err}; {hint}") from None


def _decision_variables(d) -> int:
    try:
        return positive_int(d, "d (number of decision variables)")
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"{err}; d counts the optimisation variables of the scenario program "
            "(d = 1 for the radius rho_y of the output ball)"
        ) from None


def _check_eps_beta_d(eps, beta, d) -> tuple[float, float, int]:
    eps = _probability(eps, "eps (violation probability)", "use e.g. eps=0.01 for at most 1 % violations")
    beta = _probability(beta, "beta (confidence parameter)", "use e.g. beta=1e-6 for confidence 1 - 1e-6")
    return eps, beta, _decision_variables(d)


def log_binomial_tail(n: int, eps: float, d: int = 1) -> float:
    """``ln sum_{i<d} C(n, i) eps^i (1 - eps)^(n - i)``: the log probability that the bound of
    ``n`` scenarios is violated more than eps (Campi & Garatti 2008), computed in log space."""
    return float(stats.binom.logcdf(d - 1, n, eps))


def sample_size(eps: float, beta: float, d: int = 1, *, method: str = "paper") -> int:
    """Number of scenarios ``N`` for violation probability ``eps`` with confidence ``1 - beta``.

    ``method="paper"`` is the explicit sufficient condition (11) of the paper
    (from Campi, Garatti and Prandini 2009)::

        N >= (2 / eps) (ln(1 / beta) + d)

    rounded up: ``eps = 1e-2``, ``beta = 1e-6``, ``d = 1`` give 2963.1, so 2964.

    ``method="exact"`` is the tight bound of Campi & Garatti (2008): the
    smallest ``N >= d`` with ::

        sum_{i=0}^{d-1} C(N, i) eps^i (1 - eps)^(N - i) <= beta

    (for ``d = 1``: ``(1 - eps)^N <= beta``, so 1375 for the numbers above).
    The left side is the probability that a binomial(N, eps) variable is
    below ``d``; it decreases with ``N``, so ``N`` is found by doubling an
    upper end and bisecting.  The sum is evaluated in log space
    (``scipy.stats.binom.logcdf``), so tiny ``beta`` is no problem.

    Parameters
    ----------
    eps : violation probability, in (0, 1)
    beta : confidence parameter, in (0, 1) (confidence is ``1 - beta``)
    d : number of decision variables of the scenario program (1 for the radius rho_y)
    method : ``"paper"`` or ``"exact"``

    Returns
    -------
    int
    """
    eps, beta, d = _check_eps_beta_d(eps, beta, d)
    if method == "paper":
        return math.ceil((2.0 / eps) * (math.log(1.0 / beta) + d))
    if method != "exact":
        raise ValueError(f"method must be one of {SAMPLE_SIZE_METHODS}, got {method!r}")
    log_beta = math.log(beta)

    def ok(n: int) -> bool:
        return log_binomial_tail(n, eps, d) <= log_beta

    hi = max(d, math.ceil((2.0 / eps) * (math.log(1.0 / beta) + d)))
    while not ok(hi):  # (11) suffices in theory; double to be safe anyway
        hi *= 2
    lo = d - 1  # invariant: ok(hi) and (lo < d or not ok(lo))
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return hi


# --------------------------------------------------------------------------- the bound
def _outputs(y) -> np.ndarray:
    """Validate scenario outputs: (N, T, ny), or (N, T) for a scalar output."""
    arr = as_float_array(y, "y (scenario outputs)")
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.size == 0:
        raise ValueError(
            f"y (scenario outputs) has shape {np.shape(y)}, expected (N, T, ny) or (N, T): "
            "one output trajectory per scenario"
        )
    return check_finite(arr, "y (scenario outputs)")


def _vector_norm(arr: np.ndarray, norm) -> np.ndarray:
    if norm == 2:
        return np.sqrt(np.sum(arr * arr, axis=-1))
    if norm == np.inf or (isinstance(norm, str) and norm.lower() == "inf"):
        return np.max(np.abs(arr), axis=-1)
    raise ValueError(f"norm must be 2 (Euclidean ball, the paper's) or 'inf' (box), got {norm!r}")


def scenario_peaks(y, *, norm=2) -> np.ndarray:
    """Per scenario, ``max_k |y_i(k)|``: the smallest ``rho_y`` that scenario alone allows; shape (N,)."""
    return _vector_norm(_outputs(y), norm).max(axis=1)


def scenario_bound(y, *, norm=2) -> float:
    """``rho_y*``: the solution of the scenario program (10), i.e. the largest output over scenarios and time.

    Problem (10) is a linear program in the single decision variable ``rho_y``
    (``d = 1``): minimise ``rho_y`` subject to ``|y_i(k)| <= rho_y`` for every
    scenario ``i`` and step ``k``.  The outputs do not depend on ``rho_y``, so
    each constraint is a lower bound on it and the optimum is the largest of
    them, ``max_i max_k |y_i(k)|`` - no LP solver needed.

    Parameters
    ----------
    y : array (N, T, ny) (or (N, T) for ny = 1): the output trajectory of each scenario
    norm : vector norm of ``y(k)``: 2 (the paper's ball ``|y|_2 <= rho_y``) or
        ``"inf"``; the same for ``ny = 1``

    Returns
    -------
    float
    """
    return float(scenario_peaks(y, norm=norm).max())


def count_violations(y, rho_y: float, *, norm=2) -> int:
    """How many scenarios of ``y`` (N, T, ny) leave the ball of radius ``rho_y`` at some step."""
    return int(np.count_nonzero(scenario_peaks(y, norm=norm) > rho_y))


# --------------------------------------------------------------------------- posterior check
class ViolationEstimate(NamedTuple):
    """Point estimate and two-sided Clopper-Pearson interval of a violation probability."""

    p_hat: float
    lower: float
    upper: float


def _counts(n_violations, n_trials) -> tuple[int, int]:
    n = positive_int(n_trials, "n_trials (number of fresh scenarios)")
    if isinstance(n_violations, bool) or int(n_violations) != n_violations or not 0 <= n_violations <= n:
        raise ValueError(f"n_violations must be an integer between 0 and n_trials={n}, got {n_violations!r}")
    return int(n_violations), n


def violation_probability_estimate(n_violations: int, n_trials: int, confidence: float = 0.99) -> ViolationEstimate:
    """Clopper-Pearson ("exact") interval for the violation probability seen on fresh scenarios.

    With ``k`` violations in ``n`` independent trials and ``alpha = 1 - confidence``::

        lower = Beta quantile alpha/2     of Beta(k, n - k + 1)    (0 when k = 0)
        upper = Beta quantile 1 - alpha/2 of Beta(k + 1, n - k)    (1 when k = n)

    For ``k = 0`` the upper end is ``1 - (alpha/2)^(1/n)``.  The interval
    covers the true probability with probability at least ``confidence``.

    Returns
    -------
    ViolationEstimate (p_hat, lower, upper), a tuple
    """
    k, n = _counts(n_violations, n_trials)
    confidence = _probability(confidence, "confidence", "use e.g. confidence=0.99")
    alpha = 1.0 - confidence
    lower = 0.0 if k == 0 else float(stats.beta.ppf(alpha / 2, k, n - k + 1))
    upper = 1.0 if k == n else float(stats.beta.ppf(1 - alpha / 2, k + 1, n - k))
    return ViolationEstimate(k / n, lower, upper)


def consistent_with_eps(n_violations: int, n_trials: int, eps: float, confidence: float = 0.99) -> bool:
    """Do ``n_violations`` in ``n_trials`` fresh scenarios agree with "violation probability <= eps"?

    False only when the lower end of the Clopper-Pearson interval exceeds
    ``eps``, i.e. the data show (at this confidence) that the bound is
    violated more often than the scenario approach promised.
    """
    eps = _probability(eps, "eps (violation probability)", "use the eps the bound was computed for")
    return violation_probability_estimate(n_violations, n_trials, confidence).lower <= eps


# --------------------------------------------------------------------------- drawing scenarios
@dataclass(frozen=True)
class ScenarioClass:
    """The uncertainty class of Section 3 (normalised units, Ts = 10 s).

    Inputs are MPRS signals: each level uniform in ``[-rho_u, rho_u]``, held for a
    number of samples uniform in ``hold`` (300-2000 s at Ts = 10 s: 30-200
    samples), over ``horizon`` steps; initial LSTM states (cell and hidden)
    uniform in ``[-state_half_width, state_half_width]``.
    """

    rho_u: float
    horizon: int = 2000
    hold: tuple[int, int] = (30, 200)
    state_half_width: float = 0.1

    def __post_init__(self) -> None:
        if not (np.isfinite(self.rho_u) and self.rho_u >= 0):
            raise ValueError(f"rho_u must be a non-negative amplitude, got {self.rho_u!r}")
        if self.horizon < 1 or not 1 <= self.hold[0] <= self.hold[1]:
            raise ValueError(f"need horizon >= 1 and 1 <= hold[0] <= hold[1], got {self.horizon}, {self.hold}")


class Scenarios(NamedTuple):
    """N drawn scenarios: inputs (N, horizon, 1) and initial states (N, nx) each."""

    u: np.ndarray
    h0: np.ndarray
    c0: np.ndarray


def draw_scenarios(n: int, scenario_class: ScenarioClass, n_units: int, rng) -> Scenarios:
    """Draw ``n`` independent scenarios of the class (seeded through ``rng``)."""
    from ..systems.signals import mprs_batch

    rng = np.random.default_rng(rng)
    c = scenario_class
    u = mprs_batch(n, c.horizon, low=-c.rho_u, high=c.rho_u, hold_min=c.hold[0], hold_max=c.hold[1], rng=rng)
    h0 = rng.uniform(-c.state_half_width, c.state_half_width, (n, n_units))
    c0 = rng.uniform(-c.state_half_width, c.state_half_width, (n, n_units))
    return Scenarios(u[..., None], h0, c0)


# --------------------------------------------------------------------------- seeded blocks of scenarios
DRAW_BLOCK = 64
"""Scenarios per seeded draw block. Block ``b`` of a set has its own seed, so a scenario is the
same whichever chunk, worker or process draws it. Fixed: changing it changes every draw."""


def scenario_seed(seed: int, key: tuple[int, ...], block: int) -> np.random.SeedSequence:
    """The seed of draw block ``block`` of the scenario set ``key``, a node of a spawn tree.

    ``SeedSequence(seed).spawn(m)[key[0]].spawn(m)[key[1]]...spawn(m)[block]``, built
    directly: a spawned child is its parent's entropy with its index appended to
    ``spawn_key`` (``numpy.random.SeedSequence.spawn``), so no block needs the
    blocks before it. The scenario sweep uses ``key = (rho_index, set)``, set 0
    the scenarios of the bound, set 1 the fresh ones of the posterior check.
    """
    if isinstance(seed, bool) or int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    path = (*key, block)
    if any(isinstance(i, bool) or int(i) != i or i < 0 for i in path):
        raise ValueError(f"key and block must be integers >= 0 (indices in the spawn tree), got {key!r}, {block!r}")
    return np.random.SeedSequence(int(seed), spawn_key=tuple(int(i) for i in path))


def draw_scenario_range(scenario_class: ScenarioClass, n_units: int, start: int, stop: int, *,
                        seed: int, key: tuple[int, ...] = ()) -> Scenarios:
    """Scenarios ``start .. stop - 1`` of the set ``key``: the same arrays whichever range they are drawn in.

    Scenario ``i`` is row ``i % DRAW_BLOCK`` of block ``i // DRAW_BLOCK``, drawn by
    :func:`draw_scenarios` from :func:`scenario_seed` ``(seed, key, block)``. A range
    that starts or stops inside a block draws the whole block and keeps its rows.
    """
    if not 0 <= start < stop:
        raise ValueError(f"need 0 <= start < stop, got start={start!r}, stop={stop!r}")
    first, last = start // DRAW_BLOCK, -(-stop // DRAW_BLOCK)
    blocks = [draw_scenarios(DRAW_BLOCK, scenario_class, n_units,
                             np.random.default_rng(scenario_seed(seed, key, b))) for b in range(first, last)]
    rows = slice(start - first * DRAW_BLOCK, stop - first * DRAW_BLOCK)
    if len(blocks) == 1:
        return Scenarios(*(np.ascontiguousarray(a[rows]) for a in blocks[0]))
    return Scenarios(*(np.concatenate(parts)[rows] for parts in zip(*blocks)))
