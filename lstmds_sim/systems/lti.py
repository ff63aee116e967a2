"""Linear discrete-time systems: checking, describing, balancing and drawing them at random.

A system is a discrete ``scipy.signal.StateSpace`` that carries its own sample
time (``StateSpace(A, B, C, D, dt=Ts)``, as scipy and python-control do)::

    x(k+1) = A x(k) + B u(k)          A: (n, n)   B: (n, m)
    y(k)   = C x(k) + D u(k)          C: (p, n)   D: (p, m)

* :func:`as_discrete` -- a discrete StateSpace from a StateSpace (or other
  discrete scipy system), or from ``(A, B, C, D)`` with an explicit ``dt``;
  the functions below call it on what they are given.
* :func:`check_system` -- the low-level check of the matrices ``(A, B, C, D)``.
* :func:`steady_state_gain`, :func:`discrete_zpk`, :func:`zpk_channels`,
  :func:`format_zpk`, :func:`describe`, :func:`frequency_response` --
  describing a system.
* :func:`balanced_realization` -- MATLAB's ``balreal``.
* :func:`random_stable_system` -- random stable MIMO systems for tests.
"""

from __future__ import annotations

import json
from typing import Iterable

import numpy as np
import scipy.linalg
import scipy.signal

from ..core.validation import ShapeError, as_float_array, check_finite, positive

__all__ = [
    "as_discrete", "balanced_realization", "check_system", "condition_number", "describe", "discrete_zpk", "format_zpk",
    "frequency_response", "random_stable_system", "steady_state_gain", "zpk_channels",
]

#: The matrices ``(A, B, C, D)`` of a system, as :func:`check_system` returns them.
Matrices = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def as_discrete(system, dt: float | None = None) -> scipy.signal.StateSpace:
    """The discrete-time ``scipy.signal.StateSpace`` (carrying its sample time ``dt``) of ``system``.

    Parameters
    ----------
    system : scipy.signal.StateSpace, other discrete scipy system, or tuple
        * a discrete ``scipy.signal.StateSpace`` (``StateSpace(A, B, C, D, dt=Ts)``):
          its ``dt`` is the sample time.  A discrete ``TransferFunction`` or
          ``ZerosPolesGain`` is converted with ``.to_ss()``.  A continuous
          system (``dt`` None) is refused: discretise it with ``.to_discrete(Ts)``.
        * the matrices ``(A, B, C, D)``, which carry no sample time: give ``dt``.
          scipy's ``(A, B, C, D, dt)`` (as ``dlsim`` takes it) is accepted too.
    dt : float, optional
        Sample time (> 0).  Required with ``(A, B, C, D)``; with a system that
        has its own, it must agree with it.

    Returns
    -------
    scipy.signal.StateSpace
        With float matrices checked by :func:`check_system` and ``dt`` a float > 0.

    Raises
    ------
    ValueError
        A continuous system; a missing ``dt``; ``dt`` not a finite number > 0 (scipy's
        ``dt=True``, "unspecified", included); ``dt`` that disagrees with the system's.
    TypeError
        ``system`` is neither a scipy system nor a tuple of matrices.
    ShapeError, NonFiniteError
        From :func:`check_system`.
    """
    if isinstance(system, scipy.signal.lti):
        raise ValueError(
            f"the system is continuous-time (a {type(system).__name__} with dt None); "
            "discretise it first, e.g. system.to_discrete(Ts) (zero-order hold)"
        )
    if isinstance(system, scipy.signal.dlti):
        own = system.dt
        ss = system if isinstance(system, scipy.signal.StateSpace) else system.to_ss()
        matrices = (ss.A, ss.B, ss.C, ss.D)
    elif isinstance(system, (tuple, list)) and len(system) in (4, 5):
        own = system[4] if len(system) == 5 else None
        matrices = tuple(system[:4])
    else:
        raise TypeError(
            f"system is {type(system).__name__}, expected a discrete scipy.signal.StateSpace(A, B, C, D, dt=Ts) "
            "or the matrices (A, B, C, D) with dt"
        )
    matrices = check_system(*matrices)
    if own is None and dt is None:
        raise ValueError(
            "dt (sample time) is missing: the matrices (A, B, C, D) carry none; pass dt=Ts, "
            "or the system as scipy.signal.StateSpace(A, B, C, D, dt=Ts)"
        )
    if own is not None:
        own = _sample_time(own, "dt (sample time) of the system")
    if dt is not None:
        dt = _sample_time(dt, "dt (sample time)")
        if own is not None and not np.isclose(own, dt, rtol=1e-9, atol=0.0):
            raise ValueError(f"dt = {dt!r} disagrees with the system's own sample time dt = {own!r}")
    dt = own if own is not None else dt
    return scipy.signal.StateSpace(*matrices, dt=dt)


def _sample_time(value, name: str) -> float:
    """``value`` as a sample time: a finite float > 0 (a ValueError naming ``name`` otherwise)."""
    if isinstance(value, (bool, np.bool_)):  # dlti's default dt=True means "unspecified"
        raise ValueError(
            f"{name} must be a finite number > 0, got {value!r} (scipy's 'unspecified' sample time); "
            "give it, e.g. StateSpace(A, B, C, D, dt=0.01)"
        )
    try:
        return positive(value, name)
    except TypeError as err:
        raise ValueError(str(err)) from None


def balanced_realization(system) -> scipy.signal.StateSpace:
    """The balanced realisation of a stable, minimal discrete-time system (MATLAB's ``balreal``).

    ``system`` is a discrete ``scipy.signal.StateSpace`` carrying its sample time
    ``dt`` (see :func:`as_discrete`); the result is another, with the same ``dt``.

    With the Gramians ``Wc = A Wc A' + B B'`` and ``Wo = A' Wo A + C' C``, the
    state transformation ``x = T xb`` makes both equal to ``diag(hsv)``, the Hankel
    singular values: each state is as easy to reach as to observe.  Computed
    with Cholesky factors ``Wc = Lc Lc'``, ``Wo = Lo Lo'`` and the SVD
    ``Lo' Lc = U S V'``: ``T = Lc V S^-1/2``, ``T^-1 = S^-1/2 U' Lo'``.
    """
    system = as_discrete(system)
    A, B, C, D = system.A, system.B, system.C, system.D
    if np.any(np.abs(np.linalg.eigvals(A)) >= 1):
        raise ValueError("a balanced realisation needs a stable system (all poles inside the unit circle)")
    Wc = scipy.linalg.solve_discrete_lyapunov(A, B @ B.T)
    Wo = scipy.linalg.solve_discrete_lyapunov(A.T, C.T @ C)
    try:
        Lc, Lo = np.linalg.cholesky(Wc), np.linalg.cholesky(Wo)
    except np.linalg.LinAlgError:
        raise ValueError("a balanced realisation needs a minimal system (controllable and observable)") from None
    U, hsv, Vt = np.linalg.svd(Lo.T @ Lc)
    T = Lc @ Vt.T / np.sqrt(hsv)
    T_inv = (U / np.sqrt(hsv)).T @ Lo.T
    return scipy.signal.StateSpace(T_inv @ A @ T, T_inv @ B, C @ T, D.copy(), dt=system.dt)


# --------------------------------------------------------------------------- checking
def check_system(A, B, C, D) -> Matrices:
    """Validate the matrices of a state-space system and return them as float arrays.

    The low-level check under :func:`as_discrete` (which adds the sample time).

    Parameters
    ----------
    A, B, C, D : array_like
        Shapes (n, n), (n, m), (p, n), (p, m).  A scalar D is accepted for a
        single-input single-output system.

    Returns
    -------
    (A, B, C, D) : tuple of ndarray (float64)

    Raises
    ------
    ShapeError
        A matrix has the wrong shape; the message names it, its shape and the
        shape it should have.
    NonFiniteError
        A matrix holds NaN or infinity.
    """
    A = as_float_array(A, "A")
    if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] == 0:
        raise ShapeError(f"A has shape {A.shape}, expected a square (n, n) matrix with n >= 1")
    n = A.shape[0]
    B = as_float_array(B, "B")
    if B.ndim != 2 or B.shape[0] != n or B.shape[1] == 0:
        hint = "; write a single input as a column, e.g. B.reshape(-1, 1)" if B.ndim == 1 else ""
        raise ShapeError(f"B has shape {B.shape}, expected ({n}, m) to match A ({n} x {n}){hint}")
    C = as_float_array(C, "C")
    if C.ndim != 2 or C.shape[1] != n or C.shape[0] == 0:
        hint = "; write a single output as a row, e.g. C.reshape(1, -1)" if C.ndim == 1 else ""
        raise ShapeError(f"C has shape {C.shape}, expected (p, {n}) to match A ({n} x {n}){hint}")
    m, p = B.shape[1], C.shape[0]
    D = as_float_array(D, "D")
    if D.ndim == 0 and p == m == 1:
        D = D.reshape(1, 1)
    if D.shape != (p, m):
        raise ShapeError(
            f"D has shape {D.shape}, expected (p, m) = ({p}, {m}) to match C ({p} x {n}) and B ({n} x {m})"
        )
    return tuple(check_finite(X, name) for X, name in zip((A, B, C, D), "ABCD"))


def condition_number(A) -> float:
    """2-norm condition number ``sigma_max / sigma_min`` of A (``inf`` when A is singular)."""
    s = scipy.linalg.svdvals(np.asarray(A, dtype=float))
    return float(s[0] / s[-1]) if s[-1] > 0 else float("inf")


# --------------------------------------------------------------------------- describing
def _matrices(system) -> Matrices:
    """``(A, B, C, D)`` of a discrete system (checked by :func:`as_discrete`)."""
    system = as_discrete(system)
    return system.A, system.B, system.C, system.D


def steady_state_gain(system) -> np.ndarray:
    """Steady-state (DC) gain ``C (I - A)^-1 B + D`` of a discrete-time system, shape (p, m).

    ``system`` is a discrete ``scipy.signal.StateSpace`` carrying its sample time
    ``dt`` (see :func:`as_discrete`).  The gain is the transfer function at
    ``z = 1``: the final value of the step response of a stable system.

    Raises
    ------
    ValueError
        A has an eigenvalue at (or numerically at) ``z = 1``: an integrator, whose
        steady-state gain is infinite.
    """
    A, B, C, D = _matrices(system)
    n = A.shape[0]
    distance = float(np.min(np.abs(np.linalg.eigvals(A) - 1.0)))
    if distance < 1e-10 * max(1.0, np.linalg.norm(A, 2)):
        raise ValueError(
            f"the system has a pole at z = 1 (closest eigenvalue of A is {distance:.2e} away): "
            "an integrator has no finite steady-state gain, since I - A is singular"
        )
    return C @ np.linalg.solve(np.eye(n) - A, B) + D


def _siso_zeros(A: np.ndarray, b: np.ndarray, c: np.ndarray, d: float) -> np.ndarray:
    """Finite invariant zeros of one channel, from the Rosenbrock pencil.

    ``z`` is a zero when ``[[A - z I, b], [c, d]]`` loses rank: the generalised
    eigenvalues of ``([[A, b], [c, d]], [[I, 0], [0, 0]])``.  The pencil has
    ``n + 1`` eigenvalues; the ones at infinity (as many as the relative
    degree) are dropped.  ``M`` is balanced first (a diagonal similarity, which
    leaves ``N`` and the eigenvalues unchanged): badly scaled realisations such
    as scipy's ``zpk2ss`` output otherwise lose digits.
    """
    n = A.shape[0]
    M = np.block([[A, b[:, None]], [c[None, :], np.array([[d]])]])
    M, _ = scipy.linalg.matrix_balance(M, permute=False)
    N = np.zeros((n + 1, n + 1))
    N[:n, :n] = np.eye(n)
    alpha, beta = scipy.linalg.eig(M, N, right=False, homogeneous_eigvals=True)
    finite = np.abs(beta) > 1e-12 * np.abs(alpha)
    return alpha[finite] / beta[finite]


def _siso_gain(A, b, c, d, zeros, poles) -> float:
    """Gain k of ``H(z) = k prod(z - z_i) / prod(z - p_i)``, from H at a point that is no pole or zero."""
    radius = 1.0 + max([abs(x) for x in (*zeros, *poles)], default=0.0)
    for angle in (0.3, 1.1, 2.3):  # a few points on a circle outside every pole and zero
        z0 = 2 * radius * np.exp(1j * angle)
        H = c @ np.linalg.solve(z0 * np.eye(A.shape[0]) - A, b) + d
        ratio = np.prod(z0 - np.asarray(poles)) / np.prod(z0 - np.asarray(zeros))
        k = H * ratio
        if np.isfinite(k):
            return float(k.real)
    return 0.0  # pragma: no cover - needs a pathological system


def discrete_zpk(system, *, output: int | None = None, input: int | None = None):
    """Zeros, poles and gain of a single-input single-output discrete-time system.

    ``H(z) = C (zI - A)^-1 B + D = k prod(z - zeros) / prod(z - poles)``.

    Parameters
    ----------
    system : scipy.signal.StateSpace
        A discrete system carrying its sample time ``dt`` (see :func:`as_discrete`).
        The zpk form does not depend on ``dt``; a continuous model (``dt`` None)
        is refused so that it is not described in ``z`` by mistake.
    output, input : int, optional
        For a multi-input or multi-output system, the channel (row of C, column
        of B) to describe.

    Returns
    -------
    zeros : ndarray (complex)
        Invariant zeros of the channel.  No minimal realisation is computed, so
        a mode that the channel cannot see (or excite) shows up as a zero that
        cancels its pole.
    poles : ndarray (complex)
        Eigenvalues of A.
    gain : float

    Raises
    ------
    NotImplementedError
        For a MIMO system without ``output`` and ``input``: a zpk form exists
        per channel.  Pass ``output=i, input=j`` or use :func:`zpk_channels`.
    """
    A, B, C, D = _matrices(system)
    p, m = D.shape
    if output is None and input is None:
        if (p, m) != (1, 1):
            raise NotImplementedError(
                f"the system has {p} outputs and {m} inputs; the zpk form is per channel: "
                "pass output=i and input=j, or call zpk_channels() for all of them"
            )
        output = input = 0
    if output is None or input is None:
        raise ValueError("give both output and input (or neither, for a SISO system)")
    if not (0 <= output < p and 0 <= input < m):
        raise IndexError(f"channel (output={output}, input={input}) does not exist: {p} outputs, {m} inputs")
    b, c, d = B[:, input], C[output], float(D[output, input])
    poles = np.linalg.eigvals(A).astype(complex)
    zeros = _siso_zeros(A, b, c, d)
    ctrb = _controllability(A, b)
    markov = c @ ctrb  # c b, c A b, ...: all zero (and d = 0) means H(z) = 0
    if d == 0 and np.linalg.norm(markov) <= 1e-14 * np.linalg.norm(c) * np.linalg.norm(ctrb):
        return np.zeros(0, complex), poles, 0.0
    return zeros, poles, _siso_gain(A, b, c, d, zeros, poles)


def _controllability(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``[b, A b, ..., A^(n-1) b]`` (used to detect an identically zero transfer function)."""
    cols = [b]
    for _ in range(A.shape[0] - 1):
        cols.append(A @ cols[-1])
    return np.column_stack(cols)


def zpk_channels(system) -> dict[tuple[int, int], tuple[np.ndarray, np.ndarray, float]]:
    """:func:`discrete_zpk` of every channel of a discrete ``StateSpace`` (carrying ``dt``), keyed ``(output, input)``."""
    system = as_discrete(system)
    p, m = system.D.shape
    return {(i, j): discrete_zpk(system, output=i, input=j) for i in range(p) for j in range(m)}


def _num(x: float, digits: int) -> str:
    """``x`` to ``digits`` significant digits, without an exponent unless it is very large or small."""
    x = float(x)
    if x == 0:
        return "0"
    if 1e-4 <= abs(x) < 1e7:
        return np.format_float_positional(x, precision=digits, unique=False, fractional=False, trim="-")
    return f"{x:.{digits}g}"


#: Roots closer to the origin than this are written as ``z`` (numerical zeros are ~1e-16, not 0).
ORIGIN_TOL = 1e-10


def _linear_factor(root: float, var: str, digits: int) -> str:
    """``(z-0.9)``, ``(z+0.1)`` or ``z`` for a root at the origin."""
    if abs(root) <= ORIGIN_TOL:
        return var
    sign = "-" if root > 0 else "+"
    return f"({var}{sign}{_num(abs(root), digits)})"


def _quadratic_factor(root: complex, var: str, digits: int) -> str:
    """``(z^2 - 1.8z + 0.81)`` for the pair ``root``, ``conj(root)``."""
    a1, a0 = -2 * root.real, abs(root) ** 2
    text = f"({var}^2"
    s1 = _num(abs(a1), digits)
    if s1 not in ("0", "-0"):
        text += f" {'-' if a1 < 0 else '+'} {'' if s1 == '1' else s1}{var}"
    return text + f" + {_num(a0, digits)})"


def _factors(roots: Iterable[complex], var: str, digits: int, tol: float = 1e-9) -> list[str]:
    """Factors of ``prod(var - r)`` with real coefficients, conjugate pairs as quadratics.

    Roots at the origin come first (as ``z``), then the other real roots (largest
    first), then the pairs (largest modulus first); repeated factors are written once with a power, ``(z-0.5)^2``.
    """
    roots = [complex(r) for r in np.ravel(np.asarray(list(roots), dtype=complex))]
    real = sorted((r.real for r in roots if abs(r.imag) <= tol * max(1.0, abs(r))), reverse=True)
    real.sort(key=lambda r: abs(r) > ORIGIN_TOL)  # roots at the origin ("z") first
    upper = [r for r in roots if r.imag > tol * max(1.0, abs(r))]
    lower = [r for r in roots if r.imag < -tol * max(1.0, abs(r))]
    for r in upper:  # pair every upper root with its closest conjugate
        if not lower:
            raise ValueError(f"root {r} has no complex-conjugate partner: the coefficients are not real")
        partner = min(lower, key=lambda q: abs(q - r.conjugate()))
        if abs(partner - r.conjugate()) > 1e-6 * max(1.0, abs(r)):
            raise ValueError(f"root {r} has no complex-conjugate partner: the coefficients are not real")
        lower.remove(partner)
    if lower:
        raise ValueError(f"root {lower[0]} has no complex-conjugate partner: the coefficients are not real")
    texts = [_linear_factor(r, var, digits) for r in real]
    texts += [_quadratic_factor(r, var, digits) for r in sorted(upper, key=abs, reverse=True)]
    grouped: list[str] = []  # merge equal neighbours into powers
    counts: list[int] = []
    for t in texts:
        if grouped and grouped[-1] == t:
            counts[-1] += 1
        else:
            grouped.append(t)
            counts.append(1)
    return [t if k == 1 else f"{t}^{k}" for t, k in zip(grouped, counts)]


def format_zpk(z, p, k: float, dt: float | None = None, var: str = "z", *, digits: int = 4) -> str:
    """A readable one-line zero-pole-gain form, in the style of MATLAB's ``zpk`` display.

    Complex-conjugate roots are paired into quadratics with real coefficients::

        >>> format_zpk([0.9608, -0.1234], [0.9, 0.9, 0.9 + 0.1j, 0.9 - 0.1j], 0.0123)
        '0.0123 (z-0.9608) (z+0.1234) / ((z-0.9)^2 (z^2 - 1.8z + 0.82))'

    Parameters
    ----------
    z, p : array_like
        Zeros and poles (complex roots must come in conjugate pairs).
    k : float
        Gain; omitted when it is 1 and there are zeros.
    dt : float, optional
        Sample time, appended as ``"  (Ts = 0.01)"``.
    var : str
        The variable, ``"z"`` (discrete time) or ``"s"`` (continuous time).
    digits : int
        Significant digits of every number.
    """
    num = _factors(z, var, digits)
    den = _factors(p, var, digits)
    gain = _num(float(np.real(k)), digits)
    if not num:
        text = gain
    elif gain == "1":
        text = " ".join(num)
    elif gain == "-1":
        text = "-" + " ".join(num)
    else:
        text = gain + " " + " ".join(num)
    if den:
        text += " / " + (den[0] if len(den) == 1 else "(" + " ".join(den) + ")")
    if dt is not None:
        text += f"  (Ts = {_num(dt, digits)})"
    return text


def _complex_list(values) -> list[list[float]]:
    """Complex numbers as JSON-friendly ``[re, im]`` pairs."""
    return [[float(np.real(v)), float(np.imag(v))] for v in np.ravel(values)]


def describe(system) -> dict:
    """What the example prints about a system, as a JSON-friendly dict.

    ``system`` is a discrete ``scipy.signal.StateSpace`` carrying its sample time
    ``dt`` (see :func:`as_discrete`).  Keys: ``n_states``, ``n_inputs``, ``n_outputs``, ``dt``, ``D`` (nested
    lists), ``steady_state_gain`` (nested lists, or None with a pole at z = 1),
    ``poles`` (``[re, im]`` pairs), ``stable`` (all poles inside the unit
    circle), and ``channels``: one entry per (output, input) pair with its
    ``zeros``, ``gain`` and ``zpk`` string.  A SISO system also has ``zeros``,
    ``gain`` and ``zpk`` at the top level.
    """
    system = as_discrete(system)
    A, B, C, D, dt = system.A, system.B, system.C, system.D, system.dt
    poles = np.linalg.eigvals(A)
    try:
        ssg = steady_state_gain(system).tolist()
    except ValueError:
        ssg = None
    channels = []
    for (i, j), (zeros, pls, gain) in zpk_channels(system).items():
        channels.append({
            "output": i, "input": j, "zeros": _complex_list(zeros), "gain": gain,
            "zpk": format_zpk(zeros, pls, gain, dt),
        })
    out = {
        "n_states": A.shape[0], "n_inputs": B.shape[1], "n_outputs": C.shape[0], "dt": float(dt),
        "D": D.tolist(), "steady_state_gain": ssg, "poles": _complex_list(poles),
        "stable": bool(np.all(np.abs(poles) < 1)), "channels": channels,
    }
    if len(channels) == 1:
        out.update({key: channels[0][key] for key in ("zeros", "gain", "zpk")})
    json.dumps(out)  # fail here, not in the caller, if something is not serialisable
    return out


def frequency_response(system, w) -> np.ndarray:
    """``H(e^{j w dt}) = C (e^{j w dt} I - A)^-1 B + D`` at angular frequencies ``w`` (rad/s).

    ``system`` is a discrete ``scipy.signal.StateSpace``; its sample time ``dt``
    maps ``w`` onto the unit circle (see :func:`as_discrete`).

    Returns
    -------
    ndarray (len(w), p, m), complex
    """
    system = as_discrete(system)
    A, B, C, D, dt = system.A, system.B, system.C, system.D, system.dt
    w = np.atleast_1d(as_float_array(w, "w (angular frequencies)"))
    n = A.shape[0]
    H = np.empty((w.size, C.shape[0], B.shape[1]), complex)
    for k, z in enumerate(np.exp(1j * w * dt)):
        H[k] = C @ np.linalg.solve(z * np.eye(n) - A, B) + D
    return H


# --------------------------------------------------------------------------- random systems
def random_stable_system(
    n_states: int, n_inputs: int, n_outputs: int, rng: np.random.Generator | int | None = None,
    *, radius: float = 0.9, dt: float = 1.0,
) -> scipy.signal.StateSpace:
    """A random stable discrete-time system with an invertible, well-conditioned A.

    The eigenvalues are drawn with moduli in ``[0.3 radius, radius)`` (about half of
    them in complex-conjugate pairs) and placed in a real block-diagonal matrix
    that is transformed by a random, well-conditioned T: ``A = T Lambda T^-1``.
    Hence every pole lies inside the circle of ``radius``, none is near 0, and the
    condition number of A stays moderate (below about 1e3).  B, C and D are
    standard normal.  ``dt`` (sample time, > 0) only labels the result: the
    matrices do not depend on it.

    Returns
    -------
    scipy.signal.StateSpace
        Discrete, with ``dt`` and A, B, C, D of shapes (n, n), (n, m), (p, n), (p, m).
    """
    dt = positive(dt, "dt (sample time)")
    rng = np.random.default_rng(rng)
    if not 0 < radius <= 1:
        raise ValueError(f"radius must lie in (0, 1] for a stable system, got {radius!r}")
    n, m, p = (int(v) for v in (n_states, n_inputs, n_outputs))
    if min(n, m, p) < 1:
        raise ValueError(f"need at least one state, input and output, got n={n}, m={m}, p={p}")
    Lam = np.zeros((n, n))
    k = 0
    while k < n:
        r = radius * rng.uniform(0.3, 1.0)
        if k + 1 < n and rng.random() < 0.5:  # a complex pair r e^{+-j theta}
            theta = rng.uniform(0.1, np.pi - 0.1)
            Lam[k : k + 2, k : k + 2] = r * np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
            k += 2
        else:
            Lam[k, k] = r * rng.choice([-1.0, 1.0])
            k += 1
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    T = Q * rng.uniform(0.5, 2.0, n)  # columns scaled: cond(T) <= 4
    A = T @ Lam @ np.linalg.inv(T)
    B, C, D = rng.standard_normal((n, m)), rng.standard_normal((p, n)), rng.standard_normal((p, m))
    return scipy.signal.StateSpace(A, B, C, D, dt=dt)
