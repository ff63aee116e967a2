"""Goodness of fit of a model's prediction: the FIT index in its two definitions."""

from __future__ import annotations

import numpy as np

from ..core.validation import ShapeError, as_float_array, check_finite

__all__ = ["fit_mean", "fit_paper", "fit_percent", "fit_report"]


def fit_percent(y, yhat, *, subtract_mean: bool = True, skip: int = 0) -> float:
    """FIT index in percent: ``100 (1 - ||y - yhat||_2 / ||y - c||_2)``.

    Parameters
    ----------
    y, yhat : array_like (T,) or (T, ny)
        Measured and predicted outputs (time first).
    subtract_mean : bool
        True: ``c = mean(y)`` over time, the FIT of the research group (100 % for a
        perfect prediction, 0 % for predicting the mean).  False: ``c = 0``, the
        formula printed as (12) in Bonassi et al. (2020), which depends on where
        the output's zero lies (for pH data around 7 it is large even for poor
        predictions; for normalised data of zero mean the two nearly agree).
    skip : int
        Leading samples left out (the initial transient of a model started
        from a wrong state).

    Returns
    -------
    float
    """
    y = check_finite(as_float_array(y, "y"), "y")
    yhat = check_finite(as_float_array(yhat, "yhat"), "yhat")
    if y.shape != yhat.shape or y.ndim not in (1, 2):
        raise ShapeError(f"y {y.shape} and yhat {yhat.shape} must have the same shape, (T,) or (T, ny)")
    skip = int(skip)
    if not 0 <= skip < y.shape[0]:
        raise ValueError(f"skip must be in [0, {y.shape[0]}), got {skip}")
    y, yhat = y[skip:], yhat[skip:]
    reference = y - y.mean(axis=0) if subtract_mean else y
    denominator = np.linalg.norm(reference)
    if denominator == 0:
        raise ValueError("FIT is undefined: the reference output has zero norm"
                         + (" (y is constant)" if subtract_mean else " (y is zero)"))
    return float(100.0 * (1.0 - np.linalg.norm(y - yhat) / denominator))


def fit_mean(y, yhat, *, skip: int = 0) -> float:
    """FIT with the mean subtracted (the group's definition); see :func:`fit_percent`."""
    return fit_percent(y, yhat, subtract_mean=True, skip=skip)


def fit_paper(y, yhat, *, skip: int = 0) -> float:
    """FIT as printed in Bonassi et al. (2020), eq. (12), without the mean; see :func:`fit_percent`."""
    return fit_percent(y, yhat, subtract_mean=False, skip=skip)


def fit_report(y, yhat, *, skip: int = 0) -> dict[str, float]:
    """Both FIT definitions, named: ``{"fit_mean_percent": ..., "fit_paper_percent": ...}``."""
    return {"fit_mean_percent": fit_mean(y, yhat, skip=skip), "fit_paper_percent": fit_paper(y, yhat, skip=skip)}
