"""Which blocks the compiled backend can run: one pure-function description per bdsim block type.

A :class:`JaxBlock` wraps one block of a compiled diagram with pure
``jax.numpy`` functions of its inputs and state (nothing is mutated, nothing
is published to bdsim's ports):

* ``output(t, k, inputs, x, data)`` -> list of output values (one per port);
* ``next(t, inputs, x)`` -> the next discrete state (sampled blocks);
* ``deriv(t, inputs, x)`` -> the state's time derivative (continuous blocks);
* ``checks(inputs, x_next)`` -> ``[(ok, reason), ...]``: conditions the numpy
  block would raise on, checked every step and reported after the run
  (``next_checked`` gives both at once, for blocks whose check falls out of
  computing the next state);
* ``data`` -> an array the run takes as an argument (a SEQUENCE's samples), so
  that a compiled run can be re-run with new data without recompiling.

How a block's twin is found (:func:`jax_block`):

* a block class names its own twin in its ``jax_twin`` attribute, a
  ``JaxBlock`` subclass or ``"module:Class"`` (imported when a diagram with
  the block is compiled, so the block library loads without JAX): this
  library's blocks do (``blocks/_compiled.py``; PHPLANT's twin lives with the
  plant in ``systems/ph_jax.py``), and so can any user's block;
* bdsim's stock blocks, whose classes are not ours, register a factory by
  block type with :func:`register` (:mod:`.stock`).

A block with neither is refused in one line naming it. FUNCTION blocks run
their function on JAX arrays; a numpy-only function needs a ``jax.numpy``
twin: the function's own ``jax_twin`` attribute (as above), or one given with
:func:`register_function`. The backend names no block of the library.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import ArgumentTypeError, DiagramError

__all__ = ["JaxBlock", "function_twin", "jax_block", "label", "register", "register_function", "supported_types"]

_FACTORIES: dict[str, Callable] = {}
_TWINS: dict = {}

#: stock blocks refused by this backend (beyond those the engine refuses for every backend), and why
REFUSED = {
    "scope": "it draws while the run goes on; record the signal with RECORDER and plot it, or use backend='numpy'",
    "scopexy": "it draws a figure, which backend='jax' does not; record the signals with RECORDER and plot them, "
               "or use backend='numpy'",
    "scopexy1": "it draws a figure, which backend='jax' does not; record the signal with RECORDER and plot it, "
                "or use backend='numpy'",
    "stop": "it ends the run on a condition, and a compiled run has a fixed length; give steps, "
            "or use backend='numpy'",
    "event": "it calls a Python handler where its input crosses zero (located by root finding while integrating); "
             "use backend='numpy'",
    "animation": "it draws a figure through its own Python functions, which backend='jax' does not; record the "
                 "signals with RECORDER and animate them afterwards, or use backend='numpy'",
    "print": "it prints while the run goes on; record the signal with RECORDER (or WATCH) and print it "
             "afterwards, or use backend='numpy'",
}
_POSES = "its signals are spatialmath poses (SE3 objects), which JAX cannot trace; use backend='numpy'"
REFUSED.update({name: _POSES for name in ("pose_postmul", "pose_premul", "pose_inverse", "transform_vector",
                                          "poseintegrator", "poseintegrator_s", "dposeintegrator")})


def label(block) -> str:
    """How errors name a block: ``TYPE block 'name'``."""
    return f"{block.type.upper()} block '{block.name}'"


class JaxBlock:
    """The pure functions of one block (defaults: no state, no output, nothing to check)."""

    x0: np.ndarray | None = None
    data: np.ndarray | None = None
    #: a sink whose inputs the backend records every step (``result.recorders``; named as WATCH names them)
    records: bool = False
    #: the block attribute a run may replace (``compile_run(params=[name])``); the twin then reads the value
    #: as its ``data`` (None: the value baked in)
    tunable: str | None = None

    def tunable_value(self):
        """The tunable parameter's value now (what a run uses unless it gives another)."""
        return getattr(self.block, self.tunable)

    def __init__(self, block) -> None:
        self.block = block

    def output(self, t, k, inputs: list, x, data) -> list:
        return []

    def next(self, t, inputs: list, x):
        raise NotImplementedError

    def deriv(self, t, inputs: list, x):
        raise NotImplementedError

    def checks(self, inputs: list, x_next) -> list:
        return []

    def next_checked(self, t, inputs: list, x) -> tuple:
        """``(next state, checks)``."""
        x_next = self.next(t, inputs, x)
        return x_next, self.checks(inputs, x_next)


class Stateful(JaxBlock):
    """A block whose initial state is the block's own ``getstate0()`` (kept in its shape)."""

    def __init__(self, block) -> None:
        super().__init__(block)
        self.x0 = np.asarray(block.getstate0(), dtype=float)


def register(*types: str):
    """Class decorator: ``@register("unitdelay")`` makes the class the JAX description of that block type."""

    def add(factory):
        for name in types:
            _FACTORIES[name] = factory
        return factory

    return add


def supported_types() -> list[str]:
    """The block types the compiled backend runs (upper case, as bdsim names them)."""
    from ..bdsim_adapter import block_classes

    _load()
    own = [name for name, cls in block_classes().items() if getattr(cls, "jax_twin", None) is not None]
    return sorted({name.upper() for name in _FACTORIES} | set(own))


def _load() -> None:
    from . import stock  # noqa: F401  (registering is its import's side effect)


def resolve(twin: Any) -> Any:
    """A ``jax_twin`` attribute's value: the object itself, or the one a ``"module:name"`` string names."""
    if isinstance(twin, str):
        module, _, name = twin.partition(":")
        return getattr(importlib.import_module(module), name)
    return twin


def jax_block(block) -> JaxBlock:
    """The :class:`JaxBlock` of ``block``; a block without one is refused in one line naming it."""
    _load()
    if block.type in REFUSED:
        raise DiagramError(f"{label(block)} cannot run with backend='jax': {REFUSED[block.type]}")
    own = getattr(type(block), "jax_twin", None)
    factory = resolve(own) if own is not None else _FACTORIES.get(block.type)
    if factory is None:
        raise DiagramError(
            f"{label(block)} has no JAX function, so backend='jax' cannot run it "
            f"(it runs: {', '.join(supported_types())}); give its class a jax_twin (a JaxBlock) or run this "
            "diagram with backend='numpy'"
        )
    return factory(block)


def register_function(function: Callable, twin: Callable) -> None:
    """Run FUNCTION blocks that call the numpy ``function`` with ``twin``, its ``jax.numpy`` version.

    ``twin`` takes the same arguments (the block's inputs, then its ``fargs``
    and ``fkwargs``) and returns the same values, computed with ``jax.numpy``.
    (A function of your own can instead carry its twin: ``function.jax_twin = twin``.)
    """
    if not callable(function) or not callable(twin):
        raise ArgumentTypeError("register_function(function, twin): both must be callables")
    _TWINS[function] = twin


def function_twin(function: Callable) -> Callable | None:
    """The ``jax.numpy`` twin of ``function`` (registered, or its own ``jax_twin``), or None."""
    try:
        twin = _TWINS.get(function)
    except TypeError:  # an unhashable callable
        twin = None
    if twin is None:
        twin = getattr(function, "jax_twin", None)
    return resolve(twin) if twin is not None else None
