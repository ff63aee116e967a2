"""The pH plant as a sampled block inside a discrete diagram, against the plant simulator and solve_ivp."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import lstmds_sim as L
from lstmds_sim.systems.ph_plant import (
    derivatives,
    ph_from_invariants,
    simulate_plant,
    steady_state,
)


def plant_diagram(q3, x0=None):
    bd = L.blockdiagram()
    clock = bd.clock(10.0, "s")
    src = bd.SEQUENCE(q3, clock, name="q3")
    plant = bd.PHPLANT(clock, x0=x0, name="tank")
    bd.connect(src, plant, name="q3")
    bd.connect(plant, bd.RECORDER(name="pH"), name="pH")
    return bd


def test_block_equals_the_plant_simulator_and_is_strictly_proper(rng):
    q3 = rng.uniform(12.5, 17, 40)
    x0 = steady_state(15.55).x
    y = L.run(plant_diagram(q3, x0)).recorders["pH"][:, 0]
    np.testing.assert_allclose(y, simulate_plant(q3, x0).y, rtol=0, atol=1e-12)
    assert abs(y[0] - 7.0002) < 5e-5  # y(0) = pH(x0): the input at step 0 has not acted yet


def test_block_against_solve_ivp_on_a_step():
    x0 = steady_state(15.55).x
    q3 = np.full(30, 16.0)
    y = L.run(plant_diagram(q3, x0)).recorders["pH"][:, 0]
    sol = solve_ivp(derivatives, (0, 290), x0, args=(16.0,), method="Radau", rtol=1e-11, atol=1e-13,
                    t_eval=np.arange(30) * 10.0)
    np.testing.assert_allclose(y, ph_from_invariants(sol.y[1], sol.y[2]), rtol=0, atol=1e-7)


def test_batched_plant_block(rng):
    q3 = rng.uniform(12.5, 17, (6, 20))
    y = L.run(plant_diagram(q3[..., None], np.broadcast_to(steady_state(15.55).x, (6, 3)))).recorders["pH"]
    assert y.shape == (6, 20, 1)
    np.testing.assert_allclose(y[..., 0], simulate_plant(q3, steady_state(15.55).x).y, rtol=0, atol=1e-12)


def test_batched_flows_from_one_unbatched_initial_state(rng):
    """x0 (3,) is every scenario's start; the pH at step 0 is recorded for every row too."""
    q3 = rng.uniform(12.5, 17, (5, 15))
    x0 = steady_state(14.0).x
    y = L.run(plant_diagram(q3[..., None], x0)).recorders["pH"]
    assert y.shape == (5, 15, 1)
    np.testing.assert_allclose(y[..., 0], simulate_plant(q3, x0).y, rtol=0, atol=1e-12)


def test_negative_flow_is_refused_with_the_block_name():
    with pytest.raises(ValueError, match=r"PHPLANT block 'tank': .*q3.*negative"):
        L.run(plant_diagram(np.array([15.0, -1.0, 15.0])))
