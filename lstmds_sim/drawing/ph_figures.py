"""Figures of the pH labs (ph_plant, ph_identification): each function takes what a lab computed and
returns one matplotlib Figure (made with pyplot: a notebook shows it, a script saves and closes it)."""

from __future__ import annotations

import numpy as np

from .plots import differences, hold, legend_outside, loss_curves, step_hold

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
        step_hold(ax2, t, trace, color=colour, lw=1.3)
    end = hold(t, t)[0][-1]  # the last sample is held for its period too
    finals = np.array([trace[-1] for trace in ph])
    span = float(np.ptp(ph)) or 1.0
    for step, final, y, colour in zip(steps, finals, _spread(finals, 0.055 * span), colours):
        ax2.annotate(f"{step:+.2f} ml/s: pH {final:.2f}", xy=(end, final), xytext=(end + 0.03 * np.ptp(t), y),
                     fontsize=8, color=colour, va="center", annotation_clip=False)
    ax2.axvline(step_time, color="0.5", ls=":", lw=0.9)
    ax2.text(step_time, ax2.get_ylim()[1], " step", fontsize=8, color="0.4", va="top")
    ax2.set_xlim(t[0], end)
    ax2.set_xlabel("t [s]")
    ax2.set_ylabel("pH")
    ax2.set_title("responses to steps of q3 (one batched diagram run)", fontsize=10)
    ax2.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plant_agreement(t, drawn, sealed, reference, *, reference_solver: str = "solve_ivp",
                    runs: tuple[str, ...] = ("training input", "validation input")) -> object:
    """The drawn tank against the sealed block (every sample, each run of the batch) and the drawn tank
    with an adaptive solver against the block (on the first samples of the first run), as |difference|
    in pH on a log scale. ``runs`` names the runs of the batch, in order (by default the identification
    experiment's two: its training and its validation input); runs beyond them are numbered."""
    drawn, sealed = np.atleast_2d(drawn), np.atleast_2d(sealed)
    names = [runs[k] if k < len(runs) else f"run {k + 1}" for k in range(len(drawn))]
    fig, axes = _pyplot().subplots(2, 1, figsize=(9, 5), sharex=False)
    differences(axes[0], t[: drawn.shape[1]], {names[k]: drawn[k] - sealed[k] for k in range(len(drawn))},
                ylabel="|pH difference|",
                title="drawn tank (integrators, RK4) vs the sealed PHPLANT block (same RK4 steps), per input")
    axes[0].set_xlabel("t [s]")
    n = len(np.ravel(reference))
    differences(axes[1], t[:n], {"": np.ravel(reference) - sealed[0, :n]}, ylabel="|pH difference|",
                title=f"drawn tank with {reference_solver} (adaptive, tight tolerance) vs the block: "
                      f"first {n} samples of the {names[0]}")
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
    # the pH axis spans the data after the washout: the LSTM's first samples (from its random initial
    # state) may run off it, and a note says where they start
    settled = np.concatenate([np.ravel(measured), np.ravel(plant), np.ravel(lstm)[washout:]])
    low, high = float(np.min(settled)), float(np.max(settled))
    pad = 0.06 * (high - low or 1.0)
    axes[0].set_ylim(low - pad, high + pad)
    start = float(np.ravel(lstm)[0])
    off_axis = not low - pad <= start <= high + pad
    if off_axis:  # a mark where the LSTM leaves the axis, and the note under the legend, where it hides nothing
        below = start < low - pad
        axes[0].plot([t[0]], [low - pad if below else high + pad], "v" if below else "^", color="tab:red", ms=7,
                     clip_on=False, zorder=5)
    axes[0].set_ylabel("pH")
    axes[0].set_title(f"validation: FIT {fit_percent:.1f} % (mean-subtracted, after {washout} samples)", fontsize=10)
    axes[0].grid(alpha=0.3)
    legend = legend_outside(axes[0])
    if off_axis:
        mark = "\N{BLACK DOWN-POINTING TRIANGLE}" if below else "\N{BLACK UP-POINTING TRIANGLE}"
        axes[0].annotate(f"{mark} the LSTM starts at pH {start:.2f}"
                         f"\n(random initial state), off the axis;\nits first samples are the washout",
                         xy=(0, 0), xycoords=legend, xytext=(0, -6), textcoords="offset points", va="top", ha="left",
                         fontsize=8, color="tab:red")
    axes[1].plot(t, np.asarray(lstm) - np.asarray(measured), color="0.5", lw=0.5, label="LSTM - measured")
    axes[1].plot(t, np.asarray(lstm) - np.asarray(plant), color="tab:red", lw=0.9, label="LSTM - plant")
    error = np.abs(np.asarray(lstm) - np.asarray(plant))[washout:]
    limit = 1.3 * max(float(np.max(error)), float(np.max(np.abs(np.asarray(lstm) - np.asarray(measured))[washout:])))
    axes[1].set_ylim(-limit, limit)  # the initial transient runs off the panel: it is the washout
    axes[1].axvspan(t[0], t[washout], color="0.9", zorder=0)
    axes[1].set_ylabel("error [pH]")
    axes[1].grid(alpha=0.3)
    legend_outside(axes[1])
    step_hold(axes[2], t, q3, color="k", lw=0.8)
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
