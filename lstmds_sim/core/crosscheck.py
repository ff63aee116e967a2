"""Step-by-step cross-check of the block diagram against the matrix implementation.

The diagram (:func:`lstmds_sim.core.diagram.lstm_diagram`) and the matrix recursion
(:func:`lstmds_sim.core.matrix.simulate`) are run on the same input and initial
states; every probed signal of every layer (delay outputs, pre-activations,
gates, products, states) and the output are compared at every step. The
diagram's layers, and the names of their signals, are read from the layers'
records (:func:`lstmds_sim.core.diagram.lstm_layers`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .bdsim_adapter import compile_diagram
from .diagram import lstm_diagram, lstm_layers
from .engine import run
from .matrix import simulate
from .params import LSTMParams, as_layers, per_layer
from .validation import check_input_sequence

#: Signals compared inside every layer (wire names of :mod:`lstmds_sim.core.diagram`).
COMPARED = ("h_prev", "c_prev", "z_i", "z_f", "z_g", "z_o", "i", "f", "g", "o", "f*c", "i*g", "c", "tanh(c)", "h")


@dataclass
class CrossCheck:
    """Largest absolute difference, over all steps and batch rows, of each signal."""

    errors: dict[str, float]
    steps: int
    batch: int | None

    @property
    def worst(self) -> tuple[str, float]:
        """The signal with the largest error and that error (NaN counts as the largest)."""
        name = max(self.errors, key=lambda k: np.inf if np.isnan(self.errors[k]) else self.errors[k])
        return name, self.errors[name]

    def passed(self, tol: float = 1e-12) -> bool:
        """Every signal within ``tol`` (a NaN error fails)."""
        return all(v <= tol for v in self.errors.values())

    def table(self) -> str:
        """A two-column text table, signal and max |diagram - matrix|."""
        width = max(len(k) for k in self.errors)
        lines = [f"{'signal':<{width}}  max |diagram - matrix|"]
        lines += [f"{k:<{width}}  {v:.3e}" for k, v in self.errors.items()]
        return "\n".join(lines)


def _previous(trajectory: np.ndarray, initial: np.ndarray, batched: bool) -> np.ndarray:
    """x(k-1) for k = 0..T-1 given x(0..T-1) and x(-1) = initial."""
    axis = 1 if batched else 0
    first = np.expand_dims(np.broadcast_to(initial, trajectory.take(0, axis=axis).shape), axis)
    return np.concatenate([first, trajectory.take(range(trajectory.shape[axis] - 1), axis=axis)], axis=axis)


def reference_signals(layer: LSTMParams, trace: dict, h0, c0, batched: bool) -> dict[str, np.ndarray]:
    """The matrix implementation's value of every compared signal of one layer."""
    n = layer.n_units
    z = trace["z"]
    ref = {f"z_{g}": z[..., k * n : (k + 1) * n] for k, g in enumerate("ifgo")}
    ref.update({g: trace[g] for g in "ifgo"})
    ref["c"], ref["h"] = trace["c"], trace["h"]
    ref["c_prev"] = _previous(trace["c"], c0, batched)
    ref["h_prev"] = _previous(trace["h"], h0, batched)
    ref["f*c"] = trace["f"] * ref["c_prev"]
    ref["i*g"] = trace["i"] * trace["g"]
    ref["tanh(c)"] = np.tanh(trace["c"])
    return ref


def crosscheck(
    params: LSTMParams | Sequence[LSTMParams],
    u,
    *,
    h0=None,
    c0=None,
    form: str = "direct",
    subsystems: bool | None = None,
    Ts: float = 1.0,
) -> CrossCheck:
    """Run the diagram and the matrix implementation on ``u`` and compare every signal at every step."""
    layers = as_layers(params)
    sequence = check_input_sequence(u, layers[0].n_inputs, "crosscheck: u")
    u = sequence.data
    bd, _ = lstm_diagram(layers, u, Ts=Ts, h0=h0, c0=c0, form=form, subsystems=subsystems)
    compile_diagram(bd)  # subsystems flattened: the layers' blocks carry the names their signals are probed by
    drawn = lstm_layers(bd)  # in the order drawn: layer j of the diagram is layers[j]
    result = run(bd, probes=[layer.signal(s) for layer in drawn for s in COMPARED])
    # the reference gets the caller's initial states, not the diagram's: a diagram
    # that dropped or swapped them would otherwise agree with itself
    h0s = [np.zeros(L.n_units) if v is None else v for v, L in zip(per_layer(h0, len(layers), "h0"), layers)]
    c0s = [np.zeros(L.n_units) if v is None else v for v, L in zip(per_layer(c0, len(layers), "c0"), layers)]
    reference = simulate(layers, u, h0s, c0s, form=form, trace=True)
    batched = sequence.batch is not None
    errors: dict[str, float] = {}
    for layer, drawn_layer, trace, h0_, c0_ in zip(layers, drawn, reference.trace, h0s, c0s, strict=True):
        ref = reference_signals(layer, trace, h0_, c0_, batched)
        for name in COMPARED:
            signal = drawn_layer.signal(name)
            errors[signal] = float(np.max(np.abs(result[signal] - ref[name])))
    errors["y"] = float(np.max(np.abs(result.recorders["y"] - reference.y)))
    return CrossCheck(errors=errors, steps=sequence.steps, batch=sequence.batch)
