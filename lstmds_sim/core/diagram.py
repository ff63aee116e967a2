"""The LSTM layer drawn from primitive blocks, as in the Simulink model ``lstm_sim.mdl``.

Per gate g in i, f, g, o: an input-weight gain ``W<g>``, a recurrent gain
``R<g>``, a bias constant ``b<g>``, a sum ``sum <g>`` and an activation
(sigmoid, or tanh for the cell candidate). Then three Hadamard products
(``f*c``, ``i*g``, ``o*tanh(c)``), the new-cell sum ``sum c``, ``tanh c``,
two unit delays ``cell state`` (inner loop) and ``hidden state`` (outer loop),
and the output gain ``FC layer`` (plus ``bF`` and ``sum y`` when the output
bias is non-zero). Every wire is named, so every signal can be probed::

    u, h_prev, c_prev, z_i z_f z_g z_o, i f g o, f*c, i*g, c, tanh(c), h, y

In the ``"direct"`` form the output gain reads the new hidden state h(k); in the
``"statespace"`` form (Bonassi eq. 2) it reads the hidden-state delay, h(k-1).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .engine import blockdiagram
from .params import FORMS, GATES, LSTMParams, as_layers, per_layer
from .validation import initial_state, positive

#: the names of a layer's two state blocks and its output gain (after the layer's prefix)
CELL_STATE, HIDDEN_STATE, OUTPUT_GAIN = "cell state", "hidden state", "FC layer"

LAYER_SIGNALS = (
    "h_prev", "c_prev", "z_i", "z_f", "z_g", "z_o", "i", "f", "g", "o",
    "f*c", "i*g", "c", "tanh(c)", "h", "y",
)


def add_lstm_layer(
    bd, params: LSTMParams, u, clock, *, h0=None, c0=None, form: str = "direct", prefix: str = "", batch: int | None = None
):
    """Draw one LSTM layer into ``bd``, driven by the block or plug ``u``; return its output block.

    ``prefix`` (e.g. ``"lstm1/"``) is put before every block name so that several
    layers can share one diagram. ``batch``: the number of sequences the input
    carries (None: unbatched), to which ``h0`` and ``c0`` are broadcast.
    """
    p = prefix
    layer = f"LSTM layer '{p.rstrip('/') or bd.name}'"
    if not isinstance(params, LSTMParams):
        raise TypeError(
            f"{layer}: params must be an LSTMParams (e.g. LSTMParams.load('net.npz')), got {type(params).__name__}"
        )
    if form not in FORMS:
        raise ValueError(f"{layer}: form must be one of {FORMS}, got {form!r}")
    hidden = bd.UNITDELAY(clock, x0=_layer_state(h0, params, f"{layer}: h0", batch), name=f"{p}{HIDDEN_STATE}")
    cell = bd.UNITDELAY(clock, x0=_layer_state(c0, params, f"{layer}: c0", batch), name=f"{p}{CELL_STATE}")

    gate = {}
    for g in GATES:
        Wg, Rg, bg = params.gate(g)
        W = bd.MATGAIN(Wg, name=f"{p}W{g}")
        R = bd.MATGAIN(Rg, name=f"{p}R{g}")
        b = bd.CONSTANT(bg, name=f"{p}b{g}")
        z = bd.SUM("+++", name=f"{p}sum {g}")
        act = bd.TANH(name=f"{p}tanh {g}") if g == "g" else bd.SIGMOID(name=f"{p}sigmoid {g}")
        bd.connect(u, W, name="u")
        bd.connect(hidden, R, name="h_prev")
        bd.connect(W, z[0], name=f"W{g}*u")
        bd.connect(R, z[1], name=f"R{g}*h_prev")
        bd.connect(b, z[2], name=f"b{g}")
        bd.connect(z, act, name=f"z_{g}")
        gate[g] = act

    forget = bd.HADAMARD(name=f"{p}f*c")
    admit = bd.HADAMARD(name=f"{p}i*g")
    new_cell = bd.SUM("++", name=f"{p}sum c")
    squash = bd.TANH(name=f"{p}tanh c")
    emit = bd.HADAMARD(name=f"{p}o*tanh(c)")
    bd.connect(gate["f"], forget[0], name="f")
    bd.connect(cell, forget[1], name="c_prev")
    bd.connect(gate["i"], admit[0], name="i")
    bd.connect(gate["g"], admit[1], name="g")
    bd.connect(forget, new_cell[0], name="f*c")
    bd.connect(admit, new_cell[1], name="i*g")
    bd.connect(new_cell, cell, squash, name="c")
    bd.connect(gate["o"], emit[0], name="o")
    bd.connect(squash, emit[1], name="tanh(c)")

    source = emit if form == "direct" else hidden
    if params.F is None:
        bd.connect(emit, hidden, name="h")
        return source
    fc = bd.MATGAIN(params.F, name=f"{p}{OUTPUT_GAIN}")
    bd.connect(emit, hidden, name="h")
    bd.connect(source, fc, name="h" if form == "direct" else "h_prev")
    if not np.any(params.bF):
        return fc
    bias = bd.CONSTANT(params.bF, name=f"{p}bF")
    out = bd.SUM("++", name=f"{p}sum y")
    bd.connect(fc, out[0], name="F*h")
    bd.connect(bias, out[1], name="bF")
    return out


def lstm_subsystem(
    params: LSTMParams, clock, *, h0=None, c0=None, form: str = "direct", name: str = "lstm", batch: int | None = None
):
    """One LSTM layer as a bdsim subsystem diagram (INPORT ``u`` -> ... -> OUTPORT ``y``)."""
    inner = blockdiagram(name)
    inport = inner.INPORT(1, name="u")
    outport = inner.OUTPORT(1, name="y")
    y = add_lstm_layer(inner, params, inport[0], clock, h0=h0, c0=c0, form=form, batch=batch)
    inner.connect(y, outport[0], name="y")
    return inner


def lstm_diagram(
    params: LSTMParams | Sequence[LSTMParams],
    u,
    *,
    Ts: float = 1.0,
    h0=None,
    c0=None,
    form: str = "direct",
    subsystems: bool | None = None,
    name: str = "lstm",
):
    """A complete diagram: SEQUENCE ``u`` -> LSTM layer(s) -> RECORDER ``y``.

    One layer is drawn inline from primitive blocks (names as in the Simulink
    model); several layers are chained as subsystem blocks ``lstm1``, ``lstm2``,
    ... (``subsystems=False`` draws them inline with those prefixes).
    ``h0``/``c0`` are per-layer lists when there are several layers.

    Returns ``(bd, prefixes)``: the diagram and each layer's signal-name prefix.
    """
    positive(Ts, "lstm_diagram: Ts (the sampling period in seconds, e.g. Ts=10.0)")
    layers = as_layers(params)
    if subsystems is None:
        subsystems = len(layers) > 1
    h0s = per_layer(h0, len(layers), "h0")
    c0s = per_layer(c0, len(layers), "c0")
    bd = blockdiagram(name)
    clock = bd.clock(Ts, "s")
    signal = bd.SEQUENCE(u, clock, name="u")
    batch = signal.batch
    prefixes = []
    for j, layer in enumerate(layers):
        tag = f"lstm{j + 1}"
        if subsystems:
            inner = lstm_subsystem(
                layer, clock, h0=h0s[j], c0=c0s[j], form=_layer_form(form, j, len(layers)), name=tag, batch=batch
            )
            block = bd.SUBSYSTEM(inner, name=tag)
            bd.connect(signal, block, name="u" if j == 0 else f"y{j}")
            signal = block
            prefixes.append(tag + "/")
        else:
            prefix = "" if len(layers) == 1 else tag + "/"
            signal = add_lstm_layer(
                bd, layer, signal, clock, h0=h0s[j], c0=c0s[j], form=_layer_form(form, j, len(layers)),
                prefix=prefix, batch=batch,
            )
            prefixes.append(prefix)
    bd.connect(signal, bd.RECORDER(name="y"), name="y")
    return bd, prefixes


def _layer_state(x0, params: LSTMParams, what: str, batch: int | None) -> np.ndarray:
    n = params.n_units
    return initial_state(x0, n, what, batch=batch, meaning=f" (the layer has {n} units)")


def _layer_form(form: str, j: int, n: int) -> str:
    """Only the last layer's output is read from its state in the state-space form."""
    return form if j == n - 1 else "direct"
