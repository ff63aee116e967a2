"""Integrating the continuous states of a diagram over one sample interval.

The engine hands over the states (one array per continuous block, ``(n,)`` or
``(B, n)``) and ``f(t, states) -> derivatives`` that evaluates the blocks on
the continuous path with every discrete output held; these functions return the
states at the end of the interval.

* :func:`rk4` -- fixed-step classical Runge-Kutta, batched (the default);
* :func:`ivp` -- ``scipy.integrate.solve_ivp`` on the flattened states, the
  accurate reference (method, ``rtol`` and ``atol`` selectable).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.integrate

from .errors import ArgumentError
from .validation import positive, positive_int

__all__ = ["LEFT_LIMIT", "SOLVERS", "Solver", "ivp", "left_limit", "rk4", "rk4_step"]

States = dict
Derivative = Callable[[float, States], States]
Event = Callable[[float, States], float]
SOLVERS = ("rk4", "solve_ivp")


@dataclass(frozen=True)
class Solver:
    """How the continuous states are integrated between two output instants.

    ``solver="rk4"``: ``substeps`` fixed RK4 steps per interval, more where
    ``max_step`` asks for shorter ones. ``solver="solve_ivp"``: scipy's adaptive
    ``method`` with ``rtol``/``atol`` (and ``max_step`` if given).
    """

    solver: str = "rk4"
    substeps: int = 10
    max_step: float | None = None
    method: str = "RK45"
    rtol: float = 1e-10
    atol: float = 1e-12

    def __post_init__(self) -> None:
        if self.solver not in SOLVERS:
            raise ArgumentError(f"solver must be one of {SOLVERS}, got {self.solver!r}")
        positive_int(self.substeps, "substeps")
        if self.max_step is not None:
            positive(self.max_step, "max_step")
        positive(self.rtol, "rtol")
        positive(self.atol, "atol")

    def steps_for(self, h: float) -> int:
        """RK4 steps over an interval of length ``h``."""
        n = self.substeps
        if self.max_step is not None:
            n = max(n, math.ceil(h / self.max_step - 1e-9))
        return n


#: how far before the end ``b`` of a piece a block reads time there, relative to ``b``: 256 units in the last
#: place, the "left limit" at a breakpoint. Far enough that neither a source's own rounding (bdsim's WAVEFORM
#: computes t * f; its edges are declared by adding up periods, a few hundred of them at most before they
#: drift that far) nor the stage time's puts the read after the jump; near enough that a smooth source read
#: there changes a run by rounding only (a ramp integrated over 24 intervals: under 1e-13)
LEFT_LIMIT = 2.0**-44


def left_limit(a: float, b: float) -> float:
    """The time blocks read at the end ``b`` of a piece ``[a, b]``: just before ``b`` (never before ``a``)."""
    return max(a, b - LEFT_LIMIT * abs(b))


def rk4_step(f: Derivative, t: float, dt: float, x: States) -> States:
    """One classical RK4 step of length ``dt`` from ``(t, x)``."""
    k1 = f(t, x)
    k2 = f(t + dt / 2, {b: x[b] + dt / 2 * k1[b] for b in x})
    k3 = f(t + dt / 2, {b: x[b] + dt / 2 * k2[b] for b in x})
    k4 = f(t + dt, {b: x[b] + dt * k3[b] for b in x})
    return {b: x[b] + dt / 6 * (k1[b] + 2 * k2[b] + 2 * k3[b] + k4[b]) for b in x}


def rk4(f: Derivative, t0: float, h: float, x: States, n: int, check: Callable[[float, States], None]) -> States:
    """``n`` classical RK4 steps from ``t0`` over ``h``; ``check(t, x)`` after each step."""
    dt = h / n
    for i in range(n):
        t = t0 + i * dt
        x = rk4_step(f, t, dt, x)
        check(t + dt, x)
    return x


def ivp(f: Derivative, t0: float, h: float, x: States, solver: Solver, events: Sequence[Event] = ()) -> tuple:
    """``scipy.integrate.solve_ivp`` from ``t0`` over ``h`` on the flattened states.

    ``events``: zero-crossing functions ``g(t, states)`` with a ``direction``
    attribute (+1 rising, -1 falling, 0 either), each terminal: the
    integration stops at the first crossing, located by solve_ivp.
    Returns ``(states, t_end, index of the event that stopped it or None)``.
    Raises ``ArithmeticError`` with scipy's message when the solver fails.
    """
    d0 = f(t0, x)  # a state meeting a batched input becomes batched
    x = {b: np.broadcast_to(x[b], np.broadcast_shapes(np.shape(x[b]), np.shape(d0[b]))) for b in x}
    keys = list(x)
    shapes = [np.shape(x[b]) for b in keys]
    sizes = [int(np.prod(s)) for s in shapes]
    cuts = np.cumsum(sizes)[:-1]

    def unflatten(y):
        return {b: part.reshape(s) for b, part, s in zip(keys, np.split(y, cuts), shapes)}

    def fun(t, y):
        d = f(t, unflatten(y))
        return np.concatenate([np.broadcast_to(d[b], s).ravel() for b, s in zip(keys, shapes)])

    def flat_event(g):
        def event(t, y):
            return g(t, unflatten(y))
        event.terminal = True
        event.direction = getattr(g, "direction", 0.0)
        return event

    y0 = np.concatenate([np.asarray(x[b], dtype=float).ravel() for b in keys])
    options = {"max_step": solver.max_step} if solver.max_step is not None else {}
    if events:
        options["events"] = [flat_event(g) for g in events]
    sol = scipy.integrate.solve_ivp(fun, (t0, t0 + h), y0, method=solver.method, rtol=solver.rtol,
                                    atol=solver.atol, **options)
    if not sol.success:
        raise ArithmeticError(f"solve_ivp ({solver.method}) failed between t = {t0:g} and {t0 + h:g}: {sol.message}")
    if sol.status == 1:  # a terminal event
        hits = [(float(te[0]), i) for i, te in enumerate(sol.t_events) if len(te)]
        t_hit, index = min(hits)
        return unflatten(sol.y_events[index][0]), t_hit, index
    return unflatten(sol.y[:, -1]), t0 + h, None
