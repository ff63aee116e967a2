"""Figures of the LSTM-layer labs (lstm_layer, lstm_stack, lstm_vs_linear): each function takes the
numbers a lab computed and returns one matplotlib Figure (made with pyplot, so a notebook shows it;
a script saves and closes it)."""

from __future__ import annotations

import numpy as np

from .plots import differences, legend_outside, pzmap, stairs, step_hold

__all__ = ["UNIT_STYLES", "accuracy_vs_scale", "diagram_vs_matrices", "linear_imitation", "loop_signals",
           "systems_pzmap"]

#: How the units of a layer are told apart in :func:`loop_signals`: colours that are not the loops'
#: (the renders draw the inner loop blue and the outer loop vermillion), then line styles.
UNIT_STYLES = ({"color": "k"}, {"color": "#009e73"}, {"color": "#cc79a7"}, {"color": "0.55"},
               {"color": "k", "ls": "--"}, {"color": "#009e73", "ls": "--"}, {"color": "#cc79a7", "ls": "--"})
#: The loops' colours, as the renders draw them (:data:`lstmds_sim.drawing.render.LOOP_SCHEME`).
_INNER_COLOUR, _OUTER_COLOUR = "#1f5fa8", "#d4541a"


def _pyplot():
    import matplotlib.pyplot as plt

    return plt


def diagram_vs_matrices(t, y_matrix, y_diagram, *, title: str) -> object:
    """One panel per output (the matrix implementation wide and pale, the diagram dashed on top) and a
    last panel with ``|y_diagram - y_matrix|`` of every output, on a log scale."""
    y_matrix, y_diagram = np.atleast_2d(np.asarray(y_matrix).T).T, np.atleast_2d(np.asarray(y_diagram).T).T
    n_out = y_matrix.shape[1]
    fig, axes = _pyplot().subplots(n_out + 1, 1, sharex=True, figsize=(8.5, 2.0 * n_out + 1.8),
                                   gridspec_kw={"height_ratios": [2] * n_out + [1.2]})
    for j in range(n_out):
        stairs(axes[j], t, {"matrix implementation": y_matrix[:, j], "block diagram": y_diagram[:, j]},
               ylabel=f"y{j + 1}", legend="outside" if j == 0 else "none")
    differences(axes[-1], t, {f"y{j + 1}": y_diagram[:, j] - y_matrix[:, j] for j in range(n_out)},
                ylabel="|diagram - matrices|")
    axes[0].set_title(title, fontsize=10)
    axes[-1].set_xlabel("t [s]")
    fig.align_ylabels(axes)
    return fig


def loop_signals(t, c, h, f, *, title: str) -> object:
    """The two loops of an LSTM layer, unit by unit: the cell state c (inner loop), the forget gate f (the
    inner loop's gain: c(k) = f(k) c(k-1) + ...) and the hidden state h (outer loop).

    The units are told apart by :data:`UNIT_STYLES`, never by the loops' colours; each panel's label
    carries the colour of its loop, as in the diagram's picture. The dotted line f = 1 is labelled:
    there the inner loop would keep all of c(k-1)."""
    c, h, f = (np.asarray(a).reshape(len(t), -1) for a in (c, h, f))
    fig, axes = _pyplot().subplots(3, 1, sharex=True, figsize=(8.5, 6.5))
    panels = ((c, "c: cell state\n(inner loop)", _INNER_COLOUR), (f, "f: forget gate\n(inner-loop gain)", _INNER_COLOUR),
              (h, "h: hidden state\n(outer loop)", _OUTER_COLOUR))
    for ax, (values, label, colour) in zip(axes, panels):
        for unit in range(values.shape[1]):
            step_hold(ax, t, values[:, unit], lw=1.2, label=f"unit {unit + 1}", **UNIT_STYLES[unit % len(UNIT_STYLES)])
        ax.set_ylabel(label, fontsize=9, color=colour)
        ax.grid(alpha=0.3)
    axes[1].set_ylim(-0.02, 1.02)
    axes[1].axhline(1.0, color="0.5", ls=":", lw=0.8)
    axes[1].text(1.01, 1.0, "f = 1: the inner loop\nkeeps all of c(k-1)", transform=axes[1].get_yaxis_transform(),
                 fontsize=7.5, color="0.35", va="center", ha="left")
    legend_outside(axes[0], title="units (colours\nnot the loops')", title_fontsize=8)
    axes[0].set_title(title, fontsize=10)
    axes[-1].set_xlabel("t [s]")
    fig.align_ylabels(axes)
    return fig


def linear_imitation(t, y_true, y_net, y3_true, y3_net, *, difference: float, difference3: float) -> object:
    """The linear system against the LSTM with computed weights, for u and for 3u, and a last panel with
    both errors on a log scale (the 3u error is about 27 times the other: the cubic term of tanh)."""
    fig, axes = _pyplot().subplots(3, 1, figsize=(8.5, 7.5), sharex=True, gridspec_kw={"height_ratios": [2, 2, 1.4]})
    stairs(axes[0], t, {"linear system": y_true, "LSTM": y_net},
           title=f"linear system vs LSTM with computed weights: norm of difference {difference:.2e}", ylabel="y")
    stairs(axes[1], t, {"3 y (linear system)": y3_true, "LSTM(3u)": y3_net},
           title=f"linearity test, input 3u: norm of difference {difference3:.2e}", ylabel="y")
    differences(axes[2], t, {"LSTM - y": np.ravel(y_net) - np.ravel(y_true),
                             "LSTM(3u) - 3y": np.ravel(y3_net) - np.ravel(y3_true)}, ylabel="|error|")
    axes[2].set_xlabel("t [s]")
    fig.align_ylabels(axes)
    return fig


def accuracy_vs_scale(table: list[dict], *, reference_row: int = 2, n: int | None = None,
                      m: int | None = None) -> object:
    """Error norm against scale for both constructions, with the scale^2 line through ``reference_row``.

    The legend says what n and m are (the linear system's states and inputs), with their values when
    ``n`` and ``m`` are given."""
    fig, ax = _pyplot().subplots(figsize=(6.5, 4.5))
    scales = np.array([row["scale"] for row in table])
    sizes = {"n+m": f" = {n + m}" if n is not None and m is not None else "", "n": f" = {n}" if n is not None else ""}
    for units, marker in (("n+m", "o"), ("n", "s")):
        ax.loglog(scales, [row[f"error_{units}"] for row in table], marker=marker,
                  label=f"Nn = {units.replace('+', ' + ')}{sizes[units]} units")
    anchor = table[reference_row]
    ax.loglog(scales, anchor["error_n+m"] * (scales / anchor["scale"]) ** 2, "k:", label="slope 2 (scale$^2$)")
    ax.axhspan(ax.get_ylim()[0], 1e-13, color="0.92", zorder=0)
    ax.text(scales.max(), 3e-14, "round-off (double precision) ", fontsize=8, color="0.35", va="center", ha="right")
    ax.set_xlabel("scale")
    ax.set_ylabel("norm(y_net - y_true)")
    ax.set_title("LSTM imitating a linear system: error vs scale", fontsize=10)
    ax.grid(alpha=0.3, which="major")
    legend = legend_outside(ax)
    n_text = "n: states of the linear\nsystem" + (f" ({n})" if n is not None else "")
    m_text = "m: its inputs" + (f" ({m})" if m is not None else "")
    ax.annotate(f"Nn: LSTM units\n{n_text}\n{m_text}", xy=(0, 0), xycoords=legend, xytext=(0, -8),
                textcoords="offset points", va="top", ha="left", fontsize=8, color="0.3")
    return fig


def systems_pzmap(systems: dict, *, title: str, inset="auto", colours=None) -> object:
    """Pole-zero map of several systems, each given as :func:`lstmds_sim.systems.lti.describe` gives it
    (``"zeros"``/``"poles"`` as [re, im] pairs); the first is drawn largest (see :func:`.plots.pzmap`),
    in ``colours`` (one per system; by default the reference blue, then black, red, green, as
    :func:`.plots.stairs` draws its series)."""
    def as_complex(pairs):
        return [complex(*p) if np.ndim(p) else complex(p) for p in pairs]

    fig, ax = _pyplot().subplots(figsize=(7.5, 5.5))
    pzmap(ax, {name: (as_complex(d["zeros"]), as_complex(d["poles"])) for name, d in systems.items()},
          title=title, inset=inset, colours=colours)
    return fig
