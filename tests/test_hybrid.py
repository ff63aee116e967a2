"""Hybrid diagrams: continuous blocks beside discrete ones, several clocks, continuous-only runs."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
import scipy.signal

from lstmds_sim import blockdiagram, run
from lstmds_sim.core.engine import DiagramError, compile_diagram, simulator
from lstmds_sim.core.validation import NonFiniteError

TS = 0.1


def lag_diagram(u, *, batch_rows: int | None = None):
    """SEQUENCE u (clock TS) -> 1/(s+1) -> RECORDER y."""
    bd = blockdiagram()
    clock = bd.clock(TS)
    data = u if batch_rows is None else np.stack([(r + 1) * u for r in range(batch_rows)])[..., None]
    src = bd.SEQUENCE(data, clock, name="u")
    lag = bd.LTI_SISO(1, [1, 1], name="lag")
    rec = bd.RECORDER(name="y")
    bd.connect(src, lag, name="u")
    bd.connect(lag, rec, name="y")
    return bd


def exact_zoh_lag(u) -> np.ndarray:
    """The lag's output at the sample instants with u held over each period (scipy's exact ZOH)."""
    A, B, C, D = (np.array(m) for m in ([[-1.0]], [[1.0]], [[1.0]], [[0.0]]))
    Ad, Bd, Cd, Dd, _ = scipy.signal.cont2discrete((A, B, C, D), TS, method="zoh")
    _, y, _ = scipy.signal.dlsim((Ad, Bd, Cd, Dd, TS), u)
    return y[:, 0]


@pytest.fixture(scope="module")
def lag_input():
    return np.random.default_rng(0).normal(size=200)


def test_lag_fed_by_a_sampled_input_equals_the_exact_zoh_solution(lag_input):
    reference = exact_zoh_lag(lag_input)
    rk4 = np.ravel(run(lag_diagram(lag_input))["y"])
    ivp = np.ravel(run(lag_diagram(lag_input), solver="solve_ivp")["y"])
    assert np.max(np.abs(rk4 - reference)) <= 1e-8
    assert np.max(np.abs(ivp - reference)) <= 1e-10
    assert np.max(np.abs(reference)) > 0.5  # the input really moves the lag


def test_rk4_error_falls_like_the_fourth_power_of_the_step(lag_input):
    reference = exact_zoh_lag(lag_input)
    coarse, fine = (np.max(np.abs(np.ravel(run(lag_diagram(lag_input), substeps=n)["y"]) - reference))
                    for n in (1, 2))
    assert 12 < coarse / fine < 20  # 2^4 = 16


def test_batched_lag_runs_row_by_row_like_the_unbatched_one(lag_input):
    y = run(lag_diagram(lag_input, batch_rows=3))["y"]
    assert y.shape == (3, 200, 1)
    for r in range(3):
        assert np.max(np.abs(y[r, :, 0] - (r + 1) * exact_zoh_lag(lag_input))) <= 1e-8


def test_input_at_t0_acts_and_accumulator_semantics_are_unchanged_beside_a_continuous_block():
    bd = blockdiagram()
    clock = bd.clock(1.0)
    u = bd.SEQUENCE([1.0, 10.0, 100.0, 1000.0], clock, name="u")
    acc = bd.SUM("++", name="acc")
    delay = bd.UNITDELAY(clock, x0=[0.0], name="z")
    lag = bd.INTEGRATOR(x0=0.0, name="int")
    bd.connect(u, acc[0])
    bd.connect(delay, acc[1])
    bd.connect(acc, delay, lag, name="sum")
    rec = bd.RECORDER(name="y")
    bd.connect(acc, rec)
    rec_int = bd.RECORDER(name="integral")
    bd.connect(lag, rec_int)
    res = run(bd)
    np.testing.assert_array_equal(np.ravel(res["y"]), [1, 11, 111, 1111])
    # the integral of the held sum: 0, 1, 12, 123 (exact for a piecewise-constant input)
    np.testing.assert_allclose(np.ravel(res["integral"]), [0, 1, 12, 123], atol=1e-12)


def oscillator(name="osc"):
    """A sine through a damped oscillator (LTI_SS) into an integrator: continuous only."""
    bd = blockdiagram(name)
    wave = bd.WAVEFORM("sine", freq=0.5, name="wave")
    plant = bd.LTI_SS(A=np.array([[0.0, 1.0], [-4.0, -0.8]]), B=np.array([[0.0], [1.0]]),
                      C=np.array([[1.0, 0.0]]), name="plant")
    integ = bd.INTEGRATOR(x0=0.3, name="integ")
    bd.connect(wave, plant)
    bd.connect(plant, integ)
    rec = bd.RECORDER(name="out")
    bd.connect(integ, rec)
    return bd


@pytest.mark.slow  # several seconds
def test_continuous_only_diagram_matches_bdsims_own_runner():
    ours = run(oscillator(), 101, dt=0.05, solver="solve_ivp")
    theirs_bd = oscillator()
    compile_diagram(theirs_bd)
    with contextlib.redirect_stdout(io.StringIO()):
        theirs = simulator().run(theirs_bd, T=5, dt=0.05, solver_args={"rtol": 1e-10, "atol": 1e-12})
    np.testing.assert_allclose(theirs.t, ours.t, atol=1e-12)
    column = theirs.xnames.index("integ:x_0")
    assert np.max(np.abs(np.ravel(ours["out"]) - theirs.x[:, column])) < 1e-8
    assert np.ptp(theirs.x[:, column]) > 0.05  # it moves
    rk4 = run(oscillator(), 101, dt=0.05)
    assert np.max(np.abs(np.ravel(rk4["out"]) - theirs.x[:, column])) < 1e-8


def two_rate_diagram(data=None):
    """Fast clock 1 s: an accumulator of u = 1, 2, 3, ... (or of ``data``); slow clock 5 s: a unit delay
    sampling it, and a slow SEQUENCE whose value is held between its ticks; their sum recorded as y."""
    bd = blockdiagram()
    fast, slow = bd.clock(1.0), bd.clock(5.0)
    u = bd.SEQUENCE(np.arange(1.0, 21.0) if data is None else data, fast, name="u")
    acc = bd.SUM("++", name="acc")
    z = bd.UNITDELAY(fast, x0=[0.0], name="z")
    bd.connect(u, acc[0])
    bd.connect(z, acc[1])
    bd.connect(acc, z, name="acc")
    sampler = bd.UNITDELAY(slow, x0=[-1.0], name="slow z")
    bd.connect(acc, sampler, name="sampled")
    offset = bd.SEQUENCE([100.0, 200.0, 300.0, 400.0], slow, name="offset")
    total = bd.SUM("++", name="total")
    bd.connect(sampler, total[0])
    bd.connect(offset, total[1], name="offset")
    bd.connect(total, bd.RECORDER(name="y"), name="y")
    return bd


#: y of two_rate_diagram, by hand: acc(k) = 1 + ... + (k+1); the slow delay holds acc at the previous
#: slow tick (k = 0, 5, 10), the slow SEQUENCE its sample
TWO_RATE_Y = [-1 + 100] * 5 + [1 + 200] * 5 + [21 + 300] * 5 + [66 + 400] * 5


def test_two_rate_diagram_matches_the_hand_computed_sequence():
    res = run(two_rate_diagram())
    assert len(res.t) == 20  # the slow SEQUENCE's 4 samples cover 20 fast steps
    np.testing.assert_array_equal(np.ravel(res["y"]), TWO_RATE_Y)
    np.testing.assert_array_equal(res.t, np.arange(20.0))


def two_clock_diagram(Ta, Tb):
    bd = blockdiagram()
    a, b = bd.clock(Ta), bd.clock(Tb)
    bd.UNITDELAY(a, name="za")
    bd.UNITDELAY(b, name="zb")
    for z, other in ((bd.blocklist[0], bd.blocklist[1]), (bd.blocklist[1], bd.blocklist[0])):
        bd.connect(z, other)
    return bd


def test_rational_clock_periods_run_on_their_greatest_common_divisor():
    """Periods 1 and 2.5 run on the base step 0.5 (Simulink's fixed-step base rate), 0.5 and 1/3 on 1/6."""
    res = run(two_clock_diagram(1.0, 2.5), 10)
    np.testing.assert_allclose(res.t, 0.5 * np.arange(10), rtol=0, atol=1e-15)
    res = run(two_clock_diagram(0.5, 1 / 3), 12)
    np.testing.assert_allclose(res.t, np.arange(12) / 6, rtol=0, atol=1e-15)


def test_clock_periods_must_be_integer_multiples_of_dt_or_of_a_simple_base():
    with pytest.raises(DiagramError, match="not an integer multiple") as err:
        run(two_clock_diagram(1.0, 2.5), 5, dt=0.3)
    assert "\n" not in str(err.value)
    with pytest.raises(DiagramError, match="no common base period") as err:
        run(two_clock_diagram(1.0, np.pi), 5)
    assert "\n" not in str(err.value)


def test_continuous_diagram_without_a_time_step_is_refused():
    with pytest.raises(ValueError, match=r"dt=") as err:
        run(oscillator(), 10)
    assert "'integ'" in str(err.value) and "\n" not in str(err.value)


def test_algebraic_loop_names_its_blocks():
    bd = blockdiagram()
    c = bd.CONSTANT(1.0, name="c")
    s = bd.SUM("+-", name="loop sum")
    g = bd.GAIN(0.5, name="loop gain")
    bd.connect(c, s[0])
    bd.connect(g, s[1])
    bd.connect(s, g)
    with pytest.raises(DiagramError, match="algebraic loop") as err:
        run(bd, 3)
    assert "'loop sum'" in str(err.value) and "'loop gain'" in str(err.value)
    assert "\n" not in str(err.value)


def test_state_turning_non_finite_names_block_and_time_and_suggests_a_fix():
    bd = blockdiagram()
    integ = bd.INTEGRATOR(x0=1.0, name="blow up")
    square = bd.FUNCTION(lambda x: 1e3 * np.asarray(x) ** 2, name="square")
    bd.connect(integ, square)
    bd.connect(square, integ)
    with pytest.raises(NonFiniteError, match="'blow up'") as err, np.errstate(over="ignore", invalid="ignore"):
        run(bd, 50, dt=0.1, substeps=1)
    assert "substeps" in str(err.value) and "solve_ivp" in str(err.value)
