"""The set-up the training labs share (section 4 of Campa's "LSTM as a dynamical system" example).

The reference system (lab 3's fourth-order plant, sampled every :data:`TS` s) in a chosen
realisation, the LSTM weights computed from it (:data:`SCALE`, Nn = n + m = 5 units), one training
sequence of :data:`N_TRAIN` samples (randn input, the system's response from rest) and a validation
input of :data:`N_VALIDATION` samples, and the example's Adam options (MATLAB's
``trainingOptions("adam", ...)``). Lab 4 (``training_basin``) trains from the computed weights, lab 5
(``training_random``) from random ones, on the same data.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..core.params import LSTMParams
from ..systems.lstm_linear import lstm_from_linear
from ..systems.reference import reference_system
from .experiments import linear_dataset
from .options import TrainOptions

__all__ = ["N_TRAIN", "N_VALIDATION", "SCALE", "TS", "ExampleSetup", "example_options", "setup"]

TS = 0.01  # sample time [s]
SCALE = 1e-3  # the signal scale of the computed weights (tanh in its linear region)
N_TRAIN = 1001  # t = 0:Ts:1000*Ts
N_VALIDATION = 51  # t = 0:Ts:50*Ts, as in section 2


class ExampleSetup(NamedTuple):
    """What the training labs train on and start from (unpacks as ``system, start, (u, y), u_val``)."""

    system: object  # the reference system: a discrete scipy.signal.StateSpace, dt = TS
    start: LSTMParams  # the weights computed from (A, B, C, D) at SCALE
    train: tuple[np.ndarray, np.ndarray]  # u, y: (N_TRAIN, 1) each
    u_val: np.ndarray  # (N_VALIDATION, 1)


def setup(seed: int, realization: str = "balanced") -> ExampleSetup:
    """The reference system in ``realization`` ("balanced" or "canonical"), the computed weights, the
    training data (input seeded by ``seed``) and the validation input (seeded by ``seed + 1000``)."""
    system = reference_system(TS, realization=realization)  # a discrete StateSpace, dt = TS
    start = lstm_from_linear(system, scale=SCALE)
    u_train, y_train = linear_dataset(system, N_TRAIN, seed)
    u_val = np.random.default_rng(seed + 1000).standard_normal((N_VALIDATION, 1))
    return ExampleSetup(system, start, (u_train, y_train), u_val)


def example_options(learning_rate: float, epochs: int, **changes) -> TrainOptions:
    """The example's training options (MATLAB's ``trainingOptions("adam", ...)``): the learning rate
    multiplied by 0.99 every 100 epochs, gradients clipped to norm 1 per array, L2 regularisation
    1e-4, ``epochs`` full-batch epochs; ``changes`` override any of them."""
    settings = {"learning_rate": learning_rate, "drop_factor": 0.99, "drop_period": 100, "gradient_threshold": 1.0,
                "threshold_method": "l2norm", "l2_regularization": 1e-4, "max_epochs": epochs, "verbose_frequency": 500}
    return TrainOptions(**{**settings, **changes})
