"""The pH neutralisation plant of Bonassi et al. (2020), section 4 (Henson & Seborg mixing tank).

One continuous stirred tank receives an acid stream ``q1``, a buffer stream ``q2``
and a base stream ``q3`` (the manipulated input) and drains through a valve,
``q4 = Cv4 (h + z)^n``.  The state is the level ``h`` and the two *reaction
invariants* of the effluent, ``Wa4`` (charge-related) and ``Wb4`` (carbonate
concentration); the output is the effluent pH::

    A dh/dt     = q1 + q2 + q3 - q4,              q4 = Cv4 (h + z)^n
    A h dWa4/dt = q1 (Wa1 - Wa4) + q2 (Wa2 - Wa4) + q3 (Wa3 - Wa4)
    A h dWb4/dt = q1 (Wb1 - Wb4) + q2 (Wb2 - Wb4) + q3 (Wb3 - Wb4)
    0 = Wa4 + 10^(pH-14) - 10^(-pH) + Wb4 (1 + 2 10^(pH-pK2)) / (1 + 10^(pK1-pH) + 10^(pH-pK2))

Units
-----
Flows in ml/s, the cross-section ``A`` in cm^2, levels in cm, time in s.  Since
1 ml = 1 cm^3, ``A dh/dt = q1 + q2 + q3 - q4`` balances cm^3/s on both sides.
Concentrations are in mol/L; the invariant equations are homogeneous of degree
one in the concentrations (every term is a flow times a concentration), so the
concentration unit cancels and needs no conversion.  The pH equation is a charge
balance in mol/L (``10^-pH`` is [H+] in mol/L).

What is here
------------
* :class:`PHParams` -- the parameter table of the paper (validated, frozen).
* :func:`ph_from_invariants` -- the implicit pH equation, solved by a vectorised
  safeguarded Newton method in a bracket, for arrays of any shape.
* :func:`derivatives` -- the ODE right-hand side (batched).
* :func:`steady_state`, :func:`titration_curve`, :func:`static_gain`,
  :func:`residence_time`, :func:`level_time_constant` -- closed-form steady
  state and its small-signal properties.
* :func:`simulate_plant` -- sampled response to a zero-order-hold input, batched
  over scenarios, integrated by fixed-step RK4.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import NamedTuple

import numpy as np

from ..core.validation import (
    NonFiniteError,
    ShapeError,
    as_float_array,
    check_finite,
    positive_int,
)

PH_BRACKET = (-2.0, 16.0)
"""Bracket of the pH solver; the root is unique in it for every realistic concentration."""

DEFAULT_SUBSTEPS = 4
"""RK4 steps per sampling period (2.5 s at Ts = 10 s); see :func:`simulate_plant`."""

_LN10 = math.log(10.0)
_EPS = np.finfo(np.float64).eps
_CHUNK = 1 << 17  # elements per chunk of the pH solver (bounds its temporaries)


# --------------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class PHParams:
    """Parameters of the Henson & Seborg tank (Bonassi et al. 2020, section 4; defaults are the paper's table).

    Attributes
    ----------
    A : float
        Tank cross-section [cm^2].
    z : float
        Height of the outlet valve below the level datum [cm].
    Cv4 : float
        Valve coefficient [ml s^-1 cm^-n].
    n : float
        Valve exponent [-].
    pK1, pK2 : float
        First and second dissociation constants of carbonic acid [-].
    Wa1, Wa2, Wa3 : float
        Charge invariant of the acid (HNO3), buffer (NaHCO3) and base (NaOH + NaHCO3) streams [mol/L].
    Wb1, Wb2, Wb3 : float
        Carbonate invariant of the same streams [mol/L] (must be >= 0).
    q1, q2 : float
        Constant acid and buffer flows [ml/s] (the loads; >= 0).
    """

    A: float = 207.0
    z: float = 11.5
    Cv4: float = 4.59
    n: float = 0.607
    pK1: float = 6.35
    pK2: float = 10.25
    Wa1: float = 3.0e-3
    Wa2: float = -3.0e-2
    Wa3: float = -3.05e-3
    Wb1: float = 0.0
    Wb2: float = 3.0e-2
    Wb3: float = 5.0e-5
    q1: float = 16.6
    q2: float = 0.55

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
                raise TypeError(f"PHParams.{f.name} must be a real number, got {type(value).__name__}")
            if not math.isfinite(value):
                raise ValueError(f"PHParams.{f.name} must be finite, got {value!r}")
        for name in ("A", "z", "Cv4", "n"):
            if getattr(self, name) <= 0:
                raise ValueError(
                    f"PHParams.{name} is a physical constant and must be positive, got {getattr(self, name)!r}"
                )
        for name in ("q1", "q2", "Wb1", "Wb2", "Wb3"):
            if getattr(self, name) < 0:
                raise ValueError(f"PHParams.{name} must be >= 0 (a flow or a carbonate concentration), "
                                 f"got {getattr(self, name)!r}")

    def as_dict(self) -> dict[str, float]:
        """The parameters as a plain ``{name: value}`` dictionary (for saving with data)."""
        return {f.name: float(getattr(self, f.name)) for f in fields(self)}


DEFAULT_PARAMS = PHParams()


# --------------------------------------------------------------------------- flows


def _check_flow(value, name: str, what: str) -> np.ndarray:
    """Convert a flow to float64 and refuse NaN, infinity and negative values.

    The message names the flow, the first offending index and how to fix it.
    """
    arr = as_float_array(value, name)
    if not np.all(np.isfinite(arr)):
        index = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        raise NonFiniteError(
            f"{name} ({what}, ml/s) holds a non-finite value ({float(arr[index])!r} at index {index}); "
            "flows must be finite numbers: replace NaN/inf before simulating"
        )
    if np.any(arr < 0):
        index = tuple(int(i) for i in np.argwhere(arr < 0)[0])
        raise ValueError(
            f"{name} ({what}, ml/s) is negative ({float(arr[index])!r} at index {index}); a flow cannot be "
            "negative: clip it to >= 0 (for q3, choose an input range inside [0, inf), "
            "e.g. the paper's [12.5, 17] ml/s, and keep the input jitter small)"
        )
    return arr


# --------------------------------------------------------------------------- the pH equation


def _charge_balance(p: np.ndarray, wa: np.ndarray, wb: np.ndarray, pk1: float, pk2: float):
    """Residual ``f(pH)`` of the pH equation, its slope ``df/dpH`` and the size of its terms.

    All terms are written with the single power ``e = 10^pH``; the third output
    (sum of the absolute values of the terms) sets the rounding level of ``f``.
    """
    e = np.exp(_LN10 * p)
    oh = e * 1e-14  # [OH-] = 10^(pH-14)
    hp = 1.0 / e  # [H+] = 10^-pH
    a = 10.0**pk1 * hp  # 10^(pK1-pH)
    b = e * 10.0**-pk2  # 10^(pH-pK2)
    den = 1.0 + a + b
    frac = (1.0 + 2.0 * b) / den
    f = wa + oh - hp + wb * frac
    # d(frac)/dpH = ln10 (a + b + 4ab) / den^2  (> 0: f is increasing when wb >= 0)
    slope = _LN10 * (oh + hp + wb * (a + b + 4.0 * a * b) / (den * den))
    scale = np.abs(wa) + oh + hp + wb * frac
    return f, slope, scale


def _solve_ph_flat(wa: np.ndarray, wb: np.ndarray, pk1: float, pk2: float,
                   xtol: float, max_iter: int) -> np.ndarray:
    """Bracketed Newton iteration on 1-D arrays, all elements at once.

    Every element starts at pH 7 in the bracket [-2, 16].  Each iteration shrinks
    the bracket with the sign of the residual ``f`` and takes a Newton step on
    ``asinh(f / s)`` (``s = |Wa4| + Wb4 + 1e-7``) if it stays inside the bracket, a
    bisection step otherwise.  Near the root ``asinh(f/s) ~ f/s`` and the step is
    Newton's on ``f`` (quadratic convergence); far from it the transform is the
    logarithm of the dominant exponential term of ``f``, so the step is long where
    plain Newton would crawl.  After ``max_iter // 3`` iterations only bisection is
    used, which guarantees convergence.  An element is done when its step is at
    most ``xtol`` or its residual is at the rounding level of its terms; done
    elements leave the working set, so the cost follows the average, not the
    worst, number of iterations (about 6 for the plant's states).
    """
    p_out = np.empty(wa.shape)
    active = np.arange(wa.size)
    p = np.full(wa.shape, 7.0)
    lo = np.full(wa.shape, PH_BRACKET[0])
    hi = np.full(wa.shape, PH_BRACKET[1])
    s = np.abs(wa) + wb + 1e-7
    newton_iters = max_iter // 3
    for it in range(max_iter):
        f, slope, scale = _charge_balance(p, wa, wb, pk1, pk2)
        below = f < 0
        lo = np.where(below, p, lo)
        hi = np.where(below, hi, p)
        step = np.arcsinh(f / s) * np.sqrt(s * s + f * f) / slope
        p_new = p - step
        use_newton = (p_new >= lo) & (p_new <= hi) if it < newton_iters else False
        p_new = np.where(use_newton, p_new, 0.5 * (lo + hi))
        at_rounding = np.abs(f) <= 4.0 * _EPS * scale
        p_new = np.where(at_rounding, p, p_new)
        done = at_rounding | (np.abs(p_new - p) <= xtol)
        p_out[active[done]] = p_new[done]
        if np.all(done):
            return p_out
        keep = ~done
        active, p, lo, hi, wa, wb, s = (v[keep] for v in (active, p_new, lo, hi, wa, wb, s))
    raise RuntimeError(f"pH solver did not converge in {max_iter} iterations (this is a bug; please report)")


def ph_from_invariants(Wa4, Wb4, params: PHParams = DEFAULT_PARAMS, *,
                       xtol: float = 1e-13, max_iter: int = 150) -> np.ndarray:
    """Effluent pH from the reaction invariants, for arrays of any (broadcast) shape.

    Solves ``0 = Wa4 + 10^(pH-14) - 10^(-pH) + Wb4 (1 + 2 10^(pH-pK2)) / (1 + 10^(pK1-pH) + 10^(pH-pK2))``
    for pH.  For ``Wb4 >= 0`` the right-hand side is strictly increasing in pH, so
    the root is unique and lies in the bracket ``[-2, 16]`` for every realistic
    concentration (``|Wa4|``, ``Wb4`` far below 100 mol/L).  A vectorised bracketed
    Newton method (Newton steps inside a shrinking bracket, bisection when Newton
    would leave it; see :func:`_solve_ph_flat`) finds it to full double precision:
    the residual ends at the rounding level of its largest term and the pH agrees
    with ``scipy.optimize.brentq`` to about 1e-14.

    Parameters
    ----------
    Wa4, Wb4 : array_like
        Reaction invariants [mol/L]; any shapes that broadcast together.
        ``Wb4`` must be >= 0.
    params : PHParams
        Only ``pK1`` and ``pK2`` are used.
    xtol : float
        Step size [pH] below which an element counts as converged (Newton
        converges quadratically, so the error left is far smaller).
    max_iter : int
        Iteration cap: Newton steps are allowed in the first third, then only
        bisection (the plant's states need about 6 iterations, at most about 12).

    Returns
    -------
    ndarray
        pH, with the broadcast shape of the inputs (a 0-d array for scalars).
    """
    wa = check_finite(as_float_array(Wa4, "Wa4"), "Wa4")
    wb = check_finite(as_float_array(Wb4, "Wb4"), "Wb4")
    if np.any(wb < 0):
        index = tuple(int(i) for i in np.argwhere(wb < 0)[0])
        raise ValueError(
            f"Wb4 must be >= 0 (a carbonate concentration); got {float(wb[index])!r} at index {index}"
        )
    try:
        wa, wb = np.broadcast_arrays(wa, wb)
    except ValueError:
        raise ShapeError(f"Wa4 {wa.shape} and Wb4 {wb.shape} do not broadcast to a common shape") from None
    # f(-2) <= Wa4 + 1e-16 - 100 + 2 Wb4 and f(16) >= Wa4 + 100 - 1e-16: the bracket holds the root
    unphysical = (wa + 2.0 * wb >= 99.0) | (wa <= -99.0)
    if np.any(unphysical):
        index = tuple(int(i) for i in np.argwhere(unphysical)[0])
        raise ValueError(
            f"the pH equation may have no root in [{PH_BRACKET[0]}, {PH_BRACKET[1]}] for Wa4 = {float(wa[index])!r}, "
            f"Wb4 = {float(wb[index])!r} (index {index}): concentrations of about 100 mol/L are unphysical"
        )
    shape = wa.shape
    wa_flat = np.ascontiguousarray(wa).reshape(-1)
    wb_flat = np.ascontiguousarray(wb).reshape(-1)
    out = np.empty(wa_flat.shape)
    for start in range(0, wa_flat.size, _CHUNK):
        part = slice(start, start + _CHUNK)
        out[part] = _solve_ph_flat(wa_flat[part], wb_flat[part], params.pK1, params.pK2, xtol, max_iter)
    return out.reshape(shape)


def ph_residual(pH, Wa4, Wb4, params: PHParams = DEFAULT_PARAMS) -> np.ndarray:
    """Residual of the pH equation (zero at the solution); for checks and tests."""
    p, wa, wb = (as_float_array(v, name) for v, name in ((pH, "pH"), (Wa4, "Wa4"), (Wb4, "Wb4")))
    return _charge_balance(p, wa, wb, params.pK1, params.pK2)[0]


# --------------------------------------------------------------------------- dynamics


def _loads(params: PHParams, q1, q2) -> tuple[np.ndarray, np.ndarray]:
    """Acid and buffer flows: the parameters' values unless overridden (checked)."""
    q1 = params.q1 if q1 is None else _check_flow(q1, "q1", "acid flow")
    q2 = params.q2 if q2 is None else _check_flow(q2, "q2", "buffer flow")
    return np.asarray(q1, dtype=np.float64), np.asarray(q2, dtype=np.float64)


def _inflow(q1, q2, q3, params: PHParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Total inflow ``q1+q2+q3`` and the invariant inflows ``sum qi Wai``, ``sum qi Wbi``."""
    p = params
    q_in = q1 + q2 + q3
    wa_in = q1 * p.Wa1 + q2 * p.Wa2 + q3 * p.Wa3
    wb_in = q1 * p.Wb1 + q2 * p.Wb2 + q3 * p.Wb3
    return q_in, wa_in, wb_in


def _rhs_columns(s: np.ndarray, q_in: np.ndarray, w_in: np.ndarray, params: PHParams) -> np.ndarray:
    """Right-hand side on a column-batched state ``s`` = rows (h, Wa4, Wb4), shape (3, B).

    ``q_in`` is the total inflow (B,) and ``w_in`` the invariant inflows (2, B).
    No checks: this is the integrator's hot path.
    """
    h = s[0]
    out = np.empty_like(s)
    out[0] = (q_in - params.Cv4 * (h + params.z) ** params.n) / params.A
    out[1:] = (w_in - q_in * s[1:]) / (params.A * h)
    return out


def derivatives(t: float, x, q3, params: PHParams = DEFAULT_PARAMS, q1=None, q2=None) -> np.ndarray:
    """Time derivative of the state ``x = (h, Wa4, Wb4)``.

    Parameters
    ----------
    t : float
        Time [s]; unused (the plant is time invariant), present for ``solve_ivp``.
    x : array_like, shape (3,) or (B, 3)
        Level [cm] and invariants [mol/L]; the level must be positive.
    q3 : float or array_like (B,)
        Base flow [ml/s], >= 0.
    params : PHParams
        Plant parameters.
    q1, q2 : float or array_like (B,), optional
        Acid and buffer flows [ml/s]; default ``params.q1`` and ``params.q2``.

    Returns
    -------
    ndarray, the shape of ``x``
        ``(dh/dt [cm/s], dWa4/dt, dWb4/dt [mol/L/s])``.
    """
    x = check_finite(as_float_array(x, "x"), "x")
    if x.ndim not in (1, 2) or x.shape[-1] != 3:
        raise ShapeError(f"x has shape {x.shape}, expected (3,) or (B, 3) = (h, Wa4, Wb4)")
    if np.any(x[..., 0] <= 0):
        raise ValueError("the level h (x[..., 0]) must be positive: the tank model is invalid when it is empty")
    q3 = _check_flow(q3, "q3", "base flow")
    q1, q2 = _loads(params, q1, q2)
    q_in, wa_in, wb_in = _inflow(q1, q2, q3, params)
    cols = x.T  # (3,) or (3, B)
    batch = cols.shape[1:]
    try:
        q_in = np.broadcast_to(q_in, batch)
        w_in = np.stack([np.broadcast_to(wa_in, batch), np.broadcast_to(wb_in, batch)])
    except ValueError:
        raise ShapeError(f"the flows do not match the batch of x {x.shape}: give scalars or shape (B,)") from None
    return _rhs_columns(cols, q_in, w_in, params).T


# --------------------------------------------------------------------------- steady state


class SteadyState(NamedTuple):
    """Closed-form steady state for a constant base flow (every field has the shape of ``q3``)."""

    h: np.ndarray
    Wa4: np.ndarray
    Wb4: np.ndarray
    pH: np.ndarray

    @property
    def x(self) -> np.ndarray:
        """The state ``(h, Wa4, Wb4)`` stacked on a last axis of length 3."""
        return np.stack([self.h, self.Wa4, self.Wb4], axis=-1)


def steady_state(q3, params: PHParams = DEFAULT_PARAMS) -> SteadyState:
    """Equilibrium of the tank for a constant base flow ``q3`` (vectorised).

    The invariants are the flow-weighted means of the inlet invariants,
    ``Wa4 = sum(qi Wai) / sum(qi)`` and likewise ``Wb4``; the level balances the
    valve, ``Cv4 (h + z)^n = q1 + q2 + q3``.  The steady pH therefore depends only
    on the flows and concentrations, not on ``Cv4``, ``z`` or ``n``.

    Parameters
    ----------
    q3 : float or array_like
        Base flow [ml/s], >= 0.
    params : PHParams
        Plant parameters.

    Returns
    -------
    SteadyState
        ``(h [cm], Wa4, Wb4 [mol/L], pH)``, each with the shape of ``q3``.
    """
    q3 = _check_flow(q3, "q3", "base flow")
    q_in, wa_in, wb_in = _inflow(params.q1, params.q2, q3, params)
    if np.any(q_in <= 0):
        raise ValueError("the total inflow q1 + q2 + q3 must be positive for a steady state to exist")
    h = (q_in / params.Cv4) ** (1.0 / params.n) - params.z
    wa = wa_in / q_in
    wb = wb_in / q_in
    return SteadyState(h, wa, wb, ph_from_invariants(wa, wb, params))


def titration_curve(q3_values, params: PHParams = DEFAULT_PARAMS) -> np.ndarray:
    """Steady effluent pH for each base flow in ``q3_values`` (the static characteristic)."""
    return steady_state(q3_values, params).pH


def static_gain(q3, params: PHParams = DEFAULT_PARAMS) -> np.ndarray:
    """Slope ``dpH/dq3`` of the titration curve [pH per ml/s], by implicit differentiation.

    With ``f(pH, Wa4, Wb4) = 0`` the pH equation, ``dpH/dq3 = -(dWa4/dq3 + F dWb4/dq3) / (df/dpH)``
    where ``F = (1 + 2 10^(pH-pK2)) / (1 + 10^(pK1-pH) + 10^(pH-pK2))`` is ``df/dWb4`` and
    ``dWa4/dq3 = (Wa3 - Wa4) / sum(qi)`` (likewise ``Wb4``).
    """
    ss = steady_state(q3, params)
    q_in = params.q1 + params.q2 + np.asarray(q3, dtype=np.float64)
    dwa = (params.Wa3 - ss.Wa4) / q_in
    dwb = (params.Wb3 - ss.Wb4) / q_in
    _, slope, _ = _charge_balance(ss.pH, ss.Wa4, ss.Wb4, params.pK1, params.pK2)
    b = 10.0 ** (ss.pH - params.pK2)
    frac = (1.0 + 2.0 * b) / (1.0 + 10.0 ** (params.pK1 - ss.pH) + b)
    return -(dwa + frac * dwb) / slope


def residence_time(q3, params: PHParams = DEFAULT_PARAMS) -> np.ndarray:
    """Residence time ``A h / q4`` [s] at the steady state of ``q3``.

    It is also the time constant of the (linear, at constant level) invariant
    dynamics ``A h dW/dt = sum(qi Wi) - q4 W``.
    """
    ss = steady_state(q3, params)
    return params.A * ss.h / (params.q1 + params.q2 + np.asarray(q3, dtype=np.float64))


def level_time_constant(q3, params: PHParams = DEFAULT_PARAMS) -> np.ndarray:
    """Time constant [s] of the level equation linearised at the steady state of ``q3``.

    ``A d(dh)/dt = -dq4/dh dh`` with ``dq4/dh = n Cv4 (h + z)^(n-1) = n q4 / (h + z)``,
    so ``tau = A (h + z) / (n q4)``.
    """
    ss = steady_state(q3, params)
    q4 = params.q1 + params.q2 + np.asarray(q3, dtype=np.float64)
    return params.A * (ss.h + params.z) / (params.n * q4)


# --------------------------------------------------------------------------- simulation


@dataclass
class PlantResponse:
    """What :func:`simulate_plant` returns (shapes for a batch; drop ``B`` for one scenario).

    Attributes
    ----------
    y : ndarray (B, T)
        pH samples ``y_k = pH(x(k Ts))``, taken before ``u_k`` acts.
    x : ndarray (B, T, 3) or None
        States ``(h, Wa4, Wb4)`` at the sample instants ``k Ts`` (None with ``keep_states=False``).
    x_final : ndarray (B, 3)
        State at ``T Ts``, after the last input (start a continuation from it).
    """

    y: np.ndarray
    x: np.ndarray | None
    x_final: np.ndarray


SPEC_TS = 10.0
"""The paper's sampling period [s]; with :data:`DEFAULT_SUBSTEPS` RK4 steps of 2.5 s."""


def _check_Ts(Ts) -> float:
    """The sampling period: a finite number of seconds > 0."""
    try:
        value = float(Ts)
    except (TypeError, ValueError):
        raise TypeError(f"Ts (the sampling period) must be a number of seconds, got {Ts!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise ValueError(
            f"Ts must be a positive number of seconds (the sampling period; the paper's is {SPEC_TS:g} s), got {Ts!r}"
        )
    return value


def _where(b: int, step: int | None, Ts: float) -> str:
    period = "" if step is None else f" during sampling period {step} (t in [{step * Ts:g}, {(step + 1) * Ts:g}] s)"
    return f"in scenario {b}{period}"


def _emptied(h: float, b: int, step: int | None, Ts: float, params: PHParams) -> ValueError:
    level = f"level h = {h!r} cm <= 0" if h <= 0 else f"level h = {h:.3g} cm, nearly empty"
    return ValueError(
        f"the tank emptied ({level}) {_where(b, step, Ts)}: the base flow q3 is too small for the loads "
        f"(the level needs q1 + q2 + q3 > Cv4 z^n = {params.Cv4 * params.z ** params.n:.3g} ml/s, "
        f"i.e. q3 > {params.Cv4 * params.z ** params.n - params.q1 - params.q2:.3g} ml/s); "
        "keep q3 in the paper's operating range [12.5, 17] ml/s"
    )


def _check_level(h: np.ndarray, step: int | None, Ts: float, params: PHParams = DEFAULT_PARAMS) -> None:
    """Refuse an emptied (or blown-up) tank, naming the scenario and the period."""
    if h.min() > 0 and h.max() < np.inf:  # also False for NaN: the fast path of the integrator
        return
    bad = ~(h > 0) | ~np.isfinite(h)
    b = int(np.argmax(bad))
    if np.isfinite(h[b]):
        raise _emptied(float(h[b]), b, step, Ts, params)
    raise ValueError(
        f"the integration of the tank diverged (level h = {float(h[b])!r}) {_where(b, step, Ts)}: "
        f"keep the base flow q3 in the paper's operating range [12.5, 17] ml/s and Ts / substeps (the RK4 step) "
        f"well below the tank's residence time (about 88 s; the paper uses Ts = {SPEC_TS:g} s, "
        f"{DEFAULT_SUBSTEPS} substeps)"
    )


def _check_resolution(h: np.ndarray, q_in: np.ndarray, Ts: float, substeps: int, step: int | None,
                      params: PHParams) -> None:
    """Refuse a period whose RK4 step ``Ts / substeps`` is longer than the tank's renewal time ``A h / q_in``.

    The invariants relax with the rate ``q_in / (A h)``: an RK4 step longer than
    ``A h / q_in`` is inaccurate, and beyond about 2.8 times it unstable (the state
    blows up or turns negative). The message says whether the flow is too large
    (the level rises), the tank nearly empty (the level falls), or Ts too long.
    """
    dt = Ts / substeps
    rate = q_in / h
    if float(np.max(rate)) * dt <= params.A:  # the fast path: one division and one max per period
        return
    b = int(np.argmax(rate))
    hb, qb = float(np.ravel(h)[b]), float(np.ravel(np.broadcast_to(q_in, np.shape(h)))[b])
    tau = params.A * hb / qb
    q3 = qb - params.q1 - params.q2
    where = _where(b, step, Ts)
    if tau >= SPEC_TS / DEFAULT_SUBSTEPS:  # the paper's sampling would resolve it: Ts is too long
        raise ValueError(
            f"Ts = {Ts:g} s with {substeps} substeps gives RK4 steps of {dt:.3g} s, longer than the time "
            f"A h / (q1 + q2 + q3) = {tau:.3g} s in which the inflow renews the tank's content "
            f"(level h = {hb:.3g} cm, q3 = {q3:.4g} ml/s, {where}): the integration would diverge; "
            f"choose Ts / substeps <= {tau:.3g} s (the paper samples every Ts = {SPEC_TS:g} s "
            f"with {DEFAULT_SUBSTEPS} substeps)"
        )
    if qb < params.Cv4 * (hb + params.z) ** params.n:  # the level falls: the tank is running dry
        raise _emptied(hb, b, step, Ts, params)
    q_max = params.A * hb / dt - params.q1 - params.q2
    h_steady = (qb / params.Cv4) ** (1.0 / params.n) - params.z
    raise ValueError(
        f"q3 = {q3:.4g} ml/s is too large ({where}): it renews the tank's content (A h = {params.A * hb:.4g} ml "
        f"at level h = {hb:.3g} cm) in {tau:.3g} s, faster than one RK4 step Ts / substeps = {dt:.3g} s can "
        f"follow (this flow would fill the tank to a steady level of {h_steady:.3g} cm); keep q3 in [0, {q_max:.4g}] ml/s at this level "
        "(the paper's operating range is [12.5, 17] ml/s), or take more substeps"
    )


def _rk4_columns(s: np.ndarray, q_in: np.ndarray, w_in: np.ndarray, Ts: float, substeps: int,
                 params: PHParams) -> np.ndarray:
    """One sampling period of classical RK4 on a column-batched state (3, B); the hot path, no checks."""
    dt = Ts / substeps
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        for _ in range(substeps):
            k1 = _rhs_columns(s, q_in, w_in, params)
            k2 = _rhs_columns(s + (0.5 * dt) * k1, q_in, w_in, params)
            k3 = _rhs_columns(s + (0.5 * dt) * k2, q_in, w_in, params)
            k4 = _rhs_columns(s + dt * k3, q_in, w_in, params)
            # s += dt/6 (k1 + 2 k2 + 2 k3 + k4), summed in place
            k2 += k3
            k2 *= 2.0
            k1 += k2
            k1 += k4
            s = s + (dt / 6.0) * k1
    return s


def step_plant(x, q3, *, Ts: float = 10.0, params: PHParams = DEFAULT_PARAMS,
               substeps: int = DEFAULT_SUBSTEPS) -> np.ndarray:
    """The state one sampling period later, with the base flow held at ``q3`` (zero-order hold).

    ``x`` is (3,) or (B, 3) = (h, Wa4, Wb4); ``q3`` a scalar or (B,) [ml/s], >= 0.
    An unbatched state with a batch of flows starts every batch row from ``x``.
    The same RK4 integration as :func:`simulate_plant`, one period at a time
    (the ``PHPLANT`` block's state update).
    """
    Ts = _check_Ts(Ts)
    substeps = positive_int(substeps, "substeps")
    x = check_finite(as_float_array(x, "x"), "x")
    if x.ndim not in (1, 2) or x.shape[-1] != 3:
        raise ShapeError(f"x has shape {x.shape}, expected (3,) or (B, 3) = (h, Wa4, Wb4)")
    if np.any(x[..., 0] <= 0):
        raise ValueError("x: the level h (x[..., 0]) must be positive (cm): the tank model is invalid when it is empty")
    q3 = _check_flow(q3, "q3", "base flow")
    try:
        batch = np.broadcast_shapes(x.shape[:-1], np.shape(q3))
        if len(batch) > 1:
            raise ValueError
    except ValueError:
        like = f"({x.shape[0]},) like x" if x.ndim == 2 else "(B,)"
        raise ShapeError(f"q3 has shape {np.shape(q3)}, expected a scalar or {like}") from None
    shape = batch + (3,) if x.ndim == 2 or np.size(q3) > 1 else x.shape  # one tank stays (3,)
    x = np.broadcast_to(x, shape)
    cols = x.T.reshape(3, -1)
    q3 = np.broadcast_to(q3, cols.shape[1:])
    q_in, wa_in, wb_in = _inflow(params.q1, params.q2, q3, params)
    _check_resolution(cols[0], q_in, Ts, substeps, None, params)
    s = _rk4_columns(cols, q_in, np.stack([wa_in, wb_in]), Ts, substeps, params)
    _check_level(s[0], None, Ts, params)
    return s.T.reshape(x.shape)


def simulate_plant(q3_sequence, x0=None, *, Ts: float = 10.0, params: PHParams = DEFAULT_PARAMS,
                   q3_jitter=None, substeps: int = DEFAULT_SUBSTEPS,
                   keep_states: bool = True) -> PlantResponse:
    """Sampled response of the tank to a zero-order-hold base flow, batched over scenarios.

    Over period ``k`` (``t`` in ``[k Ts, (k+1) Ts)``) the plant receives the constant
    flow ``q3_k`` (+ ``q3_jitter_k`` if given).  The output ``y_k = pH(x(k Ts))`` is
    sampled *before* ``q3_k`` acts, so the sampled system is strictly proper:
    ``y_0`` depends on ``x0`` only.

    Integration is fixed-step classical Runge-Kutta (RK4) with ``substeps`` steps
    per period, vectorised over the batch (one Python loop over time, none over
    scenarios).  The plant is smooth and slow compared with ``Ts = 10 s``
    (residence time about 88 s, level time constant about 265 s), so RK4 with
    2.5 s steps (the default) agrees with ``scipy.integrate.solve_ivp`` (Radau,
    rtol 1e-10) to 1e-9 in pH after a step and a few 1e-8 on a busy MPRS; the
    error falls like ``substeps^-4`` (see the tests).  2964 scenarios of 2000
    samples take about 3 s on two cores.

    Parameters
    ----------
    q3_sequence : array_like (T,) or (B, T)
        Nominal base flow of each period [ml/s] (B scenarios of T samples).
    x0 : array_like (3,) or (B, 3), optional
        Initial state ``(h [cm], Wa4, Wb4 [mol/L])``.  Default: each scenario's
        steady state at its *first nominal* flow ``q3_sequence[..., 0]``.
    Ts : float
        Sampling period [s].
    params : PHParams
        Plant parameters (the loads ``q1``, ``q2`` included).
    q3_jitter : array_like, optional
        Additive perturbation of the flow the plant actually receives, broadcast
        to the shape of ``q3_sequence`` (input noise, ml/s).
    substeps : int
        RK4 steps per period.
    keep_states : bool
        Keep the states at every sample (``B*T*3`` floats); False keeps only ``y``.

    Returns
    -------
    PlantResponse
        ``y`` (T,) or (B, T); ``x`` (T, 3) or (B, T, 3); ``x_final`` (3,) or (B, 3).

    Raises
    ------
    ValueError
        A negative or non-finite flow (naming it and its index), a bad ``x0``, or
        a tank that empties during the simulation.
    """
    Ts = _check_Ts(Ts)
    substeps = positive_int(substeps, "substeps")
    q3_nominal = _check_flow(q3_sequence, "q3", "base flow")
    if q3_nominal.ndim not in (1, 2) or q3_nominal.shape[-1] < 1:
        raise ShapeError(f"q3_sequence has shape {q3_nominal.shape}, expected (T,) or (B, T) with T >= 1")
    single = q3_nominal.ndim == 1
    q3 = q3_nominal
    if q3_jitter is not None:
        jitter = check_finite(as_float_array(q3_jitter, "q3_jitter"), "q3_jitter")
        try:
            jitter = np.broadcast_to(jitter, q3_nominal.shape)
        except ValueError:
            raise ShapeError(f"q3_jitter has shape {jitter.shape}, which does not broadcast to the "
                             f"shape of q3_sequence {q3_nominal.shape}") from None
        q3 = _check_flow(q3_nominal + jitter, "q3 + q3_jitter", "base flow the plant receives")
    q3_nominal = np.atleast_2d(q3_nominal)
    q3 = np.atleast_2d(q3)
    n_batch, n_steps = q3_nominal.shape

    if x0 is None:
        s = np.ascontiguousarray(steady_state(q3_nominal[:, 0], params).x.T)  # (3, B)
    else:
        x0 = check_finite(as_float_array(x0, "x0"), "x0")
        if x0.shape not in ((3,), (n_batch, 3)):
            raise ShapeError(f"x0 has shape {x0.shape}, expected (3,) or ({n_batch}, 3) = (h, Wa4, Wb4)")
        s = np.array(np.broadcast_to(x0, (n_batch, 3)).T)  # (3, B), a copy
        if np.any(s[0] <= 0):
            raise ValueError("x0: the initial level h must be positive (cm)")
        if np.any(s[2] < 0):
            raise ValueError("x0: the initial carbonate invariant Wb4 must be >= 0 (mol/L)")

    # time-major (T, B) inflows: each period reads contiguous rows
    q_in, wa_in, wb_in = _inflow(params.q1, params.q2, np.ascontiguousarray(q3.T), params)
    w_in = np.stack([wa_in, wb_in], axis=1)  # (T, 2, B)
    states = np.empty((3, n_steps, n_batch)) if keep_states else None
    samples = np.empty((2, n_steps, n_batch))  # invariants at the sample instants
    for k in range(n_steps):
        samples[:, k] = s[1:]
        if keep_states:
            states[:, k] = s
        _check_resolution(s[0], q_in[k], Ts, substeps, k, params)
        s = _rk4_columns(s, q_in[k], w_in[k], Ts, substeps, params)
        _check_level(s[0], k, Ts, params)

    y = ph_from_invariants(samples[0].T, samples[1].T, params)  # (B, T)
    x = None if states is None else np.ascontiguousarray(states.transpose(2, 1, 0))  # (B, T, 3)
    x_final = np.ascontiguousarray(s.T)
    if single:
        return PlantResponse(y[0], None if x is None else x[0], x_final[0])
    return PlantResponse(y, x, x_final)
