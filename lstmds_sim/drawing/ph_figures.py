"""Figures of the pH labs (ph_plant, ph_identification): each function takes what a lab computed and
returns one matplotlib Figure (made with pyplot: a notebook shows it, a script saves and closes it)."""

from __future__ import annotations

import numpy as np

from .plots import differences, legend_outside, loss_curves

__all__ = ["identification_training", "identification_validation", "plant_agreement", "plant_overview"]

STEP_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:gray")


def _pyplot():
    import matplotlib.pyplot as plt

    return plt


def _spread(values, gap: float) -> np.ndarray:
    """Label positions near ``values`` but at least ``gap`` apart (order kept)."""
    order = np.argsort(values)
    placed = np.array(values, dtype=float)[order]
    for k in range(1, len(placed)):
        placed[k] = max(placed[k], placed[k - 1] + gap)
    out = np.empty_like(placed)
    out[order] = placed
    return out


def plant_overview(q3_grid, curve, *, q3_nominal: float, ph_nominal: float, t, steps, ph, step_time: float) -> object:
    """Left: the titration curve (steady pH against q3), the nominal point and where each step ends.
    Right: the pH responses to the steps of q3, each labelled at its right end (no legend box over
    the data), the step time marked."""
    fig, (ax1, ax2) = _pyplot().subplots(1, 2, figsize=(12, 4.3), gridspec_kw={"width_ratios": [1, 1.25]})
    colours = [STEP_COLOURS[k % len(STEP_COLOURS)] for k in range(len(steps))]
    ax1.plot(q3_grid, curve, color="0.3", lw=1.5)
    ax1.plot([q3_nominal], [ph_nominal], "ko", ms=7, label=f"nominal ({q3_nominal:g} ml/s, pH {ph_nominal:.1f})")
    for step, trace, colour in zip(steps, ph, colours):
        ax1.plot([q3_nominal + step], [trace[-1]], "o", color=colour, ms=6)
    ax1.set_xlabel("q3, base flow [ml/s]")
    ax1.set_ylabel("steady-state pH")
    ax1.set_title("titration curve (dots: where each step ends)", fontsize=10)
    ax1.grid(alpha=0.3)
    ax1.legend(fontsize=8, loc="upper left")
    for trace, colour in zip(ph, colours):
        ax2.step(t, trace, where="post", color=colour, lw=1.3)
    finals = np.array([trace[-1] for trace in ph])
    span = float(np.ptp(ph)) or 1.0
    for step, final, y, colour in zip(steps, finals, _spread(finals, 0.055 * span), colours):
        ax2.annotate(f"{step:+.2f} ml/s: pH {final:.2f}", xy=(t[-1], final), xytext=(t[-1] + 0.03 * np.ptp(t), y),
                     fontsize=8, color=colour, va="center", annotation_clip=False)
    ax2.axvline(step_time, color="0.5", ls=":", lw=0.9)
    ax2.text(step_time, ax2.get_ylim()[1], " step", fontsize=8, color="0.4", va="top")
    ax2.set_xlim(t[0], t[-1])
    ax2.set_xlabel("t [s]")
    ax2.set_ylabel("pH")
    ax2.set_title("responses to steps of q3 (one batched diagram run)", fontsize=10)
    ax2.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plant_agreement(t, drawn, sealed, reference, *, reference_solver: str = "solve_ivp") -> object:
    """The drawn tank against the sealed block (every sample, each run of the batch) and the drawn tank
    with an adaptive solver against the block, as |difference| in pH on a log scale."""
    drawn, sealed = np.atleast_2d(drawn), np.atleast_2d(sealed)
    fig, axes = _pyplot().subplots(2, 1, figsize=(9, 5), sharex=False)
    differences(axes[0], t[: drawn.shape[1]], {f"run {k + 1}": drawn[k] - sealed[k] for k in range(len(drawn))},
                ylabel="|pH difference|",
                title="drawn tank (integrators, RK4) vs the sealed PHPLANT block (same RK4 steps)")
    axes[0].set_xlabel("t [s]")
    n = len(np.ravel(reference))
    differences(axes[1], t[:n], {"": np.ravel(reference) - sealed[0, :n]}, ylabel="|pH difference|",
                title=f"drawn tank with {reference_solver} (adaptive, tight tolerance) vs the block")
    axes[1].set_xlabel("t [s]")
    fig.tight_layout()
    return fig


def identification_validation(t, measured, plant, lstm, q3, *, fit_percent: float, washout: int,
                              lstm_label: str = "ISS LSTM block (random initial state)") -> object:
    """The paper's Figure 2 and more: measured pH, the plant and the LSTM on the validation input; the
    LSTM's error against the plant and against the measurement; the input. Legends beside the axes."""
    fig, axes = _pyplot().subplots(3, 1, figsize=(11, 7.5), sharex=True, gridspec_kw={"height_ratios": [3, 1.4, 1.2]})
    axes[0].plot(t, measured, color="0.65", lw=0.6, label="measured pH (validation)")
    axes[0].plot(t, plant, color="tab:blue", lw=1.3, label="plant (ph_tank subsystem)")
    axes[0].plot(t, lstm, color="tab:red", lw=1.0, ls="--", label=lstm_label)
    axes[0].axvspan(t[0], t[washout], color="0.9", zorder=0, label=f"washout ({washout} samples)")
    axes[0].set_ylabel("pH")
    axes[0].set_title(f"validation: FIT {fit_percent:.1f} % (mean-subtracted, after {washout} samples)", fontsize=10)
    axes[0].grid(alpha=0.3)
    legend_outside(axes[0])
    axes[1].plot(t, np.asarray(lstm) - np.asarray(measured), color="0.5", lw=0.5, label="LSTM - measured")
    axes[1].plot(t, np.asarray(lstm) - np.asarray(plant), color="tab:red", lw=0.9, label="LSTM - plant")
    error = np.abs(np.asarray(lstm) - np.asarray(plant))[washout:]
    limit = 1.3 * max(float(np.max(error)), float(np.max(np.abs(np.asarray(lstm) - np.asarray(measured))[washout:])))
    axes[1].set_ylim(-limit, limit)  # the initial transient runs off the panel: it is the washout
    axes[1].axvspan(t[0], t[washout], color="0.9", zorder=0)
    axes[1].set_ylabel("error [pH]")
    axes[1].grid(alpha=0.3)
    legend_outside(axes[1])
    axes[2].step(t, q3, where="post", color="k", lw=0.8)
    axes[2].set_ylabel("q3 [ml/s]")
    axes[2].set_xlabel("t [s]")
    axes[2].grid(alpha=0.3)
    fig.align_ylabels(axes)
    return fig


def identification_training(histories: dict, *, title: str = "training with and without the ISS conditions") -> object:
    """Training loss against SLSQP iteration, one curve per run (label -> history)."""
    fig, ax = _pyplot().subplots(figsize=(8.5, 4))
    loss_curves(ax, histories, xlabel="SLSQP iteration", ylabel="training MSE (normalised)", title=title)
    return fig
