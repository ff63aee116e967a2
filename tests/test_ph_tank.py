"""The pH tank drawn from primitive blocks (systems/ph_tank.py) against the plant's own maths (ph_plant.py).

The essential check is at the level of the derivative: at a given state the
three integrators' inputs must equal ``ph_plant.derivatives`` and the pH output
``ph_from_invariants``, for one tank and for a batch. The diagram is evaluated
once with bdsim's public ``BlockDiagram.evaluate`` (every block's output, in the
compiled schedule's order); no time integration is needed for that.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from lstmds_sim.core import engine
from lstmds_sim.core.validation import ShapeError
from lstmds_sim.drawing.graph import find_feedback_loops, graph_from_blockdiagram
from lstmds_sim.systems.ph_plant import DEFAULT_PARAMS, PHParams, derivatives, ph_from_invariants, steady_state
from lstmds_sim.systems.ph_tank import TANK_SIGNALS, add_ph_tank, ph_tank_subsystem

STATES = ("h", "Wa4", "Wb4")


def tank_diagram(q3, *, inline: bool = False, level: bool = False, **kwargs):
    """CONSTANT q3 -> the tank (a SUBSYSTEM, or drawn inline with the prefix "tank/") -> NULL sink(s)."""
    bd = engine.blockdiagram()
    src = bd.CONSTANT(q3, name="q3 source")
    if inline:
        tank = add_ph_tank(bd, src, prefix="tank/", **kwargs)
        bd.connect(tank.pH, bd.NULL(name="sink"), name="pH")
    else:
        sub = bd.SUBSYSTEM(ph_tank_subsystem(level=level, **kwargs), name="ph_tank")
        bd.connect(src, sub, name="q3")
        bd.connect(sub[0], bd.NULL(name="sink"), name="pH")
        if level:
            bd.connect(sub[1], bd.NULL(name="level sink"), name="h")
    engine.compile_diagram(bd)
    return bd


def integrators(bd) -> dict:
    found = {b.name.rsplit("/", 1)[-1]: b for b in bd.blocklist if b.type == "integrator"}
    assert sorted(found) == sorted(STATES)
    return found


def evaluate(bd, x, q3, monkeypatch=None):
    """Evaluate every block at state ``x`` (3,) or (B, 3) and base flow ``q3``.

    Returns the three integrator inputs stacked like ``x`` and the pH the sink
    receives. With ``monkeypatch`` each INTEGRATOR outputs its state as given
    ((1,) or (B, 1), as the engine's batched kernel will); without it bdsim's
    own INTEGRATOR runs (a one-element state comes out as a float).
    """
    src = next(b for b in bd.blocklist if b.name == "q3 source")
    src.value = q3
    ints = integrators(bd)
    x = np.asarray(x, dtype=float)
    if monkeypatch is not None:
        for block in ints.values():
            monkeypatch.setattr(block, "output", lambda t, u, state: [state])
    state = {ints[k]: x[..., i:i + 1] for i, k in enumerate(STATES)}
    bd.evaluate(state, 0.0)
    dx = np.concatenate([np.reshape(ints[k].inport_values[0], x[..., :1].shape) for k in STATES], axis=-1)
    sink = next(b for b in bd.blocklist if b.name == "sink")
    return dx, sink.inport_values[0]


def assert_derivative(dx, x, q3, params=DEFAULT_PARAMS):
    """``dx`` equals ``ph_plant.derivatives`` to 1e-12 relative.

    Near a balance (a level or invariant at rest) the terms cancel and the
    result is small: there it is compared to 1e-14 of the size of the terms
    (the two sides evaluate the valve's power on different array shapes,
    whose last bits may differ).
    """
    x = np.asarray(x, dtype=float)
    q3 = np.asarray(q3, dtype=float)
    p = params
    h, wa, wb = x[..., 0], x[..., 1], x[..., 2]
    q_in = p.q1 + p.q2 + q3
    terms = np.stack([
        (q_in + p.Cv4 * (h + p.z) ** p.n) / p.A,
        (abs(p.q1 * p.Wa1) + abs(p.q2 * p.Wa2) + abs(q3 * p.Wa3) + q_in * abs(wa)) / (p.A * h),
        (p.q1 * p.Wb1 + p.q2 * p.Wb2 + q3 * p.Wb3 + q_in * wb) / (p.A * h),
    ], axis=-1)
    ref = derivatives(0.0, x, q3, params)
    assert np.all(np.abs(dx - ref) <= 1e-12 * np.abs(ref) + 1e-14 * terms), (dx, ref)


def random_states(rng, n: int) -> np.ndarray:
    """States around the operating range: levels 5..40 cm, invariants between the streams'."""
    return np.column_stack([
        rng.uniform(5.0, 40.0, n),
        rng.uniform(-4.5e-3, -1.0e-3, n),
        rng.uniform(1.0e-4, 1.5e-3, n),
    ])


@pytest.mark.parametrize("inline", [False, True], ids=["subsystem", "inline"])
def test_derivative_and_ph_of_one_tank_equal_the_plant_maths(rng, monkeypatch, inline):
    bd = tank_diagram(np.array([16.0]), inline=inline)
    for x in random_states(rng, 20):
        q3 = rng.uniform(12.5, 17.0)
        dx, ph = evaluate(bd, x, np.array([q3]), monkeypatch)
        assert_derivative(dx, x, q3)
        assert np.shape(ph) == (1,)
        np.testing.assert_allclose(ph, ph_from_invariants(x[1], x[2]), rtol=1e-15, atol=0)


def test_derivative_and_ph_of_a_batch_equal_the_plant_maths(rng, monkeypatch):
    bd = tank_diagram(np.array([16.0]))
    x = random_states(rng, 64)
    q3 = rng.uniform(12.5, 17.0, (64, 1))
    dx, ph = evaluate(bd, x, q3, monkeypatch)
    assert dx.shape == (64, 3) and np.shape(ph) == (64, 1)
    assert_derivative(dx, x, q3[:, 0])
    np.testing.assert_allclose(ph[:, 0], ph_from_invariants(x[:, 1], x[:, 2]), rtol=1e-15, atol=0)
    # one flow (1,) for a batch of tanks, and a batch of flows for one tank's state broadcast to (B, 1)
    dx, ph = evaluate(bd, x, np.array([15.0]), monkeypatch)
    assert_derivative(dx, x, 15.0)
    same = np.broadcast_to(x[0], (64, 3))
    dx, ph = evaluate(bd, same, q3, monkeypatch)
    assert_derivative(dx, same, q3[:, 0])


def test_bdsims_own_integrators_with_float_signals(rng):
    """bdsim's stock INTEGRATOR outputs a one-element state as a float: with a float q3 the whole tank runs on
    floats, and its pH comes out as (1,), the sealed PHPLANT block's shape."""
    bd = tank_diagram(16.0)
    for x in random_states(rng, 5):
        dx, ph = evaluate(bd, x, 16.0)
        assert_derivative(dx, x, 16.0)
        assert np.shape(ph) == (1,) and ph[0] == ph_from_invariants(x[1], x[2])


def test_parameters_reach_every_block(rng, monkeypatch):
    params = PHParams(A=150.0, z=9.0, Cv4=5.1, n=0.55, pK1=6.1, pK2=10.4, Wa1=2.5e-3, Wa2=-2.5e-2,
                      Wa3=-3.5e-3, Wb1=1e-5, Wb2=2.5e-2, Wb3=8e-5, q1=14.0, q2=0.8)
    bd = tank_diagram(np.array([16.0]), params=params)
    x = random_states(rng, 8)
    dx, ph = evaluate(bd, x, np.full((8, 1), 13.0), monkeypatch)
    assert_derivative(dx, x, 13.0, params)
    np.testing.assert_allclose(ph[:, 0], ph_from_invariants(x[:, 1], x[:, 2], params), rtol=1e-15, atol=0)


def test_initial_state_defaults_to_the_steady_state_of_q3_0(monkeypatch):
    bd = tank_diagram(np.array([16.0]), q3_0=16.0)
    ints = integrators(bd)
    x0 = np.concatenate([ints[k].getstate0() for k in STATES])
    assert all(ints[k].getstate0().shape == (1,) for k in STATES)
    np.testing.assert_array_equal(x0, steady_state(16.0).x)
    dx, _ = evaluate(bd, x0, np.array([16.0]), monkeypatch)  # at rest
    assert np.all(np.abs(dx) <= 1e-15 * np.array([1.0, 1e-3, 1e-3]) + 1e-18)
    x0 = np.array([20.0, -2e-3, 5e-4])
    bd = tank_diagram(np.array([16.0]), x0=x0)
    ints = integrators(bd)
    np.testing.assert_array_equal(np.concatenate([ints[k].getstate0() for k in STATES]), x0)


def test_bad_arguments_are_refused_with_their_name():
    with pytest.raises(ShapeError, match=r"x0 has shape \(2, 3\), expected \(3,\)"):
        ph_tank_subsystem(x0=np.ones((2, 3)))
    with pytest.raises(ValueError, match="level h must be positive"):
        ph_tank_subsystem(x0=[0.0, -1e-3, 1e-4])
    with pytest.raises(ValueError, match="Wb4 must be >= 0"):
        ph_tank_subsystem(x0=[10.0, -1e-3, -1e-4])
    with pytest.raises(TypeError, match="params must be a PHParams"):
        ph_tank_subsystem(params={"A": 207.0})
    with pytest.raises(ValueError, match="q3"):
        ph_tank_subsystem(q3_0=-1.0)


def test_the_blocks_are_the_primitive_ones_the_issue_asks_for():
    bd = tank_diagram(np.array([16.0]))
    kinds = {}
    for b in bd.blocklist:
        if b.name.startswith("ph_tank/"):
            kinds.setdefault(b.type, []).append(b.name.removeprefix("ph_tank/"))
    assert sorted(kinds["integrator"]) == ["Wa4", "Wb4", "h"]
    assert sorted(kinds["function"]) == ["pH", "valve q4"]
    assert sorted(kinds["constant"]) == ["q1", "q2"]
    assert len(kinds["gain"]) == 8 and len(kinds["sum"]) == 6 and len(kinds["hadamard"]) == 4
    assert kinds["pow"] == ["reciprocal"]
    assert sorted(kinds["inport"]) == ["q3"] and sorted(kinds["outport"]) == ["out"]


def test_every_wire_is_named_and_probe_able():
    names = engine.signal_names(tank_diagram(np.array([16.0])))
    for name in TANK_SIGNALS:
        assert f"ph_tank/{name}" in names, name
    assert names["ph_tank/q4"][0].name == "ph_tank/valve q4"
    assert names["ph_tank/pH"][0].name == "ph_tank/pH"
    assert names["ph_tank/h"][0].name == "ph_tank/h"
    inline = engine.signal_names(tank_diagram(np.array([16.0]), inline=True))
    for name in TANK_SIGNALS:
        assert f"tank/{name}" in inline or name in ("q3", "pH"), name


def test_level_output(rng, monkeypatch):
    bd = tank_diagram(np.array([16.0]), level=True)
    x = random_states(rng, 3)
    evaluate(bd, x, np.full((3, 1), 16.0), monkeypatch)
    level = next(b for b in bd.blocklist if b.name == "level sink").inport_values[0]
    np.testing.assert_array_equal(level, x[:, :1])


def test_the_loops_run_through_the_valve_and_the_dilution_terms():
    graph = graph_from_blockdiagram(tank_diagram(np.array([16.0])))  # integrators break loops like delays
    loops = {loop.delay: loop.nodes for loop in find_feedback_loops(graph)}
    assert sorted(loops) == ["ph_tank/Wa4", "ph_tank/Wb4", "ph_tank/h"]
    assert loops["ph_tank/h"] == {"ph_tank/h", "ph_tank/valve q4", "ph_tank/sum dh", "ph_tank/divide by A"}
    for w in ("Wa", "Wb"):
        assert loops[f"ph_tank/{w}4"] == {
            f"ph_tank/{w}4", f"ph_tank/q_in*{w}4", f"ph_tank/sum d{w}4", f"ph_tank/{w}4 rate"
        }
    assert not any("ph_tank/pH" in loop for loop in loops.values())


def test_bdsims_runner_integrates_the_tank_like_solve_ivp():
    """The continuous-only case with bdsim's own runner (float signals), against solve_ivp on ph_plant.derivatives."""
    bd = tank_diagram(16.0)
    with contextlib.redirect_stdout(io.StringIO()):
        out = engine.simulator().run(bd, 100.0, dt=10.0, solver="RK45", solver_args={"rtol": 1e-10, "atol": 1e-13})
    columns = [[n.split("/")[-1].split(":")[0] for n in out.xnames].index(k) for k in STATES]
    x = out.x[:, columns]
    ref = solve_ivp(derivatives, (0.0, 100.0), steady_state(15.55).x, args=(16.0,), method="Radau",
                    rtol=1e-11, atol=1e-13, t_eval=out.t)
    np.testing.assert_allclose(x, ref.y.T, rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(ph_from_invariants(x[:, 1], x[:, 2]), ph_from_invariants(ref.y[1], ref.y[2]),
                               rtol=0, atol=1e-9)


# --------------------------------------------------------------------------- runs in the hybrid engine
def sampled_tank(q3, *, sealed: bool = False, x0=None):
    """SEQUENCE q3 (Ts = 10 s) -> ph_tank subsystem (or the sealed PHPLANT) -> RECORDER pH."""
    bd = engine.blockdiagram()
    clock = bd.clock(10.0)
    x0 = steady_state(15.55).x if x0 is None else x0
    source = bd.SEQUENCE(q3, clock, name="q3")
    plant = bd.PHPLANT(clock, x0=x0, name="plant") if sealed else bd.SUBSYSTEM(ph_tank_subsystem(x0=x0), name="tank")
    bd.connect(source, plant, name="q3")
    bd.connect(plant, bd.RECORDER(name="pH"), name="pH")
    return bd


@pytest.fixture(scope="module")
def flows():
    from lstmds_sim.systems.signals import mprs

    return mprs(60, low=12.5, high=17.0, hold_min=3, hold_max=8, rng=np.random.default_rng(4))


def test_subsystem_runs_like_the_sealed_block_and_the_simulator(flows):
    from lstmds_sim.systems.ph_plant import simulate_plant

    drawn = engine.run(sampled_tank(flows), substeps=4)["pH"][:, 0]
    sealed = engine.run(sampled_tank(flows, sealed=True))["pH"][:, 0]
    assert np.max(np.abs(drawn - sealed)) <= 1e-12  # the same RK4 steps on the same equations
    np.testing.assert_allclose(drawn, simulate_plant(flows, x0=steady_state(15.55).x).y, rtol=0, atol=1e-12)
    assert np.ptp(drawn) > 0.5  # the MPRS really moves the pH


def test_subsystem_with_solve_ivp_is_within_1e_6_of_the_block(flows):
    accurate = engine.run(sampled_tank(flows[:30]), solver="solve_ivp")["pH"][:, 0]
    sealed = engine.run(sampled_tank(flows[:30], sealed=True))["pH"][:, 0]
    assert np.max(np.abs(accurate - sealed)) <= 1e-6


def test_batched_subsystem_runs_each_tank_like_the_block(flows):
    batch = np.stack([flows, flows[::-1], np.full_like(flows, 15.55)])[..., None]
    drawn = engine.run(sampled_tank(batch), substeps=4)["pH"]
    sealed = engine.run(sampled_tank(batch, sealed=True))["pH"]
    assert drawn.shape == sealed.shape == (3, 60, 1)
    assert np.max(np.abs(drawn - sealed)) <= 1e-12
    np.testing.assert_allclose(drawn[2], 7.00017, atol=1e-4)  # held at the steady state


def test_tank_and_lstm_in_one_hybrid_diagram(flows):
    """The paper's Figure 2: one input into the continuous tank and the discrete LSTM block."""
    from lstmds_sim.core.params import LSTMParams
    from lstmds_sim.learning.model import IdentifiedModel

    model = IdentifiedModel(LSTMParams.random(1, 3, 1, rng=1, low=-0.3, high=0.3), 15.0, 2.0, 7.0, 2.0, 10.0)
    bd = sampled_tank(flows)
    clock = next(b for b in bd.blocklist if b.name == "q3").clock
    source = next(b for b in bd.blocklist if b.name == "q3")
    centre, lstm = bd.GAIN(1.0 / model.u_scale, name="1/u_scale"), bd.LSTM(model.params, clock, form="statespace",
                                                                           name="lstm")
    offset = bd.SUM("+-", name="u - mean")
    bd.connect(source, offset[0])
    bd.connect(bd.CONSTANT(np.array([model.u_mean])), offset[1])
    bd.connect(offset, centre)
    bd.connect(centre, lstm)
    bd.connect(lstm, bd.RECORDER(name="lstm y"))
    res = engine.run(bd, substeps=4)
    sealed = engine.run(sampled_tank(flows, sealed=True))["pH"][:, 0]
    np.testing.assert_allclose(res["pH"][:, 0], sealed, rtol=0, atol=1e-12)
    y_norm = (model.predict(flows) - model.y_mean) / model.y_scale
    np.testing.assert_allclose(res["lstm y"][:, 0], y_norm, rtol=0, atol=1e-12)
