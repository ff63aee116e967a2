"""A trained model with the normalisation of the data it was trained on, and its file format."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.matrix import simulate
from ..core.params import LSTMParams
from ..core.validation import NonFiniteError, ShapeError, as_float_array
from ..core.npz import load_npz, save_npz

__all__ = ["IdentifiedModel"]

#: The normalisation saved with a model: ``u_norm = (u - u_mean) / u_scale``, likewise y; Ts in seconds.
NORMALISATION = ("u_mean", "u_scale", "y_mean", "y_scale", "Ts")
_MEANING = {
    "u_mean": "the mean of the input (the base flow q3, ml/s) in the training data",
    "u_scale": "the input scale: u_norm = (u - u_mean) / u_scale",
    "y_mean": "the mean of the output (the pH) in the training data",
    "y_scale": "the output scale: y = y_mean + y_scale * y_norm",
    "Ts": "the sampling period in seconds the model was trained at",
}


def _number(value, name: str) -> float:
    """One real number (a 0-d or one-element array): the normalisation constants of a model."""
    meaning = _MEANING[name]
    if isinstance(value, (bool, np.bool_)) or np.asarray(value).dtype.kind not in "iufc":
        raise TypeError(f"{name} ({meaning}) must be a number, got {value!r}")
    arr = as_float_array(value, f"{name} ({meaning})")  # refuses complex numbers
    if arr.size != 1:
        raise ShapeError(f"{name} ({meaning}) has shape {arr.shape}, expected a single number (a scalar)")
    v = float(arr.reshape(()))
    if not math.isfinite(v):
        raise NonFiniteError(f"{name} ({meaning}) must be finite, got {v!r}")
    if name in ("u_scale", "y_scale", "Ts") and not v > 0:
        raise ValueError(f"{name} ({meaning}) must be > 0, got {v!r}")
    return v


@dataclass
class IdentifiedModel:
    """A trained state-space LSTM with the normalisation of the data it was trained on.

    ``predict(u_physical)`` normalises the input, runs the network in the
    state-space form and returns the output in physical units. The network maps
    one input (the base flow q3) to one output (the pH); the means are finite
    numbers, the scales and ``Ts`` finite numbers > 0 (checked on construction).
    """

    params: LSTMParams
    u_mean: float
    u_scale: float
    y_mean: float
    y_scale: float
    Ts: float

    def __post_init__(self) -> None:
        p = self.params
        if not isinstance(p, LSTMParams):
            raise TypeError(f"params must be an LSTMParams, got {type(p).__name__}")
        if p.n_inputs != 1:
            raise ShapeError(
                f"W (input weights) has {p.n_inputs} columns, so the network takes {p.n_inputs} inputs; an identified "
                "model takes one (the base flow q3): give W of shape (4 Nn, 1)"
            )
        if p.n_outputs != 1:
            have = (f"F (output weights) has {p.n_outputs} rows" if p.F is not None
                    else f"there is no output layer F, so the output is the hidden state ({p.n_units} values)")
            raise ShapeError(
                f"{have}, but an identified model has one output (the pH): give F of shape (1, {p.n_units}) "
                "and bF of shape (1,)"
            )
        with np.errstate(over="ignore"):  # |h| <= 1, so |y| <= sum |F| + |bF|: refuse weights that overflow it
            bound = 1.0 if p.F is None else float(np.abs(p.F).sum() + np.abs(p.bF).sum())
        if not math.isfinite(bound):
            raise NonFiniteError(
                "F (output weights) and bF are so large that the output F h + bF overflows float64; "
                "give the output layer weights of a sensible size"
            )
        for name in NORMALISATION:
            setattr(self, name, _number(getattr(self, name), name))

    def predict(self, u, h0=None, c0=None) -> np.ndarray:
        un = (np.asarray(u, dtype=float) - self.u_mean) / self.u_scale
        yn = simulate(self.params, un[..., None], h0, c0, form="statespace").y[..., 0]
        return yn * self.y_scale + self.y_mean

    def save(self, path, *, overwrite: bool = False) -> Path:
        """``.npz`` (suffix added) with the keys W R b F bF (loadable by LSTMParams.load) and the normalisation."""
        return save_npz(path, {**self.params.arrays(), "u_mean": self.u_mean, "u_scale": self.u_scale,
                               "y_mean": self.y_mean, "y_scale": self.y_scale, "Ts": self.Ts,
                               "form": "statespace"}, overwrite=overwrite)

    @classmethod
    def load(cls, path) -> "IdentifiedModel":
        """Read a model written by :meth:`save`; a mistake in the file is an error naming the file and the key."""
        data = load_npz(path, "an identified model file")
        missing = [k for k in NORMALISATION if k not in data]
        if missing:
            raise ValueError(
                f"{path} has no normalisation ({', '.join(missing)}): not an identified model file; "
                "give the model saved by the ph_identification lab (lstm_iss_model.npz)"
            )
        form = str(data["form"]) if "form" in data and np.ndim(data["form"]) == 0 else data.get("form")
        if form is not None and form != "statespace":
            raise ValueError(f"{path}: key 'form' is {form!r}; an identified model is the state-space form "
                             "(y(k) = F h(k-1) + bF) and its file says form='statespace': save the model with "
                             "IdentifiedModel.save, or use LSTMParams.load for the weights alone")
        params = LSTMParams.from_file_arrays(data, path)
        try:
            return cls(params=params, **{k: data[k] for k in NORMALISATION})
        except (TypeError, ValueError) as err:
            raise type(err)(
                f"{path}: {err}; fix that key in the file (IdentifiedModel.save writes valid model files, "
                "e.g. the ph_identification lab's lstm_iss_model.npz)"
            ) from None
