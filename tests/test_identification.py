"""MPRS, the identification data set (sizes, normalisation, files) and the two FIT definitions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lstmds_sim.core.validation import ShapeError
from lstmds_sim.learning.dataset import IdentificationData, generate_identification_data
from lstmds_sim.learning.metrics import fit_mean, fit_paper, fit_percent, fit_report
from lstmds_sim.systems.signals import mprs, mprs_batch
from lstmds_sim.systems.ph_plant import simulate_plant, steady_state, titration_curve


def runs(signal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Levels and lengths of the constant runs of a staircase."""
    change = np.flatnonzero(np.diff(signal) != 0) + 1
    starts = np.r_[0, change]
    lengths = np.diff(np.r_[starts, signal.size])
    return signal[starts], lengths


@pytest.fixture(scope="module")
def data() -> IdentificationData:
    """The spec's default experiment (4400 + 2250 samples, seed 0); about 1 s."""
    return generate_identification_data()


# --------------------------------------------------------------------------- MPRS


def test_mprs_levels_and_holds_are_in_range():
    u = mprs_batch(50, 2000, low=12.5, high=17.0, hold_min=76, hold_max=110, rng=1)
    assert u.shape == (50, 2000)
    assert u.min() >= 12.5 and u.max() <= 17.0
    all_lengths = []
    for row in u:
        _levels, lengths = runs(row)
        assert np.all((lengths[:-1] >= 76) & (lengths[:-1] <= 110))  # every complete hold
        assert 1 <= lengths[-1] <= 110  # the last hold is cut at n_samples
        all_lengths.extend(lengths[:-1])
    all_lengths = np.array(all_lengths)
    assert all_lengths.min() == 76 and all_lengths.max() == 110  # both ends are reachable
    assert np.mean(all_lengths) == pytest.approx(93.0, abs=1.5)  # uniform on 76..110
    assert np.mean(u) == pytest.approx(14.75, abs=0.1)  # uniform levels on [12.5, 17]


def test_mprs_is_seeded_and_batch_rows_are_independent():
    a = mprs_batch(4, 500, rng=7)
    np.testing.assert_array_equal(a, mprs_batch(4, 500, rng=np.random.default_rng(7)))
    assert not np.array_equal(a, mprs_batch(4, 500, rng=8))
    assert not np.array_equal(a[0], a[1])
    np.testing.assert_array_equal(mprs(500, rng=3), mprs_batch(1, 500, rng=3)[0])
    assert mprs(500, rng=3).shape == (500,)


@pytest.mark.parametrize("n_samples, hold_min, hold_max", [(2000, 30, 200), (7, 1, 3), (100, 7, 7), (10, 20, 30)])
def test_mprs_is_the_seeded_holds_and_levels_laid_out_row_by_row(n_samples, hold_min, hold_max):
    """The draws are fixed (the scenario sweep's numbers depend on them): n_seg holds, then n_seg
    levels per row from the generator; each level held for its hold, the last cut at n_samples."""
    n_seg = -(-n_samples // hold_min)
    gen = np.random.default_rng(5)
    holds = gen.integers(hold_min, hold_max, size=(6, n_seg), endpoint=True)
    levels = gen.uniform(-1, 1, size=(6, n_seg))
    expected = np.array([[level for level, hold in zip(lv, hd) for _ in range(hold)][:n_samples]
                         for lv, hd in zip(levels, holds)])
    u = mprs_batch(6, n_samples, low=-1, high=1, hold_min=hold_min, hold_max=hold_max, rng=5)
    np.testing.assert_array_equal(u, expected)


def test_mprs_scenario_class_of_the_spec():
    # section 5: normalised amplitude rho_u, holds of 30-200 samples, 2000 steps
    u = mprs_batch(20, 2000, low=-0.7, high=0.7, hold_min=30, hold_max=200, rng=0)
    assert np.abs(u).max() <= 0.7
    for row in u:
        _, lengths = runs(row)
        assert np.all((lengths[:-1] >= 30) & (lengths[:-1] <= 200))


def test_mprs_shorter_than_one_hold():
    u = mprs(10, hold_min=76, hold_max=110, rng=0)
    assert np.all(u == u[0])


@pytest.mark.parametrize("kwargs, match", [
    ({"hold_min": 10, "hold_max": 5}, "hold_max"),
    ({"hold_min": 0}, "hold_min"),
    ({"low": 17.0, "high": 12.5}, "low <= high"),
    ({"low": float("nan")}, "low <= high"),
])
def test_mprs_refuses_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        mprs(100, rng=0, **kwargs)


def test_mprs_needs_a_random_source():
    with pytest.raises(TypeError, match="rng"):
        mprs(100, rng=None)


# --------------------------------------------------------------------------- the data set


def test_sizes_and_splits(data):
    assert data.u.shape == data.y.shape == (6650,)
    assert (data.n_train, data.n_val) == (4400, 2250)
    np.testing.assert_array_equal(np.r_[data.u_train, data.u_val], data.u)
    np.testing.assert_array_equal(np.r_[data.y_train, data.y_val], data.y)
    assert data.Ts == 10.0 and data.seed == 0
    assert data.u.min() >= 12.5 and data.u.max() <= 17.0
    assert list(data.split[[0, 4399, 4400, 6649]]) == ["train", "train", "val", "val"]


def test_normalisation_over_the_whole_set(data):
    for norm in (data.normalise_u(data.u), data.normalise_y(data.y)):
        assert np.max(np.abs(norm)) == pytest.approx(1.0, abs=1e-15)
        assert np.abs(norm).max() <= 1.0 + 1e-15
        assert np.mean(norm) == pytest.approx(0.0, abs=1e-12)
    assert data.u_mean == pytest.approx(np.mean(data.u)) and data.y_mean == pytest.approx(np.mean(data.y))
    assert data.y_scale == pytest.approx(np.max(np.abs(data.y - np.mean(data.y))))
    np.testing.assert_allclose(data.denormalise_y(data.normalise_y(data.y)), data.y, rtol=1e-15)
    np.testing.assert_allclose(data.denormalise_u(data.normalise_u(data.u)), data.u, rtol=1e-15)


def test_noise_levels(data):
    assert np.std(data.y - data.y_clean) == pytest.approx(0.01, rel=0.05)
    assert np.std(data.u_applied - data.u) == pytest.approx(0.02, rel=0.05)
    # the plant's output covers the steep titration range
    assert data.y_clean.min() < 6.2 and data.y_clean.max() > 8.5


def test_training_and_validation_are_independent_experiments_from_rest(data):
    # each experiment starts at the steady state of its first nominal level, and y_0 is sampled before u_0 acts
    for start in (0, data.n_train):
        assert data.y_clean[start] == pytest.approx(float(titration_curve(data.u[start])), abs=1e-12)
    assert not np.array_equal(data.u_train[: data.n_val], data.u_val)


def test_clean_output_is_the_plant_fed_with_the_jittered_flow(data):
    n = 300
    train = simulate_plant(data.u_applied[:n], steady_state(data.u[0]).x)
    np.testing.assert_allclose(data.y_clean[:n], train.y, atol=1e-12)


def test_same_seed_same_data_and_noise_does_not_change_the_input():
    a = generate_identification_data(n_train=300, n_val=200, seed=5)
    b = generate_identification_data(n_train=300, n_val=200, seed=5)
    np.testing.assert_array_equal(a.u, b.u)
    np.testing.assert_array_equal(a.y, b.y)
    c = generate_identification_data(n_train=300, n_val=200, seed=6)
    assert not np.array_equal(a.u, c.u)
    quiet = generate_identification_data(n_train=300, n_val=200, seed=5, input_jitter=0.0, output_noise=0.0)
    np.testing.assert_array_equal(quiet.u, a.u)
    np.testing.assert_array_equal(quiet.y, quiet.y_clean)


def test_generation_refuses_bad_arguments():
    with pytest.raises(ValueError, match="output_noise"):
        generate_identification_data(n_train=10, n_val=10, output_noise=-0.01)
    with pytest.raises(ValueError, match="q3_range"):
        generate_identification_data(n_train=10, n_val=10, q3_range=(-1.0, 17.0))
    with pytest.raises(TypeError, match="seed"):
        generate_identification_data(n_train=10, n_val=10, seed=None)


def test_data_set_refuses_inconsistent_arrays():
    with pytest.raises(ShapeError, match="must match"):
        IdentificationData(u=np.arange(10.0), y=np.arange(9.0), n_train=5)
    with pytest.raises(ValueError, match="n_train"):
        IdentificationData(u=np.arange(10.0), y=np.arange(10.0), n_train=10)
    with pytest.raises(ValueError, match="constant"):
        IdentificationData(u=np.ones(10), y=np.arange(10.0), n_train=5)


# --------------------------------------------------------------------------- files


def assert_same_data(a: IdentificationData, b: IdentificationData) -> None:
    for name in ("u", "y", "y_clean", "u_applied"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    for name in ("n_train", "Ts", "seed", "input_jitter", "output_noise", "q3_range", "hold", "params",
                 "u_mean", "u_scale", "y_mean", "y_scale"):
        assert getattr(a, name) == getattr(b, name), name


def test_save_and_load_round_trip(tmp_path):
    data = generate_identification_data(n_train=120, n_val=80, seed=3)
    npz_path, csv_path = data.save(tmp_path / "ident")
    assert (npz_path.name, csv_path.name) == ("ident.npz", "ident.csv")
    assert_same_data(IdentificationData.load(npz_path), data)
    assert_same_data(IdentificationData.load(csv_path), data)
    assert_same_data(IdentificationData.load(tmp_path / "ident"), data)
    header = csv_path.read_text().splitlines()[2]
    assert header == "k,t_s,split,u_q3_ml_s,y_pH,y_clean_pH,u_applied_ml_s"


def test_save_never_overwrites_unless_asked(tmp_path):
    data = generate_identification_data(n_train=50, n_val=50, seed=1)
    other = generate_identification_data(n_train=50, n_val=50, seed=2)
    data.save(tmp_path / "ident.npz")
    with pytest.raises(FileExistsError, match=r"already exists; not overwriting.*overwrite=True"):
        other.save(tmp_path / "ident")
    assert_same_data(IdentificationData.load(tmp_path / "ident.csv"), data)  # untouched
    # one of the pair existing is enough to refuse, and nothing is written
    (tmp_path / "ident.npz").unlink()
    with pytest.raises(FileExistsError, match="ident.csv"):
        other.save(tmp_path / "ident")
    assert not (tmp_path / "ident.npz").exists()
    other.save(tmp_path / "ident", overwrite=True)
    assert_same_data(IdentificationData.load(tmp_path / "ident.npz"), other)
    assert_same_data(IdentificationData.load(tmp_path / "ident.csv"), other)


# --------------------------------------------------------------------------- FIT


def test_fit_of_a_perfect_prediction_and_of_the_mean():
    y = np.sin(np.linspace(0, 6, 200)) + 7.0
    assert fit_mean(y, y) == 100.0 and fit_paper(y, y) == 100.0
    assert fit_mean(y, np.full_like(y, y.mean())) == pytest.approx(0.0, abs=1e-12)
    # the printed formula (12) rewards predicting the mean of data far from zero
    assert fit_paper(y, np.full_like(y, y.mean())) > 85.0


def test_fit_by_hand():
    y, yhat = np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 4.0])
    # ||y - yhat|| = 1, ||y - mean|| = sqrt(2), ||y|| = sqrt(14)
    assert fit_mean(y, yhat) == pytest.approx(100 * (1 - 1 / math.sqrt(2)), abs=1e-12)
    assert fit_paper(y, yhat) == pytest.approx(100 * (1 - 1 / math.sqrt(14)), abs=1e-12)
    assert fit_percent(y, yhat, subtract_mean=False) == fit_paper(y, yhat)
    assert fit_report(y, yhat) == {"fit_mean_percent": fit_mean(y, yhat), "fit_paper_percent": fit_paper(y, yhat)}
    # skip leaves out the first samples: [2, 3] vs [2, 4]: 100 (1 - 1 / sqrt(0.5))
    assert fit_mean(y, yhat, skip=1) == pytest.approx(100 * (1 - 1 / math.sqrt(0.5)), abs=1e-12)


def test_fit_with_several_outputs_uses_each_columns_mean():
    y = np.c_[np.arange(5.0), 10 + 2 * np.arange(5.0)]
    yhat = y + np.c_[np.r_[0, 0, 0, 0, 1.0], np.zeros(5)]
    expected = 100 * (1 - 1 / math.sqrt(10 + 40))
    assert fit_mean(y, yhat) == pytest.approx(expected, abs=1e-12)


def test_fit_refuses_bad_input():
    with pytest.raises(ShapeError):
        fit_mean(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="constant"):
        fit_mean(np.ones(5), np.ones(5))
    with pytest.raises(ValueError, match="skip"):
        fit_mean(np.arange(5.0), np.arange(5.0), skip=5)
