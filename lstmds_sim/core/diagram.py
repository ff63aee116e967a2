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

Every layer drawn is recorded on its diagram as an :class:`LSTMLayer`: its
weights, its form and its blocks (the two state delays, the output, the input
gains). :func:`lstm_layers` returns every layer of a diagram, those inside
subsystems included; readers (the picture's loop colours, the inspector, the
cross-check) recognise a layer and its loops by these block objects, never by
block names, so a layer keeps its meaning whatever its blocks are called.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .bdsim_adapter import blockdiagram
from .params import FORMS, GATES, LSTMParams, as_layers, per_layer
from .validation import initial_state, positive

__all__ = [
    "CELL_STATE", "HIDDEN_STATE", "LAYER_SIGNALS", "LSTMLayer", "OUTPUT_GAIN", "add_lstm_layer", "lstm_diagram",
    "lstm_layers", "lstm_subsystem",
]

#: the names a layer's two state blocks and its output gain are drawn with (after the layer's prefix);
#: only names: readers find these blocks through the layer's :class:`LSTMLayer`
CELL_STATE, HIDDEN_STATE, OUTPUT_GAIN = "cell state", "hidden state", "FC layer"

LAYER_SIGNALS = (
    "h_prev", "c_prev", "z_i", "z_f", "z_g", "z_o", "i", "f", "g", "o",
    "f*c", "i*g", "c", "tanh(c)", "h", "y",
)

#: the attribute of a bdsim BlockDiagram that holds the layers drawn into it (read it with lstm_layers)
_LAYERS = "lstmds_layers"


@dataclass(frozen=True, eq=False)
class LSTMLayer:
    """One LSTM layer drawn by :func:`add_lstm_layer`: what it computes and the blocks it is made of.

    The blocks are bdsim block objects, not names: bdsim's compile flattens a
    subsystem by renaming its blocks (``"Wi"`` becomes ``"lstm1/Wi"``), so
    the record stays valid, and a name is read from
    a block (``layer.cell.name``) when it is needed.

    Attributes
    ----------
    prefix : str
        The name prefix the layer was drawn with (``""``, ``"lstm/"``), as given
        to :func:`add_lstm_layer`; inside a subsystem the blocks' names later
        gain the subsystem's path too (:attr:`path`).
    params : LSTMParams
        The weights the layer was drawn with (the same object).
    form : str
        ``"direct"`` (y(k) = F h(k) + bF) or ``"statespace"`` (y(k) = F h(k-1) + bF).
    cell : bdsim Block
        The UNITDELAY holding c(k-1), shape (Nn,) or (B, Nn): it closes the inner (cell-state) loop.
    hidden : bdsim Block
        The UNITDELAY holding h(k-1), shape (Nn,) or (B, Nn): it closes the outer (hidden-state) loop.
    emit : bdsim Block
        The HADAMARD ``o*tanh(c)`` whose output is h(k), shape (Nn,) or (B, Nn); it feeds ``hidden``.
    output : bdsim Block
        The block whose output 0 is the layer's output: y(k), (No,) or (B, No), through the output
        gain (and ``sum y`` when bF is non-zero); without an output layer (``params.F is None``)
        ``emit`` (direct form) or ``hidden`` (state-space form), (Nn,) or (B, Nn).
    inputs : tuple of bdsim Block
        The four input gains W_i, W_f, W_g, W_o: the blocks the layer's input u, (Ni,) or (B, Ni), feeds.
    blocks : tuple of bdsim Block
        Every block the layer drew, in the order drawn.
    """

    prefix: str
    params: LSTMParams
    form: str
    cell: Any
    hidden: Any
    emit: Any
    output: Any
    inputs: tuple
    blocks: tuple

    @property
    def path(self) -> str:
        """Where the layer's blocks lie now, as signal names are prefixed: the part of the cell-state
        delay's name before its last ``"/"`` (``"lstm1"`` once subsystem ``lstm1`` is flattened, ``"lstm"``
        for a layer drawn with prefix ``"lstm/"``, ``""`` at the top level). Read from the block each time:
        compile the diagram (``compile_diagram(bd)``; running or drawing it does) before reading it for a
        layer inside a subsystem."""
        return str(self.cell.name).rpartition("/")[0]

    def signal(self, name: str) -> str:
        """The name of the layer's wire ``name`` (e.g. ``"c"``, ``"z_f"``) among a diagram's signals
        (``signal_names(bd)``, probes): ``"lstm1/c"`` for a layer under ``lstm1``, ``"c"`` at the top level."""
        path = self.path
        return f"{path}/{name}" if path else name

    def __repr__(self) -> str:
        return (f"LSTMLayer(prefix={self.prefix!r}, {self.params.n_units} units, form={self.form!r}, "
                f"cell={self.cell.name!r}, hidden={self.hidden.name!r}, output={self.output.name!r})")

    def __deepcopy__(self, memo: dict) -> LSTMLayer:
        # bdsim's SUBSYSTEM block deep-copies the diagram it wraps, this record with it: the copy holds
        # the copied blocks (the memo maps each block to its copy); the weights are read-only and shared
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return type(self)(**{k: v if k == "params" else copy.deepcopy(v, memo) for k, v in fields.items()})


def lstm_layers(bd) -> list[LSTMLayer]:
    """Every LSTM layer drawn into the bdsim diagram ``bd`` by :func:`add_lstm_layer`, those inside
    subsystems (:func:`lstm_subsystem` placed with ``bd.SUBSYSTEM``, the ``LSTM`` block) included.

    Before or after compiling: an uncompiled diagram's subsystem blocks are looked into; a compiled
    one's blocks are flattened already and each still belongs to the diagram it was drawn in.
    Returns the layers in the order of their cell-state delays among the diagram's (flattened) blocks:
    a stack's ``lstm1`` before ``lstm2``. An empty list for a diagram without LSTM layers.
    """
    if not hasattr(bd, "blocklist"):
        raise TypeError(f"lstm_layers() needs a bdsim BlockDiagram (e.g. from lstm_diagram), not {type(bd).__name__}")
    homes: dict[int, Any] = {id(bd): bd}
    order: dict[int, int] = {}
    for k, block in enumerate(_flattened(bd, homes)):
        order[id(block)] = k
        home = _home(block)
        if home is not None:
            homes.setdefault(id(home), home)
    layers = [layer for home in homes.values() for layer in getattr(home, _LAYERS, ())]
    return sorted(layers, key=lambda layer: order.get(id(layer.cell), len(order)))


def _flattened(bd, homes: dict[int, Any]):
    """The diagram's blocks with each subsystem block replaced by its blocks, as bdsim's compile
    flattens them (a compiled diagram has no subsystem blocks left); the subsystems' diagrams go
    into ``homes``."""
    for block in bd.blocklist:
        inner = getattr(block, "subsystem", None)  # SUBSYSTEM and LSTM blocks
        if hasattr(inner, "blocklist"):
            homes.setdefault(id(inner), inner)
            yield from _flattened(inner, homes)
        else:
            yield block


def _home(block):
    """The diagram a block was drawn in (bdsim's ``Block.bd``), None for a block created outside one."""
    try:
        return block.bd
    except AssertionError:  # bdsim asserts that a block belongs to a diagram
        return None


def add_lstm_layer(
    bd, params: LSTMParams, u, clock, *, h0=None, c0=None, form: str = "direct", prefix: str = "", batch: int | None = None
):
    """Draw one LSTM layer into ``bd``, driven by the block or plug ``u``; return its output block.

    ``prefix`` (e.g. ``"lstm1/"``) is put before every block name so that several
    layers can share one diagram. ``batch``: the number of sequences the input
    carries (None: unbatched), to which ``h0`` and ``c0`` are broadcast.
    The layer is recorded on ``bd`` as an :class:`LSTMLayer` (:func:`lstm_layers`).
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
    drawn = [hidden, cell]

    gate, inputs = {}, []
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
        inputs.append(W)
        drawn += [W, R, b, z, act]

    forget = bd.HADAMARD(name=f"{p}f*c")
    admit = bd.HADAMARD(name=f"{p}i*g")
    new_cell = bd.SUM("++", name=f"{p}sum c")
    squash = bd.TANH(name=f"{p}tanh c")
    emit = bd.HADAMARD(name=f"{p}o*tanh(c)")
    drawn += [forget, admit, new_cell, squash, emit]
    bd.connect(gate["f"], forget[0], name="f")
    bd.connect(cell, forget[1], name="c_prev")
    bd.connect(gate["i"], admit[0], name="i")
    bd.connect(gate["g"], admit[1], name="g")
    bd.connect(forget, new_cell[0], name="f*c")
    bd.connect(admit, new_cell[1], name="i*g")
    bd.connect(new_cell, cell, squash, name="c")
    bd.connect(gate["o"], emit[0], name="o")
    bd.connect(squash, emit[1], name="tanh(c)")

    out = emit if form == "direct" else hidden
    bd.connect(emit, hidden, name="h")
    if params.F is not None:
        fc = bd.MATGAIN(params.F, name=f"{p}{OUTPUT_GAIN}")
        bd.connect(out, fc, name="h" if form == "direct" else "h_prev")
        drawn.append(fc)
        out = fc
        if np.any(params.bF):
            bias = bd.CONSTANT(params.bF, name=f"{p}bF")
            out = bd.SUM("++", name=f"{p}sum y")
            bd.connect(fc, out[0], name="F*h")
            bd.connect(bias, out[1], name="bF")
            drawn += [bias, out]
    record = LSTMLayer(prefix=p, params=params, form=form, cell=cell, hidden=hidden, emit=emit, output=out,
                       inputs=tuple(inputs), blocks=tuple(drawn))
    if getattr(bd, _LAYERS, None) is None:
        setattr(bd, _LAYERS, [])
    getattr(bd, _LAYERS).append(record)
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
