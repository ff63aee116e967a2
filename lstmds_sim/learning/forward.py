"""The LSTM forward pass in ``jax.numpy`` (differentiable, jit-able), in float64 on the CPU.

JAX computes in float32 unless 64-bit mode is on. This module never switches
it on for the whole process: :func:`float64` turns it on for the duration of a
call (``jax.enable_x64``, thread-local), and every public entry point of the
training code runs inside it. A user who wants float64 JAX everywhere sets
``jax.config.update("jax_enable_x64", True)`` themselves.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np

from ..core.jax_x64 import enable_x64
from ..core.params import FORMS, LSTMParams
from .options import ARRAY_NAMES

__all__ = ["cpu", "float64", "lstm_forward"]

# Time steps per iteration of the compiled scan loop: 8 makes long sequences about 1.5x
# faster on the CPU but costs compile time, so short sequences (tests) use 1.
_UNROLL, _UNROLL_FROM_STEPS = 8, 256


def float64(function):
    """Run ``function`` with JAX in 64-bit mode (only for the duration of the call)."""

    @functools.wraps(function)
    def scoped(*args, **kwargs):
        with enable_x64(True):
            return function(*args, **kwargs)

    return scoped


@functools.cache
def cpu():
    """The CPU device (looked up on first use, not on import)."""
    return jax.devices("cpu")[0]


def _arrays_of(params) -> dict[str, np.ndarray]:
    if isinstance(params, LSTMParams):
        return params.arrays()
    if isinstance(params, Mapping):
        return {k: params[k] for k in ARRAY_NAMES if k in params and params[k] is not None}
    raise TypeError(
        f"expected one LSTMParams (one layer) or a dict of arrays W, R, b[, F, bF], got {type(params).__name__}"
    )


def _forward_time_major(arrays, u, h0, c0, form: str):
    """LSTM output, time-major: ``u`` is (T, Ni) or (T, B, Ni); ``h0``, ``c0`` (Nn,) or (B, Nn).

    The input term ``W u(k) + b`` of all steps is one matrix product before the loop;
    the loop itself (``jax.lax.scan``) only adds ``R h(k-1)``.
    """
    n = arrays["R"].shape[1]
    R_T = arrays["R"].T
    drive = u @ arrays["W"].T + arrays["b"]  # (T, [B,] 4 Nn)

    def cell(carry, drive_k):
        h, c = carry
        z = drive_k + h @ R_T
        s = jax.nn.sigmoid(z)  # i, f, o use it; the g block is recomputed with tanh
        i, f, o = s[..., :n], s[..., n : 2 * n], s[..., 3 * n :]
        g = jnp.tanh(z[..., 2 * n : 3 * n])
        c = f * c + i * g
        h = o * jnp.tanh(c)
        return (h, c), h

    unroll = _UNROLL if drive.shape[0] >= _UNROLL_FROM_STEPS else 1
    _, H = jax.lax.scan(cell, (h0, c0), drive, unroll=unroll)  # H[k] = h(k)
    if form == "statespace":
        H = jnp.concatenate([h0[None], H[:-1]], axis=0)  # y(k) reads h(k-1)
    if "F" not in arrays:
        return H
    return H @ arrays["F"].T + arrays["bF"]


@float64
def lstm_forward(arrays: Mapping[str, jax.Array], u, h0=None, c0=None, form: str = "direct") -> jax.Array:
    """Output sequence of one LSTM layer, in ``jax.numpy`` (differentiable, jit-able).

    Same equations as :func:`lstmds_sim.core.matrix.simulate`::

        z(k) = W u(k) + R h(k-1) + b            gates stacked [i; f; g; o]
        c(k) = sig(z_f) * c(k-1) + sig(z_i) * tanh(z_g)
        h(k) = sig(z_o) * tanh(c(k))
        direct:      y(k) = F h(k)   + bF
        statespace:  y(k) = F h(k-1) + bF       (y = h when there is no F)

    Parameters
    ----------
    arrays : dict with ``W`` (4Nn, Ni), ``R`` (4Nn, Nn), ``b`` (4Nn,) and optionally ``F`` (No, Nn), ``bF`` (No,)
    u : array (T, Ni) or batched (B, T, Ni)
    h0, c0 : initial states (Nn,) or (B, Nn); zeros when None
    form : ``"direct"`` or ``"statespace"``

    Returns
    -------
    y : jax array (T, No) or (B, T, No)
    """
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, got {form!r}")
    u = jnp.asarray(u, dtype=jnp.float64)
    batched = u.ndim == 3
    n = arrays["R"].shape[1]
    shape = (u.shape[0], n) if batched else (n,)
    h0 = jnp.zeros(shape) if h0 is None else jnp.broadcast_to(jnp.asarray(h0, dtype=u.dtype), shape)
    c0 = jnp.zeros(shape) if c0 is None else jnp.broadcast_to(jnp.asarray(c0, dtype=u.dtype), shape)
    u_tm = jnp.swapaxes(u, 0, 1) if batched else u
    y = _forward_time_major(arrays, u_tm, h0, c0, form)
    return jnp.swapaxes(y, 0, 1) if batched else y
