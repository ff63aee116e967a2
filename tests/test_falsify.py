"""The falsifier (safety/falsify.py): it finds a worst case known by hand, what it returns is admissible
and attained (re-run through the diagram and the matrices), and it beats random sampling.

Every network here has one input, one unit and one output, and the searches share their shape, so the
JAX program is compiled once for the file.
"""

import math

import numpy as np
import pytest

from lstmds_sim import LSTMParams, simulate
from lstmds_sim.safety.bounds import reachable_set_bound
from lstmds_sim.safety.falsify import worst_case_input

HORIZON = 60


def sig(t):
    return 1.0 / (1.0 + math.exp(-t))


def no_recurrence():
    """i, f, o constant, only the candidate sees u: c settles in [i tanh(bg - rho), i tanh(bg + rho)] / (1 - f),
    reached by holding u = -+rho, and y = F o tanh(c) + bF is largest in size at one of the two ends."""
    return LSTMParams(np.array([[0.0], [0.0], [1.0], [0.0]]), np.zeros((4, 1)), np.array([0.5, 1.0, -0.2, 0.3]),
                      F=[[2.0]], bF=[0.5])


def test_finds_the_worst_case_known_by_hand():
    p, rho = no_recurrence(), 0.8
    i, f, o = sig(0.5), sig(1.0), sig(0.3)
    ends = [2.0 * o * math.tanh(i * math.tanh(-0.2 + s * rho) / (1 - f)) + 0.5 for s in (-1, 1)]
    limit = max(abs(e) for e in ends)  # approached as the held input fills the cell (rate f per step)
    w = worst_case_input(p, rho, horizon=HORIZON, Ts=0.5)
    assert limit - 1e-3 < w.value <= limit + 1e-12
    assert w.value == pytest.approx(reachable_set_bound(p, rho, state_box=(0.1, 0.1)), abs=2e-3)


def test_what_it_returns_is_admissible_and_attained():
    rng = np.random.default_rng(0)
    p = LSTMParams.random(1, 1, 1, rng=rng, low=-1.5, high=1.5, output_bias=True)
    rho, box = 0.6, (0.1, 0.05)
    w = worst_case_input(p, rho, state_box=box, horizon=HORIZON)
    assert w.u.shape == (HORIZON, 1) and np.all(np.abs(w.u) <= rho)
    assert np.all(np.abs(w.c0[0]) <= box[0]) and np.all(np.abs(w.h0[0]) <= box[1])
    y = simulate(p, w.u, w.h0[0], w.c0[0], form="statespace").y  # the matrix twin, independently of the search
    assert abs(y[w.step, w.output]) == pytest.approx(w.value, abs=1e-12)
    assert w.value == pytest.approx(w.value_matrix, abs=1e-12) and w.value >= w.value_search - 1e-12
    assert w.value <= reachable_set_bound(p, rho, state_box=box, method="crown")


def test_beats_random_sampling():
    """On a recurrent unit, 2000 random trajectories (held levels, bang-bang, noise, corners of the box)
    never reach what the search finds."""
    rng = np.random.default_rng(1)
    p = LSTMParams(np.array([[0.4], [-0.8], [1.6], [0.5]]), np.array([[0.6], [0.5], [-1.2], [0.7]]),
                   np.array([0.2, 0.3, 0.4, -0.2]), F=[[2.0]], bF=[0.3])
    rho, batch = 1.0, 2000
    u = np.concatenate([rng.uniform(-rho, rho, (batch // 2, HORIZON // 6, 1)).repeat(6, axis=1),
                        rho * rng.choice([-1.0, 1.0], (batch // 4, HORIZON // 2, 1)).repeat(2, axis=1),
                        rng.uniform(-rho, rho, (batch // 4, HORIZON, 1))])
    c0, h0 = 0.1 * rng.choice([-1.0, 0.0, 1.0], (2, batch, 1))
    sampled = np.abs(simulate(p, u, h0, c0, form="statespace").y).max()
    w = worst_case_input(p, rho, horizon=HORIZON)
    assert sampled <= w.value <= reachable_set_bound(p, rho, state_box=(0.1, 0.1), method="crown")


def test_refuses_bad_arguments():
    p = no_recurrence()
    with pytest.raises(ValueError, match="rho_u"):
        worst_case_input(p, -0.5)
    with pytest.raises(ValueError, match="horizon"):
        worst_case_input(p, 0.5, horizon=0)
    with pytest.raises(ValueError, match="state_box"):
        worst_case_input(p, 0.5, state_box=(0.1, 1.5))
