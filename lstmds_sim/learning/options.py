"""Training options, named after MATLAB's ``trainingOptions("adam", ...)``, and the learning-rate schedule."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

__all__ = ["ARRAY_NAMES", "LOSSES", "THRESHOLD_METHODS", "TrainOptions", "WEIGHT_NAMES", "learning_rates"]

ARRAY_NAMES = ("W", "R", "b", "F", "bF")
"""Learnable arrays in their fixed order (also the order of :func:`flatten`)."""

WEIGHT_NAMES = ("W", "R", "F")
"""Arrays that L2 regularisation acts on (MATLAB: the biases' L2 factor is 0)."""

LOSSES = ("mse", "half-mse")
THRESHOLD_METHODS = ("l2norm", "global-l2norm")


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
