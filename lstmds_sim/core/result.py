"""What a run returns: :class:`RunResult`, and how per-step values are stacked into arrays."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import ShapeError, UnknownNameError

__all__ = ["RunResult", "stack_steps"]


@dataclass
class RunResult:
    """What :func:`run` returns: step times, probed signals and recorder contents.

    Signals are (T, ...) or, batched, (B, T, n) (batch first). ``timing`` holds
    ``run_s`` (seconds spent running) and, for ``backend="jax"``, ``compile_s``.
    """

    t: np.ndarray
    signals: dict[str, np.ndarray] = field(default_factory=dict)
    recorders: dict[str, np.ndarray] = field(default_factory=dict)
    figures: dict = field(default_factory=dict)
    final_states: dict[str, np.ndarray] = field(default_factory=dict)
    timing: dict[str, float] = field(default_factory=dict)
    #: zero crossings located while integrating: ``(t, block name)`` in order (EVENT and STOP blocks)
    events: list = field(default_factory=list)
    #: the instant a STOP block ended the run between two output instants (its crossing), else None
    t_stop: float | None = None

    def __getitem__(self, name: str) -> np.ndarray:
        if name in self.signals:
            return self.signals[name]
        if name in self.recorders:
            return self.recorders[name]
        raise UnknownNameError(f"no probe or recorder named {name!r}; have {sorted(self.signals) + sorted(self.recorders)}")


def stack_steps(values: list[np.ndarray]) -> np.ndarray:
    """Stack one signal's per-step values into (T, ...), or (B, T, n) when batched.

    A value that is not batched yet (a delay's unbatched initial state at step 0,
    before a batched input reaches it) stands for every batch row: it is
    broadcast to the batched shape of the other steps; a float stands for a
    one-element vector (bdsim's blocks output one-element states as floats).
    """
    if not values:
        return np.empty((0,))
    shape = max((np.shape(v) for v in values), key=len)
    unbatched = shape[1:] if len(shape) == 2 else shape  # only a missing batch axis is filled in
    fits = (shape, unbatched, ()) if int(np.prod(unbatched)) == 1 else (shape, unbatched)  # a float for (1,)
    odd = [np.shape(v) for v in values if np.shape(v) not in fits]
    if odd:
        raise ShapeError(f"a recorded signal changes shape between steps: {odd[0]} and {shape}")
    if all(np.shape(v) == shape for v in values):  # the common case: nothing to broadcast (10x faster)
        out = np.stack(values, axis=0)
    else:
        out = np.stack([np.broadcast_to(v, shape) for v in values], axis=0)
    return np.moveaxis(out, 0, 1) if out.ndim == 3 else out
