"""ISS-constrained training: constraints agree with the independent check, a short run is certified."""

import numpy as np
import pytest

from lstmds_sim import LSTMParams
from lstmds_sim.learning.dataset import generate_identification_data
from lstmds_sim.learning.iss_training import (
    ISSTrainOptions,
    iss_constraints_jax,
    train_iss,
)
from lstmds_sim.learning.model import IdentifiedModel
from lstmds_sim.safety.iss import iss_check


@pytest.mark.parametrize("seed", range(5))
def test_jax_constraints_equal_one_minus_the_independent_left_hand_sides(seed):
    p = LSTMParams.random(2, 4, 1, rng=seed, low=-1.5, high=1.5)
    report = iss_check(p)
    values = np.asarray(iss_constraints_jax(p.arrays(), margin=0.0))
    np.testing.assert_allclose(values, report.margins, rtol=0, atol=1e-14)


@pytest.fixture(scope="module")
def short_data():
    data = generate_identification_data(n_train=600, n_val=300, seed=3)
    return data, data.normalise_u(data.u_train), data.normalise_y(data.y_train)


@pytest.mark.slow  # end to end, several seconds
def test_short_constrained_run_is_certified_and_learns(short_data):
    data, u, y = short_data
    result = train_iss(u, y, ISSTrainOptions(max_iter=40, washout=20))
    assert iss_check(result.params).satisfied  # independent numpy check, not the optimiser's word
    assert min(iss_check(result.params).margins) > 0
    # the constraints did the work, not the repair step: SLSQP itself ended feasible
    # (without the constraints the same run ends at margins of about -0.48 and -0.06)
    assert not result.repaired and min(result.optimizer_constraints) >= -1e-8
    assert result.final_loss == pytest.approx(result.loss_history[-1], rel=1e-12)
    assert result.loss_history[-1] < 0.2 * result.loss_history[0]
    assert result.iss["satisfied"] and result.constrained


def test_repair_shrinks_an_infeasible_network_until_the_check_passes():
    from lstmds_sim.learning.iss_training import _repair

    p = LSTMParams.random(1, 5, 1, rng=0, low=-0.3, high=0.3)
    assert iss_check(p).lhs[0] > 1.4
    repaired, changed = _repair(p)
    assert changed and iss_check(repaired).satisfied
    np.testing.assert_array_equal(repaired.F, p.F)  # only the gate rows and U_c shrink
    np.testing.assert_array_equal(repaired.W[10:15], p.W[10:15])  # W_c untouched


@pytest.mark.slow  # compiling a second fit is most of its seconds; CI runs it
def test_unconstrained_run_is_really_unconstrained(short_data):
    """The same 40 iterations as the constrained run, without the conditions, end outside Theorem 4."""
    data, u, y = short_data
    result = train_iss(u, y, ISSTrainOptions(max_iter=40, washout=20, constrained=False))
    assert not result.constrained and not result.repaired
    assert not iss_check(result.params).satisfied and min(result.optimizer_constraints) < -0.02
    assert result.loss_history[-1] < result.loss_history[0]


def test_unnormalised_inputs_are_refused(short_data):
    data, u, y = short_data
    with pytest.raises(ValueError, match="normalise the inputs"):
        train_iss(data.u_train, y, ISSTrainOptions(max_iter=2))


def test_identified_model_round_trip_and_physical_units(tmp_path, short_data):
    data, u, y = short_data
    p = LSTMParams.random(1, 5, 1, rng=0, low=-0.1, high=0.1, output_bias=True)
    model = IdentifiedModel(p, data.u_mean, data.u_scale, data.y_mean, data.y_scale, Ts=10.0)
    path = model.save(tmp_path / "model.npz")
    back = IdentifiedModel.load(path)
    np.testing.assert_array_equal(back.params.R, p.R)
    assert back.y_scale == data.y_scale
    from lstmds_sim.core.matrix import simulate

    expected = simulate(p, u[:, None], form="statespace").y[:, 0] * data.y_scale + data.y_mean
    np.testing.assert_allclose(back.predict(data.u_train), expected, rtol=0, atol=1e-12)
    with pytest.raises(FileExistsError):
        model.save(path)
    with pytest.raises(FileExistsError):
        model.save(tmp_path / "model")  # the .npz suffix is added before the existence check
    assert IdentifiedModel.load(model.save(tmp_path / "second")).Ts == 10.0
    np.testing.assert_array_equal(LSTMParams.load(path).W, p.W)  # plain parameter loader reads it too
