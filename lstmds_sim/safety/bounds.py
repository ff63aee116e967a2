"""Guaranteed bounds on an LSTM's reachable set (beyond the paper).

:func:`state_bound` bounds the cell and hidden state, :func:`reachable_set_bound`
the output as a function of the input amplitude rho_u, and
:func:`trivial_output_bound` the output from ``|xi| < 1`` alone. They hold for
every trajectory and complement the probabilistic bound of
:mod:`lstmds_sim.safety.scenario` (which holds only with probability
``1 - eps``). The ``"lyapunov"`` method uses the ISS-Lyapunov function of
Theorem 4's proof (:mod:`lstmds_sim.safety.iss`); ``"crown"`` the linear
relaxations of :mod:`lstmds_sim.safety.crown`, back-substituted through the
unrolled network with optimised slopes (seconds per bound, not milliseconds:
it is listed apart, in :data:`OPTIMISED_METHODS`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..core.activations import sigmoid
from ..core.params import LSTMParams, as_layers
from .iss import gate_sigma, induced_norm

__all__ = ["METHODS", "OPTIMISED_METHODS", "StateBound", "reachable_set_bound", "state_bound", "trivial_output_bound"]

#: The closed-form methods (a bound in milliseconds).
METHODS = ("interval", "componentwise", "lyapunov")
#: The methods that optimise (seconds per bound): linear relaxations through the unrolled network.
OPTIMISED_METHODS = ("crown",)


# --------------------------------------------------------------------------- reachable set
#
# A "box" is a pair (lo, hi) of arrays of length 2 Nn: the cell state x in the
# first Nn entries, the hidden state xi in the last Nn.  Every bound below is a
# map that sends a box containing the state at step k (and an input box) to a
# box containing the state at step k+1, whatever the input in its box.


@dataclass(frozen=True)
class StateBound:
    """Elementwise bounds ``x_lo <= x <= x_hi`` (cell) and ``xi_lo <= xi <= xi_hi`` (hidden).

    ``x`` and ``xi`` are the bounds on the absolute values.
    """

    x_lo: np.ndarray
    x_hi: np.ndarray
    xi_lo: np.ndarray
    xi_hi: np.ndarray

    @property
    def x(self) -> np.ndarray:
        return np.maximum(np.abs(self.x_lo), np.abs(self.x_hi))

    @property
    def xi(self) -> np.ndarray:
        return np.maximum(np.abs(self.xi_lo), np.abs(self.xi_hi))


def trivial_output_bound(params: LSTMParams | Sequence[LSTMParams]) -> float:
    """``||y||_inf <= || [C b_y] ||_inf <= ||C||_inf + ||b_y||_inf`` from ``|xi| < 1`` alone.

    Row ``m`` of ``y = C xi + b_y`` obeys ``|y_m| <= sum_j |C_mj| + |b_y,m|``
    (the row-wise form is at least as tight as ``||C||_inf + ||b_y||_inf``).
    Without an output layer ``y = xi`` and the bound is 1.
    """
    last = as_layers(params)[-1]
    if last.F is None:
        return 1.0
    return float((np.abs(last.F).sum(axis=1) + np.abs(last.bF)).max())


def state_bound(
    params: LSTMParams,
    input_bound,
    *,
    state_box=None,
    horizon: int | None = None,
    method: str = "interval",
    tol: float = 1e-12,
    max_iter: int = 2_000,
) -> StateBound:
    """Bounds on the cell and hidden state of one layer for inputs with ``|u_l| <= input_bound[l]``.

    **componentwise** (valid for every LSTM, ISS or not).  Over the box
    ``|u| <= ubar``, ``|xi| <= Xi`` row ``j`` of a gate's pre-activation is at
    most ``|W_j| ubar + |U_j| Xi + b_j`` and sigmoid is increasing, so with
    ``f_j, i_j, o_j`` the sigmoids of those maxima and
    ``g_j = tanh(|W_c,j| ubar + |U_c,j| Xi + |b_c,j|)`` (tanh is odd and increasing)::

        |x_j+|  <= f_j |x_j| + i_j g_j                       (from 2a)
        |xi_j+| <= o_j tanh(|x_j+|)  <= o_j min(1, |x_j+|)   (from 2b)

    With ``Xi = 1`` the cell recursion alone gives ``|x_j| <= i_j g_j / (1 - f_j)``
    asymptotically (``f_j < 1`` always); feeding the smaller bound on ``|xi|``
    back into the gates tightens it.  This map ``T`` is monotone, so by
    induction states starting in a box stay in the iterated boxes.

    **interval** (default; never looser than componentwise).  The same
    recursion on signed intervals ``[lo, hi]`` instead of symmetric ones:
    over ``lo <= v <= hi`` row ``j`` of ``A v`` ranges exactly over
    ``[A+ lo + A- hi, A+ hi + A- lo]`` (``A+``, ``A-`` the positive and
    negative parts of ``A``), sigmoid and tanh map intervals to intervals, and
    a product of intervals lies between the extreme corner products.  It keeps track of
    signs (a positive candidate bias pushes ``x`` up, ``F`` and ``bF`` may
    cancel), which a bound on absolute values cannot.

    **crown** (:mod:`lstmds_sim.safety.crown`): the state boxes certified by
    linear relaxations back-substituted through ``K`` steps of the unrolled
    network, the relaxations' slopes optimised, closed by an invariant box;
    never looser than interval (it starts from the interval boxes and only
    intersects; its bounds carry a rounding slack of 1e-10). Needs
    ``state_box``; without one it is the interval bound.

    **lyapunov** follows the paper's proof of Theorem 4 with ``V = |x|_1 + |xi|_1``:
    (17) gives ``V+ <= lambda V + w`` with
    ``lambda = max((1 + s_o) s_f, (1 + s_o) s_i ||U_c||_1)`` (the condition,
    with the sigma's for this input box) and
    ``w = (1 + s_o) s_i (max_{|u|<=ubar} |W_c u|_1 + |b_c|_1)``, so
    ``V(k) <= lambda^k V(0) + w (1 - lambda^k) / (1 - lambda)`` and
    ``|x_j|, |xi_j| <= V``.  Usually far more conservative (it lumps all units
    into one number); infinite where the condition fails.

    What is bounded:

    * ``state_box=None``: an *invariant* box (a state in it stays in it for
      all time, whatever the input).  It is found by iterating the map from the
      invariant box ``|xi| <= 1``, ``|x| <= i g / (1 - f)`` (gates at
      ``|xi| <= 1``); the iterates shrink towards the smallest box the method
      can certify and each of them is invariant, so stopping early is still
      valid.  Every trajectory, from any initial state, approaches this box:
      after one step it lies in the invariant box ``M(1)`` below, whose
      iterates shrink to the same limit.
    * ``state_box=(cx, hx)``, ``horizon=H``: the hull of the boxes at steps
      ``0 .. H-1`` (the ``H`` samples ``y(0) .. y(H-1)``) for ``|x0| <= cx``,
      ``|xi0| <= hx``.
    * ``state_box=(cx, hx)``, ``horizon=None``: all steps ``k >= 0``.  After
      one step the state lies in ``M(1)``, the larger of the step-1 box and the
      starting invariant box; ``M(1)`` is invariant, so step ``1 + m`` lies in
      ``M(m+1) = T^m(M(1))`` and so does every later step.  The hull of the
      boxes at steps ``0 .. 1+m`` and ``M(m+1)`` is valid for every ``m``.

    Parameters
    ----------
    params : LSTMParams (one layer)
    input_bound : float or array (Ni,): ``|u_l| <= input_bound[l]`` at every step
    state_box : None or ``(cx, hx)``: bounds (scalars or (Nn,) arrays) on ``|x0|``
        and ``|xi0|``; ``hx <= 1`` since the hidden state always lies in (-1, 1)
    horizon : number of output samples ``y(0) .. y(H-1)``; needs ``state_box``
    method : ``"interval"``, ``"componentwise"``, ``"lyapunov"`` or ``"crown"``
    tol, max_iter : stopping rule of the shrinking iteration (the result is valid either way)

    Returns
    -------
    StateBound
    """
    U = np.broadcast_to(np.asarray(input_bound, dtype=float), (params.n_inputs,)).copy()
    if not np.all(np.isfinite(U)) or np.any(U < 0):
        raise ValueError(f"input_bound must be finite and >= 0 (a bound on |u|), got {input_bound!r}")
    return _layer_bound(params, (-U, U), state_box, horizon, method, tol, max_iter)


def reachable_set_bound(
    params: LSTMParams | Sequence[LSTMParams],
    rho_u,
    *,
    state_box=None,
    horizon: int | None = None,
    method: str = "interval",
):
    """Analytic bound on ``||y(k)||_inf`` for inputs with ``||u||_inf <= rho_u`` (beyond the paper).

    The paper (Section 3) notes that ISS bounds the output reachable set but
    that the bound from the ISS-Lyapunov function "may suffer from an excessive
    conservativeness".  Here the state bounds of :func:`state_bound` are
    propagated through the output map: ``y = C xi + b_y`` with ``xi`` in a box
    gives ``|y_m| <= |b_y,m| + sum_j |C_mj| |xi_j| <= ||C||_inf ||xi||_inf + ||b_y||_inf``
    (the interval method uses the signed interval of ``C xi + b_y``).

    Derivation in short.  For inputs with ``|u| <= rho`` and ``|xi| <= 1``
    (always true) a gate entry is at most ``sigmoid(rho |W_j|_1 + |U_j|_1 + b_j)``
    - at ``rho = 1`` and with ``|b_j|`` in place of ``b_j`` this is the
    paper's ``sigma_g``, and it never exceeds
    ``sigmoid(rho ||W_g||_inf + ||U_g||_inf + ||b_g||_inf)``.  Then
    ``|x+| <= f |x| + i |tanh(.)|`` gives ``|x| <= i tanh(gbar) / (1 - f)``
    asymptotically (elementwise, hence in the inf-norm), and
    ``|xi+| <= o tanh(|x+|) <= o min(1, |x+|)``; the bound on ``|xi|`` is fed
    back into the gates until it stops shrinking.  Each step is an upper bound
    over all states and inputs in the boxes, so the result holds for every
    trajectory; it is never above :func:`trivial_output_bound`.

    Parameters
    ----------
    params : LSTMParams or layers in series (a deeper layer's input box is the
        previous layer's output box)
    rho_u : float or array of input amplitudes (>= 0)
    state_box : None (invariant-set bound: trajectories starting in the
        invariant box of :func:`state_bound`, and the limit for all others) or
        ``(cx, hx)`` bounds on ``|x0|``, ``|xi0|`` of every layer (the bound
        then holds for all ``k >= 0``, or ``k < horizon``)
    horizon : optional number of output samples (needs ``state_box``)
    method : ``"interval"`` (the tightest closed form), ``"componentwise"``, ``"lyapunov"`` (the
        paper's V) or ``"crown"`` (tighter still, seconds per value: linear relaxations of the
        unrolled network, :func:`lstmds_sim.safety.crown.crown_layer_bound`; with a ``state_box``,
        else it is the interval bound)

    Returns
    -------
    float for scalar ``rho_u``, else an array of the same shape.
    """
    layers = as_layers(params)
    rho = np.asarray(rho_u, dtype=float)
    if not np.all(np.isfinite(rho)) or np.any(rho < 0):
        raise ValueError(f"rho_u must be finite and >= 0 (bound on ||u||_inf), got {rho_u!r}")
    trivial = trivial_output_bound(layers)
    out = np.empty(rho.shape)
    for idx, r in np.ndenumerate(rho):
        u_box = (np.full(layers[0].n_inputs, -float(r)), np.full(layers[0].n_inputs, float(r)))
        for layer in layers:
            if method == "crown" and state_box is not None:
                u_box = _crown(layer, u_box, state_box, horizon).output_box
            else:
                sb = _layer_bound(layer, u_box, state_box, horizon, method)
                u_box = _output_box(layer, sb.xi_lo, sb.xi_hi)
        out[idx] = min(float(np.maximum(-u_box[0], u_box[1]).max()), trivial)
    return float(out) if rho.ndim == 0 else out


# --------------------------------------------------------------------------- helpers
def _state_box(state_box, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(cx, hx)`` -> the box (lo, hi) of length 2n."""
    try:
        cx, hx = state_box
    except (TypeError, ValueError):
        raise ValueError(f"state_box must be a pair (cx, hx) of bounds on |x0| and |xi0|, got {state_box!r}") from None
    cx = np.broadcast_to(np.asarray(cx, dtype=float), (n,))
    hx = np.broadcast_to(np.asarray(hx, dtype=float), (n,))
    if not (np.all(np.isfinite(cx)) and np.all(cx >= 0) and np.all(hx >= 0)):
        raise ValueError(f"state_box bounds must be finite and >= 0, got {state_box!r}")
    if np.any(hx > 1):
        raise ValueError(
            f"state_box hidden bound hx must be <= 1, got {state_box[1]!r}: the hidden state "
            "xi = o * tanh(x) always lies in (-1, 1), and the bounds assume |xi| <= 1"
        )
    hi = np.concatenate([cx, hx])
    return -hi, hi


def _output_box(layer: LSTMParams, xi_lo: np.ndarray, xi_hi: np.ndarray):
    """Interval of the layer's output ``F xi + bF`` (``xi`` itself without an output layer)."""
    if layer.F is None:
        return xi_lo.copy(), xi_hi.copy()
    lo, hi = _affine(layer.F, xi_lo, xi_hi)
    return lo + layer.bF, hi + layer.bF


def _affine(A: np.ndarray, lo: np.ndarray, hi: np.ndarray):
    """Exact range of ``A v`` over the box ``lo <= v <= hi``, row by row."""
    Ap, An = np.maximum(A, 0.0), np.minimum(A, 0.0)
    return Ap @ lo + An @ hi, Ap @ hi + An @ lo


def _times(a, b):
    """Range of the product of two intervals (the extreme corners).

    A gate interval ``[0, f]`` times an unbounded cell interval gives a corner
    ``0 * inf``; it is read as 0 (the other corners are then infinite anyway).
    """
    with np.errstate(invalid="ignore"):
        c = np.stack([a[0] * b[0], a[0] * b[1], a[1] * b[0], a[1] * b[1]])
    c = np.nan_to_num(c, nan=0.0, posinf=np.inf, neginf=-np.inf)
    return c.min(axis=0), c.max(axis=0)


def _interval_step(layer: LSTMParams, u_box, box):
    """Box of the next state (x+, xi+) for inputs in ``u_box`` and states in ``box``."""
    n = layer.n_units
    lo, hi = box
    xi_lo, xi_hi = lo[n:], hi[n:]
    pre = {}
    for gate in "ifgo":
        W, R, b = layer.gate(gate)
        wl, wh = _affine(W, *u_box)
        rl, rh = _affine(R, xi_lo, xi_hi)
        pre[gate] = (wl + rl + b, wh + rh + b)
    f, i, o = ((sigmoid(pre[k][0]), sigmoid(pre[k][1])) for k in "fio")
    g = (np.tanh(pre["g"][0]), np.tanh(pre["g"][1]))
    fx, ig = _times(f, (lo[:n], hi[:n])), _times(i, g)
    x_new = (fx[0] + ig[0], fx[1] + ig[1])
    xi_new = _times(o, (np.tanh(x_new[0]), np.tanh(x_new[1])))
    return np.concatenate([x_new[0], xi_new[0]]), np.concatenate([x_new[1], xi_new[1]])


def _abs_step(layer: LSTMParams, u_box, box):
    """The componentwise map on symmetric boxes: bounds on |x+|, |xi+| from bounds on |x|, |xi|."""
    n = layer.n_units
    U = np.maximum(-u_box[0], u_box[1])
    top = np.maximum(-box[0], box[1])
    X, Xi = top[:n], top[n:]

    def pre(gate, signed_bias=True):
        W, R, b = layer.gate(gate)
        return np.abs(W) @ U + np.abs(R) @ Xi + (b if signed_bias else np.abs(b))

    f, i, o = sigmoid(pre("f")), sigmoid(pre("i")), sigmoid(pre("o"))
    g = np.tanh(pre("g", signed_bias=False))
    X_new = f * X + i * g
    top_new = np.concatenate([X_new, o * np.tanh(X_new)])
    return -top_new, top_new


def _invariant_start(layer: LSTMParams, u_box):
    """The symmetric box ``|xi| <= 1``, ``|x| <= i g / (1 - f)`` (gates at ``|xi| <= 1``).

    The componentwise map sends it into itself (``f X + i g = X`` and
    ``o tanh(X) < 1``), and the interval map is never looser, so it is invariant.
    """
    n = layer.n_units
    U = np.maximum(-u_box[0], u_box[1])

    def top(gate, signed_bias=True):
        W, R, b = layer.gate(gate)
        return np.abs(W) @ U + np.abs(R).sum(axis=1) + (b if signed_bias else np.abs(b))

    f, i = sigmoid(top("f")), sigmoid(top("i"))
    g = np.tanh(top("g", signed_bias=False))
    with np.errstate(divide="ignore"):  # a saturated forget gate (f == 1.0 in floating point): no cell bound
        x_top = np.where(f < 1.0, i * g / (1.0 - f), np.inf)
    hi = np.concatenate([x_top, np.ones(n)])
    return -hi, hi


def _hull(a, b):
    return np.minimum(a[0], b[0]), np.maximum(a[1], b[1])


def _inside(a, b) -> bool:
    return bool(np.all(a[0] >= b[0]) and np.all(a[1] <= b[1]))


def _shrink(step, box, tol):
    """One step of an invariant box; intersected with the box itself (only rounding can leave it)."""
    new = step(box)
    new = (np.maximum(new[0], box[0]), np.minimum(new[1], box[1]))
    with np.errstate(invalid="ignore"):  # inf - inf: an unbounded entry that stays unbounded
        change = np.nan_to_num(np.concatenate([new[0] - box[0], box[1] - new[1]]), nan=0.0)
    return new, change.max() <= tol


@dataclass(frozen=True)
class _CrownLayer:
    state: StateBound
    output_box: tuple


def _crown(layer, u_box, state_box, horizon) -> _CrownLayer:
    """One layer's crown bound: its state box, and its output box (never wider than the interval method's)."""
    from .crown import SLACK, crown_layer_bound

    _check_horizon(horizon, state_box)
    n = layer.n_units
    result = crown_layer_bound(layer, u_box, _state_box(state_box, n), horizon=horizon)
    state = StateBound(result.x_lo, result.x_hi, result.xi_lo, result.xi_hi)
    lo, hi = _output_box(layer, result.xi_lo, result.xi_hi)  # the output over the certified state box
    # both carry the rounding slack of the crown bounds (1e-10): the network's own arithmetic (the
    # diagram's, the matrices') may round y = C xi + b_y an ulp above the interval's ends
    return _CrownLayer(state, (np.maximum(lo - SLACK, result.y_lo), np.minimum(hi + SLACK, result.y_hi)))


def _check_horizon(horizon, start):
    if horizon is not None:
        if start is None:
            raise ValueError("horizon needs a state_box=(cx, hx): a finite-horizon bound depends on the initial states")
        if int(horizon) != horizon or horizon < 1:
            raise ValueError(f"horizon must be a positive integer (number of output samples), got {horizon!r}")


def _layer_bound(layer, u_box, state_box, horizon, method, tol=1e-12, max_iter=2_000) -> StateBound:
    if method not in METHODS + OPTIMISED_METHODS:
        raise ValueError(f"method must be one of {METHODS + OPTIMISED_METHODS}, got {method!r}")
    if method == "crown":
        if state_box is not None:
            return _crown(layer, u_box, state_box, horizon).state
        method = "interval"  # from the invariant box itself, step 0 already spans it: the interval bound
    n = layer.n_units
    start = None if state_box is None else _state_box(state_box, n)
    _check_horizon(horizon, start)
    if horizon is not None:
        horizon = int(horizon)
    if method == "lyapunov":
        box = _lyapunov_box(layer, u_box, start, horizon)
    else:
        one = _interval_step if method == "interval" else _abs_step
        box = _iterate(lambda b: one(layer, u_box, b), _invariant_start(layer, u_box), start, horizon, tol, max_iter)
    lo, hi = box
    return StateBound(lo[:n], hi[:n], lo[n:], hi[n:])


def _iterate(step, invariant, start, horizon, tol, max_iter):
    """Hull of the boxes reached from ``start`` (see :func:`state_bound`, "What is bounded")."""
    if start is None:
        box = invariant
        for _ in range(max_iter):
            box, done = _shrink(step, box, tol)
            if done:
                break
        return box
    box = reached = start
    if horizon is not None:
        for _ in range(horizon - 1):
            box = step(box)
            reached = _hull(reached, box)
        return reached
    box = step(box)
    reached = _hull(reached, box)
    top = np.maximum(np.maximum(-box[0], box[1]), invariant[1])
    later = (-top, top)  # M(1): symmetric, invariant, contains every step >= 1
    for _ in range(max_iter):
        if _inside(later, reached):
            break
        box = step(box)
        reached = _hull(reached, box)
        later, done = _shrink(step, later, tol)  # contains every step from here on
        if done:
            break
    return _hull(reached, later)


def _lyapunov_box(layer, u_box, start, horizon):
    n = layer.n_units
    U = np.maximum(-u_box[0], u_box[1])

    s_i, s_f, s_o = (gate_sigma(layer, gate, U) for gate in "ifo")  # the paper's sigma_g for |u_l| <= U_l
    Wc, Uc, bc = layer.gate("g")
    lam = max((1 + s_o) * s_f, (1 + s_o) * s_i * induced_norm(Uc, 1))
    w = (1 + s_o) * s_i * (float(np.abs(Wc).sum(axis=0) @ U) + float(np.abs(bc).sum()))
    if lam >= 1.0:
        v = math.inf
    else:
        v_inf = w / (1.0 - lam)
        if start is None:
            v = v_inf
        else:
            v0 = float(start[1].sum())
            k = math.inf if horizon is None else horizon - 1
            # V(k) moves monotonically from V(0) towards v_inf
            v = max(v0, v_inf if k == math.inf else lam**k * v0 + v_inf * (1.0 - lam**k))
    hi = np.concatenate([np.full(n, v), np.full(n, min(1.0, v))])
    return -hi, hi
