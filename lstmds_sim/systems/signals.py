"""Test signals for identification: the multilevel pseudo-random signal (MPRS).

A staircase whose levels are drawn uniformly in a range and held for a random
number of samples; the defaults are those of the pH-plant experiment (the base
flow ``q3`` in [12.5, 17] ml/s, levels held 76-110 samples).
"""

from __future__ import annotations

import math

import numpy as np

from ..core.validation import positive_int

__all__ = ["HOLD", "Q3_RANGE", "mprs", "mprs_batch"]

Q3_RANGE = (12.5, 17.0)
"""Spec default range of the base flow [ml/s]."""

HOLD = (76, 110)
"""Spec default hold length of an MPRS level [samples]."""


# --------------------------------------------------------------------------- MPRS


def _generator(rng) -> np.random.Generator:
    """A numpy Generator from a Generator or an integer seed (None is refused: data must be seeded)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, bool) or not isinstance(rng, (int, np.integer, np.random.SeedSequence)):
        raise TypeError(f"rng must be a numpy Generator or an integer seed, got {rng!r}")
    return np.random.default_rng(rng)


def mprs_batch(n_batch: int, n_samples: int, *, low: float = Q3_RANGE[0], high: float = Q3_RANGE[1],
               hold_min: int = HOLD[0], hold_max: int = HOLD[1], rng) -> np.ndarray:
    """``n_batch`` independent multilevel pseudo-random signals, vectorised.

    Each signal is a staircase: a level drawn uniformly in ``[low, high]`` is held
    for a number of samples drawn uniformly (integers) in ``[hold_min, hold_max]``,
    then a new level, and so on; the last hold is cut at ``n_samples``.

    Parameters
    ----------
    n_batch, n_samples : int
        Number of signals and their length.
    low, high : float
        Range of the levels.
    hold_min, hold_max : int
        Range of the hold lengths [samples], both included.
    rng : numpy.random.Generator or int
        Random source (an integer is used as a seed).

    Returns
    -------
    ndarray (n_batch, n_samples)
    """
    n_batch = positive_int(n_batch, "n_batch")
    n_samples = positive_int(n_samples, "n_samples")
    hold_min = positive_int(hold_min, "hold_min")
    hold_max = positive_int(hold_max, "hold_max")
    if hold_max < hold_min:
        raise ValueError(f"hold_max ({hold_max}) must be >= hold_min ({hold_min})")
    low, high = float(low), float(high)
    if not (math.isfinite(low) and math.isfinite(high) and low <= high):
        raise ValueError(f"the level range needs finite low <= high, got low={low!r}, high={high!r}")
    gen = _generator(rng)
    n_seg = -(-n_samples // hold_min)  # enough segments even if every hold is the shortest
    holds = gen.integers(hold_min, hold_max, size=(n_batch, n_seg), endpoint=True)
    levels = gen.uniform(low, high, size=(n_batch, n_seg))
    # each level repeated for its hold, the holds cut where a signal reaches n_samples (the segments
    # cover it: n_seg holds of at least hold_min samples), all signals in one repeat, row after row
    ends = np.minimum(np.cumsum(holds, axis=1), n_samples)
    ends[:, -1] = n_samples
    lengths = np.diff(ends, axis=1, prepend=0)
    return np.repeat(levels.ravel(), lengths.ravel()).reshape(n_batch, n_samples)


def mprs(n_samples: int, *, low: float = Q3_RANGE[0], high: float = Q3_RANGE[1],
         hold_min: int = HOLD[0], hold_max: int = HOLD[1], rng) -> np.ndarray:
    """One multilevel pseudo-random signal of ``n_samples`` samples (see :func:`mprs_batch`).

    Equal to ``mprs_batch(1, n_samples, ..., rng=rng)[0]`` for the same random source.
    """
    return mprs_batch(1, n_samples, low=low, high=high, hold_min=hold_min, hold_max=hold_max, rng=rng)[0]
