"""JAX's 64-bit mode for the duration of a ``with`` block (thread-local), under one name for every JAX we install with.

``with enable_x64(True): ...`` computes in float64 inside the block only; the process-wide setting
(``jax.config.jax_enable_x64``) is left alone. JAX names this context manager ``jax.enable_x64`` in the
releases for Python >= 3.11 (0.10, 0.12 checked); JAX 0.6.2, the newest release for Python 3.10, has
only ``jax.experimental.enable_x64`` (the same thread-local setting), which later releases removed.
Importing this module imports JAX: only the JAX code (the compiled backend, training) imports it.
"""

import jax

__all__ = ["enable_x64"]

try:
    enable_x64 = jax.enable_x64
except AttributeError:  # JAX < 0.7 (Python 3.10)
    from jax.experimental import enable_x64
