"""The block diagram equals the matrix implementation, signal by signal and step by step (<= 1e-12)."""

import numpy as np
import pytest

from lstmds_sim import LSTMParams
from lstmds_sim.core.crosscheck import COMPARED, crosscheck

TOL = 1e-12


def random_stack(rng, n_layers):
    ni = int(rng.integers(1, 9))
    layers = []
    for j in range(n_layers):
        nn = int(rng.integers(1, 9))
        last = j == n_layers - 1
        layers.append(LSTMParams.random(ni, nn, int(rng.integers(1, 9)) if last else None, rng=rng,
                                        low=-1.5, high=1.5, output_bias=last and bool(rng.integers(2))))
        ni = nn
    return layers


def random_states(rng, layers, batch):
    shape = lambda n: (batch, n) if batch and rng.integers(2) else (n,)
    return ([rng.uniform(-1, 1, shape(L.n_units)) for L in layers], [rng.uniform(-1, 1, shape(L.n_units)) for L in layers])


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("form", ["direct", "statespace"])
def test_random_sizes_layers_forms_and_initial_states(seed, form):
    rng = np.random.default_rng(seed)
    n_layers = 1 + seed % 3
    layers = random_stack(rng, n_layers)
    batch = [None, 1, 5][seed % 3]
    steps = 12
    u = rng.standard_normal((batch, steps, layers[0].n_inputs) if batch else (steps, layers[0].n_inputs))
    h0, c0 = random_states(rng, layers, batch)
    check = crosscheck(layers, u, h0=h0, c0=c0, form=form, subsystems=bool(seed % 2) if n_layers > 1 else None)
    assert len(check.errors) == n_layers * len(COMPARED) + 1
    assert check.passed(TOL), check.table()


@pytest.mark.parametrize("subsystems", [False, True])
def test_scenario_sized_batch(subsystems):
    rng = np.random.default_rng(7)
    layers = [LSTMParams.random(1, 5, rng=rng, low=-1, high=1), LSTMParams.random(5, 5, 1, rng=rng, low=-1, high=1)]
    u = rng.uniform(-1, 1, (2964, 6, 1))
    h0 = [rng.uniform(-0.1, 0.1, (2964, 5)), rng.uniform(-0.1, 0.1, (2964, 5))]
    c0 = [rng.uniform(-0.1, 0.1, (2964, 5)), rng.uniform(-0.1, 0.1, (2964, 5))]
    check = crosscheck(layers, u, h0=h0, c0=c0, form="statespace", subsystems=subsystems)
    assert check.batch == 2964
    assert check.passed(TOL), check.table()


def test_a_diagram_that_swaps_its_initial_states_fails_the_crosscheck(rng, monkeypatch):
    """The check is not vacuous: a diagram that swaps h0 and c0 is caught on the states and the output."""
    import lstmds_sim.core.crosscheck as cc

    drawn = cc.lstm_diagram
    monkeypatch.setattr(cc, "lstm_diagram", lambda *a, h0=None, c0=None, **k: drawn(*a, h0=c0, c0=h0, **k))
    p = LSTMParams.random(2, 3, 1, rng=rng)
    u = rng.standard_normal((8, 2))
    check = crosscheck(p, u, h0=rng.uniform(-1, 1, 3), c0=rng.uniform(-1, 1, 3))
    assert not check.passed(TOL)
    assert check.errors["h_prev"] > 1e-3 and check.errors["c_prev"] > 1e-3 and check.errors["y"] > 1e-6


def test_a_wrong_weight_fails_the_crosscheck(rng, monkeypatch):
    """Perturbing one recurrent weight by 1e-9 in the diagram shows up in the forget gate and the output."""
    import lstmds_sim.core.crosscheck as cc

    drawn = cc.lstm_diagram
    p = LSTMParams.random(2, 3, 1, rng=rng)
    R = p.R.copy()
    R[4, 0] += 1e-9  # forget gate of unit 2
    monkeypatch.setattr(cc, "lstm_diagram", lambda params, *a, **k: drawn(p.replace(R=R), *a, **k))
    check = crosscheck(p, rng.standard_normal((8, 2)))
    assert not check.passed(TOL)
    assert check.errors["z_f"] > 1e-11 and check.errors["y"] > 1e-12


def test_nan_error_never_passes():
    from lstmds_sim.core.crosscheck import CrossCheck

    check = CrossCheck(errors={"h": 1e-16, "c": float("nan"), "y": 2e-16}, steps=1, batch=None)
    assert not check.passed()
    assert check.worst[0] == "c"


def test_one_channel_input_may_be_one_dimensional(rng):
    p = LSTMParams.random(1, 4, 2, rng=rng)
    check = crosscheck(p, rng.standard_normal(10))
    assert check.steps == 10 and check.passed(TOL), check.table()


@pytest.mark.parametrize("subsystems", [False, True])
def test_wire_names_in_a_stack_say_which_layer_sees_them(rng, subsystems):
    """'lstm2/u' is the second layer's input (the first layer's h), inline or as subsystems."""
    from lstmds_sim import run, simulate
    from lstmds_sim.core.diagram import lstm_diagram

    layers = [LSTMParams.random(2, 3, rng=rng), LSTMParams.random(3, 4, 2, rng=rng)]
    u = rng.standard_normal((6, 2))
    bd, _ = lstm_diagram(layers, u, subsystems=subsystems)
    result = run(bd, probes=["u", "lstm1/u", "lstm2/u", "y"])
    ref = simulate(layers, u, trace=True)
    np.testing.assert_array_equal(result["u"], u)
    np.testing.assert_array_equal(result["lstm1/u"], u)
    np.testing.assert_allclose(result["lstm2/u"], ref.trace[0]["h"], rtol=0, atol=TOL)
    np.testing.assert_allclose(result["y"], ref.y, rtol=0, atol=TOL)
