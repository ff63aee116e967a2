"""The pH plant's maths in ``jax.numpy``: the compiled backend's twins of :mod:`.ph_plant` and :mod:`.ph_tank`.

* :func:`ph_from_invariants_jax` -- the pH equation solved by the same bracketed
  Newton iteration as :func:`.ph_plant.ph_from_invariants`, elementwise, as one
  ``lax.while_loop`` that stops when every element is done (or after
  ``max_iter`` iterations). An element is frozen once done, so the result is
  that of the numpy solver, whose shrinking working set drops done elements;
  the two agree to 1e-12 (``tests/test_jax_backend.py``).
* :func:`plant_step_jax` -- one sampling period of RK4 with the base flow held,
  the operations of :func:`.ph_plant.step_plant` in the same order, on the
  rows ``h``, ``Wa4``, ``Wb4`` of the batch.

The power ``(h + z)^n`` is computed as ``exp(n log(h + z))`` and ``arcsinh`` through
``log1p`` (both within 5e-16 of numpy's, and two to three times faster than
XLA's general ``pow`` and ``asinh`` on the CPU), so the results agree with the
numpy functions to rounding, not bit for bit.
* :func:`valve_flow_jax`, :func:`effluent_ph_jax` -- twins of the ``valve q4``
  and ``pH`` FUNCTION blocks of the drawn tank; :data:`TWINS` maps each numpy
  function to its twin (the compiled backend reads it).

Nothing here raises on bad values (a compiled loop cannot): the functions
return a validity flag, or NaN where the numpy function would raise.
Call them with JAX in float64 (``jax.enable_x64``); the backend does.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .ph_plant import _EPS, _LN10, DEFAULT_PARAMS, PH_BRACKET, PHParams
from .ph_tank import effluent_ph, valve_flow

__all__ = ["TWINS", "effluent_ph_jax", "ph_from_invariants_jax", "plant_step_jax", "valve_flow_jax"]


def _asinh(y):
    """``arcsinh(y)`` as ``sign(y) log1p(|y| + y^2 / (1 + sqrt(1 + y^2)))``: within 3e-16 (relative) of numpy's,
    and about twice as fast as XLA's own on the CPU (valid for |y| < 1e150; here |y| < 1e10)."""
    a = jnp.abs(y)
    return jnp.sign(y) * jnp.log1p(a + a * a / (1.0 + jnp.sqrt(1.0 + a * a)))


def _power(x, n: float):
    """``x ** n`` for ``x > 0`` as ``exp(n log x)``: within 5e-16 (relative) of numpy's power, and faster
    than XLA's general ``pow`` on the CPU (NaN for ``x < 0``, as numpy's power of a non-integer n)."""
    return jnp.exp(n * jnp.log(x))


def _charge_balance(p, wa, wb, pk1: float, pk2: float):
    """:func:`.ph_plant._charge_balance` in jax.numpy, term by term."""
    e = jnp.exp(_LN10 * p)
    oh = e * 1e-14
    hp = 1.0 / e
    a = 10.0**pk1 * hp
    b = e * 10.0**-pk2
    den = 1.0 + a + b
    frac = (1.0 + 2.0 * b) / den
    f = wa + oh - hp + wb * frac
    slope = _LN10 * (oh + hp + wb * (a + b + 4.0 * a * b) / (den * den))
    scale = jnp.abs(wa) + oh + hp + wb * frac
    return f, slope, scale


def ph_from_invariants_jax(Wa4, Wb4, params: PHParams = DEFAULT_PARAMS, *, xtol: float = 1e-13,
                           max_iter: int = 150):
    """Effluent pH from the invariants, elementwise, and whether every element was solved.

    Returns ``(pH, ok)``: ``pH`` has the broadcast shape of the inputs;
    ``ok`` is False when an input is non-finite, ``Wb4 < 0``, the
    concentrations are unphysical (the cases where the numpy solver raises) or
    the iteration did not converge in ``max_iter`` steps.
    """
    wa, wb = jnp.broadcast_arrays(jnp.asarray(Wa4), jnp.asarray(Wb4))
    pk1, pk2 = params.pK1, params.pK2
    s = jnp.abs(wa) + wb + 1e-7
    newton_iters = max_iter // 3

    def body(carry):
        it, p, lo, hi, p_out, done = carry
        f, slope, scale = _charge_balance(p, wa, wb, pk1, pk2)
        below = f < 0
        lo_new = jnp.where(below, p, lo)
        hi_new = jnp.where(below, hi, p)
        step = _asinh(f / s) * jnp.sqrt(s * s + f * f) / slope
        p_new = p - step
        use_newton = (p_new >= lo_new) & (p_new <= hi_new) & (it < newton_iters)
        p_new = jnp.where(use_newton, p_new, 0.5 * (lo_new + hi_new))
        at_rounding = jnp.abs(f) <= 4.0 * _EPS * scale
        p_new = jnp.where(at_rounding, p, p_new)
        finished = ~done & (at_rounding | (jnp.abs(p_new - p) <= xtol))
        p_out = jnp.where(finished, p_new, p_out)
        keep = done | finished
        return (it + 1, jnp.where(keep, p, p_new), jnp.where(keep, lo, lo_new), jnp.where(keep, hi, hi_new),
                p_out, keep)

    def more(carry):
        it, *_, done = carry
        return (it < max_iter) & ~jnp.all(done)

    valid = jnp.isfinite(wa) & jnp.isfinite(wb) & (wb >= 0) & (wa + 2.0 * wb < 99.0) & (wa > -99.0)
    start = (jnp.asarray(0), jnp.full(wa.shape, 7.0), jnp.full(wa.shape, PH_BRACKET[0]),
             jnp.full(wa.shape, PH_BRACKET[1]), jnp.full(wa.shape, jnp.nan), ~valid)
    *_, p_out, done = jax.lax.while_loop(more, body, start)
    return p_out, valid & done


def plant_step_jax(x, q3, Ts: float, params: PHParams = DEFAULT_PARAMS, substeps: int = 4):
    """The state ``x = (h, Wa4, Wb4)`` one period ``Ts`` later with the base flow ``q3`` held.

    ``x`` is (3,) or (B, 3), ``q3`` a scalar or (B,); the result has the
    broadcast shape (one tank stays (3,)). Returns ``(x_next, ok)``; ``ok`` is
    False where :func:`.ph_plant.step_plant` raises: a negative or non-finite
    flow, an RK4 step longer than the tank's renewal time ``A h / q_in``, a
    level that is not positive, before or after the period.
    """
    p = params
    if x.ndim == 1 and jnp.size(q3) == 1:  # one tank stays (3,), as in step_plant
        q3 = jnp.reshape(q3, ())
    shape = jnp.broadcast_shapes(x.shape[:-1], jnp.shape(q3)) + (3,)
    # rows (h, Wa4, Wb4) of the batch, each contiguous, as step_plant's _rk4_columns
    cols = jnp.moveaxis(jnp.broadcast_to(x, shape), -1, 0).reshape(3, -1)
    q3 = jnp.broadcast_to(q3, shape[:-1]).reshape(-1)
    q_in = p.q1 + p.q2 + q3
    w_in = jnp.stack([p.q1 * p.Wa1 + p.q2 * p.Wa2 + q3 * p.Wa3, p.q1 * p.Wb1 + p.q2 * p.Wb2 + q3 * p.Wb3])
    dt = Ts / substeps

    def rhs(h, wa, wb):  # the rows of step_plant's _rhs_columns, as three arrays
        volume = p.A * h
        return ((q_in - p.Cv4 * _power(h + p.z, p.n)) / p.A, (w_in[0] - q_in * wa) / volume,
                (w_in[1] - q_in * wb) / volume)

    def rk4(_, s):
        k1 = rhs(*s)
        k2 = rhs(*(v + (0.5 * dt) * d for v, d in zip(s, k1)))
        k3 = rhs(*(v + (0.5 * dt) * d for v, d in zip(s, k2)))
        k4 = rhs(*(v + dt * d for v, d in zip(s, k3)))
        return tuple(v + (dt / 6.0) * (a + (b + c) * 2.0 + d) for v, a, b, c, d in zip(s, k1, k2, k3, k4))

    h0 = cols[0]
    ok = jnp.all(jnp.isfinite(q3) & (q3 >= 0) & (h0 > 0) & ((q_in / h0) * dt <= p.A))
    cols = jnp.stack(jax.lax.fori_loop(0, substeps, rk4, tuple(cols)))
    ok = ok & jnp.all(cols[0] > 0) & jnp.all(jnp.isfinite(cols[0]))
    return jnp.moveaxis(cols.reshape((3,) + shape[:-1]), 0, -1), ok


def valve_flow_jax(h, params: PHParams = DEFAULT_PARAMS):
    """:func:`.ph_tank.valve_flow` in jax.numpy: ``q4 = Cv4 (h + z)^n``."""
    return params.Cv4 * _power(jnp.add(h, params.z), params.n)


def effluent_ph_jax(Wa4, Wb4, params: PHParams = DEFAULT_PARAMS):
    """:func:`.ph_tank.effluent_ph` in jax.numpy (NaN where the numpy solver raises)."""
    pH, ok = ph_from_invariants_jax(Wa4, Wb4, params)
    return jnp.where(ok, pH, jnp.nan)


#: numpy function -> its jax.numpy twin, for FUNCTION blocks under the compiled backend
TWINS = {valve_flow: valve_flow_jax, effluent_ph: effluent_ph_jax}
