"""A trained model with the normalisation of the data it was trained on, and its file format."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.matrix import simulate
from ..core.params import LSTMParams
from ..io.npz import load_npz, save_npz

__all__ = ["IdentifiedModel"]


@dataclass
class IdentifiedModel:
    """A trained state-space LSTM with the normalisation of the data it was trained on.

    ``predict(u_physical)`` normalises the input, runs the network in the
    state-space form and returns the output in physical units.
    """

    params: LSTMParams
    u_mean: float
    u_scale: float
    y_mean: float
    y_scale: float
    Ts: float

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
        data = load_npz(path, "an identified model file")
        missing = [k for k in ("u_mean", "u_scale", "y_mean", "y_scale", "Ts") if k not in data]
        if missing:
            raise ValueError(
                f"{path} has no normalisation ({', '.join(missing)}): not an identified model file; "
                "give the model saved by the ph_identification lab (lstm_iss_model.npz)"
            )
        norm = {k: float(data[k]) for k in ("u_mean", "u_scale", "y_mean", "y_scale", "Ts")}
        return cls(params=LSTMParams.load(path), **norm)
