"""Certified output bounds by linear relaxation (safety/crown.py, reachable_set_bound(method="crown")).

The references are independent of the code under test: exhaustive search over a grid of input
sequences and initial states run through the matrix twin, dense grids of the relaxed functions,
central differences, and the interval method. A relaxation broken on purpose (a tangent put on the
wrong side) must make these checks fail.
"""

import itertools

import numpy as np
import pytest

from lstmds_sim import LSTMParams, simulate
from lstmds_sim.safety import crown
from lstmds_sim.safety.bounds import reachable_set_bound, state_bound

BOX = (0.1, 0.1)  # the paper's initial states: |x0|, |xi0| <= 0.1


def stack(i, f, g, o):
    return np.concatenate([np.atleast_1d(np.asarray(a, dtype=float)) for a in (i, f, g, o)])


def one_unit():
    """One unit with recurrence in every gate and an input-dependent forget gate: nonlinear enough that
    the interval bound is 30 % above the truth."""
    W = stack([0.4], [-0.8], [1.6], [0.5]).reshape(4, 1)
    R = stack([0.6], [0.5], [-1.2], [0.7]).reshape(4, 1)
    b = stack([0.2], [0.3], [0.4], [-0.2])
    return LSTMParams(W, R, b, F=[[2.0]], bF=[0.3])


def exhaustive_peak(p, rho, steps, levels, box=BOX):
    """max |y(k)|, k = 0 .. steps, over every input sequence with values on a grid of ``levels`` points
    in [-rho, rho] and every initial state on the grid {-1, 0, 1} x box (statespace form)."""
    n = p.n_units
    seqs = np.array(list(itertools.product(np.linspace(-rho, rho, levels), repeat=steps)))
    corners = np.array(list(itertools.product([-1.0, 0.0, 1.0], repeat=2 * n)))
    c0 = np.repeat(corners[:, :n] * box[0], len(seqs), axis=0)
    h0 = np.repeat(corners[:, n:] * box[1], len(seqs), axis=0)
    u = np.tile(seqs, (len(corners), 1))[..., None]
    u = np.concatenate([u, np.zeros((len(u), 1, 1))], axis=1)  # y(steps) needs u(0 .. steps-1) only
    return float(np.abs(simulate(p, u, h0, c0, form="statespace").y).max())


# ----------------------------------------------------------------------------- the pieces
def test_offsets_are_the_exact_extremes():
    """tanh(b) - m b and sigmoid(a) v - alpha a - beta v over boxes: the offset is the grid's extreme
    (to the grid's resolution) and never on the wrong side of any grid point."""
    rng = np.random.default_rng(0)
    for _ in range(200):
        lo, hi = np.sort(rng.uniform(-4, 4, 2))
        m = rng.uniform(-0.2, 1.2)
        b = np.linspace(lo, hi, 20001)
        f = np.tanh(b) - m * b
        low, high = crown.tanh_offset(m, lo, hi, lower=True), crown.tanh_offset(m, lo, hi, lower=False)
        assert low <= f.min() and high >= f.max()
        assert f.min() - low < 1e-7 and high - f.max() < 1e-7
        a_lo, a_hi = np.sort(rng.uniform(-6, 6, 2))
        v_lo, v_hi = np.sort(rng.uniform(-2, 2, 2))
        alpha, beta = rng.uniform(-0.3, 0.3), rng.uniform(0.0, 1.0)
        a, v = np.meshgrid(np.linspace(a_lo, a_hi, 4001), [v_lo, v_hi])  # affine in v: the two edges suffice
        g = 1 / (1 + np.exp(-a)) * v - alpha * a - beta * v
        low = crown.product_offset(alpha, beta, a_lo, a_hi, v_lo, v_hi, lower=True)
        high = crown.product_offset(alpha, beta, a_lo, a_hi, v_lo, v_hi, lower=False)
        assert low <= g.min() and high >= g.max()
        assert g.min() - low < 1e-6 and high - g.max() < 1e-6


def planes_violation(rng, trials=40, grid=41):
    """Largest amount by which any plane the engine builds (random boxes, random slopes) crosses its
    function on a dense grid of its box: 0 (up to rounding) when every relaxation is sound."""
    n, M = 3, 4
    sig = lambda t: 1 / (1 + np.exp(-t))
    worst = 0.0
    for _ in range(trials):
        z_lo = rng.uniform(-3, 1, (M, 4 * n))
        z_hi = z_lo + rng.uniform(0, 3, (M, 4 * n))
        x_lo = rng.uniform(-2, 0.5, (M, n))
        x_hi = x_lo + rng.uniform(0, 2, (M, n))
        xn_lo = rng.uniform(-2, 0.5, (M, n))
        xn_hi = xn_lo + rng.uniform(0, 2, (M, n))
        theta = rng.normal(0, 2, (M, n, crown.N_SLOPES))
        P = crown._step_planes(theta, z_lo, z_hi, x_lo, x_hi, xn_lo, xn_hi, n)
        s = np.linspace(0, 1, grid)[:, None, None, None]
        t = np.linspace(0, 1, grid)[None, :, None, None]
        g = lambda arr, q: arr[:, q * n:(q + 1) * n]
        cases = (  # (planes, a box, second box, the function)
            (P.forget, g(z_lo, 1), g(z_hi, 1), x_lo, x_hi, lambda a, v: sig(a) * v),
            (P.write, g(z_lo, 0), g(z_hi, 0), g(z_lo, 2), g(z_hi, 2), lambda a, b: sig(a) * np.tanh(b)),
            (P.out, g(z_lo, 3), g(z_hi, 3), xn_lo, xn_hi, lambda a, b: sig(a) * np.tanh(b)),
        )
        for (low, high), a_lo, a_hi, v_lo, v_hi, fun in cases:
            a = a_lo + s * (a_hi - a_lo)
            v = v_lo + t * (v_hi - v_lo)
            f = fun(a, v)
            worst = max(worst, float(np.max(low.a * a + low.b * v + low.c - f)),
                        float(np.max(f - (high.a * a + high.b * v + high.c))))
    return worst


def test_every_plane_the_engine_builds_encloses_its_function():
    assert planes_violation(np.random.default_rng(1)) <= 1e-9


def test_gradient_of_the_bound_matches_central_differences():
    """The closed-form gradient of the bound in the slopes' parameters (the relaxed system's primal)."""
    rng = np.random.default_rng(2)
    n, K, M = 2, 3, 4
    p = LSTMParams.random(1, n, 1, rng=rng, output_bias=True)
    u_box = (np.array([-0.7]), np.array([0.7]))
    Q = (np.r_[np.full(n, -1.5), np.full(n, -0.8)], np.r_[np.full(n, 1.2), np.full(n, 0.9)])
    z = crown._z_box(p, u_box, Q)
    box = (z[0], z[1], Q[0][:n], Q[1][:n], Q[0][:n], Q[1][:n])
    boxes = tuple(np.broadcast_to(part, (K, M, part.size)).copy() for part in box)
    active = np.ones((K, M), dtype=bool)
    active[1:, 0] = False  # a row of depth 1 beside rows of depth 3
    rows = (rng.normal(size=(M, n)), rng.normal(size=(M, n)), np.zeros(M))
    prob = crown._Problem(p, u_box, rows, boxes, active, (np.broadcast_to(Q[0], (M, 2 * n)),
                                                           np.broadcast_to(Q[1], (M, 2 * n))))
    theta = rng.normal(size=(K, M, n, crown.N_SLOPES))
    _, grad = crown._evaluate(theta, prob)
    h = 1e-6
    numeric = np.zeros_like(theta)
    for idx in np.ndindex(theta.shape):
        t = theta.copy()
        t[idx] += h
        up = crown._evaluate(t, prob, gradient=False)[0].sum()
        t[idx] -= 2 * h
        numeric[idx] = (up - crown._evaluate(t, prob, gradient=False)[0].sum()) / (2 * h)
    assert np.abs(grad).max() > 0.05  # not a vacuous comparison
    np.testing.assert_allclose(grad, numeric, atol=1e-6)


# ----------------------------------------------------------------------------- sound and tight
@pytest.mark.parametrize("rho", [0.5, 1.0])
def test_sound_against_exhaustive_search_on_one_unit(rho):
    """Every input sequence on a 9-level grid (4 steps) and every initial state on a grid of the box:
    none exceeds the certified bound, which is within 1 % of the largest of them (the interval bound
    is 30 % above); the same over every step, against 3-level sequences of 8 steps."""
    p = one_unit()
    peak = exhaustive_peak(p, rho, steps=4, levels=9)
    certified = reachable_set_bound(p, rho, state_box=BOX, horizon=5, method="crown")
    interval = reachable_set_bound(p, rho, state_box=BOX, horizon=5)
    assert peak <= certified <= 1.01 * peak
    assert certified < interval and interval > 1.15 * peak
    every_step = reachable_set_bound(p, rho, state_box=BOX, method="crown")
    longer = exhaustive_peak(p, rho, steps=8, levels=3)
    assert longer <= every_step <= 1.01 * max(peak, longer)
    assert every_step <= reachable_set_bound(p, rho, state_box=BOX)


def test_short_horizons():
    """A horizon of 1 (y(0) alone: the initial box), 2 and 3 steps, against exhaustive search."""
    p = one_unit()
    for horizon in (1, 2, 3):
        certified = reachable_set_bound(p, 0.5, state_box=BOX, horizon=horizon, method="crown")
        interval = reachable_set_bound(p, 0.5, state_box=BOX, horizon=horizon)
        assert exhaustive_peak(p, 0.5, steps=horizon - 1, levels=9) <= certified <= interval + 1e-9


def test_a_relaxation_on_the_wrong_side_is_caught(monkeypatch):
    """The checks above can fail: with the lines of tanh put on the wrong side (a lower line given the
    upper line's offset: the tangent of the concave part used as a lower bound), the planes cross
    their functions and the 'certified' bound falls below outputs that the network attains."""
    original = crown._tanh_extreme
    monkeypatch.setattr(crown, "_tanh_extreme", lambda m, lo, hi, lower: original(m, lo, hi, np.logical_not(lower)))
    assert planes_violation(np.random.default_rng(1), trials=5) > 1e-3
    p = one_unit()
    assert reachable_set_bound(p, 0.5, state_box=BOX, horizon=5, method="crown") < exhaustive_peak(p, 0.5, 4, 9)


def small_net(rng, n_units=2):
    """Random weights of moderate size (no ISS certificate needed: the bound holds for any LSTM)."""
    return LSTMParams.random(1, n_units, 1, rng=rng, low=-1.0, high=1.0, output_bias=True)


def test_sound_on_random_networks_and_never_above_interval():
    """Random two-unit networks, 300 trajectories each (held levels, bang-bang, noise, box corners):
    no output and no state leaves the certified bounds, and they are never above the interval ones
    (but for the crown bounds' rounding slack of 1e-10)."""
    rng = np.random.default_rng(3)
    for _ in range(2):
        p = small_net(rng)
        rho, batch, steps = 0.8, 300, 60
        levels = rng.uniform(-rho, rho, (batch // 3, steps // 6, 1)).repeat(6, axis=1)
        bang = rho * rng.choice([-1.0, 1.0], (batch // 3, steps // 3, 1)).repeat(3, axis=1)
        noise = rng.uniform(-rho, rho, (batch - 2 * (batch // 3), steps, 1))
        u = np.concatenate([levels, bang, noise])
        c0, h0 = rng.uniform(-0.1, 0.1, (2, batch, 2))
        c0[:20], h0[:20] = 0.1 * rng.choice([-1.0, 1.0], (2, 20, 2))
        r = simulate(p, u, h0, c0, form="statespace", trace=True)
        got = crown.crown_layer_bound(p, (np.array([-rho]), np.array([rho])), (np.full(4, -0.1), np.full(4, 0.1)))
        assert np.abs(r.y).max() <= got.bound <= reachable_set_bound(p, rho, state_box=BOX) + 1e-9
        assert np.all(r.y >= got.y_lo) and np.all(r.y <= got.y_hi)  # strictly: the bounds carry their own slack
        c, h = r.trace[0]["c"], r.trace[0]["h"]
        assert np.all((c >= got.x_lo) & (c <= got.x_hi))
        assert np.all((h >= got.xi_lo) & (h <= got.xi_hi))
        ib = state_bound(p, rho, state_box=BOX)
        assert np.all(got.x_lo >= ib.x_lo - 1e-9) and np.all(got.x_hi <= ib.x_hi + 1e-9)
        assert np.all(got.xi_lo >= ib.xi_lo - 1e-9) and np.all(got.xi_hi <= ib.xi_hi + 1e-9)


def test_layers_in_series():
    """A deeper layer's input box is the previous layer's certified output box."""
    rng = np.random.default_rng(4)
    first = LSTMParams.random(1, 2, 2, rng=rng, low=-0.5, high=0.5, output_bias=True)
    second = LSTMParams.random(2, 1, 1, rng=rng, low=-0.5, high=0.5, output_bias=True)
    batch = 200
    h0 = [rng.uniform(-0.1, 0.1, (batch, L.n_units)) for L in (first, second)]
    c0 = [rng.uniform(-0.1, 0.1, (batch, L.n_units)) for L in (first, second)]
    u = rng.choice([-1.0, 1.0], (batch, 20, 1)).repeat(4, axis=1)
    y = simulate([first, second], u, h0, c0, form="statespace").y
    certified = reachable_set_bound([first, second], 1.0, state_box=BOX, method="crown")
    assert np.abs(y).max() <= certified <= reachable_set_bound([first, second], 1.0, state_box=BOX) + 1e-9


def test_without_a_state_box_it_is_the_interval_bound_and_bad_arguments_are_refused():
    p = one_unit()
    assert reachable_set_bound(p, 0.5, method="crown") == reachable_set_bound(p, 0.5)
    with pytest.raises(ValueError, match="method"):
        reachable_set_bound(p, 0.5, method="alpha-crown")
    with pytest.raises(ValueError, match="horizon needs a state_box"):
        reachable_set_bound(p, 0.5, horizon=10, method="crown")
    with pytest.raises(ValueError, match="steps"):
        crown.crown_layer_bound(p, (np.array([-1.0]), np.array([1.0])), (np.full(2, -0.1), np.full(2, 0.1)), steps=0)


# ----------------------------------------------------------------------------- the lab's model
@pytest.fixture(scope="module")
def ph_model():
    """The scenario lab's ISS-certified pH model (nx = 5), trained as the lab trains it."""
    from lstmds_sim.learning.experiments import train_iss_model

    return train_iss_model(1500, 0)


@pytest.mark.slow
@pytest.mark.parametrize("rho", [0.25, 0.5, 1.0])
def test_ph_model_sandwich(ph_model, rho):
    """On the lab's model: the certified bound is above every sampled trajectory (random levels held
    1-200 steps, bang-bang, noise, box corners) and above the falsifier's worst case, within 1.2x of
    that worst case, and below the interval bound."""
    from lstmds_sim.safety.falsify import worst_case_input

    p = ph_model.params
    rng = np.random.default_rng(5)
    batch, steps = 3000, 300
    holds = rng.integers(1, 200, batch)
    u = np.empty((batch, steps, 1))
    for i, hold in enumerate(holds):
        levels = rng.uniform(-rho, rho, -(-steps // hold)) if i % 2 else rho * rng.choice([-1.0, 1.0], -(-steps // hold))
        u[i, :, 0] = np.repeat(levels, hold)[:steps]
    u[:300] = rng.uniform(-rho, rho, (300, steps, 1))
    c0, h0 = rng.uniform(-0.1, 0.1, (2, batch, p.n_units))
    c0[:500], h0[:500] = 0.1 * rng.choice([-1.0, 1.0], (2, 500, p.n_units))
    sampled = np.abs(simulate(p, u, h0, c0, form="statespace").y).max()
    worst = worst_case_input(p, rho, state_box=BOX, horizon=400)
    certified = reachable_set_bound(p, rho, state_box=BOX, method="crown")
    assert max(sampled, worst.value) <= certified <= 1.2 * worst.value
    assert certified < reachable_set_bound(p, rho, state_box=BOX)
