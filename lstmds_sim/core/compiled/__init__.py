"""The compiled backend: a diagram's schedule as one jitted ``lax.scan`` (``lstmds_sim.run(..., backend="jax")``).

=================  ==============================================================
module             one job
=================  ==============================================================
``registry``       ``JaxBlock``; how a block's twin is found (its class's ``jax_twin``, or registered
                   by type for bdsim's stock blocks); refusals; FUNCTION twins
``stock``          bdsim's stock blocks as pure ``jax.numpy`` functions
``step``           one step of the schedule (the scan body), RK4 for continuous states
``program``        :func:`compile_run` -> :class:`CompiledRun`: shapes, compilation, re-runs, results,
                   a batch cut into parts run at once on threads
``backend``        :class:`Compiled`, the backend object ``run(..., backend="jax")`` uses
=================  ==============================================================

Usage::

    result = lstmds_sim.run(bd, backend="jax")          # compile + run; result.timing
    compiled = compile_run(bd, probes=["h"])             # compile once ...
    again = compiled.run(inputs={"u": u2}, x0={"hidden state": h0})   # ... run with new data

This library's blocks bring their own twins (``blocks/_compiled.py``; PHPLANT's
in ``systems/ph_jax.py``): nothing here names a block of the library.
Importing this package imports JAX; ``lstmds_sim`` imports it only when
``backend="jax"`` is asked for.
"""

from .backend import Compiled
from .program import PART_ROWS, CompiledRun, compile_run, default_threads
from .registry import JaxBlock, register, register_function, supported_types

__all__ = ["PART_ROWS", "Compiled", "CompiledRun", "JaxBlock", "compile_run", "default_threads", "register",
           "register_function", "supported_types"]
