"""The pH plant's maths in ``jax.numpy``: the compiled backend's twins of :mod:`.ph_plant` and :mod:`.ph_tank`.

* :func:`ph_from_invariants_jax` -- the pH equation solved by the same bracketed
  Newton iteration as :func:`.ph_plant.ph_from_invariants`, elementwise, as one
  ``lax.while_loop`` that stops when every element is done (or after
  ``max_iter`` iterations). An element is frozen once done, so the result is
  that of the numpy solver, whose shrinking working set drops done elements;
  the two agree to 1e-12 (``tests/test_jax_backend.py``).
* :func:`plant_step_jax` -- one sampling period of RK4 with the base flow held,
  the operations of :func:`.ph_plant.step_plant` in the same order.
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
        step = jnp.arcsinh(f / s) * jnp.sqrt(s * s + f * f) / slope
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
    x = jnp.broadcast_to(x, shape)
    q3 = jnp.broadcast_to(q3, shape[:-1])
    q_in = p.q1 + p.q2 + q3
    w_in = jnp.stack([p.q1 * p.Wa1 + p.q2 * p.Wa2 + q3 * p.Wa3, p.q1 * p.Wb1 + p.q2 * p.Wb2 + q3 * p.Wb3], axis=-1)
    dt = Ts / substeps

    def rhs(s):
        h = s[..., 0]
        dh = (q_in - p.Cv4 * (h + p.z) ** p.n) / p.A
        dw = (w_in - q_in[..., None] * s[..., 1:]) / (p.A * h)[..., None]
        return jnp.concatenate([dh[..., None], dw], axis=-1)

    def rk4(_, s):
        k1 = rhs(s)
        k2 = rhs(s + (0.5 * dt) * k1)
        k3 = rhs(s + (0.5 * dt) * k2)
        k4 = rhs(s + dt * k3)
        return s + (dt / 6.0) * (k1 + (k2 + k3) * 2.0 + k4)

    h0 = x[..., 0]
    ok = jnp.all(jnp.isfinite(q3) & (q3 >= 0) & (h0 > 0) & ((q_in / h0) * dt <= p.A))
    s = jax.lax.fori_loop(0, substeps, rk4, x)
    ok = ok & jnp.all(s[..., 0] > 0) & jnp.all(jnp.isfinite(s[..., 0]))
    return s, ok


def valve_flow_jax(h, params: PHParams = DEFAULT_PARAMS):
    """:func:`.ph_tank.valve_flow` in jax.numpy: ``q4 = Cv4 (h + z)^n``."""
    return params.Cv4 * jnp.power(jnp.add(h, params.z), params.n)


def effluent_ph_jax(Wa4, Wb4, params: PHParams = DEFAULT_PARAMS):
    """:func:`.ph_tank.effluent_ph` in jax.numpy (NaN where the numpy solver raises)."""
    pH, ok = ph_from_invariants_jax(Wa4, Wb4, params)
    return jnp.where(ok, pH, jnp.nan)


#: numpy function -> its jax.numpy twin, for FUNCTION blocks under the compiled backend
TWINS = {valve_flow: valve_flow_jax, effluent_ph: effluent_ph_jax}
