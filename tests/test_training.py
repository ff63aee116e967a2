"""Tests of lstmds_sim.learning.training against the numpy reference implementation (lstmds_sim.core.matrix).

The JAX model, loss and gradient are checked against ``simulate`` and central finite
differences; the training loop is checked against a hand-written numpy Adam loop that
uses only ``loss_and_grad`` (so schedule, L2 term, clipping and Adam are all verified
through the updates actually applied).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from lstmds_sim.core.matrix import simulate
from lstmds_sim.core.params import LSTMParams
from lstmds_sim.learning.forward import lstm_forward
from lstmds_sim.learning.options import ARRAY_NAMES, TrainOptions, learning_rates
from lstmds_sim.learning.training import (
    clip_gradients,
    flatten,
    loss_and_grad,
    train,
    unflatten,
)


def random_params(ni: int, nn: int, no: int, seed: int) -> LSTMParams:
    return LSTMParams.random(ni, nn, no, rng=seed, low=-1.0, high=1.0, output_bias=True)


def numpy_loss(params, u, y, *, form="direct", h0=None, c0=None, loss="mse", washout=0) -> float:
    """The loss computed from the numpy reference ``simulate`` (time axis is -2)."""
    err = simulate(params, u, h0, c0, form=form).y - y
    err = err[..., washout:, :]
    if loss == "mse":
        return float(np.mean(err**2))
    steps_and_batch = err.size // err.shape[-1]
    return float(0.5 * np.sum(err**2) / steps_and_batch)  # MATLAB: sum over outputs, mean over steps


# ----------------------------------------------------------------------------- model and loss
@pytest.mark.parametrize("form", ["direct", "statespace"])
@pytest.mark.parametrize("batch", [None, 3])
def test_forward_matches_numpy_reference(form, batch):
    rng = np.random.default_rng(10)
    p = random_params(2, 4, 3, seed=11)
    lead = () if batch is None else (batch,)
    u = rng.standard_normal(lead + (40, 2))
    h0 = rng.uniform(-1, 1, lead + (4,))
    c0 = rng.uniform(-1, 1, lead + (4,))
    got = np.asarray(lstm_forward(p.arrays(), u, h0, c0, form))
    want = simulate(p, u, h0, c0, form=form).y
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    "form, loss, washout, batch",
    [
        ("direct", "mse", 0, None),
        ("statespace", "half-mse", 0, None),
        ("direct", "half-mse", 7, 2),
        ("statespace", "mse", 5, 2),
    ],
)
def test_loss_matches_numpy_loss(form, loss, washout, batch):
    rng = np.random.default_rng(20)
    p = random_params(2, 3, 2, seed=21)  # two outputs: half-mse is not mse / 2 then
    lead = () if batch is None else (batch,)
    u = rng.standard_normal(lead + (30, 2))
    y = rng.standard_normal(lead + (30, 2))
    h0 = rng.uniform(-1, 1, 3)
    opts = TrainOptions(loss=loss, washout=washout)
    value, _ = loss_and_grad(p, u, y, opts, form=form, h0=h0)
    want = numpy_loss(p, u, y, form=form, h0=h0, loss=loss, washout=washout)
    assert value == pytest.approx(want, rel=1e-13)


@pytest.mark.parametrize("form", ["direct", "statespace"])
def test_gradient_matches_central_differences(form):
    # the sizes of test_loss_matches_numpy_loss (unbatched), so that the compiled loss is shared
    rng = np.random.default_rng(30)
    p = random_params(2, 3, 2, seed=31)
    u = rng.standard_normal((30, 2))
    y = rng.standard_normal((30, 2))
    c0 = rng.uniform(-1, 1, 3)
    opts = TrainOptions(washout=3)
    _, grads = loss_and_grad(p, u, y, opts, form=form, c0=c0)
    theta, g = flatten(p), flatten(grads)
    step = 1e-5
    coords = rng.choice(theta.size, size=15, replace=False)

    def loss_at(vector):
        return numpy_loss(LSTMParams(**unflatten(vector, p)), u, y, form=form, c0=c0, washout=3)

    fd = np.empty(coords.size)
    for n, j in enumerate(coords):
        e = np.zeros_like(theta)
        e[j] = step
        fd[n] = (loss_at(theta + e) - loss_at(theta - e)) / (2 * step)
    assert np.linalg.norm(fd - g[coords]) / np.linalg.norm(fd) < 1e-6


def test_regularized_loss_and_grad_adds_weight_decay_on_weights_only():
    rng = np.random.default_rng(35)
    p = random_params(1, 2, 1, seed=36)  # the sizes of small_problem below: the compiled loss is shared
    u, y = rng.standard_normal((30, 1)), rng.standard_normal((30, 1))
    opts = TrainOptions(l2_regularization=0.3)
    v0, g0 = loss_and_grad(p, u, y, opts)
    v1, g1 = loss_and_grad(p, u, y, opts, regularized=True)
    weights = sum(np.sum(p.arrays()[k] ** 2) for k in ("W", "R", "F"))
    assert v1 == pytest.approx(v0 + 0.5 * 0.3 * weights, rel=1e-14)
    for k in ARRAY_NAMES:
        extra = 0.3 * p.arrays()[k] if k in ("W", "R", "F") else 0.0
        np.testing.assert_allclose(g1[k], g0[k] + extra, rtol=1e-13, atol=1e-15)


def test_flatten_unflatten_round_trip():
    p = random_params(2, 3, 2, seed=40)
    v = flatten(p)
    assert v.shape == (p.n_params,)
    np.testing.assert_array_equal(v[: p.W.size], p.W.ravel())  # order W, R, b, F, bF
    np.testing.assert_array_equal(v[-2:], p.bF)
    back = unflatten(v, p)
    assert list(back) == list(ARRAY_NAMES)
    for k, arr in p.arrays().items():
        np.testing.assert_array_equal(back[k], arr)


# ----------------------------------------------------------------------------- schedule and clipping
def test_learning_rate_schedule_is_piecewise():
    opts = TrainOptions(learning_rate=0.04, drop_factor=0.5, drop_period=100, max_epochs=300)
    lrs = learning_rates(opts)
    assert lrs.shape == (300,)
    assert [lrs[e] for e in (0, 99, 100, 250)] == [0.04, 0.04, 0.02, 0.01]
    assert opts.learning_rate_at(199) == 0.02 and opts.learning_rate_at(200) == 0.01
    np.testing.assert_array_equal(learning_rates(TrainOptions(learning_rate=0.1, max_epochs=50)), 0.1)


def test_clipping_per_array_and_global_by_hand():
    grads = {"W": np.full((4, 1), 2.0), "R": np.full((4, 1), 0.25), "b": np.zeros(4)}  # norms 4, 0.5, 0
    per_array = clip_gradients(grads, 1.0, "l2norm")
    np.testing.assert_allclose(per_array["W"], 0.5)  # 4 -> 1
    np.testing.assert_array_equal(per_array["R"], 0.25)  # below the threshold: untouched
    np.testing.assert_array_equal(per_array["b"], 0.0)  # a zero gradient stays zero (no NaN)
    together = clip_gradients(grads, 1.0, "global-l2norm")
    scale = 1.0 / math.sqrt(16 + 0.25)
    np.testing.assert_allclose(together["W"], 2.0 * scale, rtol=1e-15)
    np.testing.assert_allclose(together["R"], 0.25 * scale, rtol=1e-15)
    total = math.sqrt(sum(np.sum(np.asarray(g) ** 2) for g in together.values()))
    assert total == pytest.approx(1.0, rel=1e-15)
    for method in ("l2norm", "global-l2norm"):
        untouched = clip_gradients(grads, math.inf, method)
        for k in grads:
            np.testing.assert_array_equal(untouched[k], grads[k])


# ----------------------------------------------------------------------------- training loop
def reference_adam(params, u, y, opts: TrainOptions, *, form, schedule=None):
    """Full-batch Adam written out in numpy, using only loss_and_grad for the gradient."""
    theta = {k: np.array(v) for k, v in params.arrays().items()}
    names = list(theta) if opts.trainable is None else [k for k in theta if k in opts.trainable]
    m = {k: np.zeros_like(theta[k]) for k in names}
    v = {k: np.zeros_like(theta[k]) for k in names}
    lr = learning_rates(opts) if schedule is None else schedule
    history = []
    for epoch in range(opts.max_epochs):
        loss, g = loss_and_grad(LSTMParams(**theta), u, y, opts, form=form)
        history.append(loss)
        g = {k: g[k] + (opts.l2_regularization * theta[k] if k in ("W", "R", "F") else 0.0) for k in names}
        if opts.threshold_method == "l2norm":
            g = {k: gk * min(1.0, opts.gradient_threshold / np.linalg.norm(gk)) for k, gk in g.items()}
        else:
            norm = math.sqrt(sum(np.sum(gk**2) for gk in g.values()))
            g = {k: gk * min(1.0, opts.gradient_threshold / norm) for k, gk in g.items()}
        t = epoch + 1
        for k in names:
            m[k] = opts.beta1 * m[k] + (1 - opts.beta1) * g[k]
            v[k] = opts.beta2 * v[k] + (1 - opts.beta2) * g[k] ** 2
            m_hat, v_hat = m[k] / (1 - opts.beta1**t), v[k] / (1 - opts.beta2**t)
            theta[k] = theta[k] - lr[epoch] * m_hat / (np.sqrt(v_hat) + opts.epsilon)
    history.append(loss_and_grad(LSTMParams(**theta), u, y, opts, form=form)[0])
    return np.array(history), theta


CASES = {
    # per-array clipping, L2 on weights, all arrays trained; three chunks of 10, 10 and 5 epochs with the
    # learning rate dropping at 8, 16 and 24, inside the chunks
    "direct": dict(
        form="direct",
        opts=TrainOptions(learning_rate=0.01, drop_factor=0.5, drop_period=8, max_epochs=25,
                          gradient_threshold=0.05, l2_regularization=1e-2, verbose_frequency=10),
    ),
    # global clipping, half-mse with washout, only W, R and F trained
    "statespace-subset": dict(
        form="statespace",
        opts=TrainOptions(learning_rate=0.01, drop_factor=0.5, drop_period=8, max_epochs=25,
                          gradient_threshold=0.05, threshold_method="global-l2norm", loss="half-mse",
                          washout=5, trainable=frozenset({"W", "R", "F"}), verbose_frequency=10),
    ),
}


@pytest.fixture(scope="module")
def small_problem():
    rng = np.random.default_rng(50)
    teacher = random_params(1, 2, 1, seed=51)
    u = rng.standard_normal((30, 1))
    return random_params(1, 2, 1, seed=52), u, simulate(teacher, u).y


@pytest.fixture(scope="module", params=list(CASES))
def trained_case(request, small_problem):
    start, u, y = small_problem
    case = CASES[request.param]
    result = train(start, u, y, case["opts"], form=case["form"], progress=False)
    return request.param, case, result


def test_training_applies_schedule_clipping_and_adam_like_numpy_reference(trained_case, small_problem):
    start, u, y = small_problem
    _, case, result = trained_case
    opts = case["opts"]
    history, theta = reference_adam(start, u, y, opts, form=case["form"])
    assert result.history.shape == (opts.max_epochs + 1,)
    np.testing.assert_allclose(result.history, history, rtol=1e-10)
    for k, arr in theta.items():
        np.testing.assert_allclose(getattr(result.params, k), arr, rtol=1e-9, atol=1e-12)
    # The schedule matters: without the drops, or with each drop one epoch early, the run differs;
    # so do the clipping and the L2 term: without them the run differs too.
    for wrong in (np.full(opts.max_epochs, opts.learning_rate), learning_rates(opts, opts.max_epochs + 1)[1:]):
        other, _ = reference_adam(start, u, y, opts, form=case["form"], schedule=wrong)
        assert np.max(np.abs(other - result.history) / result.history) > 1e-6
    for wrong in (opts.replace(gradient_threshold=math.inf), opts.replace(l2_regularization=0.0)):
        other, _ = reference_adam(start, u, y, wrong, form=case["form"])
        assert np.max(np.abs(other - result.history) / result.history) > 1e-6


def test_trainable_subset_leaves_other_arrays_unchanged(trained_case, small_problem):
    start, _, _ = small_problem
    _, case, result = trained_case
    trainable = case["opts"].trainable or set(ARRAY_NAMES)
    for k in ARRAY_NAMES:
        same = np.array_equal(getattr(result.params, k), getattr(start, k))
        assert same == (k not in trainable), k


def test_result_bookkeeping(trained_case, small_problem):
    _, u, y = small_problem
    _, _, r = trained_case
    assert r.initial_loss == r.history[0] and r.final_loss == r.history[-1]
    assert r.best_epoch == int(np.argmin(r.history)) and r.epochs_run == r.options.max_epochs
    best_loss, _ = loss_and_grad(r.best_params, u, y, r.options, form=r.form)
    assert best_loss == pytest.approx(r.history[r.best_epoch], rel=1e-12)


# A longer run from a teacher network's output (300 epochs in chunks of 100, progress shown as lines or
# through a callback) is trained in two fresh Pythons by test_determinism: there it must reduce the loss
# fivefold, print its progress lines, call the callback, and be bitwise the same in both processes.


def test_non_finite_loss_stops_training_with_a_warning(small_problem):
    start, u, y = small_problem
    opts = CASES["direct"]["opts"]  # its training loop is compiled already (trained_case)
    with pytest.warns(RuntimeWarning, match="non-finite"):
        r = train(start, u, 1e200 * np.ones_like(y), opts, progress=False)  # (1e200)^2 overflows
    assert r.epochs_run == opts.verbose_frequency and np.isnan(r.history[opts.verbose_frequency + 1:]).all()
    assert np.isinf(r.history[0])


# ----------------------------------------------------------------------------- options
@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(learning_rate=0.0), "learning_rate"),
        (dict(learning_rate=-1e-3), "learning_rate"),
        (dict(drop_factor=0.0), "drop_factor"),
        (dict(drop_factor=1.5), "drop_factor"),
        (dict(drop_period=0), "drop_period"),
        (dict(max_epochs=2.5), "max_epochs"),
        (dict(verbose_frequency=-1), "verbose_frequency"),
        (dict(gradient_threshold=0), "gradient_threshold"),
        (dict(threshold_method="l1"), "threshold_method"),
        (dict(l2_regularization=-1), "l2_regularization"),
        (dict(beta2=1.0), "beta2"),
        (dict(loss="mae"), "loss"),
        (dict(washout=-1), "washout"),
        (dict(trainable={"W", "Q"}), "unknown array"),
    ],
)
def test_invalid_options_raise_clear_errors(changes, message):
    with pytest.raises(ValueError, match=message):
        TrainOptions(**changes)


def test_invalid_training_inputs_raise_clear_errors():
    p = random_params(1, 2, 1, seed=70)
    u, y = np.zeros((10, 1)), np.zeros((10, 1))
    with pytest.raises(ValueError, match="washout"):
        train(p, u, y, TrainOptions(washout=10), progress=False)
    with pytest.raises(ValueError, match="form"):
        train(p, u, y, form="bonassi", progress=False)
    with pytest.raises(ValueError, match="y \\(target sequence\\)"):
        train(p, u, np.zeros((9, 1)), progress=False)
    with pytest.raises(ValueError, match="trainable"):
        train(LSTMParams(p.W, p.R, p.b), u, np.zeros((10, 2)), TrainOptions(trainable={"F"}), progress=False)
    with pytest.raises(TypeError, match="unknown option"):
        TrainOptions().replace(learn_rate=1.0)
