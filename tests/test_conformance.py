"""Other people's diagrams: bdsim's own examples and run tests (v1.4.0), written again here, run through run().

Each case is a diagram from bdsim's ``examples/`` folder or from the diagram-level tests in its ``tests/``
(the file named in the case's docstring), drawn with the same blocks and parameters (SCOPE and ANIMATION
blocks left out or kept as noted; their signals are probed instead). Each runs with the numpy interpreter
under both solvers (fixed-step RK4 and solve_ivp) and with the compiled backend, and is compared with:

* an exact solution where one exists (a closed form, the exact sampled-data recursion, analytic bounce
  times), or an independent reference (scipy's solve_ivp at tight tolerances on the same equations);
* bdsim's own runner (solve_ivp, rtol 1e-10) where its semantics and ours coincide (diagrams without
  discrete states feeding continuous ones: docs/backends.md says where they differ, and why).

Every case agrees to 1e-6 of the signal's scale; the compiled backend runs every case but those whose
blocks it refuses for a reason docs/backends.md states (EVENT and STOP's Python handlers; a FUNCTION calling
math.cos, which cannot trace JAX arrays), and then in one line naming the block.
"""

from __future__ import annotations

import contextlib
import io
import math

import numpy as np
import pytest
import scipy.integrate

from lstmds_sim import DiagramError, blockdiagram, run
from lstmds_sim.core.bdsim_adapter import compile_diagram, simulator

RUNS = [("numpy", "rk4"), ("numpy", "solve_ivp"), ("jax", "rk4")]


def run_case(build, steps, run_as, *, probes, dt=None, jax_refuses=None, **options):
    """The case's diagram run one way. ``jax_refuses``: the reason the compiled backend gives for refusing it
    (documented in docs/backends.md); the run is then checked to be that one-line refusal, and None returned."""
    backend, solver = run_as
    bd = build()
    if backend == "jax" and jax_refuses is not None:
        with pytest.raises(DiagramError, match=jax_refuses) as err:
            run(bd, steps, probes=probes, dt=dt, solver=solver, backend=backend, **options)
        assert "\n" not in str(err.value) and "backend='numpy'" in str(err.value), str(err.value)
        return None
    return run(bd, steps, probes=probes, dt=dt, solver=solver, backend=backend, **options)


def assert_close(got, want, what):
    got, want = np.ravel(np.asarray(got, dtype=float)), np.ravel(np.asarray(want, dtype=float))
    assert got.shape == want.shape, (what, got.shape, want.shape)
    scale = max(1.0, float(np.max(np.abs(want))))
    error = float(np.max(np.abs(got - want)))
    assert error <= 1e-6 * scale, f"{what}: max error {error:.3g} > 1e-6 x {scale:.3g}"


def bdsim_runner(build, T, dt, watch_names):
    """bdsim's own runner (solve_ivp RK45, rtol 1e-10, atol 1e-12) on a fresh copy: t and each watched output."""
    bd = build()
    blocks = {b.name: b for b in bd.blocklist}
    compile_diagram(bd)
    with contextlib.redirect_stdout(io.StringIO()):
        out = simulator().run(bd, T=T, dt=dt, watch=[blocks[n] for n in watch_names], solver="RK45",
                              solver_args={"rtol": 1e-10, "atol": 1e-12})
    y = np.asarray(out.y, dtype=float).reshape(len(out.t), -1)
    return np.asarray(out.t), {n: y[:, i] for i, n in enumerate(watch_names)}


# --------------------------------------------------------------------------- eg1: a continuous loop with a step


def eg1():
    """examples/eg1.py: STEP(T=1) -> SUM +- -> GAIN 10 -> LTI_SISO 0.5 / (2 s + 1), unity feedback."""
    bd = blockdiagram("eg1")
    demand = bd.STEP(T=1, name="demand")
    error = bd.SUM("+-", name="error")
    gain = bd.GAIN(10, name="gain")
    plant = bd.LTI_SISO(0.5, [2, 1], name="plant")
    bd.connect(demand, error[0])
    bd.connect(plant, error[1])
    bd.connect(error, gain)
    bd.connect(gain, plant)
    bd.connect(plant, bd.SCOPE(name="scope"))
    return bd


def eg1_exact(t):
    """y' = -3 y + 2.5 r with r the unit step at t = 1: y = 2.5/3 (1 - exp(-3 (t - 1))) after the step."""
    return np.where(t >= 1, 2.5 / 3 * (1 - np.exp(-3 * (t - 1))), 0.0)


@pytest.mark.parametrize("run_as", RUNS, ids=["-".join(r) for r in RUNS])
def test_eg1_equals_its_closed_form(run_as):
    res = run_case(lambda: _without_scope(eg1()), 51, run_as, probes=["plant"], dt=0.1)
    if res is not None:
        assert_close(res["plant"], eg1_exact(res.t), "eg1 plant output")


def test_eg1_equals_bdsims_runner():
    res = run(eg1(), 51, dt=0.1, probes=["plant"], solver="solve_ivp")
    t, ref = bdsim_runner(eg1, 5.0, 0.1, ["plant"])
    np.testing.assert_allclose(t, res.t, atol=1e-12)
    assert_close(res["plant"], ref["plant"], "eg1 vs bdsim")
    assert "scope" in res.figures  # its SCOPE is drawn at the end


def _without_scope(bd):
    """The compiled backend refuses SCOPE (it draws while running): the cases probe the signal instead."""
    for b in [b for b in bd.blocklist if b.type == "scope"]:
        bd.blocklist.remove(b)
        bd.wirelist[:] = [w for w in bd.wirelist if w.end.block is not b]
    return bd


# --------------------------------------------------------------------------- eg1_zoh: sampled-data control


def eg1_zoh():
    """examples/eg1_zoh.py: eg1 with a 10 Hz ZOH between the gain and the plant."""
    bd = blockdiagram("eg1_zoh")
    clock = bd.clock(10, "Hz")
    demand = bd.STEP(T=1, name="demand")
    error = bd.SUM("+-", name="error")
    gain = bd.GAIN(10, name="gain")
    plant = bd.LTI_SISO(0.5, [2, 1], name="plant")
    zoh = bd.ZOH(clock, name="zoh")
    bd.connect(demand, error[0])
    bd.connect(plant, error[1])
    bd.connect(error, gain)
    bd.connect(gain, zoh)
    bd.connect(zoh, plant)
    return bd


def eg1_zoh_exact(steps, T=0.1):
    """The exact sampled-data solution: y(k+1) = a y(k) + b u(k), a = exp(-T/2), b = 0.5 (1 - a), u(k) = 10 (r(k) - y(k))."""
    a = math.exp(-T / 2)
    b = 0.5 * (1 - a)
    y, out = 0.0, []
    for k in range(steps):
        out.append(y)
        u = 10 * ((1.0 if k * T >= 1 else 0.0) - y)
        y = a * y + b * u
    return np.array(out)


@pytest.mark.parametrize("run_as", RUNS, ids=["-".join(r) for r in RUNS])
def test_a_zoh_samples_at_its_tick_as_the_exact_sampled_data_solution(run_as):
    res = run_case(eg1_zoh, 51, run_as, probes=["plant", "zoh"])
    if res is not None:
        assert_close(res["plant"], eg1_zoh_exact(51), "eg1_zoh plant output")
        y = eg1_zoh_exact(51)
        assert_close(res["zoh"], 10 * ((res.t >= 1) - y), "the ZOH's output is the input at its tick")


def test_eg1_zoh_equals_bdsims_runner():
    res = run(eg1_zoh(), 50, probes=["plant"], solver="solve_ivp")
    t, ref = bdsim_runner(eg1_zoh, 4.9, 0.1, ["plant"])
    np.testing.assert_allclose(t, res.t, atol=1e-12)
    assert_close(res["plant"], ref["plant"], "eg1_zoh vs bdsim")


# --------------------------------------------------------------------------- the bouncing ball: zero crossings

G, E, H0 = -9.81, 0.8, 10.0


def bouncing_ball():
    """examples/bouncing-ball.py: two integrators under gravity; EVENT('-') on the position reverses the velocity."""
    bd = blockdiagram("ball")
    velocity = bd.INTEGRATOR(x0=0, name="velocity")
    position = bd.INTEGRATOR(x0=H0, name="position")
    gravity = bd.CONSTANT(G, name="gravity")

    def impact(event_block, state_map):
        state_map[velocity] *= -E  # reverse the velocity, with restitution

    ground = bd.EVENT("-", impact, name="ground")
    bd.connect(gravity, velocity)
    bd.connect(velocity, position)
    bd.connect(position, ground)
    return bd


def bounces(n):
    """The analytic bounce times: the first after sqrt(2 h0 / g), then each flight 2 v / g with v shrunk by e."""
    t = math.sqrt(2 * H0 / -G)
    v, times = -G * t, [t]
    for _ in range(n - 1):
        v *= E
        times.append(times[-1] + 2 * v / -G)
    return np.array(times)


def ball_position(t):
    """The analytic height at the instants t (a parabola between bounces)."""
    times = bounces(10)
    out = np.empty_like(t)
    for i, ti in enumerate(t):
        k = int(np.searchsorted(times, ti, side="right"))
        if k == 0:
            out[i] = H0 + 0.5 * G * ti**2
        else:
            v = -G * times[0] * E**k
            s = ti - times[k - 1]
            out[i] = v * s + 0.5 * G * s**2
    return out


@pytest.mark.parametrize("solver", ["rk4", "solve_ivp"])
def test_the_bouncing_ball_bounces_at_the_analytic_times(solver):
    res = run(bouncing_ball(), 500, dt=0.01, solver=solver, probes=["position"])
    got = np.array([t for t, name in res.events if name == "ground"])
    assert len(got) == 2  # at 1.428 s and 3.713 s within 5 s
    np.testing.assert_allclose(got, bounces(2), rtol=0, atol=1e-9)
    assert_close(res["position"], ball_position(res.t), "the ball's height")


def test_the_compiled_backend_refuses_zero_crossings_in_one_line():
    run_case(bouncing_ball, 10, ("jax", "rk4"), probes=[], dt=0.01, jax_refuses="EVENT block 'ground'")
    run_case(stop_and_reset, 10, ("jax", "rk4"), probes=[], dt=0.01, jax_refuses="STOP block 'stop'")


# --------------------------------------------------------------------------- STOP and EVENT (bdsim's run tests)


def stop_and_reset():
    """tests/test_run.py, test_stop_handler_state_mutation_persists: STOP(x - 0.2) on an integrator of 1,
    whose crossing handler resets the state to 0 and stops."""
    bd = blockdiagram("stop")
    step = bd.STEP(T=0, off=1, on=1)
    integ = bd.INTEGRATOR(x0=0, name="integ")
    stop = bd.STOP(lambda x: x - 0.2, name="stop")

    def reset(t_crossing, y_crossing, state_map, simstate):
        state_map[integ][:] = np.r_[0.0]
        simstate.stop = stop

    stop.event_handler = reset
    bd.connect(step, integ)
    bd.connect(integ, bd.NULL())
    bd.connect(integ, stop)
    return bd


@pytest.mark.parametrize("solver", ["rk4", "solve_ivp"])
def test_a_stop_handlers_state_change_persists(solver):
    res = run(stop_and_reset(), 50, dt=0.01, solver=solver)
    assert res.t_stop == pytest.approx(0.2, abs=1e-12)
    assert float(np.ravel(res.final_states["integ"])[0]) == 0.0


def event_continues():
    """tests/test_run.py: an EVENT('+') where an integrator of 1 crosses 0.2 calls its function; the run goes on."""
    bd = blockdiagram("event")
    step = bd.STEP(T=0, off=1, on=1)
    integ = bd.INTEGRATOR(x0=0, name="integ")
    err = bd.SUM("+-")
    calls = []
    evt = bd.EVENT("+", lambda block: calls.append(block), name="evt")
    bd.connect(step, integ)
    bd.connect(integ, bd.NULL())
    bd.connect(integ, err[0])
    bd.connect(bd.CONSTANT(0.2), err[1])
    bd.connect(err, evt)
    return bd, calls


@pytest.mark.parametrize("solver", ["rk4", "solve_ivp"])
def test_an_event_calls_its_function_and_the_run_goes_on(solver):
    bd, calls = event_continues()
    res = run(bd, 51, dt=0.01, solver=solver, probes=["integ"])
    assert len(calls) == 1 and [round(t, 12) for t, _ in res.events] == [0.2]
    assert res.t[-1] == pytest.approx(0.5) and res.t_stop is None
    assert_close(res["integ"], res.t, "the integrator runs on past the event")


# --------------------------------------------------------------------------- continuous nonlinear systems


def vanderpol(mu=1.0):
    """examples/vanderpol.py: x1' = x2, x2' = mu (1 - x1^2) x2 - x1, with its SCOPEXY phase plot."""
    bd = blockdiagram("vanderpol")
    x1 = bd.INTEGRATOR(x0=2.0, name="x1")
    x2 = bd.INTEGRATOR(x0=0.0, name="x2")
    f = bd.FUNCTION(lambda a, b: mu * (1 - a**2) * b - a, nin=2, name="f")
    bd.connect(x2, x1)
    bd.connect(x1, f[0])
    bd.connect(x2, f[1])
    bd.connect(f, x2)
    phase = bd.SCOPEXY(name="phase")
    bd.connect(x1, phase[0])
    bd.connect(x2, phase[1])
    return bd


def reference(f, y0, t, breaks=()):
    """scipy's solve_ivp (DOP853, rtol 1e-12) on f, restarted at the given breakpoints, sampled at t."""
    cuts = [0.0, *breaks, float(t[-1])]
    out, y = [], np.asarray(y0, dtype=float)
    for a, b in zip(cuts, cuts[1:]):
        sel = t[(t >= a) & ((t < b) | ((b == cuts[-1]) & (t <= b)))]
        sol = scipy.integrate.solve_ivp(f, (a, b), y, method="DOP853", rtol=1e-12, atol=1e-14,
                                        t_eval=sel, dense_output=True)
        out.append(sol.y.T)
        y = sol.sol(b)
    return np.concatenate(out)


@pytest.mark.parametrize("run_as", RUNS, ids=["-".join(r) for r in RUNS])
def test_vanderpol_equals_an_independent_solve_ivp(run_as):
    res = run_case(lambda: _without_graphics(vanderpol()), 1001, run_as, probes=["x1", "x2"], dt=0.01)
    if res is not None:
        ref = reference(lambda t, y: [y[1], (1 - y[0] ** 2) * y[1] - y[0]], [2.0, 0.0], res.t)
        assert_close(res["x1"], ref[:, 0], "vanderpol x1")
        assert_close(res["x2"], ref[:, 1], "vanderpol x2")


def test_vanderpol_equals_bdsims_runner_and_draws_its_phase_plot():
    res = run(vanderpol(), 501, dt=0.01, probes=["x1"], solver="solve_ivp")
    t, ref = bdsim_runner(vanderpol, 5.0, 0.01, ["x1"])
    assert_close(res["x1"], ref["x1"], "vanderpol vs bdsim")
    assert "phase" in res.figures


def _without_graphics(bd):
    for b in [b for b in bd.blocklist if b.type in ("scope", "scopexy", "scopexy1")]:
        bd.blocklist.remove(b)
        bd.wirelist[:] = [w for w in bd.wirelist if w.end.block is not b]
    return bd


M, m_pole, L_pole, GRAV, FRICTION = 1.0, 0.1, 0.5, -9.81, 10.0


def cartpole():
    """examples/cartpole.py (Tedrake's cart-pole) without its ANIMATION: a force pulse STEP(1) - STEP(1.2),
    math.cos / math.sin of a one-state integrator (a float, as bdsim's INTEGRATOR gives it)."""
    bd = blockdiagram("cartpole")
    force = bd.SUM("+-", name="F")
    bd.connect(bd.STEP(1, name="disturb-on"), force[0])
    bd.connect(bd.STEP(1.2, name="disturb-off"), force[1])
    x_dot = bd.INTEGRATOR(name="x_dot")
    x = bd.INTEGRATOR(name="x")
    theta_dot = bd.INTEGRATOR(name="theta_dot")
    theta = bd.INTEGRATOR(name="theta")
    bd.connect(x_dot, x)
    bd.connect(theta_dot, theta)
    cos_t = bd.FUNCTION(lambda a: math.cos(a), name="cos(theta)")
    sin_t = bd.FUNCTION(lambda a: math.sin(a), name="sin(theta)")
    bd.connect(theta, cos_t)
    bd.connect(theta, sin_t)

    def accelerations(F, xd, td, c, s):
        D = M + m_pole * s**2
        f = F - FRICTION * xd
        xdd = (f + m_pole * s * (L_pole * td**2 + GRAV * c)) / D
        tdd = (-f * c - m_pole * L_pole * td**2 * c * s - (M + m_pole) * GRAV * s) / (L_pole * D)
        return xdd, tdd

    dynamics = bd.FUNCTION(accelerations, nin=5, nout=2, name="dynamics")
    for port, source in enumerate((force, x_dot, theta_dot, cos_t, sin_t)):
        bd.connect(source, dynamics[port])
    bd.connect(dynamics[0], x_dot)
    bd.connect(dynamics[1], theta_dot)
    return bd


def cartpole_f(t, y):
    xd, td, th = y[1], y[3], y[2]
    F = 1.0 if 1.0 <= t < 1.2 else 0.0
    c, s = math.cos(th), math.sin(th)
    D = M + m_pole * s**2
    f = F - FRICTION * xd
    xdd = (f + m_pole * s * (L_pole * td**2 + GRAV * c)) / D
    tdd = (-f * c - m_pole * L_pole * td**2 * c * s - (M + m_pole) * GRAV * s) / (L_pole * D)
    return [xd, xdd, td, tdd]


@pytest.mark.parametrize("run_as", RUNS, ids=["-".join(r) for r in RUNS])
def test_cartpole_equals_an_independent_solve_ivp(run_as):
    # its FUNCTIONs call math.cos, which cannot trace JAX arrays: the compiled backend says so
    res = run_case(cartpole, 301, run_as, probes=["x", "theta"], dt=0.01, jax_refuses="cannot run on JAX arrays")
    if res is not None:
        ref = reference(cartpole_f, [0, 0, 0, 0], res.t, breaks=(1.0, 1.2))
        assert_close(res["x"], ref[:, 0], "cart position")
        assert_close(res["theta"], ref[:, 2], "pole angle")


def test_cartpole_equals_bdsims_runner():
    res = run(cartpole(), 301, dt=0.01, probes=["x", "theta"], solver="solve_ivp")
    t, ref = bdsim_runner(cartpole, 3.0, 0.01, ["x", "theta"])
    assert_close(res["x"], ref["x"], "cart position vs bdsim")
    assert_close(res["theta"], ref["theta"], "pole angle vs bdsim")


# --------------------------------------------------------------------------- sources, samplers and clocks


def waveforms():
    """examples/waveform.py: a triangle (1 Hz, phase 0.25) and a square (1 Hz, 0..1), each into an integrator."""
    bd = blockdiagram("waveform")
    tri = bd.WAVEFORM(wave="triangle", freq=1, phase=0.25, name="triangle")
    sq = bd.WAVEFORM(wave="square", freq=1, min=0, max=1, name="square")
    for wave, name in ((tri, "int triangle"), (sq, "int square")):
        integ = bd.INTEGRATOR(name=name)
        bd.connect(wave, integ)
    return bd


@pytest.mark.parametrize("run_as", RUNS, ids=["-".join(r) for r in RUNS])
def test_waveforms_integrate_exactly_across_their_edges(run_as):
    res = run_case(waveforms, 201, run_as, probes=["triangle", "square", "int square", "int triangle"], dt=0.02)
    if res is None:
        return
    t = res.t
    square = np.where(np.mod(t, 1.0) < 0.5, 1.0, 0.0)  # bdsim's square wave: duty 0.5, min 0, max 1
    assert_close(res["square"], square, "square wave")
    # the integral of the square wave: t/2 per period plus the part of the current high half
    assert_close(res["int square"], np.floor(t) * 0.5 + np.minimum(np.mod(t, 1.0), 0.5), "its integral")
    fine = np.linspace(0, t[-1], 400001)
    tri = WAVE_TRIANGLE(fine)
    integral = scipy.integrate.cumulative_trapezoid(tri, fine, initial=0.0)
    assert_close(res["int triangle"], np.interp(t, fine, integral), "the triangle's integral (trapezoid, 1e-11)")


def WAVE_TRIANGLE(t, phase=0.25):
    """bdsim's triangle wave in [-1, 1]: rises to 1 at a quarter period after the phase, falls to -1 at three quarters."""
    p = np.mod(t - phase, 1.0)
    return np.where(p < 0.25, 4 * p, np.where(p < 0.75, 1 - 4 * (p - 0.25), -1 + 4 * (p - 0.75)))


def multi_clock():
    """examples/multi-clock.py: a 0.2 Hz sine into ZOHs at 2 Hz and 3 Hz, y = (zoh1 + zoh2) / 2."""
    bd = blockdiagram("multiclock")
    c1, c2 = bd.clock(2, "Hz"), bd.clock(3, "Hz")
    sine = bd.WAVEFORM("sine", freq=0.2, unit="Hz", name="sine")
    z1, z2 = bd.ZOH(c1, name="zoh1"), bd.ZOH(c2, name="zoh2")
    y = bd.SUM("++", name="sum")
    half = bd.GAIN(0.5, name="y")
    bd.connect(sine, z1, z2)
    bd.connect(z1, y[0])
    bd.connect(z2, y[1])
    bd.connect(y, half)
    return bd


@pytest.mark.parametrize("run_as", RUNS, ids=["-".join(r) for r in RUNS])
def test_two_rates_with_a_rational_ratio_run_on_their_common_base_step(run_as):
    res = run_case(multi_clock, 31, run_as, probes=["zoh1", "zoh2", "y"])
    if res is None:
        return
    np.testing.assert_allclose(res.t, np.arange(31) / 6, atol=1e-14)  # base step 1/6 s
    k = np.arange(31)
    held1 = np.sin(2 * np.pi * 0.2 * (k // 3) * 0.5)  # 2 Hz ticks every third base step
    held2 = np.sin(2 * np.pi * 0.2 * (k // 2) / 3)  # 3 Hz ticks every second
    assert_close(res["zoh1"], held1, "the 2 Hz hold")
    assert_close(res["zoh2"], held2, "the 3 Hz hold")
    assert_close(res["y"], 0.5 * (held1 + held2), "their mean")


def discrete_integrator():
    """examples/discrete-integrator.py: STEP(1) into a 50 Hz DINTEGRATOR."""
    bd = blockdiagram("dint")
    clock = bd.clock(50, "Hz")
    integ = bd.INTEGRATOR_S(clock, x0=0, name="dint")
    bd.connect(bd.STEP(1, name="step"), integ)
    return bd


@pytest.mark.parametrize("run_as", RUNS, ids=["-".join(r) for r in RUNS])
def test_a_discrete_integrator_outputs_then_updates(run_as):
    res = run_case(discrete_integrator, 101, run_as, probes=["dint"])
    if res is not None:
        k = np.arange(101)
        on = k >= 50  # the step at t = 1 s is the 50th tick
        assert_close(res["dint"], 0.02 * np.maximum(0, k - 50) * on, "x(k) = T * (ticks since the step, before k)")


def sine_sampler():
    """examples/sine+sampler.py: a 0.2 Hz sine sampled by a 50 Hz ZOH, then into an integrator."""
    bd = blockdiagram("sampler")
    clock = bd.clock(50, "Hz")
    sine = bd.WAVEFORM("sine", freq=0.2, unit="Hz", name="sine")
    zoh = bd.ZOH(clock, name="zoh")
    integ = bd.INTEGRATOR(name="integ")
    bd.connect(sine, zoh)
    bd.connect(zoh, integ)
    return bd


@pytest.mark.parametrize("run_as", RUNS, ids=["-".join(r) for r in RUNS])
def test_a_sampled_sine_is_held_and_integrated_exactly(run_as):
    res = run_case(sine_sampler, 251, run_as, probes=["zoh", "integ"])
    if res is None:
        return
    samples = np.sin(2 * np.pi * 0.2 * res.t)
    assert_close(res["zoh"], samples, "the hold")
    assert_close(res["integ"], np.concatenate([[0.0], np.cumsum(samples[:-1]) * 0.02]), "its integral: a sum of holds")


# --------------------------------------------------------------------------- bdsim's subsystem blocks and wire types


def pid():
    """examples/pid.py: eg1's plant under bdsim's PID block (P = 10, I = 3: a subsystem bdsim builds)."""
    bd = blockdiagram("pid")
    demand = bd.STEP(T=1, name="demand")
    plant = bd.LTI_SISO(0.5, [2, 1], name="plant")
    with contextlib.redirect_stdout(io.StringIO()):  # bdsim's PID prints its structure
        controller = bd.PID(P=10, D=0, I=3, name="PID")
    bd.connect(demand, controller[1])
    bd.connect(controller, plant)
    bd.connect(plant, controller[0])
    return bd


def pid_f(t, s):
    """The same loop: y' = (-y + 0.5 u) / 2, u = 10 e + 3 z, z' = e, e = r - y."""
    y, z = s
    e = (1.0 if t >= 1 else 0.0) - y
    return [(-y + 0.5 * (10 * e + 3 * z)) / 2, e]


@pytest.mark.parametrize("run_as", RUNS, ids=["-".join(r) for r in RUNS])
def test_bdsims_pid_subsystem_equals_an_independent_solve_ivp(run_as):
    res = run_case(pid, 101, run_as, probes=["plant"], dt=0.1)
    if res is not None:
        assert_close(res["plant"], reference(pid_f, [0.0, 0.0], res.t, breaks=(1.0,))[:, 0], "PI loop")


def test_bdsims_pid_subsystem_equals_bdsims_runner():
    res = run(pid(), 101, dt=0.1, probes=["plant"], solver="solve_ivp")
    t, ref = bdsim_runner(pid, 10.0, 0.1, ["plant"])
    assert_close(res["plant"], ref["plant"], "PI loop vs bdsim")


def test_one_element_signals_are_floats_as_bdsims_blocks_give_them():
    """tests/test_sampled_continuous_output.py's convention, seen by a FUNCTION inside a run: a one-state
    INTEGRATOR, a SISO LTI_SISO and a scalar ZOH output floats; a two-state INTEGRATOR an array (2,)."""
    seen = {}
    bd = blockdiagram("types")
    clock = bd.clock(0.1)
    one = bd.INTEGRATOR(x0=0.3, name="one")
    two = bd.INTEGRATOR(x0=[0.1, 0.2], name="two")
    lti = bd.LTI_SISO(1, [1, 1], name="lti")
    zoh = bd.ZOH(clock, name="zoh")
    bd.connect(bd.CONSTANT(1.0), one, lti, zoh)
    bd.connect(bd.CONSTANT(np.array([1.0, 1.0])), two)
    def spy_on(name):
        def spy(v):
            seen.setdefault(name, type(v))
            return v
        return spy

    for block in (one, two, lti, zoh):
        spy = bd.FUNCTION(spy_on(block.name), name=f"spy {block.name}")
        bd.connect(block, spy)
        bd.connect(spy, bd.NULL())
    run(bd, 3)
    assert seen["one"] is float and seen["lti"] is float and seen["zoh"] is float
    assert seen["two"] is np.ndarray


# --------------------------------------------------------------------------- the numbers docs/semantics.md quotes

SEMANTICS_DOC = {  # a phrase of docs/semantics.md -> the benchmark line that measures it
    "2.1e-09 of the closed form with 10 substeps": "eg1 (STEP at t = 1 into a loop), rk4, 10 substeps",
    "2.1e-13 with 100": "eg1 (STEP at t = 1 into a loop), rk4, 100 substeps",
    "0.1 s apart at 1.1e-15": "STEP at t = 0.55 into an integrator (output step 0.1), rk4",
    "analytic times to 2.3e-14 s (RK4)": "bouncing ball: bounce times vs analytic, rk4",
    "and 3.4e-14 s (solve_ivp)": "bouncing ball: bounce times vs analytic, solve_ivp",
}


def test_the_numbers_in_docs_semantics_come_from_the_benchmark():
    """Each error docs/semantics.md quotes is what benchmarks/bench_semantics.py measures (to rounding: the last
    bits of a float64 sum may differ on another machine's BLAS, never the order of magnitude)."""
    import re
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    text = " ".join((root / "docs" / "semantics.md").read_text().split())
    sys.path.insert(0, str(root / "benchmarks"))
    try:
        from bench_semantics import main
    finally:
        sys.path.pop(0)
    with contextlib.redirect_stdout(io.StringIO()):
        measured = main()
    for phrase, key in SEMANTICS_DOC.items():
        assert phrase in text, f"docs/semantics.md no longer says {phrase!r}"
        quoted = float(re.findall(r"\d\.\de-\d\d", phrase)[0])
        assert measured[key] <= max(2 * quoted, 1e-15) and measured[key] >= quoted / 20, (phrase, measured[key])


def test_an_animation_block_runs_through_its_own_start_and_step():
    """examples/cartpole.py's ANIMATION: bdsim's own block, started and stepped by the run; its figure shows the
    last state (a point moved by an integrator of 1 from -1.5 for 2 s: at 0.5)."""
    bd = blockdiagram("animation")
    calls = []

    def init(block, fig, ax):
        ax.set_xlim(-2, 2)
        (block.dot,) = ax.plot([0.0], [0.0], "o")

    def update(block, t, u):
        calls.append(t)
        block.dot.set_data([u[0]], [u[1]])

    anim = bd.ANIMATION(init=init, update=update, nin=2, name="anim")
    x = bd.INTEGRATOR(x0=-1.5, name="x")
    bd.connect(bd.CONSTANT(1.0), x)
    bd.connect(x, anim[0])
    bd.connect(bd.CONSTANT(0.5), anim[1])
    res = run(bd, 21, dt=0.1)
    np.testing.assert_allclose(calls, res.t)
    dot = res.figures["anim"].axes[0].lines[0]
    np.testing.assert_allclose([dot.get_xdata()[0], dot.get_ydata()[0]], [0.5, 0.5], atol=1e-12)
