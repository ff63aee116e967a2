"""How a backend plugs into :func:`lstmds_sim.run`: one small interface, an object per backend.

A backend executes a :class:`~.schedule.Schedule` (what the front door
worked out from the diagram) and returns a :class:`~.result.RunResult`. Its
options are the object's own (``Compiled(threads=2)``), as a diffrax solver
carries its settings, so the front door needs to know nothing about them::

    run(bd)                                   # backend="numpy": Interpreter()
    run(bd, backend="jax")                    # Compiled()
    run(bd, backend=Compiled(threads=1))      # an object with its options

A new backend subclasses :class:`Backend`, gives it a ``name`` and
``execute``, and (optionally) refuses run options it cannot honour in
``check``; to be reachable by name, add it to :data:`BACKENDS`.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod

from .errors import ArgumentError

__all__ = ["BACKENDS", "Backend", "backend_named"]

#: the backends ``run(..., backend=NAME)`` knows: name -> (module, class), imported when first asked for
BACKENDS = {
    "numpy": ("lstmds_sim.core.interpreter", "Interpreter"),
    "jax": ("lstmds_sim.core.compiled", "Compiled"),
}


class Backend(ABC):
    """What executes a schedule: ``execute(schedule, progress=, live=) -> RunResult``."""

    #: the name ``run(..., backend=...)`` knows it by
    name: str = ""

    def check(self, *, solver: str, progress) -> None:
        """Refuse, before the diagram is analysed, a run option this backend cannot honour (one line)."""

    @abstractmethod
    def execute(self, schedule, *, progress=None, live=None):
        """Run ``schedule`` and return its :class:`~.result.RunResult`."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def backend_named(backend, **options) -> Backend:
    """The :class:`Backend` for ``backend``: a name in :data:`BACKENDS` (made with ``options``) or an object."""
    if isinstance(backend, Backend):
        if any(v is not None for v in options.values()):
            given = ", ".join(f"{k}=" for k, v in options.items() if v is not None)
            raise ArgumentError(f"{given} is an option of the backend: give it to the backend object "
                             f"(e.g. backend=Compiled(threads=2)), not to run() beside backend={backend!r}")
        return backend
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise ArgumentError(f"backend must be one of {tuple(BACKENDS)} or a Backend object, got {backend!r}")
    module, cls = BACKENDS[backend]
    return getattr(importlib.import_module(module), cls)(**{k: v for k, v in options.items() if v is not None})
