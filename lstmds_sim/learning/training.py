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

JAX runs in float64 inside every public function here (:func:`~lstmds_sim.learning.forward.float64`);
the process-wide JAX setting is left as it is.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ..core.params import FORMS, LSTMParams
from ..core.validation import ShapeError, as_float_array, check_finite, check_input_sequence
from .forward import _arrays_of, _forward_time_major, cpu, float64, lstm_forward
from .options import (
    ARRAY_NAMES,
    THRESHOLD_METHODS,
    WEIGHT_NAMES,
    TrainOptions,
    learning_rates,
)
from ..core.progress import ProgressCallback, Reporter


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
@float64
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



# ---------------------------------------------------------------------------- gradients
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
    sequence = check_input_sequence(u, arrays["W"].shape[1])
    u, steps = sequence.data, sequence.steps
    batched = sequence.batch is not None
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
    data = tuple(jax.device_put(np.ascontiguousarray(x), cpu()) for x in (u, y, h0, c0, weights))
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
@float64
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
    with jax.default_device(cpu()):
        value, grads = _value_and_grad(jax.device_put(arrays, cpu()), data, l2, form)
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


@float64
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
    label: str = "training",
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
        prints ``training: epoch 500/10000  loss 1.234e-03  lr 9.5e-05`` lines (the loss after
        that many epochs and the rate of the last of them) every ``verbose_frequency``
        epochs.  A callable is called as ``progress(epoch, loss, lr)`` at the same points.
    label : str
        Names this run on the progress bar and lines (e.g. ``"lr 1e-3"``).

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
    reporter = Reporter(progress, n_epochs, label=label)
    with jax.default_device(cpu()):
        device = partial(jax.device_put, device=cpu())
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
