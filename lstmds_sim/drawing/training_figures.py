"""Figures of the training labs (training_basin, training_random): each function takes what a lab
computed and returns one matplotlib Figure (made with pyplot: a notebook shows it, a script saves and
closes it). Loss curves of 10,000 epochs are thinned and rasterised (:func:`.plots.loss_curves`)."""

from __future__ import annotations

import numpy as np

from .plots import SERIES_COLOURS, STAIRS_STYLES, legend_outside, loss_curves, stairs

__all__ = ["basin_loss", "random_loss", "rolling", "run_colours", "validation_figure", "validation_panels"]

SEED_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink",
                "tab:gray", "tab:olive", "tab:cyan")


def _pyplot():
    import matplotlib.pyplot as plt

    return plt


def run_colours(labels) -> dict:
    """One colour per run setting, the same in every figure of a training lab: the setting is the part
    of a label after its last ``", "`` (``"balanced, lr 0.001"`` -> ``"lr 0.001"``), and the k-th
    setting gets :data:`~.plots.SERIES_COLOURS` ``[k + 1]`` (black, red, green, ...), the colour that
    the k-th system after the true one gets in a pole-zero map (:func:`.lstm_figures.systems_pzmap`),
    where the true system is blue."""
    settings: list[str] = []
    for label in labels:
        setting = str(label).rsplit(", ", 1)[-1]
        if setting not in settings:
            settings.append(setting)
    palette = SERIES_COLOURS[1:]
    return {label: palette[settings.index(str(label).rsplit(", ", 1)[-1]) % len(palette)] for label in labels}


def basin_loss(curves: dict, *, dotted: set = frozenset(), title: str) -> object:
    """Loss curves of runs that start from the computed weights (label -> history).

    The epoch axis is linear from 0 to 1 and logarithmic beyond, and each curve's epoch-0 value
    has a dot: the finding, the lowest loss at the very start, is not a sliver at the left edge.
    The first curve's start is labelled with its value. ``dotted`` labels are drawn dotted. Runs
    with the same setting (the label after its last comma, e.g. the learning rate) share a colour,
    the colour :func:`validation_panels` and the lab's pole-zero map give that setting (:func:`run_colours`).
    """
    fig, ax = _pyplot().subplots(figsize=(9, 4.8))
    colours = run_colours(curves)
    styles = {label: {"ls": ":" if label in dotted else "-", "color": colours[label]} for label in curves}
    loss_curves(ax, curves, styles=styles, title=title, mark_start=True, symlog_x=True,
                xlabel="epoch (0, then logarithmic)")
    history = next(iter(curves.values()))
    best = int(np.nanargmin(history))
    ax.annotate(f"epoch 0: {history[0]:.1e}\n(lowest loss: epoch {best})", xy=(0, history[0]),
                xytext=(22, -34), textcoords="offset points", fontsize=8,
                arrowprops={"arrowstyle": "->", "color": "0.3", "lw": 0.8})
    return fig


def validation_panels(t, y_true, nets: list[tuple[str, str, np.ndarray]]) -> object:
    """One panel per network: the true output (wide, pale blue) and the network's (dashed), titled;
    ``nets`` holds (title, legend label, output) triples. The k-th network is drawn, and its title
    written, in the colour the k-th setting has in the loss plot and the pole-zero map
    (:func:`run_colours`: black, red, green, ...); one legend, beside the first panel, says so."""
    fig, axes = _pyplot().subplots(len(nets), 1, figsize=(9, 2.5 * len(nets) + 0.3), sharex=True, squeeze=False)
    palette = SERIES_COLOURS[1:]
    for k, (ax, (title, label, y_net)) in enumerate(zip(axes[:, 0], nets)):
        colour = palette[k % len(palette)]
        stairs(ax, t, {"true system": np.ravel(y_true), label: np.ravel(y_net)}, title=title, ylabel="y",
               legend="none", styles=[STAIRS_STYLES[0], {"color": colour, "lw": 1.1, "ls": "--"}])
        ax.title.set_color(colour)
    handles, _ = axes[0, 0].get_legend_handles_labels()
    labels = ["true system", f"{nets[0][1]}\n(dashed, in the colour of\nthe panel's title)" if len(nets) > 1
              else nets[0][1]]
    legend_outside(axes[0, 0], handles=handles, labels=labels)
    axes[-1, 0].set_xlabel("t [s]")
    return fig


def rolling(values, window: int, how=np.nanmedian) -> np.ndarray:
    """``how`` (median, min, max) of each ``window`` consecutive values, centred (mirrored at the ends)."""
    values = np.asarray(values, dtype=float)
    half = window // 2
    padded = np.pad(values, half, mode="reflect")
    return how(np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1), axis=1)


def validation_figure(t, series: dict, *, title: str) -> object:
    """Several outputs on the validation input in one panel (name -> 1-D array; the first is the truth)."""
    fig, ax = _pyplot().subplots(figsize=(9, 3.5))
    stairs(ax, t, {name: np.ravel(y) for name, y in series.items()}, title=title, ylabel="y")
    ax.set_xlabel("t [s]")
    return fig


def random_loss(histories: dict, *, title: str, window: int = 201, max_points: int = 400) -> object:
    """Loss curves from random starts, ``(drop factor, seed) -> history``: one panel per drop factor,
    one colour per seed (the same seed has the same colour in every panel). Each run is drawn as its
    rolling median over ``window`` epochs (bold) inside a see-through band from its rolling minimum to
    its rolling maximum (bands that overlap both show), so that five chaotic curves in one panel stay apart; a dot marks each run's
    final loss. Shared axes, so the panels compare at a glance."""
    drops = sorted({drop for drop, _ in histories})
    seeds = sorted({seed for _, seed in histories})
    colour = {seed: SEED_COLOURS[i % len(SEED_COLOURS)] for i, seed in enumerate(seeds)}
    fig, axes = _pyplot().subplots(1, len(drops), figsize=(3.6 * len(drops) + 1.6, 4.2), sharex=True, sharey=True,
                                   squeeze=False)
    for ax, drop in zip(axes[0], drops):
        for seed in seeds:
            history = histories.get((drop, seed))
            if history is None:
                continue
            width = min(window, len(history))
            every = max(1, len(history) // max_points)
            x = np.arange(len(history))[::every]
            low, high = (rolling(history, width, how)[::every] for how in (np.nanmin, np.nanmax))
            # see-through, so that overlapping bands both show; below zorder 1, so that the axes'
            # bands of long runs are rasterised together into one image (small SVGs)
            ax.fill_between(x, low, high, color=colour[seed], alpha=0.2, lw=0, zorder=0.8)
            step = max(1, len(history) // (max_points // 4))  # the median is smooth: a quarter of the points do
            ax.plot(np.arange(len(history))[::step], rolling(history, width)[::step], color=colour[seed], lw=1.4,
                    label=f"seed {seed}")
            ax.plot([len(history) - 1], [history[-1]], "o", color=colour[seed], ms=4.5, zorder=4,
                    markeredgecolor="white", markeredgewidth=0.6)
        if max(len(h) for h in histories.values()) > 500:
            ax.set_rasterization_zorder(1)
        ax.set_yscale("log")
        ax.set_title(f"drop factor {drop:g}", fontsize=10)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3, which="major")
    axes[0, 0].set_ylabel("training loss (MSE)")
    legend_outside(axes[0, -1], title=f"random start\n(line: median of\n{window} epochs; band:\ntheir range; "
                                      "dot:\nfinal loss)", title_fontsize=8)
    fig.suptitle(title, fontsize=10)
    return fig
