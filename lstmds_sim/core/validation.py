"""Argument checking shared by the library and the block adapters.

Every check raises an exception whose message names the thing that is wrong
(a block and port, a matrix, a parameter), what was expected, and how to fix it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

# ShapeError, NonFiniteError and add_note are re-exported: callers import them with the checks that raise them
from .errors import ArgumentError, ArgumentTypeError, NonFiniteError, ShapeError, add_note  # noqa: F401


def as_float_array(value, what: str) -> np.ndarray:
    """Return ``value`` as a float64 array, refusing non-numeric and complex input."""
    if np.iscomplexobj(value):
        raise ArgumentTypeError(f"{what} is complex; give real numbers (np.real(x) if the imaginary parts are round-off)")
    if isinstance(value, np.ndarray) and value.dtype == object:  # None would become NaN, a str a number
        bad = next(((i, v) for i, v in np.ndenumerate(value) if not isinstance(v, (int, float, np.number))
                    or isinstance(v, bool)), None)
        if bad is not None:
            raise ArgumentTypeError(f"{what} is an object array holding {bad[1]!r} at index {bad[0]}; "
                                    "give an array of numbers (np.asarray(x, dtype=float))")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ArgumentTypeError(f"{what} must be numeric, got {type(value).__name__}: {err}") from None
    return arr


def check_finite(arr: np.ndarray, what: str) -> np.ndarray:
    """Refuse NaN and infinity, naming the first offending index."""
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        index = tuple(int(i) for i in bad)
        raise NonFiniteError(
            f"{what} contains a non-finite value ({arr[index]!r} at index {index}); "
            "replace NaN/inf with finite numbers before simulating"
        )
    return arr


def fmt_shape(shape: Sequence[int | str | None]) -> str:
    """Format an expected shape; ``None`` or a string stands for a free size."""
    parts = ["any" if s is None else str(s) for s in shape]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def check_shape(arr: np.ndarray, expected: Sequence[int | str | None], what: str) -> np.ndarray:
    """Check ``arr.shape`` against ``expected`` (``None``/str entries match any size)."""
    ok = arr.ndim == len(expected) and all(
        not isinstance(e, int) or e == s for e, s in zip(expected, arr.shape)
    )
    if not ok:
        raise ShapeError(f"{what} has shape {tuple(arr.shape)}, expected {fmt_shape(expected)}")
    return arr


def matrix(value, shape: Sequence[int | str | None], what: str) -> np.ndarray:
    """Convert, shape-check and finiteness-check a parameter array."""
    arr = as_float_array(value, what)
    check_shape(arr, shape, what)
    return check_finite(arr, what)


def signal(value, width: int, what: str, *, allow_batch: bool = True) -> np.ndarray:
    """Check a signal of ``width`` channels: shape (width,) or, batched, (B, width)."""
    arr = as_float_array(value, what)
    if arr.ndim == 0 and width == 1:
        arr = arr.reshape(1)
    ok = arr.shape[-1:] == (width,) and (arr.ndim == 1 or (allow_batch and arr.ndim == 2))
    if not ok:
        expected = f"({width},) or (B, {width})" if allow_batch else f"({width},)"
        raise ShapeError(f"{what} has shape {tuple(arr.shape)}, expected {expected}")
    return check_finite(arr, what)


def initial_state(x0, n: int | None, what: str, *, batch: int | None = None, meaning: str = "") -> np.ndarray:
    """A finite initial state of shape (n,) or batched (B, n); zeros when ``x0`` is None.

    The one check of every initial state (delays, state-space blocks, the plant
    block, LSTM layers in a diagram and in the matrix implementation).
    ``n=None`` takes any width (not with ``x0=None``). With ``batch``, a (B, n)
    state must have B = batch and the result is broadcast to (batch, n).
    ``meaning`` is added to the expected shape in the error (e.g.
    ``" = (h, Wa4, Wb4)"`` or ``" (the layer has 3 units)"``).
    """
    if x0 is None:
        if n is None:
            raise ArgumentError(f"{what}: give an initial state")
        x0 = np.zeros(n)
    arr = as_float_array(x0, what)
    if arr.ndim == 0 and n in (None, 1):
        arr = arr.reshape(1)
    width = arr.shape[-1] if n is None and arr.ndim else n
    rows_ok = batch is None or arr.ndim < 2 or arr.shape[0] == batch
    if arr.ndim not in (1, 2) or arr.shape[-1] != width or not rows_ok:
        w = "n" if width is None else width
        rows = "B" if batch is None else batch
        raise ShapeError(f"{what} has shape {arr.shape}, expected ({w},) or ({rows}, {w}){meaning}")
    check_finite(arr, what)
    return arr if batch is None else np.broadcast_to(arr, (batch, width)).copy()


def port_width(value, width: int, block, port: int):
    """Input ``port`` of ``block`` must be (width,) or batched (B, width).

    ``block`` names the block in the message: a string (``"MATGAIN block 'Wi'"``)
    or a callable that gives it (called only when the check fails, so the
    per-step check costs no formatting). ``value`` is an array of numpy or of
    JAX (only its ``ndim``, ``shape`` and ``reshape`` are used, so the numpy
    block and its compiled twin share this check and its message); a scalar
    stands for (1,) when ``width`` is 1. Returns the value, reshaped to (1,) in that case.
    """
    ndim = value.ndim
    if ndim == 0 and width == 1:
        return value.reshape(1)
    if (ndim == 1 or ndim == 2) and value.shape[-1] == width:
        return value
    where = block() if callable(block) else block
    raise ShapeError(f"{where}: input {port} has shape {tuple(value.shape)}, expected ({width},) or (B, {width})")


def delay_input(u_shape: tuple, x_shape: tuple, x0_ndim: int, block: str) -> None:
    """A delay's input (shape ``u_shape``) must fit its state (``x_shape``; ``x0_ndim``: 1 for a vector x0).

    Fits: the state's shape; a batch (B, n) of a vector state (which the
    state then takes on), or the batch the state already has; a vector (n,)
    into a batched state (broadcast to every row).
    """
    u_shape, x_shape = tuple(u_shape), tuple(x_shape)
    if u_shape == x_shape:
        return
    n = x_shape[-1]
    if (len(u_shape) == 2 and u_shape[-1] == n and (len(x_shape) == 1 or x_shape[0] == u_shape[0])) \
            or (len(x_shape) == 2 and u_shape == (n,)):
        return
    batch = f" or (B, {n})" if x0_ndim == 1 else ""
    hint = ""
    if u_shape == () and x_shape == (1,):  # CONSTANT(1.0) into UNITDELAY(x0=0.0): x0 is kept as (1,)
        hint = "; a scalar input: give its source a 1-element vector (e.g. CONSTANT([1.0])), as x0=0.0 is kept as (1,)"
    elif u_shape == ():
        hint = f"; a scalar input: give its source a vector of {n} values, the length of x0"
    raise ShapeError(f"{block}: input 0 has shape {u_shape}, expected {x_shape}{batch} "
                     f"(the shape of the initial state x0){hint}")


def open_interval(value: float, name: str, low: float = 0.0, high: float = 1.0) -> float:
    """Refuse a parameter outside the open interval (low, high)."""
    v = float(value)
    if not (low < v < high) or not np.isfinite(v):
        raise ArgumentError(f"{name} must lie strictly between {low:g} and {high:g}, got {value!r}")
    return v


def positive(value, name: str) -> float:
    """Refuse anything but a finite number > 0 (NaN, inf, 0, negative, non-numbers)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ArgumentTypeError(f"{name} must be a number, got {value!r}") from None
    if not (np.isfinite(v) and v > 0):
        raise ArgumentError(f"{name} must be a finite number > 0, got {value!r}")
    return v


def nonnegative(value, name: str) -> float:
    """Refuse anything but a finite number >= 0."""
    v = float(value)
    if not np.isfinite(v) or v < 0:
        raise ArgumentError(f"{name} must be finite and >= 0, got {value!r}")
    return v


def positive_int(value, name: str) -> int:
    """Refuse anything but a positive integer (NaN, inf, 2.7, a string, a bool: one line naming ``name``)."""
    try:
        whole = isinstance(value, (int, np.integer)) or (isinstance(value, (float, np.floating))
                                                          and np.isfinite(value) and int(value) == value)
    except (TypeError, ValueError):
        whole = False
    if isinstance(value, bool) or not whole or int(value) < 1:
        raise ArgumentError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


class InputSequence(NamedTuple):
    """A checked input sequence: ``data`` (T, n), or a batch (B, T, n) with ``batch`` = B (else None).

    The one place where a sequence's batch is decided: everything downstream
    reads ``.batch`` instead of guessing from the number of dimensions.
    """

    data: np.ndarray
    batch: int | None

    @property
    def steps(self) -> int:
        """T, the number of samples."""
        return self.data.shape[-2]

    @property
    def width(self) -> int:
        """n, the number of channels."""
        return self.data.shape[-1]


def check_input_sequence(u, n_inputs: int | None, what: str = "u (input sequence)") -> InputSequence:
    """Validate an input sequence: (T, n) or batched (B, T, n); (T,) is one channel (T, 1).

    ``n_inputs`` is the number of channels expected (None: any). An
    :class:`InputSequence` passes through unchanged (after the same checks).
    """
    arr = as_float_array(u.data if isinstance(u, InputSequence) else u, what)
    if arr.ndim == 1 and n_inputs in (1, None):
        arr = arr[:, None]
    if arr.ndim not in (2, 3) or (n_inputs is not None and arr.shape[-1] != n_inputs) or arr.shape[-2] == 0:
        n = "n" if n_inputs is None else n_inputs
        raise ShapeError(f"{what} has shape {arr.shape}, expected (T, {n}) or (B, T, {n}) with T >= 1")
    return InputSequence(check_finite(arr, what), arr.shape[0] if arr.ndim == 3 else None)
