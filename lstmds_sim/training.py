"""Full-batch training of one LSTM layer with JAX and optax (Adam), in float64 on the CPU.

The set-up mirrors the MATLAB example (``trainNetwork`` with ``trainingOptions("adam", ...)``):
the whole input sequence is one mini-batch, so **one epoch is one Adam step** on the
full sequence.  Every epoch does, in this order::

    loss, g = value_and_grad(loss)(theta)       # data loss of the weights *before* the step
    g[W, R, F] += l2_regularization * theta      # L2 (weight decay) on weights, not biases
    g = clip(g)                                  # "l2norm": each array alone; "global-l2norm": all
    theta -= lr(epoch) * adam(g)                 # Adam direction m_hat / (sqrt(v_hat) + epsilon)

with the piecewise learning-rate schedule ``lr(epoch) = lr0 * drop_factor ** floor(epoch / drop_period)``
(epochs counted from 0, so the first drop happens after ``drop_period`` epochs, as in MATLAB).

Loss (``y_hat`` the LSTM output, ``y`` the target; time steps ``k >= washout`` only)::

    "mse"       mean over steps, outputs and sequences of (y_hat - y)^2
    "half-mse"  MATLAB's regressionLayer: 0.5 * sum over outputs, mean over steps and sequences
                (equal to mse / 2 when there is one output)

The training loop is compiled once: a jitted chunk function runs ``verbose_frequency``
epochs with ``jax.lax.fori_loop`` and Python reports progress between chunks.  The result
does not depend on the chunking or on whether progress is shown, and two runs with the
same inputs are bitwise identical (there is no randomness in training itself).

Importing this module switches JAX to 64-bit floats (``jax_enable_x64``).
"""

from __future__ import annotations

import math
import os
import sys
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .matrix import FORMS, check_input_sequence
from .params import LSTMParams
from .validation import ShapeError, as_float_array, check_finite

jax.config.update("jax_enable_x64", True)  # float64 everywhere (set before any array is made)

ARRAY_NAMES = ("W", "R", "b", "F", "bF")
"""Learnable arrays in their fixed order (also the order of :func:`flatten`)."""

WEIGHT_NAMES = ("W", "R", "F")
"""Arrays that L2 regularisation acts on (MATLAB: the biases' L2 factor is 0)."""

LOSSES = ("mse", "half-mse")
THRESHOLD_METHODS = ("l2norm", "global-l2norm")

_CPU = jax.devices("cpu")[0]
# Time steps per iteration of the compiled scan loop: 8 makes long sequences about 1.5x
# faster on the CPU but costs compile time, so short sequences (tests) use 1.
_UNROLL, _UNROLL_FROM_STEPS = 8, 256


# ---------------------------------------------------------------------------- options
@dataclass(frozen=True)
class TrainOptions:
    """Training options, named after MATLAB's ``trainingOptions("adam", ...)``.

    Defaults are MATLAB's, except where noted.

    Attributes
    ----------
    learning_rate : float
        ``InitialLearnRate`` (MATLAB's Adam default 1e-3).
    drop_factor : float
        ``LearnRateDropFactor`` in (0, 1]; 1 (the default) means a constant rate,
        i.e. MATLAB's ``LearnRateSchedule="none"``.
    drop_period : int
        ``LearnRateDropPeriod`` in epochs (MATLAB default 10; the example uses 100).
    max_epochs : int
        ``MaxEpochs`` (MATLAB default 30; the example uses 10,000).
    gradient_threshold : float
        ``GradientThreshold`` (default ``inf``: no clipping).
    threshold_method : {"l2norm", "global-l2norm"}
        ``GradientThresholdMethod``.  ``"l2norm"`` (MATLAB's default) rescales the
        gradient of each learnable array (W, R, b, F, bF) separately to L2 norm
        ``gradient_threshold`` when it is larger; ``"global-l2norm"`` rescales all
        trained arrays together by the norm of their concatenation.
    l2_regularization : float
        ``L2Regularization``: ``l2_regularization * theta`` is added to the gradient of
        the weights W, R, F (biases are not regularised, as MATLAB's default bias L2
        factor is 0).  MATLAB's default is 1e-4; pass 0 for none.  The recorded loss
        is the data loss without this term.
    beta1, beta2, epsilon : float
        ``GradientDecayFactor``, ``SquaredGradientDecayFactor`` and ``Epsilon`` of Adam.
    verbose_frequency : int
        ``VerboseFrequency``: progress every this many epochs (MATLAB default 50).
        It also sets the chunk length of the compiled loop.
    washout : int
        Not a MATLAB option: the first ``washout`` time steps are left out of the loss
        (default 0).
    trainable : frozenset of str or None
        Names among W, R, b, F, bF that are trained; the others stay exactly as given.
        ``None`` (default) trains every array the parameters have.
    loss : {"mse", "half-mse"}
        Not a MATLAB option name: ``"mse"`` (default) is the mean squared error;
        ``"half-mse"`` is MATLAB's regressionLayer loss (see the module docstring).
    """

    learning_rate: float = 1e-3
    drop_factor: float = 1.0
    drop_period: int = 10
    max_epochs: int = 30
    gradient_threshold: float = math.inf
    threshold_method: str = "l2norm"
    l2_regularization: float = 1e-4
    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8
    verbose_frequency: int = 50
    washout: int = 0
    trainable: frozenset[str] | None = None
    loss: str = "mse"

    def __post_init__(self) -> None:
        def number(name: str) -> float:
            value = getattr(self, name)
            if isinstance(value, bool):
                raise TypeError(f"{name} must be a number, got {value!r}")
            try:
                return float(value)
            except (TypeError, ValueError):
                raise TypeError(f"{name} must be a number, got {value!r}") from None

        def count(name: str, minimum: int) -> int:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
                what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
                raise ValueError(f"{name} must be {what}, got {value!r}")
            return int(value)

        lr = number("learning_rate")
        if not (math.isfinite(lr) and lr > 0):
            raise ValueError(
                f"learning_rate (InitialLearnRate) must be a finite number > 0, got {self.learning_rate!r}"
            )
        drop = number("drop_factor")
        if not (0 < drop <= 1):
            raise ValueError(
                f"drop_factor (LearnRateDropFactor) must lie in (0, 1], got {self.drop_factor!r}; "
                "use 1 for a constant learning rate"
            )
        threshold = number("gradient_threshold")
        if not threshold > 0:  # also refuses NaN
            raise ValueError(f"gradient_threshold must be > 0 (inf for no clipping), got {self.gradient_threshold!r}")
        if self.threshold_method not in THRESHOLD_METHODS:
            raise ValueError(f"threshold_method must be one of {THRESHOLD_METHODS}, got {self.threshold_method!r}")
        l2 = number("l2_regularization")
        if not (math.isfinite(l2) and l2 >= 0):
            raise ValueError(f"l2_regularization must be a finite number >= 0, got {self.l2_regularization!r}")
        for name in ("beta1", "beta2"):
            beta = number(name)
            if not (0 <= beta < 1):
                raise ValueError(f"{name} must lie in [0, 1), got {getattr(self, name)!r}")
        eps = number("epsilon")
        if not (math.isfinite(eps) and eps > 0):
            raise ValueError(f"epsilon must be a finite number > 0, got {self.epsilon!r}")
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        checked = dict(
            learning_rate=lr, drop_factor=drop, gradient_threshold=threshold, l2_regularization=l2,
            beta1=float(self.beta1), beta2=float(self.beta2), epsilon=eps,
            drop_period=count("drop_period", 1), max_epochs=count("max_epochs", 1),
            verbose_frequency=count("verbose_frequency", 1), washout=count("washout", 0),
        )
        if self.trainable is not None:
            names = {self.trainable} if isinstance(self.trainable, str) else set(self.trainable)
            unknown = sorted(names - set(ARRAY_NAMES))
            if unknown:
                raise ValueError(f"trainable: unknown array name(s) {unknown}; choose from {ARRAY_NAMES}")
            if not names:
                raise ValueError("trainable is empty: name at least one of W, R, b, F, bF (or None for all)")
            checked["trainable"] = frozenset(names)
        for name, value in checked.items():
            object.__setattr__(self, name, value)

    def replace(self, **changes) -> TrainOptions:
        """A copy with some options changed (validated again)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        unknown = sorted(set(changes) - set(values))
        if unknown:
            raise TypeError(f"unknown option(s) {unknown}; options are {sorted(values)}")
        values.update(changes)
        return TrainOptions(**values)

    def learning_rate_at(self, epoch: int) -> float:
        """The learning rate of epoch ``epoch`` (counted from 0)."""
        return float(learning_rates(self, epoch + 1)[epoch])


def learning_rates(options: TrainOptions, epochs: int | None = None) -> np.ndarray:
    """The piecewise learning-rate schedule, one rate per epoch (epochs counted from 0).

    ``lr(e) = learning_rate * drop_factor ** floor(e / drop_period)``; training uses
    exactly these numbers.  ``epochs`` defaults to ``options.max_epochs``.
    """
    n = options.max_epochs if epochs is None else int(epochs)
    drops = np.arange(n) // options.drop_period
    return options.learning_rate * np.power(options.drop_factor, drops.astype(float))


# ---------------------------------------------------------------------------- model
def _arrays_of(params) -> dict[str, np.ndarray]:
    if isinstance(params, LSTMParams):
        return params.arrays()
    if isinstance(params, Mapping):
        return {k: params[k] for k in ARRAY_NAMES if k in params and params[k] is not None}
    raise TypeError(
        f"expected one LSTMParams (one layer) or a dict of arrays W, R, b[, F, bF], got {type(params).__name__}"
    )


def _forward_time_major(arrays, u, h0, c0, form: str):
    """LSTM output, time-major: ``u`` is (T, Ni) or (T, B, Ni); ``h0``, ``c0`` (Nn,) or (B, Nn).

    The input term ``W u(k) + b`` of all steps is one matrix product before the loop;
    the loop itself (``jax.lax.scan``) only adds ``R h(k-1)``.
    """
    n = arrays["R"].shape[1]
    R_T = arrays["R"].T
    drive = u @ arrays["W"].T + arrays["b"]  # (T, [B,] 4 Nn)

    def cell(carry, drive_k):
        h, c = carry
        z = drive_k + h @ R_T
        s = jax.nn.sigmoid(z)  # i, f, o use it; the g block is recomputed with tanh
        i, f, o = s[..., :n], s[..., n : 2 * n], s[..., 3 * n :]
        g = jnp.tanh(z[..., 2 * n : 3 * n])
        c = f * c + i * g
        h = o * jnp.tanh(c)
        return (h, c), h

    unroll = _UNROLL if drive.shape[0] >= _UNROLL_FROM_STEPS else 1
    _, H = jax.lax.scan(cell, (h0, c0), drive, unroll=unroll)  # H[k] = h(k)
    if form == "statespace":
        H = jnp.concatenate([h0[None], H[:-1]], axis=0)  # y(k) reads h(k-1)
    if "F" not in arrays:
        return H
    return H @ arrays["F"].T + arrays["bF"]


def lstm_forward(arrays: Mapping[str, jax.Array], u, h0=None, c0=None, form: str = "direct") -> jax.Array:
    """Output sequence of one LSTM layer, in ``jax.numpy`` (differentiable, jit-able).

    Same equations as :func:`lstmds_sim.matrix.simulate`::

        z(k) = W u(k) + R h(k-1) + b            gates stacked [i; f; g; o]
        c(k) = sig(z_f) * c(k-1) + sig(z_i) * tanh(z_g)
        h(k) = sig(z_o) * tanh(c(k))
        direct:      y(k) = F h(k)   + bF
        statespace:  y(k) = F h(k-1) + bF       (y = h when there is no F)

    Parameters
    ----------
    arrays : dict with ``W`` (4Nn, Ni), ``R`` (4Nn, Nn), ``b`` (4Nn,) and optionally ``F`` (No, Nn), ``bF`` (No,)
    u : array (T, Ni) or batched (B, T, Ni)
    h0, c0 : initial states (Nn,) or (B, Nn); zeros when None
    form : ``"direct"`` or ``"statespace"``

    Returns
    -------
    y : jax array (T, No) or (B, T, No)
    """
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, got {form!r}")
    u = jnp.asarray(u, dtype=jnp.float64)
    batched = u.ndim == 3
    n = arrays["R"].shape[1]
    shape = (u.shape[0], n) if batched else (n,)
    h0 = jnp.zeros(shape) if h0 is None else jnp.broadcast_to(jnp.asarray(h0, dtype=u.dtype), shape)
    c0 = jnp.zeros(shape) if c0 is None else jnp.broadcast_to(jnp.asarray(c0, dtype=u.dtype), shape)
    u_tm = jnp.swapaxes(u, 0, 1) if batched else u
    y = _forward_time_major(arrays, u_tm, h0, c0, form)
    return jnp.swapaxes(y, 0, 1) if batched else y


def _data_loss(arrays, data, form: str):
    """Weighted sum of squared errors; the per-step weights hold washout and normalisation."""
    u, y, h0, c0, weights = data
    err = _forward_time_major(arrays, u, h0, c0, form) - y
    return jnp.sum(weights.reshape((-1,) + (1,) * (err.ndim - 1)) * err * err)


def _step_weights(steps: int, batch: int, outputs: int, options: TrainOptions) -> np.ndarray:
    """Per-time-step loss weights: 0 during the washout, else the normalisation of the loss."""
    used = steps - options.washout
    scale = 1.0 / (used * batch * outputs) if options.loss == "mse" else 0.5 / (used * batch)
    weights = np.full(steps, scale)
    weights[: options.washout] = 0.0
    return weights


# ---------------------------------------------------------------------------- gradients
def clip_gradients(grads: Mapping, threshold: float, method: str = "l2norm") -> dict:
    """Gradient clipping as in MATLAB's ``GradientThresholdMethod``.

    ``"l2norm"``: every array whose L2 (Frobenius) norm exceeds ``threshold`` is
    rescaled to norm ``threshold``, each array on its own.  ``"global-l2norm"``: when
    the norm of all arrays together exceeds ``threshold``, all are rescaled by the same
    factor ``threshold / norm``.  Takes numpy or jax arrays (also under ``jit``) and
    returns jax arrays.
    """
    if method not in THRESHOLD_METHODS:
        raise ValueError(f"method must be one of {THRESHOLD_METHODS}, got {method!r}")

    def factor(norm):
        return jnp.where(norm > threshold, threshold / norm, 1.0)

    if method == "l2norm":
        return {k: g * factor(jnp.sqrt(jnp.sum(g * g))) for k, g in grads.items()}
    total = jnp.sqrt(sum(jnp.sum(g * g) for g in grads.values()))
    scale = factor(total)
    return {k: g * scale for k, g in grads.items()}


class _Spec(NamedTuple):
    """The static (compile-time) part of a training run; everything else is traced data."""

    form: str
    threshold_method: str
    trainable: tuple[str, ...]
    chunk: int


def _epoch(spec: _Spec, fixed, data, hyper, lr, train, opt_state):
    """One epoch: loss and gradient, L2 term, clipping, one Adam step.  Returns (loss, train, opt_state)."""
    loss, grads = jax.value_and_grad(lambda t: _data_loss({**fixed, **t}, data, spec.form))(train)
    grads = {k: g + hyper["l2"] * train[k] if k in WEIGHT_NAMES else g for k, g in grads.items()}
    grads = clip_gradients(grads, hyper["threshold"], spec.threshold_method)
    adam = optax.scale_by_adam(b1=hyper["beta1"], b2=hyper["beta2"], eps=hyper["epsilon"])
    direction, opt_state = adam.update(grads, opt_state)
    train = {k: train[k] - lr * direction[k] for k in train}
    return loss, train, opt_state


@partial(jax.jit, static_argnames=("spec",))
def _run_chunk(spec: _Spec, carry, fixed, data, hyper, lrs, start, stop):
    """Epochs ``start .. stop-1`` (at most ``spec.chunk``) under one jit.

    ``carry`` is ``(train, opt_state, best, best_loss)``; ``lrs`` holds the learning
    rates of these epochs (padded to ``spec.chunk``, so the compiled function does not
    depend on ``max_epochs``).  Returns the new carry, the
    losses of these epochs (weights before each update; padded to ``spec.chunk``) and
    the loss after the last update.
    """

    def body(epoch, state):
        (train, opt_state, best, best_loss), losses = state
        loss, new_train, opt_state = _epoch(spec, fixed, data, hyper, lrs[epoch - start], train, opt_state)
        better = loss < best_loss  # strict: the first of equal minima wins, like np.argmin
        best = jax.tree.map(lambda b, t: jnp.where(better, t, b), best, train)
        best_loss = jnp.where(better, loss, best_loss)
        losses = losses.at[epoch - start].set(loss)
        return (new_train, opt_state, best, best_loss), losses

    losses = jnp.full(spec.chunk, jnp.nan)
    carry, losses = jax.lax.fori_loop(start, stop, body, (carry, losses))
    loss_after = _data_loss({**fixed, **carry[0]}, data, spec.form)
    return carry, losses, loss_after


@partial(jax.jit, static_argnames=("form",))
def _value_and_grad(arrays, data, l2, form):
    """Data loss plus ``0.5 * l2 * sum ||w||^2`` over the weights, and its gradient."""

    def objective(a):
        penalty = sum(jnp.sum(a[k] * a[k]) for k in WEIGHT_NAMES if k in a)
        return _data_loss(a, data, form) + 0.5 * l2 * penalty

    return jax.value_and_grad(objective)(arrays)


# ---------------------------------------------------------------------------- data preparation
def _prepare(params, u, y, options: TrainOptions, form: str, h0, c0):
    """Check shapes and build the time-major device arrays ``(u, y, h0, c0, weights)``."""
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, got {form!r}")
    arrays = {k: np.asarray(v, dtype=np.float64) for k, v in _arrays_of(params).items()}
    if isinstance(params, Mapping):
        LSTMParams(**arrays)  # validates the shapes of a plain dict
    n_units = arrays["R"].shape[1]
    n_out = arrays["F"].shape[0] if "F" in arrays else n_units
    u = check_input_sequence(u, arrays["W"].shape[1])
    batched = u.ndim == 3
    steps = u.shape[-2]
    y = check_finite(as_float_array(y, "y (target sequence)"), "y (target sequence)")
    if y.ndim == u.ndim - 1 and n_out == 1:
        y = y[..., None]
    if y.shape != u.shape[:-1] + (n_out,):
        expected = u.shape[:-1] + (n_out,)
        raise ShapeError(f"y (target sequence) has shape {y.shape}, expected {expected} to match u {u.shape}")
    if options.washout >= steps:
        raise ValueError(f"washout={options.washout} leaves no time step of the {steps} in the loss")
    batch_shape = u.shape[:1] if batched else ()

    def state(value, name):
        if value is None:
            return np.zeros(batch_shape + (n_units,))
        arr = check_finite(as_float_array(value, name), name)
        if arr.shape not in ((n_units,), batch_shape + (n_units,)):
            expected = f"({n_units},)" + (f" or {batch_shape + (n_units,)}" if batched else "")
            raise ShapeError(f"{name} has shape {arr.shape}, expected {expected}")
        return np.broadcast_to(arr, batch_shape + (n_units,))

    h0 = state(h0, "h0 (initial hidden state)")
    c0 = state(c0, "c0 (initial cell state)")
    if batched:  # time-major for the scan
        u, y = np.swapaxes(u, 0, 1), np.swapaxes(y, 0, 1)
    weights = _step_weights(steps, u.shape[1] if batched else 1, n_out, options)
    data = tuple(jax.device_put(np.ascontiguousarray(x), _CPU) for x in (u, y, h0, c0, weights))
    return arrays, data


# ---------------------------------------------------------------------------- flat vectors
def flatten(arrays) -> np.ndarray:
    """One float64 vector of all arrays, in the order W, R, b, F, bF (row-major each)."""
    arrays = _arrays_of(arrays)
    return np.concatenate([np.ravel(np.asarray(arrays[k], dtype=np.float64)) for k in ARRAY_NAMES if k in arrays])


def unflatten(vector, like) -> dict[str, np.ndarray]:
    """Inverse of :func:`flatten`: split ``vector`` into arrays shaped like those of ``like``."""
    like = _arrays_of(like)
    vector = np.asarray(vector, dtype=np.float64)
    sizes = {k: np.size(like[k]) for k in ARRAY_NAMES if k in like}
    if vector.shape != (sum(sizes.values()),):
        raise ShapeError(f"vector has shape {vector.shape}, expected ({sum(sizes.values())},) for arrays {list(sizes)}")
    out, start = {}, 0
    for k, size in sizes.items():
        out[k] = vector[start : start + size].reshape(np.shape(like[k])).copy()
        start += size
    return out


# ---------------------------------------------------------------------------- public API
def loss_and_grad(
    params,
    u,
    y,
    options: TrainOptions | None = None,
    *,
    form: str = "direct",
    h0=None,
    c0=None,
    regularized: bool = False,
) -> tuple[float, dict[str, np.ndarray]]:
    """Loss and its gradient with respect to every array (numpy, float64).

    Uses ``options.loss`` and ``options.washout`` (defaults: mse, no washout).  With
    ``regularized=True`` the loss includes ``0.5 * l2_regularization * sum ||w||^2``
    over the weights W, R, F, the objective whose gradient training follows; the
    default is the plain data loss that training records.  ``options.trainable`` is
    ignored: gradients of all arrays are returned.
    """
    options = TrainOptions() if options is None else options
    arrays, data = _prepare(params, u, y, options, form, h0, c0)
    l2 = options.l2_regularization if regularized else 0.0
    with jax.default_device(_CPU):
        value, grads = _value_and_grad(jax.device_put(arrays, _CPU), data, l2, form)
    return float(value), {k: np.asarray(g) for k, g in grads.items()}


@dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes
    ----------
    params : LSTMParams
        Weights after the last epoch run (the best weights if those are not finite).
    history : ndarray (max_epochs + 1,)
        ``history[e]`` is the loss of the weights after ``e`` epochs (``history[0]`` the
        initial loss, ``history[-1]`` the final one); NaN after an early stop.
    best_epoch : int
        Index into ``history`` of the lowest loss (the first one when tied).
    best_params : LSTMParams
        The weights with that loss.
    final_loss, initial_loss : float
    elapsed_s : float
        Wall-clock seconds of the whole call, compilation included.
    options : TrainOptions
    epochs_run : int
        Epochs actually run (less than ``max_epochs`` only if the loss became non-finite).
    form : str
    """

    params: LSTMParams
    history: np.ndarray
    best_epoch: int
    best_params: LSTMParams
    final_loss: float
    initial_loss: float
    elapsed_s: float
    options: TrainOptions
    epochs_run: int = 0
    form: str = "direct"

    def __repr__(self) -> str:
        return (
            f"TrainResult(epochs={self.epochs_run}, initial_loss={self.initial_loss:.4g}, "
            f"final_loss={self.final_loss:.4g}, best_loss={self.history[self.best_epoch]:.4g} "
            f"at epoch {self.best_epoch}, elapsed_s={self.elapsed_s:.2f})"
        )


ProgressCallback = Callable[[int, float, float], None]


class _Reporter:
    """Progress between chunks: a tqdm bar on a terminal, plain lines otherwise."""

    def __init__(self, progress, total: int):
        self.total = total
        self.callback: ProgressCallback | None = None
        self.bar = None
        self.lines = False
        if callable(progress):
            self.callback = progress
            return
        if progress is False:
            return
        if progress in (None, True):
            in_ci = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
            progress = "bar" if sys.stderr.isatty() and not in_ci else "lines"
        if progress == "bar":
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, unit="epoch", file=sys.stderr, dynamic_ncols=True)
        elif progress == "lines":
            self.lines = True
        else:
            raise ValueError(f"progress must be None, True, False, 'bar', 'lines' or a callable, got {progress!r}")

    def update(self, epoch: int, done: int, loss: float, lr: float) -> None:
        if self.callback is not None:
            self.callback(epoch, loss, lr)
        if self.bar is not None:
            self.bar.set_postfix_str(f"loss {loss:.3e}  lr {lr:.1e}", refresh=False)
            self.bar.update(done)  # redraws, postfix included
        if self.lines:
            width = len(str(self.total))
            print(f"epoch {epoch:>{width}}/{self.total}  loss {loss:.3e}  lr {lr:.1e}", flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def train(
    params: LSTMParams,
    u,
    y,
    options: TrainOptions | None = None,
    *,
    form: str = "direct",
    h0=None,
    c0=None,
    progress: bool | str | ProgressCallback | None = None,
) -> TrainResult:
    """Train one LSTM layer on one sequence (or a batch of sequences) with full-batch Adam.

    Every epoch is one Adam step on the whole data (see the module docstring for the
    order of loss, L2 term, clipping and update).  The initial states ``h0``, ``c0``
    are fixed, not trained.

    Parameters
    ----------
    params : LSTMParams
        Starting weights (one layer, usually with an output layer F, bF).
    u : array (T, Ni) or (B, T, Ni)
        Input sequence(s); (T,) is accepted when Ni = 1.
    y : array (T, No) or (B, T, No)
        Target sequence(s); (T,) is accepted when No = 1.
    options : TrainOptions
        Defaults to ``TrainOptions()`` (MATLAB's defaults).
    form : ``"direct"`` or ``"statespace"``
    h0, c0 : initial states (Nn,) or (B, Nn); zeros by default.
    progress : None/True (auto), False (silent), ``"bar"``, ``"lines"`` or a callable
        Auto shows a tqdm bar when stderr is a terminal and ``CI`` is not set, else
        prints ``epoch 500/10000  loss 1.234e-03  lr 9.5e-05`` lines (the loss after
        that many epochs and the rate of the last of them) every ``verbose_frequency``
        epochs.  A callable is called as ``progress(epoch, loss, lr)`` at the same points.

    Returns
    -------
    TrainResult
    """
    start_time = time.perf_counter()
    options = TrainOptions() if options is None else options
    if not isinstance(options, TrainOptions):
        raise TypeError(f"options must be a TrainOptions, got {type(options).__name__}")
    if not isinstance(params, LSTMParams):
        raise TypeError(f"params must be one LSTMParams (a single layer), got {type(params).__name__}")
    arrays, data = _prepare(params, u, y, options, form, h0, c0)
    names = tuple(k for k in ARRAY_NAMES if k in arrays)
    trainable = names if options.trainable is None else tuple(k for k in names if k in options.trainable)
    missing = sorted(set(options.trainable or ()) - set(names))
    if missing:
        raise ValueError(f"trainable names {missing} but these parameters have only {list(names)}")

    n_epochs = options.max_epochs
    chunk = min(options.verbose_frequency, n_epochs)
    spec = _Spec(form, options.threshold_method, trainable, chunk)
    hyper = {
        "l2": options.l2_regularization,
        "threshold": options.gradient_threshold,
        "beta1": options.beta1,
        "beta2": options.beta2,
        "epsilon": options.epsilon,
    }
    lrs_np = learning_rates(options)
    history = np.full(n_epochs + 1, np.nan)
    reporter = _Reporter(progress, n_epochs)
    with jax.default_device(_CPU):
        device = partial(jax.device_put, device=_CPU)
        train_arrays = device({k: arrays[k] for k in trainable})
        fixed = device({k: arrays[k] for k in names if k not in trainable})
        hyper = device({k: np.float64(v) for k, v in hyper.items()})
        opt_state = optax.scale_by_adam().init(train_arrays)
        carry = (train_arrays, opt_state, train_arrays, jnp.asarray(np.inf))
        epoch = 0
        try:
            while epoch < n_epochs:
                stop = min(epoch + chunk, n_epochs)
                lrs = np.zeros(chunk)
                lrs[: stop - epoch] = lrs_np[epoch:stop]
                carry, losses, loss_after = _run_chunk(spec, carry, fixed, data, hyper, device(lrs), epoch, stop)
                history[epoch:stop] = np.asarray(losses)[: stop - epoch]
                history[stop] = float(loss_after)
                reporter.update(stop, stop - epoch, history[stop], float(lrs_np[stop - 1]))
                epoch = stop
                if not np.all(np.isfinite(history[: stop + 1])):
                    bad = int(np.flatnonzero(~np.isfinite(history))[0])
                    history[bad + 1 :] = np.nan
                    warnings.warn(
                        f"training stopped after {stop} epochs: the loss became non-finite at epoch {bad}; "
                        "lower learning_rate or set gradient_threshold",
                        RuntimeWarning,
                        stacklevel=2,
                    )
                    break
        finally:
            reporter.close()
    trained, _, best, best_loss = carry
    final_loss = float(history[epoch])
    if final_loss < float(best_loss):  # the last weights were never an epoch's "before" weights
        best = trained
    finite = np.isfinite(history)
    best_epoch = int(np.nanargmin(history)) if finite.any() else 0
    trained = {k: np.asarray(v) for k, v in trained.items()}
    best_params = params.replace(**{k: np.asarray(v) for k, v in best.items()})
    if not all(np.all(np.isfinite(v)) for v in trained.values()):
        warnings.warn(
            "the last weights are not finite; TrainResult.params holds the best weights", RuntimeWarning, stacklevel=2
        )
        final_params = best_params
    else:
        final_params = params.replace(**trained)
    return TrainResult(
        params=final_params,
        history=history,
        best_epoch=best_epoch,
        best_params=best_params,
        final_loss=final_loss,
        initial_loss=float(history[0]),
        elapsed_s=time.perf_counter() - start_time,
        options=options,
        epochs_run=epoch,
        form=form,
    )


__all__ = [
    "ARRAY_NAMES", "TrainOptions", "TrainResult", "clip_gradients", "flatten", "learning_rates",
    "loss_and_grad", "lstm_forward", "train", "unflatten",
]
