"""The pH plant against the spec's reference numbers and independent references (brentq, solve_ivp)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

from lstmds_sim.core.validation import NonFiniteError, ShapeError
from lstmds_sim.systems import ph_plant as pp
from lstmds_sim.systems.ph_plant import (
    DEFAULT_PARAMS,
    PHParams,
    derivatives,
    level_time_constant,
    ph_from_invariants,
    ph_residual,
    residence_time,
    simulate_plant,
    static_gain,
    steady_state,
    titration_curve,
)

EPS = np.finfo(np.float64).eps


# --------------------------------------------------------------------------- references


def brentq_ph(wa: float, wb: float, params: PHParams = DEFAULT_PARAMS) -> float:
    """pH by scipy's scalar Brent method on the pH equation written out independently."""
    def f(p):
        return (wa + 10.0 ** (p - 14) - 10.0 ** (-p)
                + wb * (1 + 2 * 10.0 ** (p - params.pK2)) / (1 + 10.0 ** (params.pK1 - p) + 10.0 ** (p - params.pK2)))
    return brentq(f, -2.0, 16.0, xtol=1e-15, rtol=4 * EPS, maxiter=500)


def reference_response(q3, x0, Ts=10.0, params=DEFAULT_PARAMS):
    """Sampled response by solve_ivp (Radau, rtol 1e-10), restarted at every input step."""
    x = np.asarray(x0, dtype=float)
    states = []
    for q in q3:
        states.append(x.copy())
        sol = solve_ivp(derivatives, (0.0, Ts), x, args=(q, params), method="Radau",
                        rtol=1e-10, atol=[1e-12, 1e-18, 1e-18])
        assert sol.success
        x = sol.y[:, -1]
    states = np.array(states)
    y = np.array([brentq_ph(wa, wb, params) for wa, wb in states[:, 1:]])
    return y, states


def fast_mprs(n, rng):
    """A busy staircase in [12.5, 17] ml/s (holds of 5-30 samples) to excite the dynamics."""
    levels = rng.uniform(12.5, 17.0, n)
    holds = rng.integers(5, 31, n)
    return np.repeat(levels, holds)[:n]


# --------------------------------------------------------------------------- parameters


def test_params_are_the_table_values_and_frozen():
    p = PHParams()
    assert (p.A, p.z, p.Cv4, p.n, p.pK1, p.pK2) == (207.0, 11.5, 4.59, 0.607, 6.35, 10.25)
    assert (p.Wa1, p.Wa2, p.Wa3, p.Wb1, p.Wb2, p.Wb3) == (3.0e-3, -3.0e-2, -3.05e-3, 0.0, 3.0e-2, 5.0e-5)
    assert (p.q1, p.q2) == (16.6, 0.55)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.A = 1.0


@pytest.mark.parametrize("name, value", [("A", -1.0), ("Cv4", 0.0), ("n", -0.6), ("z", 0.0),
                                         ("q1", -16.6), ("Wb2", -1e-3), ("pK1", float("nan"))])
def test_params_refuse_unphysical_values(name, value):
    with pytest.raises(ValueError, match=f"PHParams.{name}"):
        PHParams(**{name: value})


# --------------------------------------------------------------------------- steady state


def test_steady_state_reference_numbers():
    ss = steady_state(15.55)
    assert round(float(ss.pH), 4) == 7.0002
    assert round(float(steady_state(15.6).pH), 3) == 7.026
    assert float(ss.h) == pytest.approx(14.0, abs=0.15)
    assert float(steady_state(15.6).h) == pytest.approx(14.0, abs=0.15)
    # the table's Wa4, Wb4 (-4.32e-4, 5.28e-4) to the printed digits (they belong to q3 = 15.55)
    assert float(ss.Wa4) == pytest.approx(-4.32e-4, abs=0.005e-4)
    assert float(ss.Wb4) == pytest.approx(5.28e-4, abs=0.005e-4)


def test_steady_state_is_a_fixed_point_of_the_dynamics():
    q3 = np.linspace(12.5, 17.0, 19)
    ss = steady_state(q3)
    dx = derivatives(0.0, ss.x, q3)
    assert dx.shape == (19, 3)
    assert np.max(np.abs(dx[:, 0])) < 1e-14  # cm/s; the flows are ~0.16 cm/s
    assert np.max(np.abs(dx[:, 1:])) < 1e-19  # mol/L/s; the terms are ~1e-5 mol/L/s


def test_steady_ph_does_not_depend_on_the_valve():
    q3 = np.linspace(12.5, 17.0, 7)
    base = steady_state(q3)
    other = steady_state(q3, PHParams(Cv4=6.0, z=5.0, n=0.5))
    np.testing.assert_array_equal(other.pH, base.pH)
    assert np.all(np.abs(other.h - base.h) > 1.0)  # the level does depend on it


def test_steady_state_is_vectorised():
    q3 = np.array([[13.0, 15.55], [16.0, 17.0]])
    ss = steady_state(q3)
    assert ss.pH.shape == ss.h.shape == (2, 2) and ss.x.shape == (2, 2, 3)
    assert ss.pH[0, 1] == pytest.approx(float(steady_state(15.55).pH), abs=1e-14)


# --------------------------------------------------------------------------- pH equation


def test_ph_agrees_with_brentq_and_has_zero_residual(rng):
    wa = np.concatenate([rng.uniform(-3e-2, 3e-3, 150), rng.uniform(-1e-3, 1e-3, 100),
                         np.sign(rng.normal(size=100)) * 10 ** rng.uniform(-12, -2, 100)])
    wb = np.concatenate([rng.uniform(0, 3e-2, 150), rng.uniform(0, 1e-5, 100), 10 ** rng.uniform(-14, -2, 100)])
    ph = ph_from_invariants(wa, wb)
    ref = np.array([brentq_ph(a, b) for a, b in zip(wa, wb)])
    assert np.max(np.abs(ph - ref)) < 1e-12  # measured ~1e-14
    _, _, scale = pp._charge_balance(ph, wa, wb, DEFAULT_PARAMS.pK1, DEFAULT_PARAMS.pK2)
    assert np.max(np.abs(ph_residual(ph, wa, wb)) / scale) < 1e-14  # rounding level (~5 eps)


def test_ph_of_simple_solutions():
    assert float(ph_from_invariants(0.0, 0.0)) == pytest.approx(7.0, abs=1e-12)  # pure water
    assert float(ph_from_invariants(1e-3, 0.0)) == pytest.approx(3.0, abs=1e-8)  # 1 mM strong acid
    assert float(ph_from_invariants(-1e-3, 0.0)) == pytest.approx(11.0, abs=1e-8)  # 1 mM strong base


def test_ph_is_vectorised_over_any_shape(rng):
    wa = rng.uniform(-8e-4, 3e-4, (4, 50))
    wb = rng.uniform(4e-4, 7e-4, (4, 50))
    ph = ph_from_invariants(wa, wb)
    assert ph.shape == (4, 50)
    for i, j in [(0, 0), (1, 17), (3, 49)]:
        assert ph[i, j] == pytest.approx(brentq_ph(wa[i, j], wb[i, j]), abs=1e-12)
    # broadcasting (B, 1) against (T,), and scalars give 0-d arrays
    assert ph_from_invariants(wa[:, :1], wb[0]).shape == (4, 50)
    assert ph_from_invariants(-4.32e-4, 5.28e-4).shape == ()


def test_ph_refuses_bad_invariants():
    with pytest.raises(ValueError, match="Wb4 must be >= 0"):
        ph_from_invariants([0.0, 0.0], [1e-4, -1e-6])
    with pytest.raises(NonFiniteError, match="Wa4"):
        ph_from_invariants([np.nan], [0.0])
    with pytest.raises(ValueError, match="unphysical"):
        ph_from_invariants(-500.0, 0.0)
    with pytest.raises(ShapeError, match="broadcast"):
        ph_from_invariants(np.zeros(3), np.zeros(4))


# --------------------------------------------------------------------------- derivatives


def test_derivatives_by_hand():
    x = np.array([10.0, -2e-4, 4e-4])
    p = DEFAULT_PARAMS
    q = (p.q1, p.q2, 15.0)
    q4 = p.Cv4 * (10.0 + p.z) ** p.n
    dh = (sum(q) - q4) / p.A
    dwa = (q[0] * (p.Wa1 + 2e-4) + q[1] * (p.Wa2 + 2e-4) + q[2] * (p.Wa3 + 2e-4)) / (p.A * 10.0)
    dwb = (q[0] * (p.Wb1 - 4e-4) + q[1] * (p.Wb2 - 4e-4) + q[2] * (p.Wb3 - 4e-4)) / (p.A * 10.0)
    np.testing.assert_allclose(derivatives(0.0, x, 15.0), [dh, dwa, dwb], rtol=1e-13)
    # batch of two, loads overridden per scenario
    xb = np.stack([x, x])
    out = derivatives(0.0, xb, np.array([15.0, 15.0]), q1=np.array([p.q1, 0.0]))
    np.testing.assert_allclose(out[0], [dh, dwa, dwb], rtol=1e-13)
    assert out[1, 0] < out[0, 0]  # no acid: less inflow


def test_derivatives_refuse_bad_flows_and_levels():
    x = steady_state(15.0).x
    with pytest.raises(ValueError, match=r"q3 \(base flow, ml/s\) is negative"):
        derivatives(0.0, x, -1.0)
    with pytest.raises(ValueError, match=r"q1 \(acid flow, ml/s\) is negative"):
        derivatives(0.0, x, 15.0, q1=-0.1)
    with pytest.raises(NonFiniteError, match="q2"):
        derivatives(0.0, x, 15.0, q2=np.nan)
    with pytest.raises(ValueError, match="level h"):
        derivatives(0.0, [0.0, 0.0, 0.0], 15.0)
    with pytest.raises(ShapeError):
        derivatives(0.0, np.zeros(4), 15.0)


# --------------------------------------------------------------------------- simulation


def test_simulation_agrees_with_solve_ivp_on_a_step():
    u = np.r_[np.full(5, 15.55), np.full(75, 16.2)]
    y_ref, x_ref = reference_response(u, steady_state(15.55).x)
    r = simulate_plant(u)
    assert np.max(np.abs(r.y - y_ref)) < 1e-8  # measured ~1e-9 with 4 RK4 steps per period
    assert np.max(np.abs(r.x[:, 0] - x_ref[:, 0])) < 1e-8
    assert r.y[-1] > r.y[0] + 0.2  # a visible response


def test_simulation_agrees_with_solve_ivp_on_an_mprs_and_rk4_is_fourth_order(rng):
    u = fast_mprs(120, rng)
    x0 = steady_state(14.0).x  # not at rest: an initial transient as well
    y_ref, _ = reference_response(u, x0)
    err = {m: np.max(np.abs(simulate_plant(u, x0, substeps=m).y - y_ref)) for m in (2, 4)}
    assert err[4] < 1e-7  # measured ~2e-8 pH (2.6e-8 on a 400-sample MPRS)
    assert 8 < err[2] / err[4] < 32  # halving the step divides the error by ~2^4


def test_step_plant_shapes():
    """One tank stays (3,); one state with a batch of flows starts every row from it."""
    from lstmds_sim.systems.ph_plant import step_plant

    x0 = steady_state(15.55).x
    assert step_plant(x0, 15.0).shape == (3,) and step_plant(x0, np.array([15.0])).shape == (3,)
    batch = step_plant(x0, np.array([14.0, 15.0, 16.0]))
    assert batch.shape == (3, 3)
    for row, q in zip(batch, (14.0, 15.0, 16.0)):
        np.testing.assert_array_equal(row, step_plant(x0, q))
    with pytest.raises(ShapeError, match=r"q3 has shape \(2,\), expected a scalar or \(3,\) like x"):
        step_plant(np.stack([x0] * 3), np.array([15.0, 15.0]))


def test_batched_equals_one_at_a_time(rng):
    u = np.stack([fast_mprs(60, rng) for _ in range(3)])
    x0 = np.stack([steady_state(q).x for q in (13.0, 15.0, 16.5)])
    batch = simulate_plant(u, x0)
    assert batch.y.shape == (3, 60) and batch.x.shape == (3, 60, 3) and batch.x_final.shape == (3, 3)
    for b in range(3):
        one = simulate_plant(u[b], x0[b])
        np.testing.assert_allclose(batch.y[b], one.y, rtol=0, atol=1e-13)
        np.testing.assert_allclose(batch.x[b], one.x, rtol=1e-14, atol=1e-18)


def test_output_is_sampled_before_the_input_acts(rng):
    x0 = steady_state(14.0).x
    u = fast_mprs(20, rng)
    a = simulate_plant(u, x0)
    u2 = u.copy()
    u2[0] = 17.0
    b = simulate_plant(u2, x0)
    assert a.y[0] == b.y[0] == pytest.approx(float(ph_from_invariants(x0[1], x0[2])), abs=0)
    assert b.y[1] != a.y[1]  # u_0 shows in y_1 first
    np.testing.assert_array_equal(a.x[0], x0)
    np.testing.assert_allclose(a.y, ph_from_invariants(a.x[:, 1], a.x[:, 2]), atol=0)


def test_default_initial_state_is_rest_at_the_first_input():
    r = simulate_plant(np.full(30, 15.55))
    np.testing.assert_allclose(r.y, float(steady_state(15.55).pH), atol=1e-12)
    np.testing.assert_allclose(r.x, np.broadcast_to(steady_state(15.55).x, (30, 3)), rtol=1e-12)


def test_continuation_from_the_final_state(rng):
    u = fast_mprs(40, rng)
    whole = simulate_plant(u)
    first = simulate_plant(u[:25])
    second = simulate_plant(u[25:], first.x_final)
    np.testing.assert_array_equal(np.r_[first.y, second.y], whole.y)


def test_jitter_is_added_to_the_flow_the_plant_receives(rng):
    u = fast_mprs(30, rng)
    jitter = rng.normal(0, 0.02, 30)
    x0 = steady_state(u[0]).x
    np.testing.assert_array_equal(simulate_plant(u, x0, q3_jitter=jitter).y, simulate_plant(u + jitter, x0).y)


def test_refuses_negative_and_non_finite_flows():
    u = np.full((2, 10), 15.0)
    u[1, 7] = -0.5
    with pytest.raises(ValueError, match=r"q3 \(base flow, ml/s\) is negative \(-0.5 at index \(1, 7\)\).*clip"):
        simulate_plant(u)
    u[1, 7] = np.nan
    with pytest.raises(NonFiniteError, match=r"q3 .*non-finite value \(nan at index \(1, 7\)\)"):
        simulate_plant(u)
    jitter = np.zeros(10)
    jitter[3] = -20.0
    with pytest.raises(ValueError, match=r"q3 \+ q3_jitter .* at index \(3,\)"):
        simulate_plant(np.full(10, 15.0), q3_jitter=jitter)
    with pytest.raises(ValueError, match="PHParams.q2"):
        simulate_plant(np.full(10, 15.0), params=PHParams(q2=-0.55))


def test_refuses_bad_arguments():
    with pytest.raises(ShapeError, match="x0"):
        simulate_plant(np.full(10, 15.0), np.zeros(2))
    with pytest.raises(ValueError, match="initial level"):
        simulate_plant(np.full(10, 15.0), [-1.0, 0.0, 0.0])
    with pytest.raises(ShapeError, match="q3_sequence"):
        simulate_plant(np.full((2, 3, 4), 15.0))
    with pytest.raises(ValueError, match="substeps"):
        simulate_plant(np.full(10, 15.0), substeps=0)
    with pytest.raises(ValueError, match="Ts"):
        simulate_plant(np.full(10, 15.0), Ts=-10.0)


def test_the_tank_emptying_is_an_error():
    # q1 + q2 = 17.15 ml/s cannot hold the level above the valve (Cv4 z^n = 20.2 ml/s)
    u = np.r_[np.full(2, 15.0), np.zeros(200)]
    with pytest.raises(ValueError, match=r"tank emptied .* scenario 0 during sampling period \d+"):
        simulate_plant(u)


# --------------------------------------------------------------------------- static and small-signal properties


def test_titration_gain_varies_about_eightfold():
    q3 = np.linspace(12.5, 17.0, 901)
    ph = titration_curve(q3)
    assert np.all(np.diff(ph) > 0)
    gain = static_gain(q3)
    fd = np.gradient(ph, q3)
    np.testing.assert_allclose(gain[1:-1], fd[1:-1], rtol=2e-3)  # analytic slope vs finite differences
    ratio = gain.max() / gain.min()
    assert 6 < ratio < 12  # spec: "about 8x"; measured 9.66 (0.305 at 13.75 ml/s, 2.94 at 16.6 ml/s)


def test_time_constants_match_the_spec_and_the_simulation():
    assert float(residence_time(15.55)) == pytest.approx(88.0, abs=1.0)
    assert float(level_time_constant(15.55)) == pytest.approx(265.0, abs=2.0)
    # small step, 1 s sampling: the level reaches 63.2 % of its change after one
    # level time constant; Wa4 (whose time constant is the residence time) after ~88 s
    u = np.r_[15.55, np.full(600, 15.60)]
    r = simulate_plant(u, Ts=1.0, substeps=1)
    h, wa = r.x[1:, 0], r.x[1:, 1]
    h_frac = (h - h[0]) / (float(steady_state(15.60).h) - h[0])
    wa_frac = (wa - wa[0]) / (float(steady_state(15.60).Wa4) - wa[0])
    t_h = np.interp(1 - np.exp(-1), h_frac, np.arange(h.size))
    t_wa = np.interp(1 - np.exp(-1), wa_frac, np.arange(wa.size))
    assert t_h == pytest.approx(float(level_time_constant(15.575)), rel=0.01)
    assert t_wa == pytest.approx(float(residence_time(15.575)), rel=0.02)
