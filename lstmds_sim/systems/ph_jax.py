"""The pH plant's maths in ``jax.numpy``: the compiled backend's twins of :mod:`.ph_plant` and :mod:`.ph_tank`.

* :func:`ph_from_invariants_jax` -- the pH equation solved by the same bracketed
  Newton iteration as :func:`.ph_plant.ph_from_invariants`, elementwise, as one
  ``lax.while_loop`` that stops when every element is done (or after
  ``max_iter`` iterations). An element is frozen once done, so the result is
  that of the numpy solver, whose shrinking working set drops done elements;
  the two agree to 1e-12 (``tests/test_jax_backend.py``).
* :func:`plant_step_jax` -- one sampling period of RK4 with the base flow held,
  the operations of :func:`.ph_plant.step_plant` in the same order, on the
  rows ``h``, ``Wa4``, ``Wb4`` of the batch; on the CPU a large batch is
  integrated in chunks of 256 tanks (XLA's threads cost more than they save
  on the small loops of an RK4 step).

The logarithm is fdlibm's (:func:`_log`, bit manipulation and a polynomial:
within 1 ulp of numpy's and three times faster than XLA's float64 ``log`` on
the CPU, the costliest operation of both the RK4 and the pH solve). The power
``(h + z)^n`` is computed as ``exp(n log(h + z))`` and ``arcsinh`` through
``log1p`` with it (within 7e-16 and 4e-16 of numpy's, two to four times faster
than XLA's ``pow`` and ``asinh``), so the results agree with the numpy
functions to rounding, not bit for bit.
* :func:`valve_flow_jax`, :func:`effluent_ph_jax` -- twins of the ``valve q4``
  and ``pH`` FUNCTION blocks of the drawn tank (each numpy function names its
  twin in its ``jax_twin`` attribute, :mod:`.ph_tank`);
* :class:`PHPlantTwin` -- the PHPLANT block under the compiled backend (the
  block names it in its ``jax_twin`` attribute).

Nothing here raises on bad values (a compiled loop cannot): the functions
return a validity flag, or NaN where the numpy function would raise.
Call them with JAX in float64 (``jax.enable_x64``); the backend does.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ..core.compiled.registry import Stateful, label
from ..core.validation import port_width
from .ph_plant import _EPS, _LN10, DEFAULT_PARAMS, PH_BRACKET, PHParams

__all__ = ["PHPlantTwin", "effluent_ph_jax", "ph_from_invariants_jax", "plant_step_jax", "valve_flow_jax"]


#: fdlibm's ``__ieee754_log``: coefficients of ``log(1 + f) = 2 atanh(s)``, ``s = f / (2 + f)``, and ``ln 2`` in two parts
_LG = (6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01, 2.222219843214978396e-01,
       1.818357216161805012e-01, 1.531383769920937332e-01, 1.479819860511658591e-01)
_LN2_HI, _LN2_LO = 6.93147180369123816490e-01, 1.90821492927058770002e-10
_SQRT_HALF_HIGH = 0x3FE6A09E << 32  # the high word of sqrt(1/2), in place in a float64's bits
_SQRT2_M1 = 0.41421356237309503  # sqrt(2) - 1


def _log_reduced(x):
    """``(k, f)`` with ``x = 2^k (1 + f)`` and ``1 + f`` in ``[sqrt(1/2), sqrt(2))``, read from the bits of ``x > 0``."""
    # adding 1 - sqrt(1/2) to the mantissa carries into the exponent exactly when 1 + f >= sqrt(2)
    bits = jax.lax.bitcast_convert_type(x, jnp.int64) + ((0x3FF << 52) - _SQRT_HALF_HIGH)
    k = ((bits >> 52) - 1023).astype(x.dtype)
    return k, jax.lax.bitcast_convert_type((bits & ((1 << 52) - 1)) + _SQRT_HALF_HIGH, x.dtype) - 1.0


def _log_kernel(k, f):
    """``k log(2) + log(1 + f)`` for ``1 + f`` in ``[sqrt(1/2), sqrt(2))``: fdlibm's polynomial in ``s = f / (2 + f)``."""
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    r = z * (_LG[0] + w * (_LG[2] + w * (_LG[4] + w * _LG[6]))) + w * (_LG[1] + w * (_LG[3] + w * _LG[5]))
    hfsq = 0.5 * f * f
    return k * _LN2_HI - ((hfsq - (s * (hfsq + r) + k * _LN2_LO)) - f)


def _log(x):
    """``log(x)`` within 1 ulp of numpy's, about three times faster than XLA's own float64 ``log`` on the CPU.

    fdlibm's algorithm in ``jax.numpy``: ``x = 2^k (1 + f)`` with ``1 + f`` in
    ``[sqrt(1/2), sqrt(2))`` read from the bits, then ``log(1 + f)`` by a
    polynomial. 0, negative, infinite and NaN inputs give numpy's -inf, NaN,
    inf and NaN (XLA's CPU code flushes subnormals to zero, so they count as
    0, as they do for XLA's ``log``).
    """
    out = _log_kernel(*_log_reduced(x))
    out = jnp.where(x == 0.0, -jnp.inf, jnp.where(x == jnp.inf, jnp.inf, out))
    return jnp.where(x < 0.0, jnp.nan, jnp.where(jnp.isnan(x), x, out))


def _log1p(u):
    """``log(1 + u)`` for ``u >= 0`` within 2 ulp, about four times faster than XLA's ``log1p`` on the CPU.

    Below ``sqrt(2) - 1`` the polynomial of :func:`_log` takes ``f = u`` itself
    (exact, however small ``u`` is); above, ``1 + u``, whose rounding costs
    less than an ulp there. (The textbook correction ``(u - ((1 + u) - 1)) / (1 + u)``
    does not survive XLA, which simplifies it to 0.)
    """
    k, f = _log_reduced(1.0 + u)
    small = u < _SQRT2_M1
    out = _log_kernel(jnp.where(small, 0.0, k), jnp.where(small, u, f))
    return jnp.where(u == jnp.inf, jnp.inf, jnp.where(jnp.isnan(u), u, out))


def _asinh(y):
    """``arcsinh(y)`` as ``sign(y) log1p(|y| + y^2 / (1 + sqrt(1 + y^2)))``: within 4e-16 (relative) of numpy's,
    and about three times as fast as XLA's own on the CPU (valid for |y| < 1e150; here |y| < 1e10)."""
    a = jnp.abs(y)
    return jnp.sign(y) * _log1p(a + a * a / (1.0 + jnp.sqrt(1.0 + a * a)))


def _power(x, n: float):
    """``x ** n`` for ``x > 0`` as ``exp(n log x)`` with :func:`_log`: within 7e-16 (relative) of numpy's power
    for the plant's ``h + z`` (11.5 to 100 cm; the error grows with ``|n log x|``), and three times faster than
    XLA's general ``pow`` on the CPU (NaN for ``x < 0``, as numpy's power of a non-integer n)."""
    return jnp.exp(n * _log(x))


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


#: tanks per chunk of :func:`plant_step_jax` on the CPU (see there)
CHUNK = 256


def plant_step_jax(x, q3, Ts: float, params: PHParams = DEFAULT_PARAMS, substeps: int = 4, *,
                   chunk: int | None = CHUNK):
    """The state ``x = (h, Wa4, Wb4)`` one period ``Ts`` later with the base flow ``q3`` held.

    ``x`` is (3,) or (B, 3), ``q3`` a scalar or (B,); the result has the
    broadcast shape (one tank stays (3,)). Returns ``(x_next, ok)``; ``ok`` is
    False where :func:`.ph_plant.step_plant` raises: a negative or non-finite
    flow, an RK4 step longer than the tank's renewal time ``A h / q_in``, a
    level that is not positive, before or after the period.

    On the CPU a batch of more than ``chunk`` tanks is integrated in chunks of
    at most ``chunk`` (padded to whole chunks, one ``lax.map``): XLA's CPU
    code splits the elementwise loops of larger arrays across threads, and the
    15 small loops of each RK4 step cost more in handing work to the threads
    than they save (2964 tanks on two shared cores: 40 % less CPU time in chunks
    of 248). ``chunk=None`` integrates the batch at once (as
    on a GPU, where chunks would only serialise the work). Each tank's
    arithmetic is the same either way.
    """
    p = params
    if x.ndim == 1 and jnp.size(q3) == 1:  # one tank stays (3,), as in step_plant
        q3 = jnp.reshape(q3, ())
    shape = jnp.broadcast_shapes(x.shape[:-1], jnp.shape(q3)) + (3,)
    # rows (h, Wa4, Wb4) of the batch, each contiguous, as step_plant's _rk4_columns
    cols = jnp.moveaxis(jnp.broadcast_to(x, shape), -1, 0).reshape(3, -1)
    q3 = jnp.broadcast_to(q3, shape[:-1]).reshape(-1)
    dt = Ts / substeps

    def rhs(h, wa, wb, q_in, w_in):  # the rows of step_plant's _rhs_columns, as three arrays
        volume = p.A * h
        return ((q_in - p.Cv4 * _power(h + p.z, p.n)) / p.A, (w_in[0] - q_in * wa) / volume,
                (w_in[1] - q_in * wb) / volume)

    def integrate(rows, q3):
        q_in = p.q1 + p.q2 + q3
        w_in = (p.q1 * p.Wa1 + p.q2 * p.Wa2 + q3 * p.Wa3, p.q1 * p.Wb1 + p.q2 * p.Wb2 + q3 * p.Wb3)

        def rk4(_, s):
            k1 = rhs(*s, q_in, w_in)
            k2 = rhs(*(v + (0.5 * dt) * d for v, d in zip(s, k1)), q_in, w_in)
            k3 = rhs(*(v + (0.5 * dt) * d for v, d in zip(s, k2)), q_in, w_in)
            k4 = rhs(*(v + dt * d for v, d in zip(s, k3)), q_in, w_in)
            return tuple(v + (dt / 6.0) * (a + (b + c) * 2.0 + d) for v, a, b, c, d in zip(s, k1, k2, k3, k4))

        return jnp.stack(jax.lax.fori_loop(0, substeps, rk4, tuple(rows)))

    h0, n = cols[0], cols.shape[1]
    ok = jnp.all(jnp.isfinite(q3) & (q3 >= 0) & (h0 > 0) & ((p.q1 + p.q2 + q3) / h0 * dt <= p.A))
    if chunk is not None and n > chunk and jax.default_backend() == "cpu":
        parts = -(-n // chunk)
        size = (-(-n // parts) + 7) // 8 * 8  # the fewest chunks, even sizes (multiples of 8) for the vector unit
        pad = parts * size - n
        rows = jnp.pad(cols, ((0, 0), (0, pad)), mode="edge").reshape(3, parts, size)
        flows = jnp.pad(q3, (0, pad), mode="edge").reshape(parts, size)
        cols = jax.lax.map(lambda a: integrate(*a), (jnp.moveaxis(rows, 1, 0), flows))
        cols = jnp.moveaxis(cols, 0, 1).reshape(3, -1)[:, :n]
    else:
        cols = integrate(cols, q3)
    ok = ok & jnp.all(cols[0] > 0) & jnp.all(jnp.isfinite(cols[0]))
    return jnp.moveaxis(cols.reshape((3,) + shape[:-1]), 0, -1), ok


def valve_flow_jax(h, params: PHParams = DEFAULT_PARAMS):
    """:func:`.ph_tank.valve_flow` in jax.numpy: ``q4 = Cv4 (h + z)^n``."""
    return params.Cv4 * _power(jnp.add(h, params.z), params.n)


def effluent_ph_jax(Wa4, Wb4, params: PHParams = DEFAULT_PARAMS):
    """:func:`.ph_tank.effluent_ph` in jax.numpy (NaN where the numpy solver raises)."""
    pH, ok = ph_from_invariants_jax(Wa4, Wb4, params)
    return jnp.atleast_1d(jnp.where(ok, pH, jnp.nan))


# --------------------------------------------------------------------------- the PHPLANT block's twin

REFUSED_FLOW = ("its base flow q3 is negative or non-finite, or the tank emptied, or the RK4 step Ts / substeps "
                "is longer than the time A h / q_in in which the inflow renews the tank (keep q3 in the spec's "
                "range [12.5, 17] ml/s; backend='numpy' names the tank and the flow)")


class PHPlantTwin(Stateful):
    """The PHPLANT block under ``backend="jax"`` (its ``jax_twin``): the pH solve, then one RK4 period.

    Output ``pH(x(k Ts))`` as (1,) or (B, 1); next state from :func:`plant_step_jax`,
    with the step's flow check reported after the run (:data:`REFUSED_FLOW`).
    """

    def output(self, t, k, inputs, x, data):
        pH, _ = ph_from_invariants_jax(x[..., 1], x[..., 2], self.block.params)
        return [pH[..., None]]

    def next_checked(self, t, inputs, x):
        q3 = port_width(inputs[0], 1, label(self.block), 0)[..., 0]
        b = self.block
        x_next, ok = plant_step_jax(x, q3, b.Ts, b.params, b.substeps)
        return x_next, [(ok, REFUSED_FLOW)]
