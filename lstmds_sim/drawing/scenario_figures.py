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
    steps), the plant's on the same scenarios, the guaranteed bounds (interval, ISS-Lyapunov and, when
    the rows have them, the certified bound with the worst case found below it: the band between the
    two holds the true worst case);
    ``trivial_bound``: |C| + |b_y|, drawn across; ``n``, ``eps``, ``beta``: the sample size and what it
    guarantees, in the title.
    """
    rho_u = np.array([r["rho_u"] for r in rows])
    fig, ax = _pyplot().subplots(figsize=(6.5, 4.5))
    ax.plot(rho_u, [r["rho_y_lstm"] for r in rows], "o-", color="tab:red", label="LSTM (scenario bound)")
    if all(r["rho_y_lstm_after_transient"] is not None for r in rows):
        # hollow rings, larger than the plant's squares and drawn over them: they often coincide
        ax.plot(rho_u, [r["rho_y_lstm_after_transient"] for r in rows], "o:", color="tab:red", ms=10, mfc="none",
                mew=1.3, zorder=4, label=f"LSTM after the first {TRANSIENT} steps (rings)")
    ax.plot(rho_u, [r["rho_y_plant"] for r in rows], "s-", color="tab:blue", ms=5, label="plant (same scenarios)")
    ax.plot(rho_u, [r["analytic_iss_bound"] for r in rows], "k--", label="analytic interval bound (LSTM, guaranteed)")
    if all(r.get("certified_bound") is not None for r in rows):
        # the sandwich: the largest |y| over every admissible input and initial state lies in the band
        worst, certified = [r["worst_case_found"] for r in rows], [r["certified_bound"] for r in rows]
        ax.fill_between(rho_u, worst, certified, color="tab:green", alpha=0.2, lw=0, zorder=2,
                        label="the true worst case lies in this band")
        ax.plot(rho_u, certified, "^-", color="tab:green", ms=6, zorder=5,
                label="certified bound (linear relaxations, guaranteed)")
        ax.plot(rho_u, worst, "v-", color="darkgreen", ms=6, mfc="none", mew=1.2, lw=0.9, zorder=5,
                label="worst case found (search, attained)")
    lyapunov = np.array([r["lyapunov_bound"] for r in rows], dtype=float)
    same = bool(np.allclose(lyapunov, trivial_bound, rtol=1e-6, atol=0.0))
    ax.plot(rho_u, lyapunov, "-.", color="tab:purple", zorder=3,
            label="ISS-Lyapunov bound, V = |x|_1 + |xi|_1 (paper's proof)"
                  + ("\n(here equal to the trivial bound)" if same else ""))
    # wide and pale under the others, so that a bound equal to it still shows on top
    ax.axhline(trivial_bound, color="0.82", lw=5, solid_capstyle="butt", zorder=1,
               label=f"trivial bound |C| + |b_y| = {trivial_bound:.3g}")
    ax.set_xlabel(r"$\rho_u$ (input amplitude, normalised)")
    ax.set_ylabel(r"$\rho_y^*$ (output bound, normalised; log scale)")
    ax.set_title(f"output reachable set, N = {n} scenarios (eps = {eps:g}, beta = {beta:g})", fontsize=10)
    # a log scale: the scenario bounds (about 0.1 to 1) get most of the height, and every bound above
    # them (interval, Lyapunov, trivial: up to |C| + |b_y|) stays on the axes
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))  # 0.1, 0.2, 0.5, 1, 2, 5: read as numbers
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, frameon=False)
    return fig


def example_scenarios(example: dict[str, np.ndarray], *, Ts: float, rho_u: float) -> object:
    """Figure 3(a): a few scenarios of amplitude ``rho_u``: their inputs (top) and the LSTM's (thin) and
    the plant's (wide, pale, underneath) normalised outputs (bottom), one colour per scenario, named in a
    legend beside the inputs.

    ``example``: ``"u"``, ``"y"``, ``"plant"``, each ``(scenarios, T)``; ``Ts``: the sample time in seconds.
    """
    u, y, plant = example["u"], example["y"], example["plant"]
    t = np.arange(u.shape[1]) * Ts
    fig, axes = _pyplot().subplots(2, 1, figsize=(9, 5), sharex=True)
    t_held = np.r_[t, t[-1] + Ts]  # each input sample held for its period, the last one too
    for k in range(u.shape[0]):
        axes[0].step(t_held, np.r_[u[k], u[k][-1:]], where="post", lw=0.8, color=f"C{k}", label=f"scenario {k + 1}")
        # the plant wide and pale underneath, the LSTM thin on top: where they agree both still show
        axes[1].plot(t, plant[k], lw=3.2, alpha=0.35, color=f"C{k}", solid_capstyle="butt")
        axes[1].plot(t, y[k], lw=0.8, color=f"C{k}")
    axes[0].set_ylabel("u (normalised)")
    axes[0].set_title(f"example scenarios, rho_u = {rho_u:g}: one colour per scenario", fontsize=10)
    axes[1].set_ylabel("y (normalised)")
    axes[1].set_xlabel("t [s]")
    for ax in axes:
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, frameon=False)
    from matplotlib.lines import Line2D

    axes[1].legend([Line2D([], [], color="0.3", lw=0.8), Line2D([], [], color="0.3", lw=3.2, alpha=0.35)],
                   ["LSTM (thin)", "plant (wide, pale)"], fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                   borderaxespad=0.0, frameon=False)
    return fig
