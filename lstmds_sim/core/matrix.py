"""Plain-numpy LSTM: the independent matrix implementation the block diagram is checked against.

Two output conventions of the same recursion (``k`` is the step index)::

    z(k) = W u(k) + R h(k-1) + b,         gates stacked [i; f; g; o]
    c(k) = sigmoid(z_f) * c(k-1) + sigmoid(z_i) * tanh(z_g)
    h(k) = sigmoid(z_o) * tanh(c(k))

    direct      (MATLAB, PyTorch):   y(k) = F h(k)   + bF
    statespace  (Bonassi eq. 2):     y(k) = F h(k-1) + bF   (strictly proper: x = c, xi = h)

with ``h(-1) = h0`` and ``c(-1) = c0``.  Layers in series pass their output
(``F h + bF``, or ``h`` when a layer has no output layer) of the same step on; in
the state-space form only the last layer's output is read from its state.
Everything is batched over a leading axis: ``u`` is (T, Ni) or (B, T, Ni).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .activations import sigmoid
from .errors import ArgumentError
from .params import FORMS, LSTMParams, as_layers, per_layer
from .validation import ShapeError, check_input_sequence, initial_state, signal

TRACE_KEYS = ("z", "i", "f", "g", "o", "c", "h")


@dataclass
class Response:
    """What :func:`simulate` returns.

    Attributes
    ----------
    y : ndarray (T, No) or (B, T, No)
        Output sequence.
    h, c : list of ndarray, one per layer, (Nn,) or (B, Nn)
        Hidden and cell states after the last step.
    trace : list of dict, one per layer (only with ``trace=True``)
        Every step's ``z`` (4 Nn pre-activations), gate outputs ``i f g o``,
        and new states ``c``, ``h``, each (T, ...) or (B, T, ...).
    """

    y: np.ndarray
    h: list[np.ndarray]
    c: list[np.ndarray]
    trace: list[dict[str, np.ndarray]] = field(default_factory=list)


def lstm_step(layer: LSTMParams, u: np.ndarray, h: np.ndarray, c: np.ndarray):
    """One step of one layer: returns ``(h_new, c_new, z, (i, f, g, o))``.

    ``u`` is (Ni,) or (B, Ni); ``h`` and ``c`` are (Nn,) or (B, Nn) (batch first);
    an unbatched argument is shared by every batch row.
    """
    u = signal(u, layer.n_inputs, f"lstm_step: u (Ni = {layer.n_inputs})")
    h = signal(h, layer.n_units, f"lstm_step: h (Nn = {layer.n_units})")
    c = signal(c, layer.n_units, f"lstm_step: c (Nn = {layer.n_units})")
    try:
        batch = np.broadcast_shapes(u.shape[:-1], h.shape[:-1], c.shape[:-1])
    except ValueError:
        raise ShapeError(f"lstm_step: batch sizes differ: u {u.shape}, h {h.shape}, c {c.shape}") from None
    u, h, c = (np.broadcast_to(x, batch + x.shape[-1:]) for x in (u, h, c))
    hT, cT, zT, gates = _step_columns(layer, u.T, h.T, c.T)
    return hT.T, cT.T, zT.T, tuple(g.T for g in gates)


def _step_columns(layer: LSTMParams, u: np.ndarray, h: np.ndarray, c: np.ndarray):
    """:func:`lstm_step` on column-batched signals: u (Ni, B), h and c (Nn, B).

    Feature-major layout keeps every gate a contiguous block of rows, so the
    element-wise work runs over long contiguous loops (strided (B, Nn) slices of
    a (B, 4 Nn) array are several times slower).
    """
    n = layer.n_units
    z = np.dot(layer.W, u)
    z += np.dot(layer.R, h)
    z += layer.b.reshape((-1,) + (1,) * (z.ndim - 1))
    i = sigmoid(z[0:n])
    f = sigmoid(z[n : 2 * n])
    g = np.tanh(z[2 * n : 3 * n])
    o = sigmoid(z[3 * n : 4 * n])
    c_new = f * c
    c_new += i * g
    h_new = np.tanh(c_new)
    h_new *= o
    return h_new, c_new, z, (i, f, g, o)


def layer_output(layer: LSTMParams, h: np.ndarray) -> np.ndarray:
    """The layer's output ``F h + bF`` for h (Nn,) or (B, Nn) (``h`` itself when there is no output layer)."""
    return h if layer.F is None else np.dot(h, layer.F.T) + layer.bF


def _output_columns(layer: LSTMParams, h: np.ndarray) -> np.ndarray:
    return h if layer.F is None else np.dot(layer.F, h) + layer.bF.reshape((-1,) + (1,) * (h.ndim - 1))


def _initial_states(values, layers, batch: int | None, name: str) -> list[np.ndarray]:
    return [
        initial_state(v, L.n_units, f"{name} (layer {k}, Nn={L.n_units})", batch=batch)
        if v is not None else np.zeros((L.n_units,) if batch is None else (batch, L.n_units))
        for k, (v, L) in enumerate(zip(per_layer(values, len(layers), name), layers))
    ]


def _raise_non_finite(layers, uc: np.ndarray, h: list, c: list, form: str) -> None:
    """Run again, checking every step, and raise NonFiniteError naming the first layer and step that overflowed.

    Only called when :func:`simulate` ended with a non-finite output or state, or
    saw a non-finite output passed from one layer to the next (finite weights and
    inputs whose products exceed float64), so the fast loop needs no other
    per-step checks.
    """
    from .validation import NonFiniteError

    def fail(j: int, k: int, what: str, value: np.ndarray, arrays: str) -> None:
        bad = ~np.isfinite(value)
        row = f" (batch row {int(np.argwhere(bad)[0][-1])})" if value.ndim == 2 else ""
        sizes = ", ".join(f"{name} {float(np.max(np.abs(getattr(layers[j], name)))):.3g}"
                          for name in arrays.split() if getattr(layers[j], name) is not None)
        raise NonFiniteError(
            f"simulate: layer {j}: {what} became {float(value[bad][0])!r} at step {k}{row} although the weights "
            f"and inputs are finite: the numbers overflow float64 (largest |weight|: {sizes}); "
            f"scale layer {j}'s {arrays.replace(' ', '/')} (or the inputs) down"
        )

    last = len(layers) - 1
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(uc.shape[0]):
            if form == "statespace":
                out = _output_columns(layers[last], h[last])
                if not np.isfinite(out).all():
                    fail(last, k, "the output y = F h(k-1) + bF", out, "F bF")
            signal = uc[k]
            for j, layer in enumerate(layers):
                h[j], c[j], _, _ = _step_columns(layer, signal, h[j], c[j])
                for name, value in (("the cell state c", c[j]), ("the hidden state h", h[j])):
                    if not np.isfinite(value).all():
                        fail(j, k, name + " (from z = W u + R h + b)", value, "W R b")
                signal = _output_columns(layer, h[j])
                if (j < last or form == "direct") and not np.isfinite(signal).all():
                    fail(j, k, "the output F h + bF", signal, "F bF")
    raise NonFiniteError("simulate: the output or the final states are not finite; scale the weights or inputs down")


def simulate(
    params: LSTMParams | Sequence[LSTMParams],
    u,
    h0=None,
    c0=None,
    *,
    form: str = "direct",
    trace: bool = False,
) -> Response:
    """Simulate one layer or layers in series on an input sequence.

    Parameters
    ----------
    params : LSTMParams or sequence of LSTMParams (layers in series)
    u : array (T, Ni) or (B, T, Ni)
    h0, c0 : initial hidden / cell states, (Nn,) or (B, Nn), a list of them for
        several layers; zeros by default.
    form : ``"direct"`` (y(k) = F h(k) + bF) or ``"statespace"`` (y(k) = F h(k-1) + bF).
    trace : keep every step's pre-activations, gates and states.
    """
    if form not in FORMS:
        raise ArgumentError(f"form must be one of {FORMS}, got {form!r}")
    layers = as_layers(params)
    sequence = check_input_sequence(u, layers[0].n_inputs)
    u, batch, steps = sequence.data, sequence.batch, sequence.steps
    batched = batch is not None
    batch_shape = (batch,) if batched else ()
    h = _initial_states(h0, layers, batch, "h0")
    c = _initial_states(c0, layers, batch, "c0")

    # Column-batched, time-major working layout: u[k] is (Ni, B), states (Nn, B).
    uc = np.ascontiguousarray(np.moveaxis(u, -2, 0).swapaxes(-1, -2)) if batched else u
    h = [x.T.copy() for x in h]
    c = [x.T.copy() for x in c]
    last = layers[-1]
    y = np.empty((steps, last.n_outputs) + batch_shape)
    traces = [{k: [] for k in TRACE_KEYS} for _ in layers] if trace else []
    h_start, c_start = [x.copy() for x in h], [x.copy() for x in c]
    inner = len(layers) - 1  # the outputs of layers 0 .. inner-1 feed the next layer and are not kept:
    inner_finite = True  # an overflow there need not reach y or the states (sigmoid(inf) = 1), so check them
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is an error, raised below
        for k in range(steps):
            if form == "statespace":
                y[k] = _output_columns(last, h[-1])
            signal = uc[k]
            for j, layer in enumerate(layers):
                h[j], c[j], z, gates = _step_columns(layer, signal, h[j], c[j])
                signal = _output_columns(layer, h[j])
                if j < inner and inner_finite and not np.isfinite(signal).all():
                    inner_finite = False
                if trace:
                    for key, value in zip(TRACE_KEYS, (z, *gates, c[j], h[j])):
                        traces[j][key].append(value.T.copy())
            if form == "direct":
                y[k] = signal
    if not (inner_finite and np.isfinite(y).all() and all(np.isfinite(x).all() for x in (*h, *c))):
        _raise_non_finite(layers, uc, h_start, c_start, form)
    # back to batch-first (B, T, n) / (T, n)
    y = np.ascontiguousarray(np.moveaxis(y, -1, 0)) if batched else y
    h = [x.T.copy() for x in h]
    c = [x.T.copy() for x in c]
    axis = 1 if batched else 0
    stacked = [{key: np.stack(v, axis=axis) for key, v in t.items()} for t in traces]
    return Response(y=y, h=h, c=c, trace=stacked)
