"""Scenario-approach maths: sample sizes (paper eq. 11 and the exact binomial bound), rho_y*, Clopper-Pearson."""

import json
import math

import numpy as np
import pytest

from lstmds_sim.safety.scenario import (
    consistent_with_eps,
    count_violations,
    sample_size,
    scenario_bound,
    scenario_peaks,
    violation_probability_estimate,
)


def binomial_tail(n, eps, d):
    """sum_{i<d} C(n, i) eps^i (1 - eps)^(n - i), summed term by term with exact binomial coefficients."""
    return sum(math.comb(n, i) * eps**i * (1 - eps) ** (n - i) for i in range(d))


# ----------------------------------------------------------------------------- sample size
def test_paper_sample_size_is_2964():
    assert (2 / 1e-2) * (math.log(1 / 1e-6) + 1) == pytest.approx(2963.1, abs=0.05)
    assert sample_size(1e-2, 1e-6) == 2964
    assert sample_size(1e-2, 1e-6, 1, method="paper") == 2964


def test_exact_sample_size_is_1375():
    assert sample_size(1e-2, 1e-6, method="exact") == 1375
    # d = 1: the condition is (1 - eps)^N <= beta
    assert 0.99**1375 <= 1e-6 < 0.99**1374


@pytest.mark.parametrize(
    "eps, beta, d",
    [(1e-2, 1e-6, 1), (1e-2, 1e-6, 3), (0.05, 1e-3, 2), (0.1, 0.05, 5), (2e-3, 1e-9, 1), (0.3, 0.2, 4)],
)
def test_exact_sample_size_is_the_smallest_satisfying_the_binomial_inequality(eps, beta, d):
    n = sample_size(eps, beta, d, method="exact")
    assert binomial_tail(n, eps, d) <= beta
    assert n == d or binomial_tail(n - 1, eps, d) > beta
    assert n <= sample_size(eps, beta, d, method="paper")  # (11) is sufficient, hence never smaller


@pytest.mark.parametrize("method", ["paper", "exact"])
def test_sample_size_grows_as_eps_beta_shrink_and_d_grows(method):
    eps_values = [0.2, 0.1, 0.05, 0.01, 0.005]
    assert np.all(np.diff([sample_size(e, 1e-6, method=method) for e in eps_values]) > 0)
    beta_values = [0.1, 1e-2, 1e-4, 1e-6, 1e-9]
    assert np.all(np.diff([sample_size(0.01, b, method=method) for b in beta_values]) > 0)
    assert np.all(np.diff([sample_size(0.01, 1e-6, d, method=method) for d in (1, 2, 5, 10)]) > 0)


def test_exact_sample_size_handles_tiny_beta():
    # (1 - eps)^N <= 1e-300: N >= 300 ln(10) / -ln(1 - eps)
    n = sample_size(0.01, 1e-300, method="exact")
    assert n == math.ceil(300 * math.log(10) / -math.log(0.99))


@pytest.mark.parametrize(
    "args, match",
    [
        ((0.0, 1e-6), r"eps .*strictly between 0 and 1.*eps=0\.01"),
        ((1.0, 1e-6), r"eps .*strictly between 0 and 1"),
        ((-0.1, 1e-6), r"eps"),
        ((float("nan"), 1e-6), r"eps"),
        ((0.01, 0.0), r"beta .*strictly between 0 and 1.*beta=1e-6"),
        ((0.01, 1.5), r"beta"),
        ((0.01, 1e-6, 0), r"d .*positive integer.*d = 1 for the radius"),
        ((0.01, 1e-6, 1.5), r"d .*positive integer"),
        ((0.01, 1e-6, -2), r"d .*positive integer"),
    ],
)
def test_sample_size_refuses_bad_arguments_and_says_how_to_fix(args, match):
    for method in ("paper", "exact"):
        with pytest.raises(ValueError, match=match):
            sample_size(*args, method=method)


def test_sample_size_refuses_unknown_method():
    with pytest.raises(ValueError, match="paper.*exact"):
        sample_size(0.01, 1e-6, method="campi")


# ----------------------------------------------------------------------------- rho_y*
def test_scenario_bound_on_a_hand_example():
    # 3 scenarios, 4 steps, scalar output: the largest |y| is 2.5 (scenario 1, step 2)
    y = np.array(
        [
            [0.1, -0.4, 0.3, 0.0],
            [1.0, 2.0, -2.5, 0.2],
            [-1.9, 0.0, 0.5, 2.4],
        ]
    )
    assert scenario_bound(y) == 2.5
    assert scenario_bound(y[:, :, None]) == 2.5
    np.testing.assert_array_equal(scenario_peaks(y), [0.4, 2.5, 2.4])
    assert count_violations(y, 2.45) == 1
    assert count_violations(y, 2.3) == 2
    assert count_violations(y, 2.5) == 0


def test_scenario_bound_vector_output_norms():
    y = np.zeros((2, 3, 2))
    y[0, 1] = [3.0, -4.0]
    y[1, 2] = [0.0, 4.5]
    assert scenario_bound(y) == 5.0  # the paper's Euclidean ball |y|_2 <= rho
    assert scenario_bound(y, norm="inf") == 4.5
    assert scenario_bound(y, norm=np.inf) == 4.5


def test_scenario_bound_refuses_bad_outputs():
    with pytest.raises(ValueError, match=r"expected \(N, T, ny\)"):
        scenario_bound(np.zeros(5))
    with pytest.raises(ValueError, match="non-finite"):
        scenario_bound(np.array([[0.0, np.nan]]))
    with pytest.raises(ValueError, match="norm"):
        scenario_bound(np.zeros((2, 2, 1)), norm=1)


# ----------------------------------------------------------------------------- Clopper-Pearson
@pytest.mark.parametrize("n, confidence", [(10, 0.95), (100, 0.99), (1375, 0.999)])
def test_clopper_pearson_zero_and_all_violations(n, confidence):
    alpha = 1 - confidence
    p_hat, lower, upper = violation_probability_estimate(0, n, confidence)
    assert (p_hat, lower) == (0.0, 0.0)
    assert upper == pytest.approx(1 - (alpha / 2) ** (1 / n), rel=1e-10)
    p_hat, lower, upper = violation_probability_estimate(n, n, confidence)
    assert (p_hat, upper) == (1.0, 1.0)
    assert lower == pytest.approx((alpha / 2) ** (1 / n), rel=1e-10)


@pytest.mark.parametrize("k, n", [(1, 20), (3, 100), (17, 50)])
def test_clopper_pearson_ends_have_tail_probability_alpha_over_2(k, n):
    alpha = 0.05
    p_hat, lower, upper = violation_probability_estimate(k, n, 0.95)
    assert p_hat == k / n and lower < p_hat < upper
    # upper: P(X <= k | upper) = alpha/2;  lower: P(X >= k | lower) = alpha/2
    assert binomial_tail(n, upper, k + 1) == pytest.approx(alpha / 2, rel=1e-8)
    assert 1 - binomial_tail(n, lower, k) == pytest.approx(alpha / 2, rel=1e-8)


def test_clopper_pearson_hand_value():
    # 1 violation in 10 trials at 95 %: the upper end p solves (1-p)^10 + 10 p (1-p)^9 = 0.025,
    # the lower end is 1 - 0.975^(1/10) (from P(X >= 1) = 1 - (1-p)^10 = 0.025)
    _, lower, upper = violation_probability_estimate(1, 10, 0.95)
    assert lower == pytest.approx(1 - 0.975 ** (1 / 10), rel=1e-10)
    assert upper == pytest.approx(0.445016, abs=1e-6)


def test_violation_estimate_is_a_json_friendly_tuple():
    est = violation_probability_estimate(2, 50)
    p_hat, _lower, _upper = est
    assert est.p_hat == p_hat == 0.04
    json.dumps(est._asdict())


def test_consistent_with_eps():
    assert consistent_with_eps(0, 1000, 0.01)
    assert consistent_with_eps(15, 1000, 0.01)  # 1.5 % seen, but not significantly above 1 %
    assert not consistent_with_eps(40, 1000, 0.01)


def test_violation_estimate_refuses_bad_counts():
    with pytest.raises(ValueError, match="between 0 and n_trials=10"):
        violation_probability_estimate(11, 10)
    with pytest.raises(ValueError, match="between 0 and n_trials"):
        violation_probability_estimate(-1, 10)
    with pytest.raises(ValueError, match="n_trials"):
        violation_probability_estimate(0, 0)
    with pytest.raises(ValueError, match="confidence"):
        violation_probability_estimate(0, 10, confidence=1.0)


# --------------------------------------------------------------------------- the scenario generator
def test_draw_scenarios_respects_the_class_and_is_seeded():
    from lstmds_sim.safety.scenario import ScenarioClass, draw_scenarios

    cls = ScenarioClass(0.7, horizon=600)
    s = draw_scenarios(50, cls, 5, rng=11)
    assert s.u.shape == (50, 600, 1) and s.h0.shape == (50, 5) and s.c0.shape == (50, 5)
    assert np.all(np.abs(s.u) <= 0.7) and np.all(np.abs(s.h0) <= 0.1) and np.all(np.abs(s.c0) <= 0.1)
    # ... and spread over the whole boxes, both signs (uniform: mean 0, std = half-width / sqrt 3)
    levels = np.concatenate([np.unique(row) for row in s.u[:, :, 0]])
    assert levels.min() < -0.6 and levels.max() > 0.6 and abs(levels.mean()) < 0.1
    for x0 in (s.h0, s.c0):
        assert x0.min() < -0.09 and x0.max() > 0.09
        assert abs(x0.mean()) < 0.02 and x0.std() == pytest.approx(0.1 / np.sqrt(3), rel=0.15)
    for k in range(50):  # levels held 30..200 samples (the last hold may be cut by the horizon)
        changes = np.flatnonzero(np.diff(s.u[k, :, 0]) != 0) + 1
        holds = np.diff(np.concatenate([[0], changes, [600]]))
        assert np.all(holds[:-1] >= 30) and np.all(holds[:-1] <= 200) and holds[-1] <= 200
    again = draw_scenarios(50, cls, 5, rng=11)
    assert np.array_equal(s.u, again.u) and np.array_equal(s.h0, again.h0)
    assert not np.array_equal(s.u, draw_scenarios(50, cls, 5, rng=12).u)


def test_scenario_class_refuses_impossible_values():
    from lstmds_sim.safety.scenario import ScenarioClass

    with pytest.raises(ValueError, match="rho_u must be a non-negative amplitude"):
        ScenarioClass(-0.1)
    with pytest.raises(ValueError, match="hold"):
        ScenarioClass(0.5, hold=(50, 20))


# --------------------------------------------------------------------------- seeded draw blocks (streamed sweeps)
def test_scenario_seed_is_the_spawn_tree():
    """Block b of set (i, j) is SeedSequence(seed).spawn(.)[i].spawn(.)[j].spawn(.)[b], spawned the long way."""
    from lstmds_sim.safety.scenario import scenario_seed

    spawned = np.random.SeedSequence(7).spawn(4)[3].spawn(2)[1].spawn(6)[5]
    direct = scenario_seed(7, (3, 1), 5)
    np.testing.assert_array_equal(direct.generate_state(8), spawned.generate_state(8))
    assert not np.array_equal(scenario_seed(7, (3, 1), 4).generate_state(8), direct.generate_state(8))
    assert not np.array_equal(scenario_seed(7, (3, 0), 5).generate_state(8), direct.generate_state(8))
    assert not np.array_equal(scenario_seed(8, (3, 1), 5).generate_state(8), direct.generate_state(8))
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        scenario_seed(-1, (0, 0), 0)
    with pytest.raises(ValueError, match="key and block"):
        scenario_seed(0, (0, -1), 0)


def test_draw_scenario_range_is_the_same_however_it_is_cut():
    """Any range is the matching rows of the blocks, each drawn by draw_scenarios from its spawned seed."""
    from lstmds_sim.safety.scenario import DRAW_BLOCK, ScenarioClass, draw_scenario_range, draw_scenarios

    cls = ScenarioClass(0.6, horizon=45)
    tree = np.random.SeedSequence(3).spawn(2)[1].spawn(2)[0]  # rho index 1, set 0
    blocks = [draw_scenarios(DRAW_BLOCK, cls, 4, np.random.default_rng(seed)) for seed in tree.spawn(3)]
    reference = [np.concatenate(parts) for parts in zip(*blocks)]  # scenarios 0 .. 3 * DRAW_BLOCK - 1
    for start, stop in [(0, 3 * DRAW_BLOCK), (0, 1), (5, 70), (DRAW_BLOCK, 2 * DRAW_BLOCK), (100, 190), (127, 129)]:
        got = draw_scenario_range(cls, 4, start, stop, seed=3, key=(1, 0))
        for array, ref in zip(got, reference):
            np.testing.assert_array_equal(array, ref[start:stop])
        assert got.u.shape == (stop - start, 45, 1) and got.h0.shape == (stop - start, 4)
    with pytest.raises(ValueError, match="0 <= start < stop"):
        draw_scenario_range(cls, 4, 5, 5, seed=3, key=(1, 0))
