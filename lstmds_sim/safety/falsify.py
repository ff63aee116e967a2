"""A falsifier: the input sequence and initial state that drive an LSTM's output furthest (beyond the paper).

A certified bound (:func:`~lstmds_sim.safety.bounds.reachable_set_bound`) says how large ``|y|`` can
*at most* get; a scenario bound (:mod:`lstmds_sim.safety.scenario`) how large it gets on random
inputs of one class. :func:`worst_case_input` searches for the largest ``|y(k)|`` any admissible
trajectory attains: inputs with ``|u(k)| <= rho_u`` at every step (any sequence, not only the
scenario class's staircases) and an initial state in the box ``|x(0)| <= cx``, ``|xi(0)| <= hx``.
What it finds is attained, so together with a certified bound it sandwiches the truth::

    worst found  <=  max over the set of |y(k)|  <=  certified bound

**Search.** Projected gradient ascent (Adam steps, then clipping back into the boxes) on
``s y_m(k)`` for every output ``m``, sign ``s`` and a set of target steps ``k`` (the start, where
the initial state counts most, up to a window long enough for the state to forget it), from several
starts each (random levels, random bang-bang, the constant inputs ``+-rho_u``), all at once in one
batch. The network runs in ``jax.numpy`` (float64 inside the call only; the process-wide JAX
setting is left alone), its gradient by automatic differentiation.

**Re-simulation.** The best input is laid out over the whole horizon (the inputs after the target
step do not change ``y(k)``: the last one is held) and run again through the LSTM's block diagram
(:func:`~lstmds_sim.core.diagram.lstm_diagram`, :func:`~lstmds_sim.core.engine.run`) and through the
matrices (:func:`~lstmds_sim.core.matrix.simulate`); the value reported is the diagram's.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..core.params import LSTMParams, as_layers

__all__ = ["WorstCase", "worst_case_input"]

#: Target steps tried (those below the window); the window itself is added.
TARGETS = (0, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128)
WINDOW = 160  # steps simulated in the search: the pH model forgets its initial state in about 60


@dataclass(frozen=True)
class WorstCase:
    """What :func:`worst_case_input` found.

    Attributes
    ----------
    value : float
        ``max_k ||y(k)||_inf`` of the input below, run through the block diagram
    u : ndarray (horizon, Ni)
        the input sequence, ``|u| <= rho_u``
    h0, c0 : lists of ndarray (Nn,), one per layer
        the initial hidden and cell states (in the box)
    step, output : int
        where the peak is: step ``k`` and output entry ``m``
    value_matrix : float
        the same through the matrices (:func:`~lstmds_sim.core.matrix.simulate`)
    value_search : float
        the value the search itself reached (JAX, at its target step)
    searched : int
        candidate trajectories optimised
    seconds : float
    """

    value: float
    u: np.ndarray
    h0: list
    c0: list
    step: int
    output: int
    value_matrix: float
    value_search: float
    searched: int
    seconds: float


def _jax():
    import jax
    import jax.numpy as jnp

    return jax, jnp


def _outputs(arrays, u, states):
    """Outputs ``y(0) .. y(T)`` (T+1, B, No) of layers in series in the state-space form, time-major ``u`` (T, B, Ni).

    ``arrays``: per layer ``(W, R, b, F, bF)`` (``F``, ``bF`` None without an output layer);
    ``states``: per layer ``(h0, c0)``, each (B, Nn).
    """
    jax, jnp = _jax()

    def read(layer, h):
        F, bF = layer[3:]
        return h if F is None else h @ F.T + bF

    def step(carry, u_k):
        signal, new = u_k, []
        for layer, (h, c) in zip(arrays, carry):
            W, R, b, _, _ = layer
            n = R.shape[1]
            z = signal @ W.T + h @ R.T + b
            s = jax.nn.sigmoid(z)
            c = s[:, n:2 * n] * c + s[:, :n] * jnp.tanh(z[:, 2 * n:3 * n])
            h = s[:, 3 * n:] * jnp.tanh(c)
            new.append((h, c))
            signal = read(layer, h)
        return tuple(new), signal  # the last layer's output F h + bF: y(k+1) in the state-space form

    y0 = read(arrays[-1], states[-1][0])
    _, ys = jax.lax.scan(step, tuple(states), u)
    return jnp.concatenate([y0[None], ys], axis=0)


@functools.cache
def _search_step():
    """One projected Adam step on the inputs and initial states (compiled once per process and shape)."""
    jax, jnp = _jax()

    def objective(variables, arrays, targets, signs, outputs):
        u, states = variables
        y = _outputs(arrays, jnp.swapaxes(u, 0, 1), states)
        picked = y[targets, jnp.arange(u.shape[0]), outputs]
        return jnp.sum(signs * picked), signs * picked

    grad = jax.value_and_grad(objective, has_aux=True)

    @jax.jit
    def step(variables, moments, arrays, targets, signs, outputs, boxes, k, lr):
        (_, values), g = grad(variables, arrays, targets, signs, outputs)
        m, v = moments
        m = jax.tree_util.tree_map(lambda a, b: 0.9 * a + 0.1 * b, m, g)
        v = jax.tree_util.tree_map(lambda a, b: 0.999 * a + 0.001 * b * b, v, g)

        def update(x, m_, v_, box):
            lo, hi = box
            direction = (m_ / (1 - 0.9 ** k)) / (jnp.sqrt(v_ / (1 - 0.999 ** k)) + 1e-12)
            return jnp.clip(x + lr * (hi - lo) * direction, lo, hi)

        variables = jax.tree_util.tree_map(update, variables, m, v, boxes)
        return variables, (m, v), values

    @jax.jit
    def values(variables, arrays, targets, signs, outputs):
        return objective(variables, arrays, targets, signs, outputs)[1]

    return step, values


def _state_halves(state_box, layers):
    try:
        cx, hx = state_box
    except (TypeError, ValueError):
        raise ValueError(f"state_box must be a pair (cx, hx) of bounds on |x0| and |xi0|, got {state_box!r}") from None
    halves = []
    for layer in layers:
        c = np.broadcast_to(np.asarray(cx, dtype=float), (layer.n_units,))
        h = np.broadcast_to(np.asarray(hx, dtype=float), (layer.n_units,))
        if not (np.all(np.isfinite(c)) and np.all(c >= 0) and np.all(h >= 0) and np.all(h <= 1)):
            raise ValueError(f"state_box bounds must be finite, >= 0, and hx <= 1, got {state_box!r}")
        halves.append((h, c))
    return halves


def _starts(rng, batch, window, n_inputs, rho, starts):
    """Initial inputs: each start kind in turn (random levels, bang-bang, constant +rho, constant -rho, noise)."""
    u = np.empty((batch, window, n_inputs))
    for i in range(batch):
        kind = i % starts % 5
        if kind == 0:
            hold = int(rng.integers(5, 40))
            levels = rng.uniform(-rho, rho, (-(-window // hold), n_inputs))
            u[i] = np.repeat(levels, hold, axis=0)[:window]
        elif kind == 1:
            hold = int(rng.integers(1, 12))
            levels = rho * rng.choice([-1.0, 1.0], (-(-window // hold), n_inputs))
            u[i] = np.repeat(levels, hold, axis=0)[:window]
        elif kind == 2:
            u[i] = rho
        elif kind == 3:
            u[i] = -rho
        else:
            u[i] = rng.uniform(-rho, rho, (window, n_inputs))
    return u


def worst_case_input(
    params: LSTMParams | Sequence[LSTMParams],
    rho_u: float,
    *,
    state_box=(0.1, 0.1),
    horizon: int = 2000,
    starts: int = 6,
    iterations: int = 300,
    lr: float = 0.05,
    seed: int = 0,
    Ts: float = 1.0,
    diagram: bool = True,
) -> WorstCase:
    """Search the inputs ``|u(k)| <= rho_u`` and initial states in ``state_box`` for the largest ``|y(k)|``.

    The network is read in the state-space form (``y(k)`` from the state before step ``k``, as in
    the scenario approach), over ``y(0) .. y(horizon-1)``.

    Parameters
    ----------
    params : LSTMParams or layers in series
    rho_u : input amplitude (>= 0): every input entry at every step within ``[-rho_u, rho_u]``
    state_box : ``(cx, hx)``: ``|x(0)| <= cx`` (cell) and ``|xi(0)| <= hx`` (hidden) for every layer
    horizon : the number of output samples
    starts : starts per target step, output and sign (random levels, random bang-bang, constant
        ``+rho_u``, constant ``-rho_u``, white noise, in turn)
    iterations, lr : projected Adam steps and their size (a fraction of each box's width)
    seed : the random starts' seed
    Ts : the diagram's sample time (seconds; it does not change the values)
    diagram : re-simulate through the block diagram (else ``value`` is the matrices')

    Returns
    -------
    WorstCase
    """
    began = time.perf_counter()
    jax, jnp = _jax()
    from ..core.jax_x64 import enable_x64
    from ..core.matrix import simulate

    layers = as_layers(params)
    rho = float(rho_u)
    if not np.isfinite(rho) or rho < 0:
        raise ValueError(f"rho_u must be finite and >= 0 (a bound on |u(k)|), got {rho_u!r}")
    if int(horizon) != horizon or horizon < 1:
        raise ValueError(f"horizon must be a positive integer (number of output samples), got {horizon!r}")
    horizon = int(horizon)
    halves = _state_halves(state_box, layers)
    window = max(1, min(horizon - 1, WINDOW))  # y(window) needs the inputs u(0) .. u(window-1)
    targets = sorted({k for k in TARGETS if k <= window and k < horizon} | {min(window, horizon - 1)})
    n_out = layers[-1].n_outputs
    combos = [(k, s, m) for k in targets for s in (1.0, -1.0) for m in range(n_out)]
    batch = len(combos) * starts
    tk = np.repeat([c[0] for c in combos], starts)
    sg = np.repeat([c[1] for c in combos], starts)
    om = np.repeat([c[2] for c in combos], starts)
    rng = np.random.default_rng(seed)
    u = _starts(rng, batch, window, layers[0].n_inputs, rho, starts)
    states = [(rng.uniform(-h, h, (batch, h.size)), rng.uniform(-c, c, (batch, c.size))) for h, c in halves]
    with enable_x64(True):
        arrays = tuple(tuple(None if a is None else jnp.asarray(a) for a in (L.W, L.R, L.b, L.F, L.bF))
                       for L in layers)
        variables = (jnp.asarray(u), [tuple(jnp.asarray(a) for a in s) for s in states])
        boxes = ((jnp.full(u.shape, -rho), jnp.full(u.shape, rho)),
                 [((jnp.broadcast_to(-jnp.asarray(h), (batch, h.size)), jnp.broadcast_to(jnp.asarray(h), (batch, h.size))),
                   (jnp.broadcast_to(-jnp.asarray(c), (batch, c.size)), jnp.broadcast_to(jnp.asarray(c), (batch, c.size))))
                  for h, c in halves])
        moments = (jax.tree_util.tree_map(jnp.zeros_like, variables), jax.tree_util.tree_map(jnp.zeros_like, variables))
        step, values_of = _search_step()
        args = (arrays, jnp.asarray(tk), jnp.asarray(sg), jnp.asarray(om))
        for k in range(1, iterations + 1):
            rate = lr * (1.0 - (k - 1) / iterations) + 0.02 * lr
            variables, moments, _ = step(variables, moments, *args, boxes, k, rate)
        found = np.asarray(values_of(variables, *args))
        u_all = np.asarray(variables[0])
        states_all = [(np.asarray(h), np.asarray(c)) for h, c in variables[1]]
    best = int(np.argmax(found))
    k_best = int(tk[best])
    u_full = np.empty((horizon, layers[0].n_inputs))
    used = min(k_best, window)
    u_full[:used] = u_all[best, :used]
    u_full[used:] = u_all[best, used - 1] if used > 0 else u_all[best, 0]
    h0 = [h[best].copy() for h, _ in states_all]
    c0 = [c[best].copy() for _, c in states_all]
    y_matrix = simulate(layers, u_full, h0 if len(layers) > 1 else h0[0], c0 if len(layers) > 1 else c0[0],
                        form="statespace").y
    value_matrix = float(np.abs(y_matrix).max())
    y = y_matrix
    if diagram:
        from ..core.diagram import lstm_diagram
        from ..core.engine import run

        bd, _ = lstm_diagram(layers if len(layers) > 1 else layers[0], u_full, Ts=Ts,
                             h0=h0 if len(layers) > 1 else h0[0], c0=c0 if len(layers) > 1 else c0[0],
                             form="statespace", name="worst_case")
        y = np.asarray(run(bd).recorders["y"]).reshape(horizon, -1)
    peak = np.unravel_index(int(np.argmax(np.abs(y))), y.shape)
    return WorstCase(float(np.abs(y).max()), u_full, h0, c0, int(peak[0]), int(peak[1]), value_matrix,
                     float(found[best]), batch, time.perf_counter() - began)
