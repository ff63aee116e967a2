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

Block types register a factory with :func:`register`; :func:`jax_block` finds
it or refuses the block in one line naming it. FUNCTION blocks run their
function on JAX arrays; a numpy-only function needs a ``jax.numpy`` twin
(:func:`register_function`; the pH tank's are in :mod:`lstmds_sim.systems.ph_jax`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import numpy as np

from ..errors import DiagramError

__all__ = ["JaxBlock", "function_twin", "jax_block", "label", "register", "register_function", "supported_types"]

_FACTORIES: dict[str, Callable] = {}
_TWINS: dict = {}
#: modules that register ``jax.numpy`` twins of numpy functions used in FUNCTION blocks (loaded on first use)
TWIN_MODULES = ("lstmds_sim.systems.ph_jax",)

#: stock blocks refused by this backend (beyond those the engine refuses for every backend), and why
REFUSED = {
    "scope": "it draws while the run goes on; record the signal with RECORDER and plot it, or use backend='numpy'",
    "stop": "it ends the run on a condition, and a compiled run has a fixed length; give steps, "
            "or use backend='numpy'",
}


def label(block) -> str:
    """How errors name a block: ``TYPE block 'name'``."""
    return f"{block.type.upper()} block '{block.name}'"


class JaxBlock:
    """The pure functions of one block (defaults: no state, no output, nothing to check)."""

    x0: np.ndarray | None = None
    data: np.ndarray | None = None

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


def register(*types: str):
    """Class decorator: ``@register("unitdelay")`` makes the class the JAX description of that block type."""

    def add(factory):
        for name in types:
            _FACTORIES[name] = factory
        return factory

    return add


def supported_types() -> list[str]:
    """The block types the compiled backend runs (upper case, as bdsim names them)."""
    _load()
    return sorted(name.upper() for name in _FACTORIES)


def _load() -> None:
    from . import ours, stock  # noqa: F401  (registering is their import's side effect)


def jax_block(block) -> JaxBlock:
    """The :class:`JaxBlock` of ``block``; a block without one is refused in one line naming it."""
    _load()
    if block.type in REFUSED:
        raise DiagramError(f"{label(block)} cannot run with backend='jax': {REFUSED[block.type]}")
    factory = _FACTORIES.get(block.type)
    if factory is None:
        raise DiagramError(
            f"{label(block)} has no JAX function, so backend='jax' cannot run it "
            f"(it runs: {', '.join(supported_types())}); run this diagram with backend='numpy'"
        )
    return factory(block)


def register_function(function: Callable, twin: Callable) -> None:
    """Run FUNCTION blocks that call the numpy ``function`` with ``twin``, its ``jax.numpy`` version.

    ``twin`` takes the same arguments (the block's inputs, then its ``fargs``
    and ``fkwargs``) and returns the same values, computed with ``jax.numpy``.
    """
    if not callable(function) or not callable(twin):
        raise TypeError("register_function(function, twin): both must be callables")
    _TWINS[function] = twin


_LOADED_TWINS: list = []


def function_twin(function: Callable) -> Callable | None:
    """The registered ``jax.numpy`` twin of ``function``, or None."""
    if not _LOADED_TWINS:
        for name in TWIN_MODULES:
            for numpy_function, twin in importlib.import_module(name).TWINS.items():
                _TWINS.setdefault(numpy_function, twin)
        _LOADED_TWINS.append(True)
    try:
        return _TWINS.get(function)
    except TypeError:  # an unhashable callable
        return None
