"""Figures of the scenario lab (scenario_safety): the paper's Figure 3(b) and 3(a). Each function takes
what the sweep computed and returns one matplotlib Figure (made with pyplot: a notebook shows it, a
script saves and closes it)."""

from __future__ import annotations

import numpy as np

from ..safety.scenario_chunk import TRANSIENT

__all__ = ["example_scenarios", "reachable_set"]


def _pyplot():
    import matplotlib.pyplot as plt

    return plt


def reachable_set(rows: list[dict], *, trivial_bound: float, n: int, eps: float, beta: float) -> object:
    """Figure 3(b): the output bound rho_y* against the input amplitude rho_u.

    ``rows``: the sweep's rows (:func:`~lstmds_sim.safety.scenario_sweep.sweep_row`), one per rho_u:
    the LSTM's scenario bound (and, when the rows have it, the bound after the first TRANSIENT
    steps), the plant's on the same scenarios, the two guaranteed bounds (interval, ISS-Lyapunov);
    ``trivial_bound``: |C| + |b_y|, drawn across; ``n``, ``eps``, ``beta``: the sample size and what it
    guarantees, in the title.
    """
    rho_u = np.array([r["rho_u"] for r in rows])
    fig, ax = _pyplot().subplots(figsize=(6.5, 4.5))
    ax.plot(rho_u, [r["rho_y_lstm"] for r in rows], "o-", color="tab:red", label="LSTM (scenario bound)")
    if all(r["rho_y_lstm_after_transient"] is not None for r in rows):
        ax.plot(rho_u, [r["rho_y_lstm_after_transient"] for r in rows], "o:", color="tab:red", alpha=0.6,
                label=f"LSTM after the first {TRANSIENT} steps")
    ax.plot(rho_u, [r["rho_y_plant"] for r in rows], "s-", color="tab:blue", label="plant (same scenarios)")
    ax.plot(rho_u, [r["analytic_iss_bound"] for r in rows], "k--", label="analytic interval bound (LSTM, guaranteed)")
    ax.plot(rho_u, [r["lyapunov_bound"] for r in rows], "-.", color="tab:purple",
            label="ISS-Lyapunov bound, V = |x|_1 + |xi|_1 (paper's proof)")
    ax.axhline(trivial_bound, color="0.6", ls=":", label="trivial bound |C| + |b_y|")
    ax.set_xlabel(r"$\rho_u$ (input amplitude, normalised)")
    ax.set_ylabel(r"$\rho_y^*$ (output bound, normalised)")
    ax.set_title(f"output reachable set, N = {n} scenarios (eps = {eps:g}, beta = {beta:g})", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def example_scenarios(example: dict[str, np.ndarray], *, Ts: float, rho_u: float) -> object:
    """Figure 3(a): a few scenarios of amplitude ``rho_u``: their inputs (top) and the LSTM's (solid) and
    the plant's (dotted) normalised outputs (bottom), one colour per scenario.

    ``example``: ``"u"``, ``"y"``, ``"plant"``, each ``(scenarios, T)``; ``Ts``: the sample time in seconds.
    """
    u, y, plant = example["u"], example["y"], example["plant"]
    t = np.arange(u.shape[1]) * Ts
    fig, axes = _pyplot().subplots(2, 1, figsize=(9, 5), sharex=True)
    for k in range(u.shape[0]):
        axes[0].step(t, u[k], where="post", lw=0.8)
        axes[1].plot(t, y[k], lw=0.8, color=f"C{k}")
        axes[1].plot(t, plant[k], lw=0.6, ls=":", color=f"C{k}")
    axes[0].set_ylabel("u (normalised)")
    axes[0].set_title(f"example scenarios, rho_u = {rho_u:g} (solid: LSTM, dotted: plant)", fontsize=10)
    axes[1].set_ylabel("y (normalised)")
    axes[1].set_xlabel("t [s]")
    for ax in axes:
        ax.grid(alpha=0.3)
    return fig
