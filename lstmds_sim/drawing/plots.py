"""Plotting pieces the labs' figures share (matplotlib Axes in, nothing global).

* :func:`stairs` -- sample-and-hold signals, like MATLAB's ``stairs``;
* :func:`differences` -- how far apart two implementations are, step by step, on a log scale;
* :func:`pzmap` -- poles and zeros around the unit circle, far ones marked at the edge, crowds zoomed;
* :func:`loss_curves` -- long loss histories, thinned and rasterised so that SVGs stay small;
* :func:`legend_outside` -- a legend beside the axes, where it covers no data.
"""

from __future__ import annotations

import numpy as np

__all__ = ["differences", "legend_outside", "loss_curves", "pzmap", "stairs", "thin"]

#: Styles for the series of :func:`stairs`: the reference wide and pale, what is compared thin and dashed on top.
STAIRS_STYLES = (dict(color="tab:blue", lw=2.5, alpha=0.55), dict(color="k", lw=1.0, ls="--"),
                 dict(color="tab:red", lw=1.0), dict(color="tab:green", lw=1.0))
#: Colours and marker sizes of the systems of :func:`pzmap`, in order (the first is the reference).
PZ_COLOURS = ("tab:blue", "tab:red", "tab:green", "tab:purple", "tab:orange")
PZ_SIZES = (110, 55, 40, 30, 25)


def legend_outside(ax, **kwargs):
    """The legend to the right of ``ax``, outside the data (``bbox_inches="tight"`` keeps it in the file)."""
    options = dict(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize=8, frameon=False)
    options.update(kwargs)
    return ax.legend(**options)


def stairs(ax, t, series: dict, *, title: str | None = None, ylabel: str | None = None,
           legend: str = "outside") -> None:
    """Sample-and-hold plot of several signals (name -> 1-D array), like MATLAB's ``stairs``.

    ``legend``: ``"outside"`` (right of the axes, the default: it never covers data), ``"best"``
    (inside, where matplotlib finds room) or ``"none"``.
    """
    for (name, values), style in zip(series.items(), STAIRS_STYLES * 3):
        ax.step(t, values, where="post", label=name, **style)
    ax.grid(alpha=0.3)
    if legend == "outside":
        legend_outside(ax)
    elif legend == "best":
        ax.legend(loc="best", fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    if ylabel:
        ax.set_ylabel(ylabel)


def differences(ax, t, series: dict, *, title: str | None = None, ylabel: str = "|difference|",
                floor: float = 1e-18) -> None:
    """``|difference|`` of each named 1-D array against time, on a log scale.

    Exact zeros are drawn at ``floor`` (a log axis has no 0) and the axis says so.
    """
    colours = ("k", "tab:red", "tab:green", "tab:purple")
    magnitudes = {name: np.abs(np.asarray(values, dtype=float)) for name, values in series.items()}
    for (name, values), colour in zip(magnitudes.items(), colours * 3):
        ax.step(t, np.maximum(values, floor), where="post", color=colour, lw=1.0, label=name)
    ax.set_yscale("log")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3, which="major")
    every = np.concatenate([np.ravel(v) for v in magnitudes.values()]) if magnitudes else np.zeros(1)
    top = float(np.max(every))
    zeros = bool(np.any(every == 0))
    bottom = floor / 2 if zeros else float(np.min(every[every > 0])) / 20 if np.any(every > 0) else floor
    ax.set_ylim(bottom, max(top * 20, bottom * 100))
    if zeros:
        ax.text(1.01, 0.0, f"(exact 0 is\ndrawn at {floor:g})", transform=ax.transAxes, fontsize=7, color="0.4",
                va="bottom")
    if len(series) > 1:
        legend_outside(ax)
    if title:
        ax.set_title(title, fontsize=10)


# ----------------------------------------------------------------------------- pole-zero maps
def _points(systems: dict):
    """(name, index, kind, point) for every pole and zero."""
    out = []
    for index, (name, (zeros, poles)) in enumerate(systems.items()):
        for kind, values in (("zero", zeros), ("pole", poles)):
            for p in np.atleast_1d(np.asarray(values, dtype=complex)):
                out.append((name, index, kind, complex(p)))
    return out


def _scatter(ax, point: complex, kind: str, index: int, label=None, size_factor: float = 1.0) -> None:
    colour, size = PZ_COLOURS[index % len(PZ_COLOURS)], PZ_SIZES[index % len(PZ_SIZES)] * size_factor
    if kind == "pole":
        ax.scatter([point.real], [point.imag], marker="x", s=size, color=colour, label=label, zorder=3)
    else:
        ax.scatter([point.real], [point.imag], marker="o", s=size, facecolors="none", edgecolors=colour,
                   label=label, zorder=3)


def _unit_circle(ax) -> None:
    theta = np.linspace(0, 2 * np.pi, 721)
    ax.plot(np.cos(theta), np.sin(theta), color="0.55", lw=0.8)
    ax.axhline(0, color="0.85", lw=0.6, zorder=0)
    ax.axvline(0, color="0.85", lw=0.6, zorder=0)


def _crowd(points: list[complex], radius: float, view: float):
    """The box (x0, x1, y0, y1) around the largest group of distinct points closer than ``radius`` to a
    neighbour (points that coincide exactly count once), or None when nothing is crowded."""
    distinct = []
    for p in points:
        if abs(p.real) <= view and abs(p.imag) <= view and all(abs(p - q) > 1e-9 * max(1.0, abs(p)) for q in distinct):
            distinct.append(p)
    groups: list[set[int]] = []
    for i, p in enumerate(distinct):
        near = {j for j, q in enumerate(distinct) if j != i and abs(p - q) < radius}
        if not near:
            continue
        merged = {i} | near
        for group in [g for g in groups if g & merged]:
            merged |= group
            groups.remove(group)
        groups.append(merged)
    if not groups:
        return None
    members = [distinct[j] for j in max(groups, key=len)]
    xs, ys = [p.real for p in members], [p.imag for p in members]
    half = max(max(xs) - min(xs), max(ys) - min(ys)) / 2 * 1.5 + 0.02 * view
    cx, cy = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
    return cx - half, cx + half, cy - half, cy + half


def _spread(values, gap: float) -> list:
    """Positions near the sorted ``values``, at least ``gap`` apart, centred on the original group."""
    placed = list(values)
    for k in range(1, len(placed)):
        placed[k] = max(placed[k], placed[k - 1] + gap)
    shift = (sum(values) - sum(placed)) / len(placed) if placed else 0.0
    return [v + shift for v in placed]


def _format_point(p: complex) -> str:
    real = p.real + 0.0  # no "-0"
    if abs(p.imag) < 1e-9 * max(1.0, abs(p)):
        return f"{real:.3g}"
    return f"{real:.3g}{'+' if p.imag >= 0 else '-'}{abs(p.imag):.3g}j"


def pzmap(ax, systems: dict, *, title: str = "pole-zero map", view: float = 1.5, inset="auto",
          crowd: float = 0.05) -> None:
    """Poles (x) and zeros (o) of several systems (name -> (zeros, poles)) around the unit circle.

    The axes show ``[-view, view]`` in both directions, so the unit circle fills the picture.
    A pole or zero outside is drawn near the edge, on the ray from the origin through it, with
    an arrow pointing on to where it lies and its value beside it. ``inset="auto"`` adds a zoomed
    inset where distinct points lie closer than ``crowd * view`` to each other (poles and zeros
    that a student could not tell apart at full size), beside the map under the legend, and marks
    the zoomed box on the map;
    ``None`` leaves it out; a tuple ``(x0, x1, y0, y1)`` zooms there.
    The first system is drawn largest, so that one drawn exactly on top of it stays visible.
    """
    _unit_circle(ax)
    points = _points(systems)
    labelled: set[tuple[int, str]] = set()
    outliers: dict[tuple[str, complex], list[tuple[int, complex]]] = {}
    edge = 0.93 * view
    for name, index, kind, p in points:
        label = None if (index, kind) in labelled else f"{name}: {kind}s"
        labelled.add((index, kind))
        reach = max(abs(p.real), abs(p.imag))
        if reach <= view:
            _scatter(ax, p, kind, index, label)
            continue
        shown = p * edge / reach
        _scatter(ax, shown, kind, index, label)
        key = (kind, complex(round(shown.real, 6), round(shown.imag, 6)))
        outliers.setdefault(key, []).append((index, p))
    labels = []  # (side, label y, marker, text)
    for (kind, shown), found in outliers.items():
        values = sorted({_format_point(p) for _, p in found}, key=lambda v: (len(v), v))
        direction = shown / abs(shown)
        tip = shown + direction * (0.99 * view - edge) / max(abs(direction.real), abs(direction.imag))
        ax.annotate("", xy=(tip.real, tip.imag), xytext=(shown.real, shown.imag),
                    arrowprops={"arrowstyle": "->", "color": "0.35", "lw": 1.0})
        # the label beside the marker, towards the inside of the axes, in the band outside the unit circle
        side = "right" if shown.real > 0 else "left"
        on_side = abs(shown.real) >= abs(shown.imag)
        y = shown.imag + (0.06 * view if on_side else -0.07 * view * np.sign(shown.imag))
        labels.append((side, y, shown, f"{kind}{'s' if len(values) > 1 else ''} at {', '.join(values)}"))
    for side in ("left", "right"):  # labels on one side kept apart, in the order of their markers
        mine = sorted((item for item in labels if item[0] == side), key=lambda item: item[1])
        placed = _spread([y for _, y, _, _ in mine], 0.11 * view) if mine else []
        for (_, _, shown, text), y in zip(mine, placed):
            x = shown.real + (0.06 * view if side == "left" else -0.06 * view)
            ax.text(x, min(max(y, -0.97 * view), 0.97 * view), text, fontsize=7, color="0.2", va="center",
                    ha="left" if side == "left" else "right")
    ax.set_xlim(-view, view)
    ax.set_ylim(-view, view)
    ax.set_aspect("equal")
    ax.set_xlabel("Re z")
    ax.set_ylabel("Im z")
    ax.set_title(title, fontsize=10)
    legend_outside(ax)
    box = _crowd([p for *_, p in points], crowd * view, view) if inset == "auto" else inset
    if box is not None:
        _zoom(ax, systems, box, view)


def _zoom(ax, systems: dict, box, view: float) -> None:
    x0, x1, y0, y1 = box
    zoom = ax.inset_axes([1.12, 0.0, 0.5, 0.5])  # beside the map, under the legend: it hides nothing
    _unit_circle(zoom)
    for _, index, kind, p in _points(systems):
        if x0 <= p.real <= x1 and y0 <= p.imag <= y1:
            _scatter(zoom, p, kind, index, size_factor=1.6)
    zoom.set_xlim(x0, x1)
    zoom.set_ylim(y0, y1)
    zoom.set_aspect("equal")
    zoom.tick_params(labelsize=6)
    zoom.set_facecolor("white")
    zoom.set_title(f"the grey box, {2 * view / (x1 - x0):.0f} times larger", fontsize=7, pad=2)
    indicator = ax.indicate_inset_zoom(zoom, edgecolor="0.4")
    connectors = indicator.connectors if hasattr(indicator, "connectors") else indicator[1]  # matplotlib >= 3.10
    for line in connectors or ():
        line.set_visible(False)  # lines across the map would hide more than they show


# ----------------------------------------------------------------------------- long curves
def thin(values, max_points: int = 2000, *, keep_first: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of a long 1-D curve with at most about ``max_points`` points that look the same:
    every bin keeps its smallest and largest value, in their order, so a noisy band stays a band
    and a spike stays a spike. ``x`` is the original index. Short curves come back whole, and so
    do the first ``keep_first`` values (which a logarithmic axis spreads out)."""
    values = np.asarray(values, dtype=float)
    n = len(values)
    if keep_first and n > max_points + keep_first:
        x, y = thin(values[keep_first:], max_points)
        return np.r_[np.arange(keep_first), x + keep_first], np.r_[values[:keep_first], y]
    if n <= max_points:
        return np.arange(n), values
    bins = max(1, max_points // 2)
    edges = np.linspace(0, n, bins + 1).astype(int)
    keep = [0]
    for a, b in zip(edges[:-1], edges[1:]):
        chunk = values[a:b]
        finite = np.isfinite(chunk)
        if not finite.any():
            keep.append(a)
            continue
        low = a + int(np.nanargmin(np.where(finite, chunk, np.nan)))
        high = a + int(np.nanargmax(np.where(finite, chunk, np.nan)))
        keep.extend(sorted({low, high}))
    keep.append(n - 1)
    index = np.unique(np.array(keep))
    return index, values[index]


def loss_curves(ax, curves: dict, *, title: str, xlabel: str = "epoch", ylabel: str = "training loss (MSE)",
                styles: dict | None = None, legend: str = "outside", mark_start: bool = False,
                symlog_x: bool = False, max_points: int = 2000) -> None:
    """Loss histories (label -> 1-D array, index = epoch) on a log scale.

    Long curves are thinned (:func:`thin`) and rasterised, so that an SVG of many
    10,000-epoch curves stays small while text and axes stay sharp. ``mark_start``
    puts a dot on each curve's first value (epoch 0); ``symlog_x`` spreads the first
    epochs out (linear from 0 to 1, logarithmic beyond), so that epoch 0 is not a
    sliver at the left edge. ``legend``: ``"outside"``, ``"best"`` or ``"none"``.
    """
    for label, history in curves.items():
        style = {"lw": 1.0, **(styles or {}).get(label, {})}
        x, y = thin(history, max_points, keep_first=300 if symlog_x else 0)
        (line,) = ax.plot(x, y, label=label, rasterized=len(history) > 500, **style)
        if mark_start and len(history):
            ax.plot([0], [history[0]], "o", color=line.get_color(), ms=6, zorder=4, clip_on=False)
    ax.set_yscale("log")
    if symlog_x:
        ax.set_xscale("symlog", linthresh=1.0, linscale=0.6)
        ax.set_xlim(left=-0.05)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, which="major")
    if legend == "outside":
        legend_outside(ax)
    elif legend == "best":
        ax.legend(fontsize=8)
