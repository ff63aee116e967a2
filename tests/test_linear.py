"""Tests for lstmds_sim.systems.lti: the reference plant, describing systems, and LSTM <-> linear.

The references are independent of the code under test wherever possible:
closed-form poles ``exp(s Ts)``, the continuous step response from partial
fractions (a zero-order hold reproduces it exactly at the sampling instants),
``expm`` of the augmented matrix for the ZOH, ``scipy.signal.dlsim``,
``dimpulse`` and ``dfreqresp``.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import scipy.linalg
import scipy.signal

from lstmds_sim.core.matrix import simulate
from lstmds_sim.core.params import LSTMParams
from lstmds_sim.core.validation import NonFiniteError, ShapeError
from lstmds_sim.systems.lstm_linear import (
    linear_from_lstm,
    lstm_from_linear,
    reproduced_system,
)
from lstmds_sim.systems.lti import (
    as_discrete,
    balanced_realization,
    check_system,
    condition_number,
    describe,
    discrete_zpk,
    format_zpk,
    frequency_response,
    random_stable_system,
    steady_state_gain,
    zpk_channels,
)
from lstmds_sim.systems.reference import (
    REFERENCE_ZPK,
    reference_system,
    reference_system_continuous,
)

TS = 0.01
DC_GAIN = 5e5 * 4 / ((81 + 25) * (4 + 2500))  # H(0) of the continuous plant; ZOH keeps it
MIMO_SIZES = [(2, 1, 1), (3, 1, 2), (4, 2, 1), (4, 2, 3), (5, 3, 2), (6, 3, 3), (2, 2, 2)]
UNITS = ["n+m", "n"]


def abcd(sys):
    return sys.A, sys.B, sys.C, sys.D


def ss(A, B, C, D, dt=TS):
    """A discrete system carrying its sample time."""
    return scipy.signal.StateSpace(A, B, C, D, dt=dt)


@pytest.fixture(scope="module")
def ref():
    return reference_system(TS)


def lstm_error(system, u, scale, units="n+m"):
    """(||y_lstm - y_true||, ||y_true||) with y_true from scipy's dlsim of the reproduced system."""
    params = lstm_from_linear(system, scale=scale, units=units)
    y_lstm = simulate(params, u).y
    _, y_true, _ = scipy.signal.dlsim(reproduced_system(system, units=units), u)
    y_true = y_true.reshape(y_lstm.shape)
    return np.linalg.norm(y_lstm - y_true), np.linalg.norm(y_true)


def grid(n=200):
    return np.linspace(0.0, np.pi / TS, n)  # 0 .. Nyquist


def relative_difference(H1, H2):
    return np.max(np.abs(H1 - H2)) / np.max(np.abs(H2))


# --------------------------------------------------------------------------- reference plant
def test_reference_system_is_a_discrete_4th_order_siso_state_space(ref):
    assert isinstance(ref, scipy.signal.StateSpace)
    assert ref.dt == TS
    assert [X.shape for X in abcd(ref)] == [(4, 4), (4, 1), (1, 4), (1, 1)]
    cont = reference_system_continuous()
    assert cont.dt is None
    np.testing.assert_allclose(sorted(cont.poles, key=np.angle), sorted(REFERENCE_ZPK[1], key=np.angle))


def test_reference_poles_are_exp_of_continuous_poles(ref):
    expected = np.exp(np.array(REFERENCE_ZPK[1]) * TS)
    got = np.linalg.eigvals(ref.A)
    key = lambda z: (round(z.real, 6), z.imag)  # noqa: E731
    np.testing.assert_allclose(sorted(got, key=key), sorted(expected, key=key), rtol=0, atol=1e-12)


def test_reference_zoh_matches_augmented_matrix_exponential(ref):
    cont = reference_system_continuous().to_ss()
    M = np.zeros((5, 5))
    M[:4, :4], M[:4, 4:] = cont.A, cont.B
    E = scipy.linalg.expm(M * TS)
    np.testing.assert_allclose(ref.A, E[:4, :4], rtol=1e-12, atol=1e-12 * np.abs(E).max())
    np.testing.assert_allclose(ref.B, E[:4, 4:], rtol=1e-12, atol=1e-20)
    np.testing.assert_array_equal(ref.C, cont.C)


def test_reference_D_is_zero_and_is_the_first_impulse_response_sample(ref):
    # The continuous plant is strictly proper (relative degree 3) and a ZOH keeps D = 0.
    _, (h,) = scipy.signal.dimpulse(ref, n=3)
    assert ref.D[0, 0] == 0.0
    assert h[0, 0] == ref.D[0, 0]
    np.testing.assert_allclose(h[1, 0], (ref.C @ ref.B)[0, 0], rtol=1e-12)
    assert h[1, 0] > 0  # relative degree 1 in discrete time, unlike 3 in continuous time


def test_reference_step_response_equals_continuous_one_at_the_samples(ref):
    """ZOH discretisation is exact for a step input: compare with the closed-form continuous response."""
    num, den = scipy.signal.zpk2tf(*REFERENCE_ZPK)
    r, p, _ = scipy.signal.residue(num, np.polymul(den, [1, 0]))  # H(s)/s in partial fractions
    t = TS * np.arange(101)
    y_cont = np.real(np.exp(np.outer(t, p)) @ r)
    _, (y_disc,) = scipy.signal.dstep(ref, n=101)
    np.testing.assert_allclose(y_disc[:, 0], y_cont, rtol=0, atol=1e-9 * np.abs(y_cont).max())


def test_reference_steady_state_gain_is_the_continuous_dc_gain(ref):
    gain = steady_state_gain(ref)
    assert gain.shape == (1, 1)
    np.testing.assert_allclose(gain[0, 0], DC_GAIN, rtol=1e-10)
    np.testing.assert_allclose(DC_GAIN, 7.5351136295, rtol=1e-10)


def test_reference_zeros_are_all_real_and_match_the_closed_form(ref):
    """The spec says all discrete zeros are real; check against the ZOH transfer function.

    Independent reference: H_d(z) = (1 - 1/z) Z{H(s)/s} = r0 + sum r_i (z - 1) / (z - exp(p_i Ts)).
    """
    zeros, poles, gain = discrete_zpk(ref)
    assert zeros.size == 3  # relative degree 1 after sampling: two sampling zeros appear
    assert np.all(np.abs(zeros.imag) < 1e-10), f"complex zeros: {zeros}"
    zeros = np.sort(zeros.real)

    num, den = scipy.signal.zpk2tf(*REFERENCE_ZPK)
    r, p, _ = scipy.signal.residue(num, np.polymul(den, [1, 0]))
    N, Dn = np.zeros(1, complex), np.ones(1, complex)
    for ri, pi in zip(r, p):
        tn, td = (np.array([ri]), np.ones(1)) if abs(pi) < 1e-12 else (ri * np.array([1, -1.0]), np.array([1, -np.exp(pi * TS)]))
        N, Dn = np.polyadd(np.polymul(N, td), np.polymul(tn, Dn)), np.polymul(Dn, td)
    N = N[np.argmax(np.abs(N) > 1e-12 * np.abs(N).max()):]  # drop the (numerically zero) z^4 coefficient
    np.testing.assert_allclose(zeros, np.sort(np.roots(N).real), rtol=1e-7)
    np.testing.assert_allclose(gain, N[0].real, rtol=1e-7)
    # what they are: the mapped zero exp(-4 Ts) (almost) and two sampling zeros near -2 +- sqrt(3)
    np.testing.assert_allclose(zeros, [-3.5168489, -0.2599256, 0.9607895], rtol=1e-6)
    assert abs(zeros[2] - np.exp(-4 * TS)) < 1e-7
    np.testing.assert_allclose(np.sort(poles), np.sort(np.linalg.eigvals(ref.A)))


def test_discrete_zpk_agrees_with_scipy_ss2zpk(ref):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy.signal.BadCoefficients)
        z_ref, p_ref, k_ref = scipy.signal.ss2zpk(*abcd(ref))
    z, p, k = discrete_zpk(ref)
    np.testing.assert_allclose(np.sort_complex(z), np.sort_complex(z_ref), rtol=1e-7)
    np.testing.assert_allclose(k, k_ref, rtol=1e-7)


def test_reference_zpk_string_and_describe(ref):
    info = describe(ref)
    json.dumps(info)
    assert (info["n_states"], info["n_inputs"], info["n_outputs"]) == (4, 1, 1)
    assert info["D"] == [[0.0]]
    np.testing.assert_allclose(info["steady_state_gain"][0][0], DC_GAIN, rtol=1e-10)
    assert info["stable"] is True
    assert len(info["poles"]) == 4 and all(len(p) == 2 for p in info["poles"])
    assert [round(z[0], 4) for z in sorted(info["zeros"])] == [-3.5168, -0.2599, 0.9608]
    assert info["zpk"] == (
        "0.07867 (z-0.9608) (z+0.2599) (z+3.517) / ((z^2 - 1.72z + 0.9608) (z^2 - 1.826z + 0.8353))  (Ts = 0.01)"
    )


def test_frequency_response_matches_scipy_dfreqresp(ref):
    w = grid(50)
    with warnings.catch_warnings():  # scipy converts to a (badly scaled) polynomial form first
        warnings.simplefilter("ignore", scipy.signal.BadCoefficients)
        _, H_ref = scipy.signal.dfreqresp(ref, w=w * TS)
    H = frequency_response(ref, w)
    assert H.shape == (50, 1, 1)
    np.testing.assert_allclose(H[:, 0, 0], H_ref, rtol=1e-9)
    np.testing.assert_allclose(H[0, 0, 0], DC_GAIN, rtol=1e-10)


# --------------------------------------------------------------------------- format_zpk
@pytest.mark.parametrize(
    "z, p, k, kwargs, expected",
    [
        ([0.9608, -0.1234], [0.9, 0.9 + 0.3j, 0.9 - 0.3j], 0.0123, {},
         "0.0123 (z-0.9608) (z+0.1234) / ((z-0.9) (z^2 - 1.8z + 0.9))"),
        ([], [0, 0.5, 0.5], 2, {"dt": 0.1}, "2 / (z (z-0.5)^2)  (Ts = 0.1)"),
        ([0.5], [0.5 - np.sqrt(3) / 2 * 1j, 0.5 + np.sqrt(3) / 2 * 1j], -1, {}, "-(z-0.5) / (z^2 - z + 1)"),
        ([0.2], [], 1, {}, "(z-0.2)"),
        ([], [0.3j, -0.3j], 1.5, {}, "1.5 / (z^2 + 0.09)"),
        ([-4], list(REFERENCE_ZPK[1]), 5e5, {"var": "s"}, "500000 (s+4) / ((s^2 + 4s + 2504) (s^2 + 18s + 106))"),
        ([0.123456], [1], 2, {"digits": 6}, "2 (z-0.123456) / (z-1)"),
        ([1e-17, 0.5], [0.0, 0.25], 3, {}, "3 z (z-0.5) / (z (z-0.25))"),
    ],
)
def test_format_zpk(z, p, k, kwargs, expected):
    assert format_zpk(z, p, k, **kwargs) == expected


def test_format_zpk_refuses_unpaired_complex_roots():
    with pytest.raises(ValueError, match="conjugate"):
        format_zpk([0.5 + 0.1j], [0.2], 1.0)


# --------------------------------------------------------------------------- checking and describing
def test_check_system_names_the_matrix_and_the_expected_shape():
    A, B, C, D = np.eye(4), np.ones((4, 2)), np.ones((1, 4)), np.zeros((1, 2))
    out = check_system(A, B, C, D)
    assert all(X.dtype == np.float64 for X in out)
    with pytest.raises(ShapeError, match=r"B has shape \(3, 2\), expected \(4, m\) to match A \(4 x 4\)"):
        check_system(A, np.ones((3, 2)), C, D)
    with pytest.raises(ShapeError, match=r"A has shape \(3, 4\), expected a square"):
        check_system(np.ones((3, 4)), B, C, D)
    with pytest.raises(ShapeError, match=r"C has shape \(1, 3\), expected \(p, 4\) to match A \(4 x 4\)"):
        check_system(A, B, np.ones((1, 3)), D)
    with pytest.raises(ShapeError, match=r"D has shape \(2, 2\), expected \(p, m\) = \(1, 2\)"):
        check_system(A, B, C, np.zeros((2, 2)))
    with pytest.raises(ShapeError, match=r"B has shape \(4,\).*reshape\(-1, 1\)"):
        check_system(A, np.ones(4), C, np.zeros((1, 1)))
    with pytest.raises(NonFiniteError, match="A contains a non-finite value"):
        check_system(np.diag([1.0, np.nan, 1.0, 1.0]), B, C, D)
    # a scalar D is fine for a SISO system
    assert check_system(A, B[:, :1], C, 0.5)[3].shape == (1, 1)


def test_steady_state_gain_refuses_an_integrator():
    A = np.array([[1.0, 0.1], [0.0, 0.5]])
    with pytest.raises(ValueError, match="pole at z = 1"):
        steady_state_gain(ss(A, np.ones((2, 1)), np.ones((1, 2)), np.zeros((1, 1))))


def test_discrete_zpk_mimo_needs_a_channel():
    A, B, C, D = abcd(random_stable_system(4, 2, 3, 0))
    with pytest.raises(NotImplementedError, match="output=i and input=j.*zpk_channels"):
        discrete_zpk(ss(A, B, C, D))
    with pytest.raises(ValueError, match="dt"):
        discrete_zpk((A, B[:, :1], C[:1], D[:1, :1], 0.0))
    channels = zpk_channels(ss(A, B, C, D))
    assert sorted(channels) == [(i, j) for i in range(3) for j in range(2)]
    # every channel's zpk form reproduces that channel's transfer function on the unit circle
    w = grid(30)
    H = frequency_response(ss(A, B, C, D), w)
    zk = np.exp(1j * w * TS)
    for (i, j), (z, p, k) in channels.items():
        H_zpk = k * np.prod(zk[:, None] - z, axis=1) / np.prod(zk[:, None] - p, axis=1)
        np.testing.assert_allclose(H_zpk, H[:, i, j], rtol=1e-8, atol=1e-12)
    info = describe(ss(A, B, C, D))
    assert len(info["channels"]) == 6 and "zpk" not in info
    json.dumps(info)


def test_discrete_zpk_of_a_zero_channel():
    A = np.diag([0.5, 0.2])
    z, p, k = discrete_zpk(ss(A, np.array([[1.0], [0.0]]), np.array([[0.0, 1.0]]), [[0.0]]))
    assert (z.size, k) == (0, 0.0)
    np.testing.assert_allclose(np.sort(p.real), [0.2, 0.5])


# --------------------------------------------------------------------------- random systems
@pytest.mark.parametrize("n, m, p", MIMO_SIZES)
def test_random_stable_system(n, m, p):
    A, B, C, D = abcd(random_stable_system(n, m, p, rng=np.random.default_rng(n * 100 + m * 10 + p), radius=0.9))
    assert [X.shape for X in (A, B, C, D)] == [(n, n), (n, m), (p, n), (p, m)]
    moduli = np.abs(np.linalg.eigvals(A))
    assert moduli.max() < 0.9 and moduli.min() > 0.2
    assert condition_number(A) < 1e3
    np.testing.assert_array_equal(A, random_stable_system(n, m, p, n * 100 + m * 10 + p).A)  # seeded


# --------------------------------------------------------------------------- LSTM from linear
@pytest.mark.parametrize("units", UNITS)
@pytest.mark.parametrize("n, m, p", MIMO_SIZES)
def test_lstm_reproduces_dlsim_with_error_shrinking_like_scale_squared(n, m, p, units):
    rng = np.random.default_rng(1000 + 100 * n + 10 * m + p)
    system = random_stable_system(n, m, p, rng)
    u = rng.standard_normal((51, m))
    err2, norm_y = lstm_error(system, u, 1e-2, units)
    err3, _ = lstm_error(system, u, 1e-3, units)
    assert norm_y > 1.0
    assert err3 / norm_y < 1e-4
    assert 50 < err2 / err3 < 200, f"error ratio {err2 / err3:.1f} for scale 1e-2 vs 1e-3"


@pytest.mark.parametrize("units", UNITS)
def test_lstm_reproduces_the_reference_plant(ref, units):
    """The spec's check: about 1e-6 at scale 1e-3 against an output norm of about 50."""
    u = np.random.default_rng(0).standard_normal((51, 1))
    err3, norm_y = lstm_error(ref, u, 1e-3, units)
    err2, _ = lstm_error(ref, u, 1e-2, units)
    assert 40 < norm_y < 60
    assert err3 < 3e-6
    assert 90 < err2 / err3 < 110


def test_lstm_weights_have_the_spec_layout():
    system = random_stable_system(3, 2, 2, 7)
    A, B, C, D = abcd(system)
    scale = 1e-3
    P = lstm_from_linear(system, scale=scale)
    assert (P.n_units, P.n_inputs, P.n_outputs) == (5, 2, 2)
    for gate, bias in (("i", 100.0), ("f", -100.0), ("o", 100.0)):
        Wk, Rk, bk = P.gate(gate)
        assert not Wk.any() and not Rk.any()
        np.testing.assert_array_equal(bk, bias)
    Wg, Rg, bg = P.gate("g")
    np.testing.assert_array_equal(Wg, scale * np.vstack([B, np.eye(2)]))
    np.testing.assert_array_equal(Rg, scipy.linalg.block_diag(A, np.zeros((2, 2))))
    assert not bg.any() and not P.bF.any()
    Ainv = np.linalg.inv(A)
    np.testing.assert_allclose(P.F, np.hstack([C @ Ainv, D - C @ Ainv @ B]) / scale, rtol=1e-10)
    Pn = lstm_from_linear(system, scale=scale, units="n")
    assert Pn.n_units == 3
    np.testing.assert_allclose(Pn.F, C @ Ainv / scale, rtol=1e-10)


def test_n_unit_variant_realises_H_minus_H0_not_the_original():
    """units="n": h = scale x(k+1), y = C A^-1 x(k+1) = C x(k) + C A^-1 B u(k).

    So D is replaced by C A^-1 B: the transfer function becomes H(z) - H(0), which
    vanishes at z = 0 and differs from H on the whole unit circle by the
    constant H(0) = D - C A^-1 B.  (The spec calls C A^-1 B "the static gain";
    it is the new feedthrough, not the steady-state gain.)
    """
    rng = np.random.default_rng(3)
    system = random_stable_system(4, 2, 2, rng, dt=TS)
    A, B, C, D = abcd(system)
    H0 = D - C @ np.linalg.solve(A, B)
    w = grid(40)
    H = frequency_response(system, w)
    Hn = frequency_response(reproduced_system(system, units="n"), w)
    np.testing.assert_allclose(Hn, H - H0, atol=1e-12 * np.abs(H).max())
    # steady-state gain of the n-unit LSTM is not C A^-1 B
    ssg_n = steady_state_gain(reproduced_system(system, units="n"))
    assert not np.allclose(ssg_n, C @ np.linalg.solve(A, B))
    # against the original system the n-unit LSTM is wrong by O(1) ...
    u = rng.standard_normal((51, 2))
    y = simulate(lstm_from_linear(system, units="n"), u).y
    _, y_orig, _ = scipy.signal.dlsim((A, B, C, D, 1.0), u)
    assert np.linalg.norm(y - y_orig) > 0.1 * np.linalg.norm(y_orig)
    # ... unless D already equals C A^-1 B (H(0) = 0, a zero at z = 0 in every channel)
    D0 = C @ np.linalg.solve(A, B)
    _, y_orig0, _ = scipy.signal.dlsim((A, B, C, D0, 1.0), u)
    y0 = simulate(lstm_from_linear(ss(A, B, C, D0), units="n"), u).y
    assert np.linalg.norm(y0 - y_orig0) / np.linalg.norm(y_orig0) < 1e-5


def test_singular_A_is_refused_with_the_condition_number():
    A = np.diag([0.5, 0.0, 0.3])  # a pole at z = 0
    B, C, D = np.ones((3, 1)), np.ones((1, 3)), np.zeros((1, 1))
    for units in UNITS:
        with pytest.raises(ValueError, match=r"condition number inf.*A\^-1.*x\(k\+1\)"):
            lstm_from_linear(ss(A, B, C, D), units=units)


def test_ill_conditioned_A_is_refused_with_the_condition_number():
    A = np.diag([0.5, 1e-13])
    with pytest.raises(ValueError, match=r"condition number 5e\+12 \(limit max_cond = 1e\+12\)"):
        lstm_from_linear(ss(A, np.ones((2, 1)), np.ones((1, 2)), [[0.0]]))
    # the limit is a keyword: the reference plant (cond ~ 6.7e6) passes by default, not below 1e6
    ref = reference_system(TS)
    assert 1e6 < condition_number(ref.A) < 1e7
    lstm_from_linear(ref)
    with pytest.raises(ValueError, match="condition number 6.65e\\+06"):
        lstm_from_linear(ref, max_cond=1e6)


@pytest.mark.parametrize("bad", [0.0, -1e-3, np.nan, np.inf])
def test_bad_scale_is_refused(bad):
    with pytest.raises(ValueError, match="scale must be a finite number > 0"):
        lstm_from_linear(ss(np.eye(2) * 0.5, np.ones((2, 1)), np.ones((1, 2)), [[0.0]]), scale=bad)
    with pytest.raises(ValueError, match="scale must be a finite number > 0"):
        linear_from_lstm(LSTMParams.random(1, 2, 1, rng=0), scale=bad, dt=TS)


def test_bad_arguments_are_refused():
    A, B, C, D = np.eye(2) * 0.5, np.ones((2, 1)), np.ones((1, 2)), [[0.0]]
    with pytest.raises(ValueError, match="units must be one of"):
        lstm_from_linear(ss(A, B, C, D), units="m")
    with pytest.raises(ShapeError, match=r"B has shape \(3, 1\), expected \(2, m\)"):
        lstm_from_linear((A, np.ones((3, 1)), C, D, TS))
    with pytest.raises(ValueError, match="no output layer"):
        linear_from_lstm(LSTMParams.random(1, 2, rng=0), dt=TS)


# --------------------------------------------------------------------------- linear from LSTM
@pytest.mark.parametrize("units", UNITS)
@pytest.mark.parametrize("n, m, p", [(4, 1, 1)] + MIMO_SIZES)
def test_round_trip_keeps_the_transfer_function(n, m, p, units):
    system = random_stable_system(n, m, p, 50 + n + m + p, dt=TS)
    P = lstm_from_linear(system, scale=1e-3, units=units)
    extracted = linear_from_lstm(P, scale=1e-3, dt=TS)
    assert extracted.A.shape == ((n + m, n + m) if units == "n+m" else (n, n))
    w = grid()
    H = frequency_response(reproduced_system(system, units=units), w)
    assert relative_difference(frequency_response(extracted, w), H) < 1e-9
    # the extraction's scale only changes state coordinates, not the transfer function
    assert relative_difference(frequency_response(linear_from_lstm(P, scale=0.37, dt=TS), w), H) < 1e-9


def test_round_trip_of_the_reference_plant_is_fifth_order(ref):
    A, B, C, D = abcd(ref)
    extracted = linear_from_lstm(lstm_from_linear(ref), dt=ref.dt)
    An, Bn, Cn, Dn = abcd(extracted)
    assert An.shape == (5, 5)  # the spec's "fifth order for Nn = 5"
    # in the constructed case the extracted matrices are blkdiag(A, 0), [B; 1], [C, 0], D
    np.testing.assert_array_equal(An, scipy.linalg.block_diag(A, 0.0))
    np.testing.assert_allclose(Bn, np.vstack([B, [[1.0]]]), rtol=1e-12)
    np.testing.assert_allclose(Cn, np.hstack([C, [[0.0]]]), rtol=1e-9, atol=1e-9 * np.abs(C).max())
    np.testing.assert_allclose(Dn, D, atol=1e-9)
    w = grid()
    H = frequency_response(ref, w)
    assert relative_difference(frequency_response(extracted, w), H) < 1e-9


def saturated_lstm(Wg, Rg, F, scale, rng):
    """An LSTM with random i, f, o weights but saturated gates, g weights ``scale Wg``, ``Rg``, and ``F / scale``."""
    nn, ni = Wg.shape
    W = np.vstack([rng.standard_normal((2 * nn, ni)), scale * Wg, rng.standard_normal((nn, ni))])
    R = np.vstack([rng.standard_normal((2 * nn, nn)), Rg, rng.standard_normal((nn, nn))])
    b = np.concatenate([np.full(nn, 100.0), np.full(nn, -100.0), np.zeros(nn), np.full(nn, 100.0)])
    return LSTMParams(W, R, b, F / scale, np.zeros(F.shape[0]))


def test_extraction_is_the_small_signal_model_of_arbitrary_weights():
    """Weights not built by lstm_from_linear (gates saturated, small g-gate signals):
    the LSTM follows dlsim of the extracted system, with an error shrinking like scale^2."""
    rng = np.random.default_rng(11)
    nn, ni, no = 4, 2, 3
    Rg = rng.standard_normal((nn, nn))
    Rg *= 0.8 / np.max(np.abs(np.linalg.eigvals(Rg)))  # any stable R_g, invertible or not
    Wg, F = rng.standard_normal((nn, ni)), rng.standard_normal((no, nn))
    u = rng.standard_normal((51, ni))
    errors = []
    for scale in (1e-2, 1e-3):
        P = saturated_lstm(Wg, Rg, F, scale, rng)
        extracted = linear_from_lstm(P, scale=scale, dt=TS)
        np.testing.assert_allclose(extracted.B, Wg, rtol=1e-12)
        _, y_ref, _ = scipy.signal.dlsim(extracted, u)
        y = simulate(P, u).y
        errors.append(np.linalg.norm(y - y_ref) / np.linalg.norm(y_ref))
    assert errors[1] < 1e-4
    assert 50 < errors[0] / errors[1] < 200
    # H(z) = z F (zI - R_g)^-1 W_g: a zero at the origin in every channel (R_g is invertible here)
    for z, _, _ in zpk_channels(extracted).values():
        assert np.min(np.abs(z)) < 1e-10


# --------------------------------------------------------------------------- balanced realisation
def test_balanced_realization_has_equal_diagonal_gramians_and_the_same_transfer_function():
    import scipy.linalg

    canonical = reference_system(0.01)
    A, B, C, D = abcd(balanced_realization(canonical))
    Wc = scipy.linalg.solve_discrete_lyapunov(A, B @ B.T)
    Wo = scipy.linalg.solve_discrete_lyapunov(A.T, C.T @ C)
    np.testing.assert_allclose(Wc, Wo, atol=1e-9 * np.abs(Wc).max())
    np.testing.assert_allclose(Wc, np.diag(np.diag(Wc)), atol=1e-9 * np.abs(Wc).max())
    assert np.all(np.diff(np.diag(Wc)) <= 0)  # Hankel singular values, decreasing
    w = np.logspace(-1, np.log10(np.pi / 0.01), 100)
    H = frequency_response(canonical, w)
    np.testing.assert_allclose(frequency_response(ss(A, B, C, D, 0.01), w), H, rtol=1e-10, atol=1e-12 * np.abs(H).max())
    assert np.linalg.cond(A) < 10 < 1e6 < np.linalg.cond(canonical.A)
    balanced = reference_system(0.01, realization="balanced")
    np.testing.assert_allclose(balanced.A, A)


def test_balanced_realization_refuses_unstable_or_unknown():
    with pytest.raises(ValueError, match="stable system"):
        balanced_realization(ss(np.diag([1.2, 0.5]), np.ones((2, 1)), np.ones((1, 2)), np.zeros((1, 1))))
    with pytest.raises(ValueError, match="realization must be one of"):
        reference_system(0.01, realization="modal")


# --------------------------------------------------------------------------- the system carries its sample time
def test_as_discrete_takes_dt_from_the_system_or_from_the_caller():
    A, B, C, D = np.diag([0.5, 0.2]), np.ones((2, 1)), np.ones((1, 2)), [[0.0]]
    with warnings.catch_warnings():  # the transfer function's leading numerator coefficient is 0
        warnings.simplefilter("ignore", scipy.signal.BadCoefficients)
        from_tf = as_discrete(ss(A, B, C, D).to_tf())
    for system in (ss(A, B, C, D), as_discrete((A, B, C, D), TS), as_discrete((A, B, C, D, TS)),
                   as_discrete(ss(A, B, C, D), TS), from_tf):
        assert isinstance(system, scipy.signal.StateSpace) and system.dt == TS
        np.testing.assert_allclose(frequency_response(system, grid(5)), frequency_response(ss(A, B, C, D), grid(5)))
    assert describe(ss(A, B, C, D))["dt"] == TS


def test_a_continuous_system_or_a_missing_dt_is_refused_by_name():
    A, B, C, D = np.diag([-1.0, -2.0]), np.ones((2, 1)), np.ones((1, 2)), [[0.0]]
    continuous = scipy.signal.StateSpace(A, B, C, D)
    for call in (as_discrete, describe, discrete_zpk, steady_state_gain, balanced_realization, lstm_from_linear,
                 reproduced_system, lambda s: frequency_response(s, grid(5))):
        with pytest.raises(ValueError, match=r"continuous-time.*to_discrete\(Ts\)"):
            call(continuous)
        with pytest.raises(ValueError, match=r"dt \(sample time\) is missing"):
            call((np.diag([0.5, 0.2]), B, C, D))
    with pytest.raises(ValueError, match=r"continuous-time.*to_discrete"):
        as_discrete(reference_system_continuous())
    for bad in (0.0, -0.01, np.nan, "fast", True):
        with pytest.raises(ValueError, match=r"dt \(sample time\) must be a (finite )?number"):
            as_discrete((np.diag([0.5, 0.2]), B, C, D), bad)
    with pytest.raises(ValueError, match=r"dt \(sample time\) of the system must be a finite number > 0"):
        as_discrete(scipy.signal.StateSpace(np.diag([0.5, 0.2]), B, C, D, dt=True))  # scipy's "unspecified"
    with pytest.raises(ValueError, match=r"dt = 0.1 disagrees with the system's own sample time dt = 0.01"):
        as_discrete(ss(np.diag([0.5, 0.2]), B, C, D), 0.1)
    with pytest.raises(TypeError, match="expected a discrete scipy.signal.StateSpace"):
        as_discrete(np.eye(2))
    with pytest.raises(TypeError, match="dt"):
        linear_from_lstm(lstm_from_linear(ss(np.diag([0.5, 0.2]), B, C, D)))  # dt is a required keyword
    with pytest.raises(ValueError, match=r"dt \(sample time\) is missing"):
        linear_from_lstm(lstm_from_linear(ss(np.diag([0.5, 0.2]), B, C, D)), dt=None)


@pytest.mark.parametrize("dt", [0.01, 0.25])
def test_dt_survives_balancing_reproducing_and_extracting(dt):
    system = random_stable_system(3, 2, 2, 5, dt=dt)
    assert system.dt == dt
    assert balanced_realization(system).dt == dt
    for units in UNITS:
        assert reproduced_system(system, units=units).dt == dt
    extracted = linear_from_lstm(lstm_from_linear(system, units="n"), dt=dt)
    assert isinstance(extracted, scipy.signal.StateSpace) and extracted.dt == dt
    assert describe(extracted)["dt"] == dt
    assert reference_system(dt, realization="balanced").dt == dt
