"""Theorem 4 (ISS condition), Remark 6 (layers in series) and the analytic reachable-set bounds.

Norms in the hand examples are written out as sums of the entries' absolute
values, not computed with the code under test.
"""

import json
import math

import numpy as np
import pytest

from lstmds_sim import LSTMParams, simulate
from lstmds_sim.safety.bounds import (
    METHODS,
    reachable_set_bound,
    state_bound,
    trivial_output_bound,
)
from lstmds_sim.safety.iss import (
    gate_sigma,
    iss_check,
    iss_check_layers,
    layer_input_bounds,
)


def sig(t):
    return 1.0 / (1.0 + math.exp(-t))


def stack(i, f, g, o):
    """Stack per-gate blocks in the order [i; f; g; o]."""
    return np.concatenate([np.atleast_1d(np.asarray(a, dtype=float)) for a in (i, f, g, o)])


# ----------------------------------------------------------------------------- hand examples
def one_unit(bf=-0.2):
    # gate rows [W_g  U_g  b_g]:  i [0.1 0.2 0.0]  f [0.1 -0.1 bf]  g [0.8 0.5 0.3]  o [0.05 -0.05 0.1]
    W = stack([0.1], [0.1], [0.8], [0.05]).reshape(4, 1)
    R = stack([0.2], [-0.1], [0.5], [-0.05]).reshape(4, 1)
    b = stack([0.0], [bf], [0.3], [0.1])
    return LSTMParams(W, R, b)


def two_units():
    W = stack([0.1, -0.2], [0.05, 0.1], [1.0, -2.0], [0.1, 0.0]).reshape(8, 1)
    R = np.vstack(
        [
            [[0.1, 0.0], [0.05, -0.05]],  # U_i
            [[0.1, -0.1], [0.0, 0.2]],  # U_f
            [[0.3, -0.4], [-0.5, 0.1]],  # U_c
            [[0.0, 0.1], [0.1, 0.1]],  # U_o
        ]
    )
    b = stack([-0.1, 0.05], [0.1, -0.1], [0.5, 0.5], [0.2, -0.1])
    return LSTMParams(W, R, b)


def test_one_unit_hand_example():
    p = one_unit()
    s_i, s_f, s_o = sig(0.1 + 0.2 + 0.0), sig(0.1 + 0.1 + 0.2), sig(0.05 + 0.05 + 0.1)
    assert gate_sigma(p, "i") == pytest.approx(s_i, rel=1e-14)
    assert gate_sigma(p, "f") == pytest.approx(s_f, rel=1e-14)
    assert gate_sigma(p, "o") == pytest.approx(s_o, rel=1e-14)
    r = iss_check(p)
    assert (r.sigma_i, r.sigma_f, r.sigma_o) == pytest.approx((s_i, s_f, s_o), rel=1e-14)
    assert r.uc_norm == r.uc_norm_1 == pytest.approx(0.5) and r.uc_norm_2 == pytest.approx(0.5)
    lhs1, lhs2 = (1 + s_o) * s_f, (1 + s_o) * s_i * 0.5
    assert lhs1 == pytest.approx(0.927866, abs=1e-6) and lhs2 == pytest.approx(0.445145, abs=1e-6)
    assert r.lhs == pytest.approx((lhs1, lhs2), rel=1e-14)
    assert r.margins == pytest.approx((1 - lhs1, 1 - lhs2), rel=1e-13)
    assert r.margin == pytest.approx(1 - lhs1)
    assert r.satisfied

    single = iss_check(p, condition="single")
    assert single.lhs == pytest.approx((s_f + s_o * s_i * 0.5,), rel=1e-14)
    assert single.uc_ord == "2" and single.satisfied


def test_two_unit_hand_example():
    p = two_units()
    # max row sums of |[W_g U_g b_g]|
    n_i = max(0.1 + 0.1 + 0.0 + 0.1, 0.2 + 0.05 + 0.05 + 0.05)  # 0.35
    n_f = max(0.05 + 0.1 + 0.1 + 0.1, 0.1 + 0.0 + 0.2 + 0.1)  # 0.4
    n_o = max(0.1 + 0.0 + 0.1 + 0.2, 0.0 + 0.1 + 0.1 + 0.1)  # 0.4
    s_i, s_f, s_o = sig(n_i), sig(n_f), sig(n_o)
    # U_c = [[0.3, -0.4], [-0.5, 0.1]]: column sums 0.8, 0.5 (1-norm); U_c^T U_c = [[0.34, -0.17], [-0.17, 0.17]]
    uc1 = max(0.3 + 0.5, 0.4 + 0.1)
    uc2 = math.sqrt((0.34 + 0.17) / 2 + math.sqrt(((0.34 - 0.17) / 2) ** 2 + 0.17**2))
    r = iss_check(p)
    assert (r.sigma_i, r.sigma_f, r.sigma_o) == pytest.approx((s_i, s_f, s_o), rel=1e-14)
    assert r.uc_norm_1 == pytest.approx(uc1, rel=1e-14)
    assert r.uc_norm_2 == pytest.approx(uc2, rel=1e-12)
    assert r.lhs == pytest.approx(((1 + s_o) * s_f, (1 + s_o) * s_i * uc1), rel=1e-13)
    assert r.lhs == pytest.approx((0.957115, 0.750255), abs=1e-6)
    assert r.satisfied
    assert iss_check(p, uc_norm="inf").uc_norm == pytest.approx(max(0.3 + 0.4, 0.5 + 0.1))
    single = iss_check(p, condition="single")
    assert single.lhs == pytest.approx((s_f + s_o * s_i * uc2,), rel=1e-12)


def test_candidate_input_weights_and_bias_do_not_enter_theorem4():
    p = two_units()
    W, b = p.W.copy(), p.b.copy()
    W[4:6] *= 10.0
    b[4:6] = [-7.0, 9.0]
    q = p.replace(W=W, b=b)
    assert iss_check(q).lhs == iss_check(p).lhs


def test_input_bound_tightens_the_sigmas():
    p = one_unit()
    assert gate_sigma(p, "f", input_bound=0.5) == pytest.approx(sig(0.5 * 0.1 + 0.1 + 0.2))
    assert gate_sigma(p, "f", input_bound=0.0) == pytest.approx(sig(0.1 + 0.2))
    assert iss_check(p, input_bound=0.5).lhs[0] < iss_check(p).lhs[0]


# ----------------------------------------------------------------------------- pass / fail
def small_net(rng, n_inputs=2, n_units=4, n_outputs=1, scale=0.05):
    """Gates i, f, o with small weights; the candidate gate c with large ones (it is barely constrained)."""
    n = n_units
    W = rng.uniform(-scale, scale, (4 * n, n_inputs))
    R = rng.uniform(-scale, scale, (4 * n, n))
    b = rng.uniform(-scale, scale, 4 * n)
    W[2 * n : 3 * n] = rng.uniform(-2.0, 2.0, (n, n_inputs))
    R[2 * n : 3 * n] = rng.uniform(-0.25, 0.25, (n, n))
    b[2 * n : 3 * n] = rng.uniform(-0.5, 0.5, n)
    if n_outputs is None:
        return LSTMParams(W, R, b)
    return LSTMParams(W, R, b, rng.uniform(-1, 1, (n_outputs, n)), rng.uniform(-0.3, 0.3, n_outputs))


def test_small_weights_pass_large_forget_bias_fails(rng):
    p = small_net(rng)
    r = iss_check(p)
    assert r.satisfied and all(m > 0 for m in r.margins)
    for bf in (3.0, -3.0):  # the paper's norm takes |b_f|: a large bias of either sign fails
        b = p.b.copy()
        b[4:8] = bf
        bad = iss_check(p.replace(b=b))
        assert not bad.satisfied
        assert bad.margins[0] == pytest.approx(1 - bad.lhs[0]) and bad.margins[0] < 0
        assert bad.margins[1] > 0  # only the forget-gate inequality breaks


def test_one_unit_with_large_forget_bias_fails():
    r = iss_check(one_unit(bf=3.0))
    s_f, s_o = sig(0.1 + 0.1 + 3.0), sig(0.05 + 0.05 + 0.1)
    assert r.lhs[0] == pytest.approx((1 + s_o) * s_f) and not r.satisfied


def test_report_as_dict_is_json_friendly():
    d = iss_check(two_units()).as_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["satisfied"] is True and len(d["lhs"]) == 2 and d["condition"] == "theorem4"
    assert set(d) >= {"sigma_i", "sigma_f", "sigma_o", "uc_norm", "lhs", "margins", "inequalities"}


def test_bad_arguments():
    p = one_unit()
    with pytest.raises(ValueError, match="condition"):
        iss_check(p, condition="theorem5")
    with pytest.raises(ValueError, match="uc_norm"):
        iss_check(p, uc_norm=3)
    with pytest.raises(TypeError, match="iss_check_layers"):
        iss_check([p, p])


# ----------------------------------------------------------------------------- single condition
def test_paper_pair_implies_single_condition_for_the_same_norm(rng):
    implied = 0
    for _ in range(300):
        scale = rng.uniform(0.02, 0.4)
        p = LSTMParams.random(rng.integers(1, 4), rng.integers(1, 6), rng=rng, low=-scale, high=scale)
        for norm in (1, 2, "inf"):
            pair = iss_check(p, condition="theorem4", uc_norm=norm)
            if pair.satisfied:
                implied += 1
                assert iss_check(p, condition="single", uc_norm=norm).satisfied
    assert implied > 100  # the statement was actually exercised


def test_pair_with_1_norm_does_not_imply_single_with_2_norm():
    # U_c = [[a, a], [0, 0]]: ||U_c||_1 = a but ||U_c||_2 = a sqrt(2); gates i, f, o: bias 0.2 only
    a, s = 1.1, sig(0.2)
    R = np.zeros((8, 2))
    R[4] = [a, a]
    p = LSTMParams(np.zeros((8, 1)), R, stack([0.2, 0.2], [0.2, 0.2], [0.0, 0.0], [0.2, 0.2]))
    pair, single = iss_check(p), iss_check(p, condition="single")
    assert pair.lhs == pytest.approx(((1 + s) * s, (1 + s) * s * a))
    assert pair.satisfied
    assert single.lhs[0] == pytest.approx(s + s * s * a * math.sqrt(2)) and not single.satisfied


def test_single_condition_is_less_conservative():
    # output gate near 1 breaks (1 + sigma_o) sigma_f < 1 but not sigma_f + sigma_o sigma_i ||U_c|| < 1
    p = one_unit()
    b, R = p.b.copy(), p.R.copy()
    b[3], R[2] = 3.0, 0.1
    q = p.replace(b=b, R=R)
    assert not iss_check(q).satisfied
    assert iss_check(q, condition="single").satisfied


# ----------------------------------------------------------------------------- layers (Remark 6)
def test_layers_all_must_satisfy(rng):
    a, b = small_net(rng, n_outputs=None), small_net(rng, n_inputs=4, n_outputs=1)
    ok = iss_check_layers([a, b])
    assert ok.satisfied and len(ok.reports) == 2
    assert [r.input_bound for r in ok.reports] == [1.0, 1.0]  # layer a passes its hidden state
    bias = b.b.copy()
    bias[4:8] = 4.0
    bad = iss_check_layers([a, b.replace(b=bias)])
    assert not bad.satisfied and bad.reports[0].satisfied and not bad.reports[1].satisfied
    assert json.loads(json.dumps(bad.as_dict()))["satisfied"] is False
    assert iss_check_layers(a).satisfied  # one layer


def test_layer_with_output_layer_bounds_the_next_input():
    F = np.array([[0.5, -1.0], [0.25, 0.25]])
    bF = np.array([0.5, -0.1])
    a = two_units().replace(F=F, bF=bF)
    b = two_units()
    b = b.replace(W=np.hstack([b.W, 0.5 * b.W]))  # two inputs; W_i = [[0.1, 0.05], [-0.2, -0.1]]
    # |F xi + bF|_inf <= max(0.5 + 1.0 + 0.5, 0.25 + 0.25 + 0.1) = 2
    assert layer_input_bounds([a, b]) == pytest.approx([1.0, 2.0])
    report = iss_check_layers([a, b])
    assert report.reports[1].input_bound == pytest.approx(2.0)
    n_i = max(2 * (0.1 + 0.05) + 0.1 + 0.0 + 0.1, 2 * (0.2 + 0.1) + 0.05 + 0.05 + 0.05)
    assert report.reports[1].sigma_i == pytest.approx(sig(n_i))
    assert report.reports[0].sigma_i == pytest.approx(sig(0.35))


# ----------------------------------------------------------------------------- simulation checks
def bounded_inputs(rng, batch, steps, n_inputs, rho):
    """Inputs with |u| <= rho: held random levels (MPRS-like), bang-bang +-rho, and white noise."""
    k = batch // 3
    blocks = -(-steps // 10)
    levels = rng.uniform(-rho, rho, (k, blocks, n_inputs)).repeat(10, axis=1)[:, :steps]
    bang = (rho * rng.choice([-1.0, 1.0], (k, blocks, n_inputs))).repeat(10, axis=1)[:, :steps]
    noise = rng.uniform(-rho, rho, (batch - 2 * k, steps, n_inputs))
    return np.concatenate([levels, bang, noise])


def test_trajectories_of_iss_nets_forget_their_initial_state(rng):
    """Empirical: different initial states under the same input converge (ISS nets found here are contractive)."""
    for _ in range(3):
        p = small_net(rng)
        assert iss_check(p).satisfied
        batch, steps, n = 60, 300, p.n_units
        u = bounded_inputs(rng, batch, steps, p.n_inputs, 1.0)
        u = np.concatenate([u, u])
        h0 = rng.uniform(-1, 1, (2 * batch, n))
        c0 = rng.uniform(-3, 3, (2 * batch, n))
        tr = simulate(p, u, h0, c0, form="statespace", trace=True).trace[0]
        state = np.concatenate([tr["c"], tr["h"]], axis=-1)  # (2B, T, 2n)
        dist = np.abs(state[:batch] - state[batch:]).max(axis=-1)  # (B, T)
        start = np.abs(np.concatenate([c0, h0], axis=-1)[:batch] - np.concatenate([c0, h0], axis=-1)[batch:]).max(-1)
        assert np.all(dist[:, 50] < 1e-3 * start)
        assert np.all(dist[:, -1] < 1e-12 + 1e-9 * start)
        # decreasing over the horizon: every window of 20 steps ends below where it started
        assert np.all(dist[:, 20::20] <= dist[:, :-20:20] + 1e-15)


def nets(rng):
    yield small_net(rng)  # passes Theorem 4
    yield small_net(rng, n_inputs=1, n_units=5)
    yield LSTMParams.random(1, 3, 1, rng=rng, low=-1.0, high=1.0, output_bias=True)  # any LSTM


@pytest.mark.parametrize("rho", [0.1, 0.5, 1.0])
def test_reachable_bound_is_never_violated(rng, rho):
    box = (0.1, 0.1)  # the paper's initial states, uniform in [-0.1, 0.1]
    for p in nets(rng):
        batch, steps, n = 240, 250, p.n_units
        u = bounded_inputs(rng, batch, steps, p.n_inputs, rho)
        c0, h0 = rng.uniform(-0.1, 0.1, (2, batch, n))
        c0[:8], h0[:8] = 0.1 * rng.choice([-1, 1], (2, 8, n))  # corners of the box
        r = simulate(p, u, h0, c0, form="statespace", trace=True)
        peak = np.abs(r.y).max()
        trivial = trivial_output_bound(p)
        for method in METHODS:
            bound = reachable_set_bound(p, rho, state_box=box, method=method)
            assert peak <= bound + 1e-12 and bound <= trivial + 1e-12, method
            early = reachable_set_bound(p, rho, state_box=box, horizon=15, method=method)
            assert np.abs(r.y[:, :15]).max() <= early + 1e-12 and early <= bound + 1e-12, method
        sb = state_bound(p, rho, state_box=box)
        c, h = r.trace[0]["c"], r.trace[0]["h"]
        assert np.all((c >= sb.x_lo - 1e-12) & (c <= sb.x_hi + 1e-12))
        assert np.all((h >= sb.xi_lo - 1e-12) & (h <= sb.xi_hi + 1e-12))


@pytest.mark.parametrize("method", ["interval", "componentwise"])
def test_invariant_box_is_invariant(rng, method):
    rho = 0.7
    for p in nets(rng):
        sb = state_bound(p, rho, method=method)
        batch, n = 200, p.n_units
        c0 = rng.uniform(sb.x_lo, sb.x_hi, (batch, n))
        h0 = rng.uniform(sb.xi_lo, sb.xi_hi, (batch, n))
        c0[:10] = np.where(rng.random((10, n)) < 0.5, sb.x_lo, sb.x_hi)
        h0[:10] = np.where(rng.random((10, n)) < 0.5, sb.xi_lo, sb.xi_hi)
        r = simulate(p, bounded_inputs(rng, batch, 200, p.n_inputs, rho), h0, c0, form="statespace", trace=True)
        c, h = r.trace[0]["c"], r.trace[0]["h"]
        assert np.all((c >= sb.x_lo - 1e-12) & (c <= sb.x_hi + 1e-12))
        assert np.all((h >= sb.xi_lo - 1e-12) & (h <= sb.xi_hi + 1e-12))
        assert np.abs(r.y).max() <= reachable_set_bound(p, rho, method=method) + 1e-12


def test_reachable_bound_of_layers_in_series(rng):
    first = small_net(rng, n_inputs=1, n_units=3, n_outputs=2)  # passes F h + bF on
    second = small_net(rng, n_inputs=2, n_units=4, n_outputs=None)
    third = small_net(rng, n_inputs=4, n_units=2, n_outputs=1)
    layers = [first, second, third]
    rho, box = 0.8, (0.1, 0.1)
    batch = 240
    h0 = [rng.uniform(-0.1, 0.1, (batch, L.n_units)) for L in layers]
    c0 = [rng.uniform(-0.1, 0.1, (batch, L.n_units)) for L in layers]
    y = simulate(layers, bounded_inputs(rng, batch, 200, 1, rho), h0, c0, form="statespace").y
    for method in METHODS:
        assert np.abs(y).max() <= reachable_set_bound(layers, rho, state_box=box, method=method) + 1e-12


def test_reachable_bound_shapes_order_and_monotonicity(rng):
    p = small_net(rng)
    rhos = np.linspace(0.0, 1.0, 11)
    tight = reachable_set_bound(p, rhos)
    assert isinstance(tight, np.ndarray) and tight.shape == (11,)
    assert isinstance(reachable_set_bound(p, 0.5), float)
    assert reachable_set_bound(p, rhos.reshape(11, 1)).shape == (11, 1)
    assert np.all(np.diff(tight) >= -1e-12)  # a larger input set has a larger reachable set
    loose = reachable_set_bound(p, rhos, method="componentwise")
    lyap = reachable_set_bound(p, rhos, method="lyapunov")
    assert np.all(tight <= loose + 1e-12) and np.all(loose <= lyap + 1e-12)
    assert np.all(lyap <= trivial_output_bound(p) + 1e-12)
    assert trivial_output_bound(p) == pytest.approx(np.abs(p.F).sum() + abs(p.bF[0]))


def test_interval_bound_is_exact_for_a_unit_without_recurrence():
    """One unit, R = 0, only the candidate gate sees u: every bound follows by hand, and is attained.

    i, f, o are the constants sigmoid(b); c+ = f c + i tanh(u + b_g) with |u| <= rho settles in
    [i tanh(b_g - rho), i tanh(b_g + rho)] / (1 - f); y = F o tanh(c) + bF. Holding u = +-rho reaches
    the ends, so the interval bound is exact; the componentwise one (absolute values) is looser.
    """
    bi, bf, bg, bo, rho, F, bF = 0.5, 1.0, -0.2, 0.3, 0.8, 2.0, 0.5
    p = LSTMParams(np.array([[0.0], [0.0], [1.0], [0.0]]), np.zeros((4, 1)), np.array([bi, bf, bg, bo]),
                   F=[[F]], bF=[bF])
    i, f, o = sig(bi), sig(bf), sig(bo)
    x_lo, x_hi = i * math.tanh(bg - rho) / (1 - f), i * math.tanh(bg + rho) / (1 - f)
    sb = state_bound(p, rho)
    assert sb.x_lo[0] == pytest.approx(x_lo, rel=1e-9) and sb.x_hi[0] == pytest.approx(x_hi, rel=1e-9)
    ends = [F * o * math.tanh(x) + bF for x in (x_lo, x_hi)]
    interval = reachable_set_bound(p, rho)
    assert interval == pytest.approx(max(abs(e) for e in ends), rel=1e-9)
    for sign, end in zip((-1, 1), ends):  # attained: the bound cannot be lowered
        y = simulate(p, np.full((3000, 1), sign * rho), form="statespace").y[-1, 0]
        assert y == pytest.approx(end, rel=1e-9)
    componentwise = reachable_set_bound(p, rho, method="componentwise")
    assert componentwise == pytest.approx(F * o * math.tanh(max(-x_lo, x_hi)) + bF, rel=1e-9)
    assert interval < componentwise - 0.1 and interval < 0.6 * trivial_output_bound(p)
    assert reachable_set_bound(p, rho, method="lyapunov") >= componentwise


def test_lyapunov_bound_of_a_tiny_net_is_finite_and_holds(rng):
    p = LSTMParams.random(1, 2, 1, rng=rng, low=-0.05, high=0.05, output_bias=True)
    F = np.array([[2.0, -3.0]])
    p = p.replace(F=F, bF=[0.1])
    bound = reachable_set_bound(p, 1.0, method="lyapunov")
    assert bound < trivial_output_bound(p)  # informative, not just the trivial bound
    c0 = rng.uniform(-0.01, 0.01, (100, 2))
    y = simulate(p, bounded_inputs(rng, 100, 200, 1, 1.0), c0 * 0, c0 * 0, form="statespace").y
    assert np.abs(y).max() <= bound


def test_trivial_output_bound_by_hand():
    p = two_units().replace(F=[[0.5, -1.0], [0.25, 0.25]], bF=[0.5, -0.1])
    assert trivial_output_bound(p) == pytest.approx(max(0.5 + 1.0 + 0.5, 0.25 + 0.25 + 0.1))
    assert trivial_output_bound(two_units()) == 1.0


def test_reachable_bound_refuses_bad_arguments():
    p = one_unit()
    with pytest.raises(ValueError, match="rho_u"):
        reachable_set_bound(p, -0.1)
    with pytest.raises(ValueError, match="horizon needs a state_box"):
        reachable_set_bound(p, 0.5, horizon=10)
    with pytest.raises(ValueError, match=r"hx must be <= 1"):
        reachable_set_bound(p, 0.5, state_box=(0.1, 2.0))
    with pytest.raises(ValueError, match="method"):
        reachable_set_bound(p, 0.5, method="exact")
    with pytest.raises(ValueError, match="horizon must be a positive integer"):
        reachable_set_bound(p, 0.5, state_box=(0.1, 0.1), horizon=0)
