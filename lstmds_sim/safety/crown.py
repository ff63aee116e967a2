"""Certified reachable sets by linear relaxation of the unrolled LSTM (the CROWN family, with optimised slopes).

The interval method of :mod:`lstmds_sim.safety.bounds` pushes a box through one step at a time and
forgets, at every step, how the entries of the state depend on each other and on the inputs. This
module keeps those dependencies over a window of ``K`` steps. Every nonlinear piece of a step (eq. 2
of Bonassi et al.) is enclosed between two affine functions of its arguments, valid over the box the
arguments are known to lie in, and a linear function of the state at the top of the window (an entry,
or the output ``C xi + b_y``) is bounded by substituting these relaxations backwards, step by step,
down to the state at the bottom and the inputs in between (Zhang et al., CROWN, 2018; Ko et al.,
POPQORN, 2019, for LSTMs). One back-substitution step replaces

* ``xi+ = sigmoid(z_o) tanh(x+)`` by a plane in ``(z_o, x+)``,
* ``x+ = sigmoid(z_f) x + sigmoid(z_i) tanh(z_g)`` by a plane in ``(z_f, x)`` plus one in ``(z_i, z_g)``,
* ``z = W u + U xi + b`` exactly (it is affine), the step's input then bounded over its box,

taking the lower or the upper plane of each term by the sign of its coefficient. What remains at the
bottom is an affine function of the state there, bounded over that state's box.

**Slopes with exact offsets.** A plane here is a slope, free, and an offset computed *exactly* for
that slope over the box (:func:`tanh_offset`, :func:`product_offset`), so every slope gives a valid
bound and only the tightness depends on the slope:

* ``tanh(b) - m b`` has its extremes over ``[l, u]`` at the ends or where ``tanh(b)^2 = 1 - m``;
* ``sigmoid(a) v - alpha a - beta v`` is affine in ``v``, so its extremes over a box lie on the edges
  ``v = v_lo``, ``v = v_hi``, and along an edge at the ends or where ``sigmoid'(a) = alpha / v``
  (``s (1 - s) = alpha / v`` with ``s = sigmoid(a)``: two points ``+-a*``, ``sigmoid'`` being even);
* ``sigmoid(a) tanh(b)`` is bounded through a line of ``tanh`` first (``sigmoid > 0`` keeps the
  order), then as ``sigmoid(a) v`` with ``v`` that line.

**Optimised slopes** (the alpha-CROWN idea of Xu et al., 2021). Each objective has its own slopes at
every step and unit (16 numbers: the lower and upper planes of the three products, the lines of the
two tanh), each held inside the range the function's derivative takes over its box. The lower bound
is a piecewise-linear function of the slopes whose gradient has a closed form: the bound equals the
relaxed (linear) system evaluated at its minimising inputs and initial state, so the derivative with
respect to a plane's slope is the plane's multiplier times (the relaxed system's value of the
argument there minus the point where the exact offset is attained; the envelope theorem). Adam
climbs that gradient; every iterate is a valid bound, and the best one per objective is kept.

**All steps, any horizon.** :func:`crown_layer_bound` bounds the output at every step ``k >= 0``
for initial states in a box ``X0`` and inputs in a box:

1. *transient*: the state and output at each step ``1 <= d < K``, back-substituted ``d`` steps to ``X0``;
2. *invariant closure*: a box ``Q`` that holds the state at every step. It starts as the interval
   method's box of all reachable states, and the relaxations of every step are taken over boxes
   inside it. ``Q`` is tightened to ``Q & hull(B_0, ..., B_{K-1}, P_K(Q))``, with ``B_d`` the
   transient boxes and ``P_K(Q)`` the box certified ``K`` steps after a state in ``Q``. Each ``Q``
   of the sequence is sound by induction: a state at step ``k >= K`` came from one at ``k - K``,
   which lay in the previous ``Q``. The outputs of the steps ``k >= K`` are bounded by
   back-substituting ``C xi + b_y`` through ``K`` steps to ``Q``.

The rounds repeat (new boxes, new relaxations over them, slopes optimised again from the last ones)
until the boxes stop shrinking.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..core.activations import sigmoid
from ..core.params import LSTMParams

__all__ = ["N_SLOPES", "CrownBound", "crown_layer_bound", "product_offset", "tanh_offset"]

#: Absolute slack subtracted from (added to) every exact offset of a lower (upper) plane: the offsets
#: are extremes of a few float64 terms of order one, whose rounding error is about 1e-16.
MARGIN = 1e-12

#: Numbers per step, unit and objective that set the planes (see :func:`_step_planes`).
N_SLOPES = 16
_ALPHA = (0, 2, 6, 8, 12, 14)  # products: forget lower, upper; write lower, upper; out lower, upper
_BETA = (1, 3, 7, 9, 13, 15)
_LINE = (4, 5, 10, 11)  # tanh lines: write lower, upper; out lower, upper


# --------------------------------------------------------------------------- exact offsets
def _tanh_slope(b):
    t = np.tanh(b)
    return 1.0 - t * t


def _sigmoid_slope(a):
    s = sigmoid(a)
    return s * (1.0 - s)


def _choose(values, points, lower):
    """The smallest (where ``lower``, a bool or a bool array) or largest of ``values`` (stacked on axis 0),
    and the matching ``points``."""
    sign = np.where(lower, 1.0, -1.0)
    index = (sign * values).argmin(axis=0)
    pick = lambda arr: np.take_along_axis(arr, index[None], axis=0)[0]
    return pick(values), tuple(pick(p) for p in points)


def _tanh_extreme(m, lo, hi, lower):
    """Extreme of ``tanh(b) - m b`` over ``[lo, hi]`` (elementwise; ``lower``: smallest), and where it is."""
    m, lo, hi = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (m, lo, hi)))
    inside = (m > 0) & (m < 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        root = np.arctanh(np.sqrt(np.where(inside, 1.0 - m, 0.25)))
    inside &= np.isfinite(root)
    points = np.stack([lo, hi, np.where(inside & (root > lo) & (root < hi), root, lo),
                       np.where(inside & (-root > lo) & (-root < hi), -root, lo)])
    value, (point,) = _choose(np.tanh(points) - m * points, (points,), lower)
    return value, point


def tanh_offset(m, lo, hi, *, lower: bool) -> np.ndarray:
    """The smallest (``lower``) or largest value of ``tanh(b) - m b`` over ``lo <= b <= hi``, exactly.

    The derivative ``1 - tanh(b)^2 - m`` vanishes only for ``0 < m < 1``, at ``b = +-artanh(sqrt(1 - m))``:
    the extremes are there or at the ends. :data:`MARGIN` is subtracted (``lower``) or added.
    """
    value, _ = _tanh_extreme(m, lo, hi, lower)
    return value - np.where(lower, MARGIN, -MARGIN)


def _product_extreme(alpha, beta, a_lo, a_hi, v_lo, v_hi, lower):
    """Extreme of ``sigmoid(a) v - alpha a - beta v`` over the box; also where: ``a*`` and whether ``v = v_hi``."""
    alpha, beta, a_lo, a_hi, v_lo, v_hi = np.broadcast_arrays(
        *(np.asarray(x, dtype=float) for x in (alpha, beta, a_lo, a_hi, v_lo, v_hi)))
    values, a_points, on_hi = [], [], []
    for edge, v in enumerate((v_lo, v_hi)):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            q = np.where(v != 0, alpha / np.where(v != 0, v, 1.0), 0.0)
            inside = (q > 0) & (q <= 0.25)
            qs = np.where(inside, q, 0.1)
            small = 2.0 * qs / (1.0 + np.sqrt(np.maximum(1.0 - 4.0 * qs, 0.0)))  # root s < 1/2 of s (1 - s) = q
            root = np.log1p(-small) - np.log(small)  # a* = logit(1 - s) >= 0
        inside &= np.isfinite(root)
        for a in (a_lo, a_hi, np.where(inside & (root > a_lo) & (root < a_hi), root, a_lo),
                  np.where(inside & (-root > a_lo) & (-root < a_hi), -root, a_lo)):
            values.append(sigmoid(a) * v - alpha * a - beta * v)
            a_points.append(a)
            on_hi.append(np.full(a.shape, bool(edge)))
    value, (a_star, hi_edge) = _choose(np.stack(values), (np.stack(a_points), np.stack(on_hi)), lower)
    return value, a_star, hi_edge


def product_offset(alpha, beta, a_lo, a_hi, v_lo, v_hi, *, lower: bool) -> np.ndarray:
    """The smallest (``lower``) or largest value of ``sigmoid(a) v - alpha a - beta v`` over a box, exactly.

    The function is affine in ``v``: its extremes lie on the edges ``v = v_lo`` and ``v = v_hi``. On an
    edge, ``v sigmoid(a) - alpha a`` is stationary where ``sigmoid'(a) = alpha / v``, i.e. at
    ``a = +-a*`` with ``sigmoid(a*) (1 - sigmoid(a*)) = alpha / v``; the extremes are there or at the
    ends ``a_lo``, ``a_hi``. :data:`MARGIN` is subtracted (``lower``) or added.
    """
    value, _, _ = _product_extreme(alpha, beta, a_lo, a_hi, v_lo, v_hi, lower)
    return value - np.where(lower, MARGIN, -MARGIN)


# --------------------------------------------------------------------------- the planes of one step
class Plane(NamedTuple):
    """The affine function ``a X + b Y + c`` of two variables (arrays, elementwise)."""

    a: np.ndarray
    b: np.ndarray
    c: np.ndarray


def _between(lo, hi, theta):
    """``lo + (hi - lo) sigmoid(theta)`` and its derivative in ``theta``."""
    s = sigmoid(theta)
    return lo + (hi - lo) * s, (hi - lo) * s * (1.0 - s)


def _range_tanh_slope(lo, hi):
    """Smallest and largest ``tanh'`` over ``[lo, hi]``."""
    return np.minimum(_tanh_slope(lo), _tanh_slope(hi)), _tanh_slope(np.clip(0.0, lo, hi))


def _range_alpha(a_lo, a_hi, v_lo, v_hi):
    """A range of ``alpha`` for planes of ``sigmoid(a) v``: that of ``sigmoid'(a) v`` over the box, and 0."""
    d_min = np.minimum(_sigmoid_slope(a_lo), _sigmoid_slope(a_hi))
    d_max = _sigmoid_slope(np.clip(0.0, a_lo, a_hi))
    ends = np.stack([d_min * v_lo, d_min * v_hi, d_max * v_lo, d_max * v_hi, np.zeros(np.shape(v_lo))])
    return ends.min(axis=0), ends.max(axis=0)


@dataclass
class _StepPlanes:
    """The planes of one step for every objective (arrays (M, Nn)), with what the gradient needs.

    ``forget[s]``, ``write[s]``, ``out[s]`` (``s`` = 0 lower, 1 upper): planes in ``(z_f, x)``,
    ``(z_i, z_g)``, ``(z_o, x+)``. The rest: slopes (``alpha``, ``beta`` per product ``r`` in
    forget lo, hi, write lo, hi, out lo, hi; ``m`` per tanh line ``q`` in write lo, hi, out lo, hi),
    their derivatives in the parameters, and where each exact offset is attained.
    """

    forget: tuple
    write: tuple
    out: tuple
    alpha: np.ndarray
    beta: np.ndarray
    m: np.ndarray
    d_alpha: np.ndarray
    d_beta: np.ndarray
    d_m: np.ndarray
    a_star: np.ndarray
    hi_edge: np.ndarray
    v_lo: np.ndarray
    v_hi: np.ndarray
    k: np.ndarray
    b_star: np.ndarray
    b_lo: np.ndarray
    b_hi: np.ndarray


def _step_planes(theta, z_lo, z_hi, x_lo, x_hi, xn_lo, xn_hi, n) -> _StepPlanes:
    """Planes of one step from the parameters ``theta`` (M, Nn, 16) over the boxes (arrays (M, .)).

    ``z``: the pre-activations (4 Nn, gates i f g o); ``x``: the cell state before the step; ``xn``: after it.
    """
    g = lambda arr, q: arr[..., q * n:(q + 1) * n]
    shape = theta.shape[:-1]
    full = lambda a: np.broadcast_to(a, shape)
    # lines of tanh: write (over z_g) lower, upper; out (over x+) lower, upper
    b_lo = np.stack([full(g(z_lo, 2))] * 2 + [full(xn_lo)] * 2)
    b_hi = np.stack([full(g(z_hi, 2))] * 2 + [full(xn_hi)] * 2)
    m, d_m = _between(*_range_tanh_slope(b_lo, b_hi), np.moveaxis(theta[..., _LINE], -1, 0))
    lower4 = np.array([True, False, True, False]).reshape(4, *([1] * len(shape)))
    k, b_star = _tanh_extreme(m, b_lo, b_hi, lower4)
    k = k - np.where(lower4, MARGIN, -MARGIN)
    # products sigmoid(a) v: forget (a = z_f, v = x), write (a = z_i, v = its tanh line), out (a = z_o, v = its line)
    a_lo = np.stack([full(g(z_lo, 1))] * 2 + [full(g(z_lo, 0))] * 2 + [full(g(z_lo, 3))] * 2)
    a_hi = np.stack([full(g(z_hi, 1))] * 2 + [full(g(z_hi, 0))] * 2 + [full(g(z_hi, 3))] * 2)
    v_lo = np.concatenate([np.stack([full(x_lo)] * 2), m * b_lo + k])  # m >= 0: the line's range
    v_hi = np.concatenate([np.stack([full(x_hi)] * 2), m * b_hi + k])
    # alpha's range from the tanh range itself (not the line's), so it does not depend on m
    t_lo = np.concatenate([np.stack([full(x_lo)] * 2), np.tanh(b_lo)])
    t_hi = np.concatenate([np.stack([full(x_hi)] * 2), np.tanh(b_hi)])
    alpha, d_alpha = _between(*_range_alpha(a_lo, a_hi, t_lo, t_hi), np.moveaxis(theta[..., _ALPHA], -1, 0))
    beta, d_beta = _between(sigmoid(a_lo), sigmoid(a_hi), np.moveaxis(theta[..., _BETA], -1, 0))
    lower6 = np.array([True, False] * 3).reshape(6, *([1] * len(shape)))
    gamma, a_star, hi_edge = _product_extreme(alpha, beta, a_lo, a_hi, v_lo, v_hi, lower6)
    gamma = gamma - np.where(lower6, MARGIN, -MARGIN)
    forget = tuple(Plane(alpha[r], beta[r], gamma[r]) for r in (0, 1))
    write = tuple(Plane(alpha[r], beta[r] * m[r - 2], beta[r] * k[r - 2] + gamma[r]) for r in (2, 3))
    out = tuple(Plane(alpha[r], beta[r] * m[r - 2], beta[r] * k[r - 2] + gamma[r]) for r in (4, 5))
    return _StepPlanes(forget, write, out, alpha, beta, m, d_alpha, d_beta, d_m, a_star, hi_edge, v_lo, v_hi, k,
                       b_star, b_lo, b_hi)


def _at(pair, j):
    """The (lower, upper) planes of step ``j`` from planes of every step."""
    return tuple(Plane(*(arr[j] for arr in plane)) for plane in pair)


def _pick(planes, coefficient):
    """Per objective and unit, the lower plane where the coefficient is >= 0 (a lower bound), else the upper."""
    pos = coefficient >= 0
    return Plane(*(np.where(pos, lo, hi) for lo, hi in zip(*planes))), pos


# --------------------------------------------------------------------------- a batch of objectives
@dataclass
class _Problem:
    """Objectives ``Lx x + Lxi xi + c`` (rows) at the top of a window, and the boxes below them.

    ``boxes``: ``(z_lo, z_hi, x_lo, x_hi, xn_lo, xn_hi)``, arrays (K, M, .): for back-substitution step
    ``j`` (0 = the step just below the top) and row, the boxes of the pre-activations, the cell state
    before the step and after it; ``active[j]`` (M,): whether row goes through
    step ``j`` (a row of depth ``d`` goes through steps ``0 .. d-1``); ``bottom``: the box (lo, hi)
    (M, 2 Nn) each row ends on.
    """

    layer: LSTMParams
    u_box: tuple
    rows: tuple
    boxes: tuple
    active: np.ndarray
    bottom: tuple


def _evaluate(theta, prob: _Problem, gradient: bool = True):
    """Lower bounds of the rows for the slopes ``theta`` (K, M, Nn, 16), and their gradient in ``theta``.

    The planes of all steps are built at once (they depend on the slopes and boxes only). The
    gradient: the bound is the relaxed (linear) system's objective at its minimising inputs and bottom
    state (the *primal*); run forward from there, each plane's multiplier times the plane's derivative
    in its slopes at the primal's arguments (the offsets' own argument drops out: they are extremes,
    so only where they are attained matters).
    """
    layer = prob.layer
    n = layer.n_units
    W, R, b = layer.W, layer.R, layer.b
    u_lo, u_hi = prob.u_box
    Lx, Lxi, c = (np.array(r, dtype=float) for r in prob.rows)
    K = theta.shape[0]
    P = _step_planes(theta, *prob.boxes, n)  # every array (.., K, M, Nn)
    sides = np.empty((3, K) + Lx.shape, dtype=bool)  # forget, write, out: lower plane taken
    lams = np.empty((3, K) + Lx.shape)
    u_star = np.empty((K, Lx.shape[0], W.shape[1]))
    selected = []
    for j in range(K):
        on = prob.active[j][:, None]
        po, sides[2, j] = _pick(_at(P.out, j), Lxi)
        mu = Lx + Lxi * po.b
        pf, sides[0, j] = _pick(_at(P.forget, j), mu)
        pw, sides[1, j] = _pick(_at(P.write, j), mu)
        lams[0, j] = lams[1, j] = mu
        lams[2, j] = Lxi
        Kz = np.concatenate([mu * pw.a, mu * pf.a, mu * pw.b, Lxi * po.a], axis=1)
        KW = Kz @ W
        u_star[j] = np.where(KW > 0, u_lo, u_hi)
        step_c = (Lxi * po.c + mu * (pf.c + pw.c)).sum(axis=1) + Kz @ b + (KW * u_star[j]).sum(axis=1)
        selected.append((pf, pw, po))
        c = np.where(on[:, 0], c + step_c, c)
        Lx, Lxi = np.where(on, mu * pf.b, Lx), np.where(on, Kz @ R, Lxi)
    L = np.hstack([Lx, Lxi])
    s0 = np.where(L > 0, prob.bottom[0], prob.bottom[1])
    low = c + (L * s0).sum(axis=1)
    if not gradient:
        return low, None
    # the primal, forward from the bottom: the arguments (a, second) of each product at every step
    a_args = np.empty((3, K) + Lx.shape)
    second = np.empty((3, K) + Lx.shape)
    x, xi = s0[:, :n], s0[:, n:]
    for j in reversed(range(K)):
        pf, pw, po = selected[j]
        on = prob.active[j][:, None]
        z = u_star[j] @ W.T + xi @ R.T + b
        zi, zf, zg, zo = (z[:, q * n:(q + 1) * n] for q in range(4))
        x_new = pf.a * zf + pf.b * x + pf.c + pw.a * zi + pw.b * zg + pw.c
        xi_new = po.a * zo + po.b * x_new + po.c
        a_args[:, j] = zf, zi, zo
        second[:, j] = x, zg, x_new
        x, xi = np.where(on, x_new, x), np.where(on, xi_new, xi)
    # the derivatives, all steps at once; product r = 2 t + (0 lower, 1 upper), t = forget, write, out
    grad = np.zeros_like(theta)
    active = prob.active[:, :, None]
    for t in range(3):
        for upper in (0, 1):
            r = 2 * t + upper
            mask = active & (sides[t] != bool(upper))
            lam = np.where(mask, lams[t], 0.0)
            v_edge = np.where(P.hi_edge[r], P.v_hi[r], P.v_lo[r])
            if t == 0:
                v_p = second[t]
            else:
                q = r - 2
                v_p = P.m[q] * second[t] + P.k[q]
                b_edge = np.where(P.hi_edge[r], P.b_hi[q], P.b_lo[q])
                g_m = lam * (P.beta[r] * (second[t] - P.b_star[q])
                             + (sigmoid(P.a_star[r]) - P.beta[r]) * (b_edge - P.b_star[q]))
                grad[..., _LINE[q]] += g_m * P.d_m[q]
            grad[..., _ALPHA[r]] += lam * (a_args[t] - P.a_star[r]) * P.d_alpha[r]
            grad[..., _BETA[r]] += lam * (v_p - v_edge) * P.d_beta[r]
    return low, grad


def _optimise(prob: _Problem, theta, iterations: int, lr: float, patience: int = 5, gain: float = 1e-4):
    """Adam on the slopes: the best lower bound of each row met (every iterate's is valid), and its slopes.

    Stops after ``iterations`` steps, or earlier once ``patience`` steps in a row raised the rows' best
    bounds by less than ``gain`` on average.
    """
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    best, best_theta = None, theta.copy()
    idle = 0
    for k in range(1, iterations + 2):
        low, grad = _evaluate(theta, prob, gradient=k <= iterations)
        if best is None:
            best = low.copy()
        else:
            better = low > best
            idle = 0 if np.maximum(low - best, 0.0).mean() > gain else idle + 1
            best = np.where(better, low, best)
            best_theta[:, better] = theta[:, better]
        if k > iterations or idle >= patience:
            break
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad * grad
        theta = theta + lr * (m / (1 - 0.9 ** k)) / (np.sqrt(v / (1 - 0.999 ** k)) + 1e-12)  # ascent
    return best, best_theta


# --------------------------------------------------------------------------- every step, any horizon
#: Absolute slack added to the final bounds (and boxes) against the rounding of the long sums.
SLACK = 1e-10


@dataclass(frozen=True)
class CrownBound:
    """What :func:`crown_layer_bound` certifies for one layer.

    Attributes
    ----------
    y_lo, y_hi : arrays (No,): every output entry lies in ``[y_lo, y_hi]`` at every step bounded
    x_lo, x_hi, xi_lo, xi_hi : arrays (Nn,): a box holding the cell and hidden state at every step bounded
    steps : the window K (steps back-substituted)
    rounds : rounds of boxes and slopes done
    transient_bound : bound on ``||y(k)||_inf`` for ``k < K`` (``k = 0`` included)
    stationary_bound : bound for every ``k >= K`` (None when the horizon ends before)
    seconds : time taken
    """

    y_lo: np.ndarray
    y_hi: np.ndarray
    x_lo: np.ndarray
    x_hi: np.ndarray
    xi_lo: np.ndarray
    xi_hi: np.ndarray
    steps: int
    rounds: int
    transient_bound: float
    stationary_bound: float | None
    seconds: float

    @property
    def bound(self) -> float:
        """The bound on ``||y(k)||_inf``."""
        return float(np.maximum(-self.y_lo, self.y_hi).max())


def _z_box(layer: LSTMParams, u_box, box):
    """The box of the pre-activations ``W u + U xi + b`` over the input box and a state box (exact for boxes)."""
    from .bounds import _affine

    n = layer.n_units
    r_lo, r_hi = _affine(layer.R, box[0][n:], box[1][n:])
    w_lo, w_hi = _affine(layer.W, *u_box)
    return r_lo + w_lo + layer.b, r_hi + w_hi + layer.b


def _intersect(a, b):
    lo, hi = np.maximum(a[0], b[0]), np.minimum(a[1], b[1])
    return np.minimum(lo, hi), np.maximum(lo, hi)  # crossing only by rounding: both hold the true set


def _hull(boxes):
    return np.min([b[0] for b in boxes], axis=0), np.max([b[1] for b in boxes], axis=0)


def _box_tables(layer, u_box, B, Q, T):
    """Per quantity (z lo, z hi, x lo, x hi, x+ lo, x+ hi), its box at each transient step 0 .. T, then Q's."""
    n = layer.n_units
    z = [_z_box(layer, u_box, B[s]) for s in range(T + 1)] + [_z_box(layer, u_box, Q)]
    after = B[1:T + 2] + [Q]
    before = B[:T + 1] + [Q]
    return ([zb[0] for zb in z], [zb[1] for zb in z], [b[0][:n] for b in before], [b[1][:n] for b in before],
            [b[0][:n] for b in after], [b[1][:n] for b in after])


def _objectives(layer: LSTMParams):
    """The rows bounded at each depth: every state entry from both sides, then every output from both sides."""
    n = layer.n_units
    eye, zero = np.eye(n), np.zeros((n, n))
    F = np.eye(n) if layer.F is None else layer.F
    bF = np.zeros(n) if layer.F is None else layer.bF
    no = F.shape[0]
    Lx = np.vstack([eye, zero, -eye, zero, np.zeros((2 * no, n))])
    Lxi = np.vstack([zero, eye, zero, -eye, F, -F])
    c = np.concatenate([np.zeros(4 * n), bF, -bF])
    return Lx, Lxi, c, no


def crown_layer_bound(
    layer: LSTMParams,
    u_box,
    start,
    *,
    horizon: int | None = None,
    steps: int = 8,
    rounds: int = 8,
    iterations: int = 40,
    lr: float = 0.1,
    tol: float = 1e-4,
    improvement: float = 2e-3,
) -> CrownBound:
    """Certified ranges of one layer's output and state at every step, for inputs and initial states in boxes.

    Parameters
    ----------
    layer : LSTMParams (one layer), read in the state-space form ``y(k) = F xi(k) + bF`` (``xi`` itself
        without an output layer)
    u_box : ``(lo, hi)`` arrays (Ni,): ``lo <= u(k) <= hi`` at every step
    start : ``(lo, hi)`` arrays (2 Nn,): the box of initial states ``[x(0); xi(0)]`` (cell first)
    horizon : bound ``y(0) .. y(horizon-1)`` only; None: every step ``k >= 0``
    steps : the window ``K``: steps back-substituted (the transient is ``1 .. K-1``)
    rounds : at most this many rounds of boxes and optimised slopes; stops earlier when no box shrinks
        by more than ``tol`` or the output bound by less than the fraction ``improvement``
    iterations, lr : Adam steps per round and their size, on the slopes' parameters

    Returns
    -------
    CrownBound
    """
    from .bounds import _interval_step, _invariant_start, _iterate

    began = time.perf_counter()
    n = layer.n_units
    u_box = tuple(np.asarray(v, dtype=float) for v in u_box)
    X0 = tuple(np.asarray(v, dtype=float) for v in start)
    K = int(steps)
    if K < 1:
        raise ValueError(f"steps must be a positive integer (the window back-substituted), got {steps!r}")
    # the interval method's box of every state at every step: the first Q
    Q = _iterate(lambda box: _interval_step(layer, u_box, box), _invariant_start(layer, u_box), X0, None, 1e-12, 2_000)
    T = K - 1 if horizon is None else min(int(horizon) - 1, K - 1)  # transient depths 1 .. T
    stationary = horizon is None or horizon > K
    B = [X0]  # B[t]: a box of the state at step t, t = 0 .. T (+1 for the last step's x+)
    for _ in range(T + 1):
        B.append(_intersect(_interval_step(layer, u_box, B[-1]), Q))
    Lx1, Lxi1, c1, no = _objectives(layer)
    per = Lx1.shape[0]
    depths = list(range(1, T + 1)) + ([K] if stationary else [])  # empty for a horizon of one step: y(0) only
    M = per * len(depths)
    rows = (np.tile(Lx1, (len(depths), 1)), np.tile(Lxi1, (len(depths), 1)), np.tile(c1, len(depths)))
    depth_of = np.repeat(depths, per)
    is_stationary = np.repeat([stationary and d == K for d in depths], per)
    active = np.array([depth_of > j for j in range(K)])
    best = np.full(M, -np.inf)
    theta = np.zeros((K, M, n, N_SLOPES))
    done, previous = 0, np.inf
    for done in range(1, rounds + 1 if depths else 1):
        boxes = []
        tables = _box_tables(layer, u_box, B, Q, T)
        for j in range(K):
            t = np.minimum(np.clip(depth_of - 1 - j, 0, None), T)  # the absolute step of a transient row's step j
            boxes.append(tuple(np.where(is_stationary[:, None], table[-1][None], np.stack(table[:-1])[t])
                               for table in tables))
        boxes = tuple(np.stack(part) for part in zip(*boxes))
        bottom = (np.where(is_stationary[:, None], Q[0], X0[0]), np.where(is_stationary[:, None], Q[1], X0[1]))
        prob = _Problem(layer, u_box, rows, boxes, active, bottom)
        low, theta = _optimise(prob, theta, iterations, lr)
        best = np.maximum(best, low)
        shrink = 0.0
        for i, d in enumerate(depths):
            got = best[i * per:(i + 1) * per]
            box = (got[:2 * n] - SLACK, -got[2 * n:4 * n] + SLACK)
            if d == K and stationary:
                new_Q = _intersect(Q, _hull(B[:K] + [box]))
                shrink = max(shrink, float(np.max(np.concatenate([new_Q[0] - Q[0], Q[1] - new_Q[1]]))))
                Q = new_Q
            else:
                new = _intersect(B[d], box)
                shrink = max(shrink, float(np.max(np.concatenate([new[0] - B[d][0], B[d][1] - new[1]]))))
                B[d] = new
        B = [_intersect(b, Q) for b in B]
        outputs = np.concatenate([best[i * per + 4 * n:(i + 1) * per] for i in range(len(depths))])
        bound = float(-outputs.min())  # the largest |y| bound over the rows (each row is +-y_m)
        if shrink <= tol or bound > previous * (1.0 - improvement):
            break
        previous = bound
    # the outputs: y(0) from the initial box exactly, then each depth's rows
    from .bounds import _output_box

    y0 = _output_box(layer, X0[0][n:], X0[1][n:])
    y_lo, y_hi = [y0[0] - SLACK], [y0[1] + SLACK]
    stationary_bound = None
    for i, d in enumerate(depths):
        got = best[i * per + 4 * n:(i + 1) * per]
        lo, hi = got[:no] - SLACK, -got[no:] + SLACK
        if d == K and stationary:
            stationary_bound = float(np.maximum(-lo, hi).max())
        y_lo.append(lo)
        y_hi.append(hi)
    transient = [np.maximum(-lo, hi).max() for lo, hi, d in zip(y_lo, y_hi, [0] + depths) if d < K]
    states = _hull(B[:T + 1] + ([Q] if stationary else []))
    return CrownBound(np.min(y_lo, axis=0), np.max(y_hi, axis=0), states[0][:n], states[1][:n], states[0][n:],
                      states[1][n:], K, done, float(max(transient)), stationary_bound,
                      time.perf_counter() - began)
