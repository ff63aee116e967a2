"""LSTM parameters: validation, counting, storage, import from MATLAB and PyTorch layouts."""

import numpy as np
import pytest
from scipy.io import savemat

import lstmds_sim as L
from lstmds_sim import LSTMParams, count_params


def test_parameter_count_matches_array_sizes(rng):
    for ni, nn, no in [(1, 1, 1), (4, 3, 2), (7, 8, 3)]:
        p = LSTMParams.random(ni, nn, no, rng=rng)
        assert p.n_params == p.W.size + p.R.size + p.b.size + p.F.size + p.bF.size
        assert count_params(ni, nn) == 4 * nn * ni + 4 * nn * nn + 4 * nn


def test_two_layers_of_100_units_hold_120000_weights_in_r_and_second_w():
    first, second = LSTMParams.random(1, 100, rng=0), LSTMParams.random(100, 100, 1, rng=1)
    assert first.R.size + second.R.size + second.W.size == 120_000


def test_gate_blocks_follow_ifgo_order(rng):
    p = LSTMParams.random(2, 3, 1, rng=rng)
    Wf, Rf, bf = p.gate("f")
    np.testing.assert_array_equal(Wf, p.W[3:6])
    np.testing.assert_array_equal(Rf, p.R[3:6])
    np.testing.assert_array_equal(bf, p.b[3:6])


@pytest.mark.parametrize(
    "change, message",
    [
        ({"W": np.ones((11, 2))}, r"W \(input weights, Nn=3\) has shape \(11, 2\), expected \(12, any\)"),
        ({"R": np.ones((12, 4))}, r"R \(recurrent weights\) has shape \(12, 4\), expected \(4\*Nn, Nn\)"),
        ({"b": np.ones(10)}, r"b \(bias, 4\*Nn = 12\) has shape \(10,\), expected \(12,\)"),
        ({"b": np.ones((3, 4))}, r"b \(bias, 4\*Nn = 12\) has shape \(3, 4\), expected \(12,\)"),
        ({"bF": np.ones((2, 2))}, r"bF \(output bias, No=2\) has shape \(2, 2\)"),
        ({"F": np.ones((2, 4))}, r"F \(output weights, Nn=3\) has shape \(2, 4\), expected \(any, 3\)"),
        ({"bF": np.ones(3)}, r"bF \(output bias, No=2\) has shape \(3,\), expected \(2,\)"),
    ],
)
def test_bad_shapes_name_the_matrix_and_expected_shape(rng, change, message):
    p = LSTMParams.random(2, 3, 2, rng=rng)
    with pytest.raises(L.ShapeError, match=message):
        p.replace(**change)


def test_empty_layers_and_complex_weights_are_refused(rng):
    with pytest.raises(L.ShapeError, match="at least one unit"):
        LSTMParams(np.ones((0, 2)), np.ones((0, 0)), np.ones(0))
    with pytest.raises(L.ShapeError, match="at least one input"):
        LSTMParams(np.ones((12, 0)), np.ones((12, 3)), np.ones(12))
    p = LSTMParams.random(2, 3, 2, rng=rng)
    with pytest.raises(TypeError, match="W.* is complex"):
        p.replace(W=p.W + 1e-3j)


def test_matlab_column_biases_are_accepted(rng):
    p = LSTMParams.random(2, 3, 2, rng=rng, output_bias=True)
    q = p.replace(b=p.b[:, None], bF=p.bF[None, :])
    np.testing.assert_array_equal(q.b, p.b)
    np.testing.assert_array_equal(q.bF, p.bF)
    one = LSTMParams(p.W, p.R, p.b, F=np.ones(3), bF=0.5)  # one output: a row F and a scalar bias
    assert one.F.shape == (1, 3) and one.bF.tolist() == [0.5]


def test_non_finite_weights_are_refused(rng):
    p = LSTMParams.random(2, 3, 2, rng=rng)
    R = p.R.copy()
    R[4, 1] = np.nan
    with pytest.raises(L.NonFiniteError, match=r"R \(recurrent weights\) contains a non-finite value .* index \(4, 1\)"):
        p.replace(R=R)


def test_arrays_are_read_only(rng):
    p = LSTMParams.random(2, 3, 2, rng=rng)
    with pytest.raises(ValueError):
        p.W[0, 0] = 1.0


def test_save_and_load_round_trip_and_no_silent_overwrite(tmp_path, rng):
    p = LSTMParams.random(2, 3, 2, rng=rng, output_bias=True)
    path = p.save(tmp_path / "net")
    assert path.name == "net.npz"
    with np.load(path) as data:
        assert sorted(data.files) == ["F", "R", "W", "b", "bF"]
    q = LSTMParams.load(path)
    for name in ("W", "R", "b", "F", "bF"):
        np.testing.assert_array_equal(getattr(q, name), getattr(p, name))
    with pytest.raises(FileExistsError, match="overwrite=True"):
        p.save(path)
    p.replace(b=np.zeros(12)).save(path, overwrite=True)
    np.testing.assert_array_equal(LSTMParams.load(path).b, 0.0)
    assert p.save(tmp_path / "upper.NPZ").name == "upper.NPZ"  # the suffix is recognised in any case


def test_loading_something_else_is_a_clear_error(tmp_path, rng):
    np.save(tmp_path / "w.npy", np.ones(3))
    with pytest.raises(ValueError, match=r"w.npy is a single .npy array, not an LSTM parameter file"):
        LSTMParams.load(tmp_path / "w.npy")
    (tmp_path / "notes.npz").write_text("not an archive")
    with pytest.raises(ValueError, match="notes.npz is not an LSTM parameter file.*not an .npz .zip. archive") as info:
        LSTMParams.load(tmp_path / "notes.npz")
    assert "pickle" not in str(info.value)
    (tmp_path / "empty.npz").write_bytes(b"")
    with pytest.raises(ValueError, match="empty.npz is not an LSTM parameter file"):
        LSTMParams.load(tmp_path / "empty.npz")
    good = LSTMParams.random(2, 3, 1, rng=rng).save(tmp_path / "good.npz")
    (tmp_path / "cut.npz").write_bytes(good.read_bytes()[:300])  # a truncated download
    with pytest.raises(ValueError, match=r"cut.npz is not an LSTM parameter file .*: the archive cannot be read"):
        LSTMParams.load(tmp_path / "cut.npz")
    np.savez(tmp_path / "other.npz", x=np.ones(2))
    with pytest.raises(ValueError, match="lacks W, R, b"):
        LSTMParams.load(tmp_path / "other.npz")
    with pytest.raises(FileNotFoundError):
        LSTMParams.load(tmp_path / "missing.npz")


def test_layer_without_output_layer_round_trips(tmp_path, rng):
    p = LSTMParams.random(2, 3, rng=rng)
    q = LSTMParams.load(p.save(tmp_path / "layer.npz"))
    assert q.F is None and q.n_outputs == 3


def test_import_from_matlab_mat_file(tmp_path, rng):
    p = LSTMParams.random(4, 3, 2, rng=rng)
    savemat(tmp_path / "net.mat", {"InputWeights": p.W, "RecurrentWeights": p.R, "Bias": p.b[:, None],
                                   "FC_Weights": p.F, "FC_Bias": np.array([[0.25], [-0.75]])})
    q = LSTMParams.from_matlab(tmp_path / "net.mat")
    for name in ("W", "R", "b", "F"):
        np.testing.assert_array_equal(getattr(q, name), getattr(p, name))
    np.testing.assert_array_equal(q.bF, [0.25, -0.75])
    with pytest.raises(ValueError, match="RecurrentWeights"):
        LSTMParams.from_matlab({"InputWeights": p.W, "Bias": p.b})
    with pytest.raises(ValueError, match="output bias but no output weights"):
        LSTMParams.from_matlab({"InputWeights": p.W, "RecurrentWeights": p.R, "Bias": p.b, "FC_Bias": np.zeros(2)})


def test_import_from_pytorch_state_dict_sums_the_two_biases(rng):
    p = LSTMParams.random(4, 3, 2, rng=rng)
    b_ih = rng.standard_normal(12)
    state = {
        "weight_ih_l0": p.W, "weight_hh_l0": p.R, "bias_ih_l0": b_ih, "bias_hh_l0": p.b - b_ih,
        "fc.weight": p.F, "fc.bias": np.array([0.5, -0.5]),
    }
    q = LSTMParams.from_torch(state, output_prefix="fc.")
    for name in ("W", "R", "F"):
        np.testing.assert_array_equal(getattr(q, name), getattr(p, name))
    np.testing.assert_allclose(q.b, p.b, atol=1e-15)
    np.testing.assert_array_equal(q.bF, [0.5, -0.5])
    with pytest.raises(KeyError, match="weight_ih_l1"):
        LSTMParams.from_torch(state, layer=1)


def test_layers_must_chain(rng):
    with pytest.raises(ValueError, match="layer 1 expects 5 inputs but layer 0 outputs 3"):
        L.simulate([LSTMParams.random(2, 3, rng=rng), LSTMParams.random(5, 2, 1, rng=rng)], np.ones((4, 2)))


def test_construction_copies_and_leaves_the_callers_arrays_writable(rng):
    W = rng.standard_normal((12, 2))
    p = LSTMParams(W, np.zeros((12, 3)), np.zeros(12))
    W[0, 0] = 42.0  # still writable, and the parameters did not change with it
    assert p.W[0, 0] != 42.0
