"""The numpy matrix implementation against a scalar, loop-by-loop reference written from the equations."""

import math

import numpy as np
import pytest

import lstmds_sim as L
from lstmds_sim import LSTMParams


def scalar_reference(p: LSTMParams, u, h0, c0):
    """Textbook LSTM, one number at a time with math.exp (no numpy broadcasting, no shared code)."""
    nn, ni = p.n_units, p.n_inputs
    sig = lambda x: 1.0 / (1.0 + math.exp(-x))
    h, c = list(h0), list(c0)
    ys = []
    for uk in u:
        z = [sum(p.W[r, j] * uk[j] for j in range(ni)) + sum(p.R[r, j] * h[j] for j in range(nn)) + p.b[r] for r in range(4 * nn)]
        c = [sig(z[nn + q]) * c[q] + sig(z[q]) * math.tanh(z[2 * nn + q]) for q in range(nn)]
        h = [sig(z[3 * nn + q]) * math.tanh(c[q]) for q in range(nn)]
        ys.append([sum(p.F[o, q] * h[q] for q in range(nn)) + p.bF[o] for o in range(p.n_outputs)])
    return np.array(ys)


def test_direct_form_matches_scalar_reference(rng):
    p = LSTMParams.random(3, 4, 2, rng=rng, low=-1.0, high=1.0, output_bias=True)
    u = rng.standard_normal((30, 3))
    h0, c0 = rng.uniform(size=4), rng.uniform(size=4)
    np.testing.assert_allclose(L.simulate(p, u, h0, c0).y, scalar_reference(p, u, h0, c0), rtol=0, atol=1e-13)


def test_state_space_form_is_the_direct_output_one_step_earlier(rng):
    p = LSTMParams.random(2, 3, 2, rng=rng, output_bias=True)
    u = rng.standard_normal((20, 2))
    h0, c0 = rng.uniform(size=3), rng.uniform(size=3)
    direct = L.simulate(p, u, h0, c0).y
    ss = L.simulate(p, u, h0, c0, form="statespace").y
    np.testing.assert_allclose(ss[0], p.F @ h0 + p.bF, atol=1e-15)  # strictly proper: y(0) from the state
    np.testing.assert_array_equal(ss[1:], direct[:-1])


def test_batch_equals_one_sequence_at_a_time(rng):
    p = LSTMParams.random(2, 5, 1, rng=rng)
    u = rng.standard_normal((6, 15, 2))
    h0 = rng.uniform(size=(6, 5))
    batched = L.simulate(p, u, h0)
    for k in range(6):
        single = L.simulate(p, u[k], h0[k])
        np.testing.assert_allclose(batched.y[k], single.y, rtol=0, atol=1e-15)
        np.testing.assert_allclose(batched.h[0][k], single.h[0], rtol=0, atol=1e-15)


def test_two_layers_equal_feeding_one_into_the_other(rng):
    first, second = LSTMParams.random(3, 4, rng=rng), LSTMParams.random(4, 2, 1, rng=rng)
    u = rng.standard_normal((12, 3))
    h1 = L.simulate(first, u, trace=True).trace[0]["h"]
    np.testing.assert_allclose(L.simulate([first, second], u).y, L.simulate(second, h1).y, rtol=0, atol=1e-15)


def test_lstm_step_matches_simulate(rng):
    p = LSTMParams.random(2, 3, 1, rng=rng)
    u = rng.standard_normal((1, 2))
    h0, c0 = rng.uniform(size=3), rng.uniform(size=3)
    h, c, z, (i, f, g, o) = L.lstm_step(p, u[0], h0, c0)
    ref = L.simulate(p, u, h0, c0, trace=True)
    np.testing.assert_array_equal(h, ref.h[0])
    np.testing.assert_array_equal(c, ref.c[0])
    np.testing.assert_allclose(z, p.W @ u[0] + p.R @ h0 + p.b, atol=1e-15)
    expit = lambda x: 1 / (1 + np.exp(-x))  # the textbook step from z, by hand
    c_hand = expit(z[3:6]) * c0 + expit(z[0:3]) * np.tanh(z[6:9])
    np.testing.assert_allclose(c, c_hand, rtol=0, atol=1e-15)
    np.testing.assert_allclose(h, expit(z[9:12]) * np.tanh(c_hand), rtol=0, atol=1e-15)
    np.testing.assert_allclose((i, f, g, o), (expit(z[0:3]), expit(z[3:6]), np.tanh(z[6:9]), expit(z[9:12])), atol=1e-15)


def test_lstm_step_shares_unbatched_states_and_checks_its_arguments(rng):
    p = LSTMParams.random(2, 3, 1, rng=rng)
    u = rng.standard_normal((4, 1, 2))
    h0, c0 = rng.uniform(size=3), rng.uniform(size=3)
    h, c, _, _ = L.lstm_step(p, u[:, 0], h0, c0)
    ref = L.simulate(p, u, h0, c0)
    np.testing.assert_allclose(h, ref.h[0], rtol=0, atol=1e-15)
    np.testing.assert_allclose(c, ref.c[0], rtol=0, atol=1e-15)
    with pytest.raises(L.ShapeError, match=r"lstm_step: h \(Nn = 3\) has shape \(4,\), expected \(3,\) or \(B, 3\)"):
        L.lstm_step(p, u[0, 0], np.zeros(4), c0)
    with pytest.raises(L.ShapeError, match="batch sizes differ"):
        L.lstm_step(p, u[:, 0], np.zeros((3, 3)), c0)
    with pytest.raises(L.NonFiniteError, match="lstm_step: u"):
        L.lstm_step(p, [np.nan, 0.0], h0, c0)


@pytest.mark.parametrize("u, message", [
    (np.ones((10, 3)), r"u \(input sequence\) has shape \(10, 3\), expected \(T, 2\) or \(B, T, 2\)"),
    (np.ones((2, 3, 4, 2)), r"expected \(T, 2\)"),
])
def test_bad_input_shapes(rng, u, message):
    with pytest.raises(L.ShapeError, match=message):
        L.simulate(LSTMParams.random(2, 3, 1, rng=rng), u)


def test_non_finite_input_and_bad_initial_state(rng):
    p = LSTMParams.random(2, 3, 1, rng=rng)
    u = np.ones((5, 2))
    u[3, 1] = np.inf
    with pytest.raises(L.NonFiniteError, match=r"index \(3, 1\)"):
        L.simulate(p, u)
    with pytest.raises(L.ShapeError, match=r"h0 \(layer 0, Nn=3\) has shape \(4,\)"):
        L.simulate(p, np.ones((5, 2)), h0=np.zeros(4))
    with pytest.raises(ValueError, match="form must be one of"):
        L.simulate(p, np.ones((5, 2)), form="simulink")
