"""bdsim's stock blocks as pure ``jax.numpy`` functions, with the semantics the numpy engine gives them.

Each class below is the twin of one bdsim 1.4 block type (registered by type
with :func:`.registry.register`) and reproduces the block's own ``output`` /
``next`` / ``deriv`` operation by operation: the same rules, the same shapes.
The first line of each docstring is what ``docs/backends.md``'s table of
stock blocks says of it (the table is generated from them and checked by
``tests/test_compiled_stock.py``).

bdsim's blocks branch on ``isinstance(value, np.ndarray)``: a Python float
(a CONSTANT 2.0, a STEP, a one-element INTEGRATOR state) takes the scalar
branch. Here every value is a JAX array and a 0-d array stands for the float,
so those rules read ``ndim >= 1``; an output that bdsim turns into a float
(``x.item()`` of a one-element vector) is a 0-d array (:func:`wire`).

Blocks that cannot be traced are refused in one line before anything runs:
by type in :data:`.registry.REFUSED` (spatialmath poses, PRINT, EVENT, STOP,
the scopes), or by the twin's constructor for a setting that cannot be
(POW of a matrix to a non-integer power, a persistent FUNCTION, FLATTEN in
memory order, a CONSTANT that is not numbers).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import DiagramError
from .registry import JaxBlock, Stateful, function_twin, label, register


def wire(value):
    """An output as bdsim's blocks give it (:func:`..kernels._wire`): a one-element vector as a 0-d value."""
    return value.reshape(()) if value.ndim == 1 and value.shape[0] == 1 else value


def column(value):
    """A port value as ``(n,)`` or ``(B, n)`` (a scalar is ``(1,)``), as :func:`..kernels._column`."""
    value = jnp.asarray(value)
    return value.reshape(1) if value.ndim == 0 else value


def rounded(product):
    """``product`` rounded to a float64 before it is added to anything, as numpy computes ``a * b + c``.

    XLA's CPU compiler fuses a product and a sum into one FMA (one rounding
    instead of two), which moves a result by an ulp; where a comparison
    follows (a square wave's phase against its duty cycle, an RK4 stage time
    against the end of its piece) an ulp decides which side of a jump is
    read. Adding ``product * 0`` gives the fused operation nothing to fuse.
    """
    return product + product * 0.0


def _numbers(block, value):
    """A parameter as float64 arrays (a dict of them stays a dict); one line naming the block if it is not numbers."""
    try:
        if isinstance(value, dict):
            return {key: np.asarray(v, dtype=float) for key, v in value.items()}
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise DiagramError(f"{label(block)}: its value {type(value).__name__} is not numbers, so backend='jax' "
                           "cannot carry it; use backend='numpy'") from None


def _is_array(value) -> bool:
    """What bdsim's ``isinstance(value, np.ndarray)`` sees (a 0-d value stands for a Python float)."""
    return jnp.ndim(value) >= 1


# ------------------------------------------------------------------------------------------------ sources


@register("constant")
class Constant(JaxBlock):
    """Its value, baked into the compiled program (numbers, or a dict of them for ITEM)."""

    tunable = "value"  # a run may give another value (compile_run(params=[name]))

    def __init__(self, block) -> None:
        super().__init__(block)
        self.value = _numbers(block, block.value)

    def output(self, t, k, inputs, x, data):
        if data is not None:
            return [data]
        return [jax.tree.map(jnp.asarray, self.value)]


@register("time")
class Time(JaxBlock):
    """The time ``t`` (on an integration piece ``[a, b]``, ``b`` read as its left limit)."""

    def output(self, t, k, inputs, x, data):
        return [jnp.asarray(t, dtype=float)]


@register("step")
class Step(JaxBlock):
    """``on`` where ``t >= T``, else ``off``; ``T`` is a breakpoint of the integration."""

    def __init__(self, block) -> None:
        super().__init__(block)
        self.T = float(block.T)
        self.on, self.off = _numbers(block, block.on), _numbers(block, block.off)

    def output(self, t, k, inputs, x, data):
        return [jnp.where(t >= self.T, self.on, self.off)]


@register("ramp")
class Ramp(JaxBlock):
    """``off + slope (t - T)`` where ``t >= T``, else ``off``; ``T`` is a breakpoint of the integration."""

    def __init__(self, block) -> None:
        super().__init__(block)
        self.T = float(block.T)
        self.off, self.slope = _numbers(block, block.off), _numbers(block, block.slope)

    def output(self, t, k, inputs, x, data):
        return [jnp.where(t >= self.T, self.off + self.slope * (t - self.T), self.off)]


@register("waveform")
class Waveform(JaxBlock):
    """Square, triangle or sine as bdsim computes it (``phase = (t f - phase0) mod 1``); its edges are breakpoints."""

    def __init__(self, block) -> None:
        super().__init__(block)
        self.wave, self.freq, self.phase = block.wave, float(block.freq), float(block.phase)
        self.duty, self.amplitude, self.offset = float(block.duty), block.amplitude, block.offset

    def output(self, t, k, inputs, x, data):
        phase = jnp.remainder(rounded(t * self.freq) - self.phase, 1.0)
        if self.wave == "square":
            out = jnp.where(phase < self.duty, 1.0, -1.0)
        elif self.wave == "triangle":
            out = jnp.where(phase < 0.25, phase * 4,
                            jnp.where(phase < 0.75, 1 - 4 * (phase - 0.25), -1 + 4 * (phase - 0.75)))
        else:
            out = jnp.sin(phase * 2 * math.pi)
        return [out * self.amplitude + self.offset]


@register("piecewise")
class Piecewise(JaxBlock):
    """``y_i`` for the last ``t_i <= t`` (before ``t_0``: the last value, as bdsim's index -1); its ``t_i`` are breakpoints."""

    def __init__(self, block) -> None:
        super().__init__(block)
        self.times = np.asarray(block.t, dtype=float)
        self.values = np.stack([_numbers(block, y) for y in block.y])

    def output(self, t, k, inputs, x, data):
        i = jnp.sum(t >= self.times) - 1
        i = jnp.where(i < 0, i + len(self.times), i)
        return [jnp.asarray(self.values)[i]]


@register("interpolate")
class Interpolate(JaxBlock):
    """scipy's ``interp1d`` of the input (or of ``t``): every ``kind``; outside the data an error after the run."""

    def __init__(self, block) -> None:
        from scipy.interpolate import PPoly, interp1d

        super().__init__(block)
        f = block.f
        self.time = bool(block.time)
        self.kind = f._kind
        self.x = np.asarray(f.x, dtype=float)
        self.y = np.asarray(f._y, dtype=float)  # (len(x), values per point)
        self.extra = tuple(f._y_extra_shape)
        self.reason = (f"its input is outside the interpolation range [{self.x[0]:g}, {self.x[-1]:g}] "
                       "(scipy's interp1d raises)")
        if f._y_axis != 0 or not f.bounds_error:
            raise DiagramError(f"{label(block)}: backend='jax' interpolates along axis 0 with bounds checked, "
                               "as bdsim builds it; use backend='numpy'")
        if self.kind == "linear":
            self.numpy_interp = f._call is interp1d._call_linear_np  # np.interp: exact at the data points
            self.y1 = np.asarray(f.y, dtype=float)
        elif self.kind in ("nearest", "nearest-up"):
            self.side, self.bounds = ("left" if self.kind == "nearest" else "right"), self.x / 2.0
            self.bounds = self.bounds[1:] + self.bounds[:-1]
        elif self.kind in ("previous", "next"):
            self.side, self.ind, self.shift = f._side, f._ind, f._x_shift
        else:  # a spline (zero, slinear, quadratic, cubic, an order): its polynomial pieces
            t, c, order = f._spline.tck
            c = np.asarray(c, dtype=float).reshape(len(c), -1)
            polys = [PPoly.from_spline((t, c[:, j], order)) for j in range(c.shape[1])]
            self.breaks = np.asarray(polys[0].x, dtype=float)
            self.coeffs = np.stack([np.asarray(p.c, dtype=float) for p in polys], axis=-1)  # (order+1, pieces, m)

    def _at(self, xs):
        """Values at the points ``xs`` (1-D): ``(len(xs), values per point)``, or ``(len(xs),)`` for np.interp."""
        x, y, n = jnp.asarray(self.x), jnp.asarray(self.y), len(self.x)
        if self.kind == "linear" and self.numpy_interp:
            y1 = jnp.asarray(self.y1)
            j = jnp.clip(jnp.searchsorted(x, xs, side="right") - 1, 0, n - 1)
            hi = jnp.minimum(j + 1, n - 1)
            slope = (y1[hi] - y1[j]) / (x[hi] - x[j])
            value = slope * (xs - x[j]) + y1[j]
            value = jnp.where(jnp.isnan(value), slope * (xs - x[hi]) + y1[hi], value)
            return jnp.where((j == n - 1) | (x[j] == xs), y1[j], value)
        if self.kind == "linear":
            hi = jnp.clip(jnp.searchsorted(x, xs), 1, n - 1)
            lo = hi - 1
            slope = (y[hi] - y[lo]) / (x[hi] - x[lo])[:, None]
            return slope * (xs - x[lo])[:, None] + y[lo]
        if self.kind in ("nearest", "nearest-up"):
            return y[jnp.clip(jnp.searchsorted(jnp.asarray(self.bounds), xs, side=self.side), 0, n - 1)]
        if self.kind in ("previous", "next"):
            i = jnp.clip(jnp.searchsorted(jnp.asarray(self.shift), xs, side=self.side), 1 - self.ind, n - self.ind)
            return y[i + self.ind - 1]
        breaks, c = jnp.asarray(self.breaks), jnp.asarray(self.coeffs)
        i = jnp.clip(jnp.searchsorted(breaks, xs, side="right") - 1, 0, c.shape[1] - 1)
        dx = (xs - breaks[i])[:, None]
        value = c[0, i]
        for m in range(1, c.shape[0]):
            value = value * dx + c[m, i]
        return value

    def _inside(self, xs):
        return ~((xs < self.x[0]) | (xs > self.x[-1]))  # scipy's bounds check (NaN passes it)

    def _points(self, t, inputs):
        return jnp.asarray(t if self.time else inputs[0], dtype=float)

    def output(self, t, k, inputs, x, data):
        points = self._points(t, inputs)
        xs = points.ravel()
        value = self._at(xs)
        value = jnp.where(self._inside(xs).reshape((-1,) + (1,) * (value.ndim - 1)), value, jnp.nan)
        return [value.reshape(points.shape + self.extra)]

    def output_checks(self, t, inputs) -> list:
        return [(jnp.all(self._inside(self._points(t, inputs).ravel())), self.reason)]


# ------------------------------------------------------------------------------------------------ functions


_WRAPS = {"r", "c", "C", "L", "l"}


def _wrap(mode: str, theta):
    """spatialmath's angle wrapping, as SUM's ``mode`` applies it to one value."""
    if mode == "r":
        return theta
    if mode == "c":  # wrap_mpi_pi
        return jnp.remainder(theta + math.pi, 2 * math.pi) - np.pi
    if mode == "C":  # wrap_0_2pi
        return theta - 2.0 * math.pi * jnp.floor(theta / 2.0 / np.pi)
    theta = jnp.abs(theta)  # wrap_0_pi ("L", "l")
    n = (theta / np.pi).astype(jnp.int64)
    return jnp.where(n % 2 == 0, theta - n * np.pi, (n + 1) * np.pi - theta)


@register("sum")
class Sum(JaxBlock):
    """Signed sum in bdsim's order; ``mode`` wraps angles per element (per row of a 2-D sum), as bdsim."""

    def __init__(self, block) -> None:
        super().__init__(block)
        self.signs, self.mode = block.signs, block.mode
        if self.mode is not None and not set(self.mode) <= _WRAPS:
            raise DiagramError(f"{label(block)}: mode {self.mode!r} has letters other than {sorted(_WRAPS)}")

    def output(self, t, k, inputs, x, data):
        total = None
        for sign, value in zip(self.signs, inputs):
            if total is None:
                total = -value if sign == "-" else value
            else:
                total = total - value if sign == "-" else total + value
        mode = self.mode
        if mode is None:
            return [total]
        if total.ndim == 0:
            return [_wrap(mode[0], total)]
        if total.ndim > 2 or len(mode) != total.shape[0]:
            raise DiagramError(f"{label(self.block)}: mode {mode!r} has {len(mode)} letters for a sum of shape "
                               f"{total.shape} (one per element of a vector, per row of a matrix)")
        total = jnp.stack([_wrap(m, total[i]) for i, m in enumerate(mode)])
        return [total.reshape(()) if len(total) == 1 else total]


@register("gain")
class Gain(JaxBlock):
    """bdsim's rule: array input and array K: ``u @ K`` (``K @ u`` with ``premul``), otherwise ``u * K``."""

    def __init__(self, block) -> None:
        super().__init__(block)
        self.K = block.K
        self.matrix = isinstance(block.K, np.ndarray)
        self.premul = block.premul

    def output(self, t, k, inputs, x, data):
        u = inputs[0]
        if self.matrix and u.ndim >= 1:
            K = jnp.asarray(self.K, dtype=float)
            return [K @ u if self.premul else u @ K]
        return [u * self.K]


@register("prod")
class Prod(JaxBlock):
    """bdsim's rule input by input: arrays multiply as matrices (``@``, ``/`` by the inverse), scalars elementwise."""

    def __init__(self, block) -> None:
        super().__init__(block)
        self.ops = block.ops  # bdsim 1.4's matrix= is deprecated and has no effect: the input type decides

    def output(self, t, k, inputs, x, data):
        prod = None
        for i, (op, u) in enumerate(zip(self.ops, inputs)):
            if i == 0:
                prod = u if op == "*" else (jnp.linalg.inv(u) if _is_array(u) else 1.0 / u)
            elif op == "*":
                prod = prod @ u if _is_array(u) else prod * u
            else:
                prod = prod @ jnp.linalg.inv(u) if _is_array(u) else prod / u
        return [prod]


@register("pow")
class Pow(JaxBlock):
    """``u ** p`` elementwise; ``matrix=True``: a matrix power (an integer ``p``; another ``p`` is refused)."""

    def __init__(self, block) -> None:
        super().__init__(block)
        self.p, self.matrix = block.p, block.matrix

    def output(self, t, k, inputs, x, data):
        u = inputs[0]
        if self.matrix and _is_array(u):
            if not isinstance(self.p, int):
                raise DiagramError(f"{label(self.block)}: backend='jax' raises a matrix to an integer power only "
                                   f"(p = {self.p!r}: scipy's fractional_matrix_power); use backend='numpy'")
            return [jnp.linalg.matrix_power(u, self.p)]
        if self.p == -1:  # numpy's fast path: the reciprocal
            return [1.0 / u]
        return [u**self.p]


@register("clip")
class Clip(JaxBlock):
    """``clip(u, min, max)``; a scalar input as bdsim's ``min(max, max(u, min))`` (scalar bounds)."""

    def __init__(self, block) -> None:
        super().__init__(block)
        self.min, self.max = _numbers(block, block.min), _numbers(block, block.max)

    def output(self, t, k, inputs, x, data):
        u = inputs[0]
        if _is_array(u):
            return [jnp.clip(u, self.min, self.max)]
        if self.min.ndim or self.max.ndim:
            raise DiagramError(f"{label(self.block)}: a scalar input with vector bounds (bdsim's min/max of a "
                               "float and an array fails); give the input as a vector")
        return [jnp.minimum(self.max, jnp.maximum(u, self.min))]


@register("function")
class Function(JaxBlock):
    """Its function on JAX arrays, or its registered ``jax.numpy`` twin; refused when it cannot be traced."""

    def __init__(self, block) -> None:
        super().__init__(block)
        if block.userdata is not None:
            raise DiagramError(f"{label(block)}: backend='jax' cannot run a FUNCTION with persistent=True "
                               "(its state lives in Python); use backend='numpy'")
        functions = block.func if isinstance(block.func, (list, tuple)) else [block.func]
        self.functions = [function_twin(f) or f for f in functions]
        self.single = callable(block.func)

    def output(self, t, k, inputs, x, data):
        b = self.block
        try:
            values = [f(*inputs, *b.args, **b.kwargs) for f in self.functions]
        except Exception as err:  # noqa: BLE001  (any failure to trace is the same refusal)
            name = getattr(b.func, "__name__", type(b.func).__name__) if self.single else "its functions"
            reason = str(err).strip().splitlines()[0] if str(err).strip() else ""
            raise DiagramError(
                f"{label(b)}: its function {name} cannot run on JAX arrays ({type(err).__name__}: {reason}); "
                "write it with jax.numpy, register a jax.numpy twin with "
                "lstmds_sim.core.compiled.register_function(f, f_jax), or use backend='numpy'"
            ) from None
        if self.single:
            value = values[0]
            values = list(value) if isinstance(value, (list, tuple)) else [value]
        if len(values) != b.nout:
            raise DiagramError(f"{label(b)}: its function returns {len(values)} value(s), the block has "
                               f"{b.nout} output(s)")
        return [jnp.asarray(v, dtype=float) for v in values]


# ------------------------------------------------------------------------------------------------ connections


@register("mux")
class Mux(JaxBlock):
    """Its inputs flattened and joined into one vector (a batch too is flattened, as bdsim's)."""

    def output(self, t, k, inputs, x, data):
        return [jnp.concatenate([jnp.ravel(u) for u in inputs])]


@register("demux")
class Demux(JaxBlock):
    """``u[0], u[1], ...``: one output per element of the input's first axis (its length must be ``nout``)."""

    def output(self, t, k, inputs, x, data):
        u, n = inputs[0], self.block.nout
        if u.ndim == 0 or u.shape[0] != n:
            raise DiagramError(f"{label(self.block)}: its input has shape {u.shape}; it splits a vector of "
                               f"{n} elements (bdsim asserts the input width equals the number of outputs)")
        return [u[i] for i in range(n)]


@register("index")
class Index(JaxBlock):
    """``u[i]`` for one index, else ``[u[i] for i in index]`` as a vector."""

    def __init__(self, block) -> None:
        super().__init__(block)
        try:
            len(block.index)
        except TypeError:
            raise DiagramError(f"{label(block)}: its index is a slice, which bdsim's INDEX cannot apply "
                               "(len() of a slice); give a list of indices") from None
        self.index = [int(i) for i in block.index]

    def output(self, t, k, inputs, x, data):
        u = inputs[0]
        if len(self.index) == 1:
            return [u[self.index[0]]]
        return [jnp.stack([u[i] for i in self.index]) if self.index else jnp.zeros((0,))]


@register("item")
class Item(JaxBlock):
    """The named item of a dict signal (from DICT, or a CONSTANT dict)."""

    def output(self, t, k, inputs, x, data):
        u = inputs[0]
        if not isinstance(u, dict) or self.block.item not in u:
            raise DiagramError(f"{label(self.block)}: its input must be a dict with the item "
                               f"{self.block.item!r} (bdsim asserts it)")
        return [u[self.block.item]]


@register("dict")
class Dict(JaxBlock):
    """Its inputs as a dict signal, keyed as given."""

    def output(self, t, k, inputs, x, data):
        return [dict(zip(self.block.keys, inputs))]


@register("inport", "outport")
class PassThrough(JaxBlock):
    """Passes its inputs through (INPORT and OUTPORT exist inside a subsystem, which bdsim flattens)."""

    def output(self, t, k, inputs, x, data):
        return list(inputs)


# ------------------------------------------------------------------------------------------------ linear algebra


@register("inverse")
class Inverse(JaxBlock):
    """``inv(u)`` (``pinv`` when not square or ``pinv=True``; numpy's cutoff) and its condition number."""

    def __init__(self, block) -> None:
        super().__init__(block)
        self.pinv = bool(block.pinv)

    def output(self, t, k, inputs, x, data):
        mat = inputs[0]
        if mat.ndim < 2:
            raise DiagramError(f"{label(self.block)}: its input has shape {mat.shape}; it inverts a matrix")
        if mat.shape[0] != mat.shape[1] or self.pinv:
            out = jnp.linalg.pinv(mat, rtol=1e-15)  # numpy's default rcond
        else:
            out = jnp.linalg.inv(mat)
        return [out, jnp.linalg.cond(mat)]

    def output_checks(self, t, inputs) -> list:
        mat = inputs[0]
        if mat.shape[0] != mat.shape[1] or self.pinv:
            return []
        return [(jnp.all(jnp.isfinite(jnp.linalg.inv(mat))), "its input matrix is singular (bdsim raises)")]


@register("transpose")
class Transpose(JaxBlock):
    """``u.T``; a vector becomes a column ``(n, 1)``."""

    def output(self, t, k, inputs, x, data):
        mat = inputs[0]
        return [mat.reshape((mat.shape[0], 1)) if mat.ndim == 1 else mat.T]


@register("norm")
class Norm(JaxBlock):
    """``norm(u, ord, axis)``, as ``numpy.linalg.norm``."""

    def output(self, t, k, inputs, x, data):
        return [jnp.linalg.norm(inputs[0], **self.block.args)]


@register("flatten")
class Flatten(JaxBlock):
    """``u.flatten(order)`` for ``order`` "C" or "F" ("A" and "K" follow numpy's memory layout: refused)."""

    def __init__(self, block) -> None:
        super().__init__(block)
        if block.order not in ("C", "F"):
            raise DiagramError(f"{label(block)}: order={block.order!r} follows numpy's memory layout, which "
                               "JAX arrays do not have; give order='C' or 'F', or use backend='numpy'")
        self.order = block.order

    def output(self, t, k, inputs, x, data):
        return [jnp.ravel(inputs[0], order=self.order)]


def _index(spec):
    return np.asarray(spec, dtype=int) if isinstance(spec, list) else spec


@register("slice1")
class Slice1(JaxBlock):
    """``u[index]`` of a vector (a list of indices or a slice)."""

    def output(self, t, k, inputs, x, data):
        u = inputs[0]
        if u.ndim != 1:
            raise DiagramError(f"{label(self.block)}: its input has shape {u.shape}; it slices a 1-D array")
        return [u[_index(self.block.index)]]


@register("slice2")
class Slice2(JaxBlock):
    """``u[rows, cols]`` of a matrix, with numpy's indexing rules."""

    def output(self, t, k, inputs, x, data):
        u = inputs[0]
        if u.ndim != 2:
            raise DiagramError(f"{label(self.block)}: its input has shape {u.shape}; it slices a 2-D array")
        return [u[_index(self.block.rows), _index(self.block.cols)]]


@register("det")
class Det(JaxBlock):
    """``det(u)``."""

    def output(self, t, k, inputs, x, data):
        return [jnp.linalg.det(inputs[0])]


@register("cond")
class Cond(JaxBlock):
    """``cond(u)`` (2-norm: the ratio of the extreme singular values)."""

    def output(self, t, k, inputs, x, data):
        return [jnp.linalg.cond(inputs[0])]


# ------------------------------------------------------------------------------------------------ continuous


@register("integrator")
class Integrator(JaxBlock):
    """``x' = gain u``, held at its ``min``/``max`` limits, batched; one state is a 0-d value as bdsim's float."""

    def __init__(self, block) -> None:
        super().__init__(block)
        self.x0 = np.asarray(block.getstate0(), dtype=float)

    def output(self, t, k, inputs, x, data):
        return [wire(x)]

    def deriv(self, t, inputs, x):
        b = self.block
        u = column(inputs[0])
        xd = b.gain * jnp.broadcast_to(u, jnp.broadcast_shapes(u.shape, x.shape))
        xb = jnp.broadcast_to(x, xd.shape)
        if b.min is not None:
            xd = jnp.where(xb < b.min, 0.0, xd)
        if b.max is not None:
            xd = jnp.where(xb > b.max, 0.0, xd)
        return xd


@register("lti_ss", "lti_siso", "deriv2")
class LTI(JaxBlock):
    """``x' = A x + B u``, ``y = C x (+ D u)``, batched."""

    def __init__(self, block) -> None:
        from bdsim.blocks.continuous import LTI_SS

        super().__init__(block)
        if not isinstance(block, LTI_SS):
            raise DiagramError(f"{label(block)} is not an LTI_SS system; backend='jax' cannot run it")
        self.x0 = np.asarray(block.getstate0(), dtype=float)
        self.A, self.B, self.C = (np.asarray(m, dtype=float) for m in (block.A, block.B, block.C))
        self.D = None if block.D is None else np.asarray(block.D, dtype=float)

    @staticmethod
    def _u(inputs):
        cols = [column(u) for u in inputs]
        if len(cols) == 1:
            return cols[0]
        rows = max((c.shape[0] for c in cols if c.ndim == 2), default=None)
        if rows is not None:
            cols = [jnp.broadcast_to(c, (rows, c.shape[-1])) for c in cols]
        return jnp.concatenate(cols, axis=-1)

    def output(self, t, k, inputs, x, data):
        y = x @ self.C.T
        if self.D is not None:
            y = y + self._u(inputs) @ self.D.T
        return [wire(y)]

    def deriv(self, t, inputs, x):
        return x @ self.A.T + self._u(inputs) @ self.B.T


# ------------------------------------------------------------------------------------------------ sampled


@register("zoh")
class ZOH(JaxBlock):
    """Samples its input at its tick (direct feedthrough) and holds it until the next; batched."""

    def __init__(self, block) -> None:
        super().__init__(block)
        self.x0 = np.asarray(block.getstate0(), dtype=float)

    def output(self, t, k, inputs, x, data):
        return [wire(inputs[0]) if inputs[0].ndim == 1 else inputs[0]]

    def next(self, t, inputs, x):
        return column(inputs[0])


@register("integrator_s", "dintegrator")
class IntegratorS(Stateful):
    """``x+ = x + gain T u`` (zero where ``enable`` is false, then clipped to ``min``/``max``), as bdsim."""

    def __init__(self, block) -> None:
        super().__init__(block)
        self.gain_T = block.gain * block.T  # bdsim's order: (gain * T) * u

    def output(self, t, k, inputs, x, data):
        return [wire(x)]

    def next(self, t, inputs, x):
        b = self.block
        x_next = x + self.gain_T * inputs[0]
        if b.min is not None or b.max is not None:
            x_next = jnp.clip(x_next, b.min, b.max)
        if b.enable is None:
            return x_next
        try:
            enabled = b.enable(t, inputs, x)
        except Exception as err:  # noqa: BLE001  (a Python-only enable function)
            raise DiagramError(f"{label(b)}: its enable function cannot run on JAX arrays ({type(err).__name__}); "
                               "write it with jax.numpy or use backend='numpy'") from None
        return jnp.where(enabled, x_next, 0.0)  # bdsim: zeros where not enabled, unclipped


@register("deriv_s")
class DerivS(Stateful):
    """``y = gain (u - x) / T``, ``x+ = u`` (the state takes the input's shape, as bdsim's)."""

    def __init__(self, block) -> None:
        super().__init__(block)
        if self.x0.size == 1:  # bdsim's next state is np.array(u): a float input leaves a 0-d state
            self.x0 = self.x0.reshape(())

    def output(self, t, k, inputs, x, data):
        return [wire(self.block.gain * (inputs[0] - x) / self.block.T)]

    def next(self, t, inputs, x):
        return jnp.asarray(inputs[0], dtype=float)


@register("lti_ss_s", "lti_siso_s")
class LTIS(Stateful):
    """``x+ = A x + B u``, ``y = C x (+ D u)`` on one vector, as bdsim's (a one-element ``y`` a 0-d value)."""

    def __init__(self, block) -> None:
        super().__init__(block)
        self.A, self.B, self.C = (np.asarray(m, dtype=float) for m in (block.A, block.B, block.C))
        self.D = None if block.D is None else np.asarray(block.D, dtype=float)

    def output(self, t, k, inputs, x, data):
        y = self.C @ x
        if self.D is not None:
            y = y + self.D @ jnp.stack(inputs)
        return [y.reshape(()) if y.size == 1 else y]

    def next(self, t, inputs, x):
        return (self.A @ x.reshape(-1, 1) + self.B @ jnp.stack(inputs).reshape(-1, 1)).ravel()


# ------------------------------------------------------------------------------------------------ sinks


@register("null", "watch")
class Sink(JaxBlock):
    """NULL discards; WATCH records its inputs like a RECORDER."""

    def __init__(self, block) -> None:
        super().__init__(block)
        self.records = block.type == "watch"
