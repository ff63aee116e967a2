"""Plotting pieces the labs' figures share (matplotlib Axes in, nothing global).

* :func:`stairs` -- sample-and-hold signals, like MATLAB's ``stairs``;
* :func:`step_hold` -- one sample-and-hold signal, each sample held for its whole period (no stub at the end);
* :func:`differences` -- how far apart two implementations are, step by step, on a log scale;
* :func:`pzmap` -- poles and zeros around the unit circle, far ones marked at the edge, crowds zoomed;
* :func:`loss_curves` -- long loss histories, thinned and rasterised so that SVGs stay small;
* :func:`legend_outside` -- a legend beside the axes, where it covers no data.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SERIES_COLOURS", "differences", "hold", "legend_outside", "loss_curves", "pzmap", "stairs", "step_hold",
           "thin"]

#: The colours of compared series, in order, shared by :func:`stairs` and :func:`pzmap` (and the training
#: figures), so that one thing has one colour in every figure of a lab: the reference (the true system,
#: the matrix implementation) blue, then black, red, green, purple, orange.
SERIES_COLOURS = ("tab:blue", "k", "tab:red", "tab:green", "tab:purple", "tab:orange")
#: Styles for the series of :func:`stairs`: the reference wide and pale, what is compared thin and dashed on top.
STAIRS_STYLES = ({"color": SERIES_COLOURS[0], "lw": 2.5, "alpha": 0.55}, {"color": SERIES_COLOURS[1], "lw": 1.0, "ls": "--"},
                 {"color": SERIES_COLOURS[2], "lw": 1.0}, {"color": SERIES_COLOURS[3], "lw": 1.0})
#: Colours and marker sizes of the systems of :func:`pzmap`, in order (the first is the reference).
PZ_COLOURS = SERIES_COLOURS
PZ_SIZES = (110, 55, 40, 30, 25)


def legend_outside(ax, **kwargs):
    """The legend to the right of ``ax``, outside the data (``bbox_inches="tight"`` keeps it in the file)."""
    options = dict(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize=8, frameon=False)
    options.update(kwargs)
    return ax.legend(**options)


def hold(t, values) -> tuple[np.ndarray, np.ndarray]:
    """``t`` and ``values`` (samples along the first axis) with one more sample period at the end, so
    that ``step(..., where="post")`` holds the last sample for its whole period, as it holds every
    other one, instead of ending in a vertical stub at the last instant."""
    t, values = np.asarray(t, dtype=float), np.asarray(values)
    if len(t) < 2 or len(values) != len(t):
        return t, values
    return np.r_[t, 2 * t[-1] - t[-2]], np.concatenate([values, values[-1:]])


def step_hold(ax, t, values, **kwargs):
    """``ax.step`` of a sampled signal (``values[k]`` held from ``t[k]`` to ``t[k+1]``, the last one for a
    period too): :func:`hold`, then ``where="post"``. Returns the lines."""
    return ax.step(*hold(t, values), where="post", **kwargs)


def stairs(ax, t, series: dict, *, title: str | None = None, ylabel: str | None = None,
           legend: str = "outside", styles: list | None = None) -> None:
    """Sample-and-hold plot of several signals (name -> 1-D array), like MATLAB's ``stairs``; each
    sample is held for its period, the last one too.

    ``legend``: ``"outside"`` (right of the axes, the default: it never covers data), ``"best"``
    (inside, where matplotlib finds room) or ``"none"``. ``styles``: one dict of line properties per
    series, in place of :data:`STAIRS_STYLES` (the reference wide and pale, the next dashed black, ...).
    """
    for (name, values), style in zip(series.items(), list(styles or STAIRS_STYLES) * 3):
        step_hold(ax, t, values, label=name, **style)
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

    Exact zeros are drawn at ``floor`` (a log axis has no 0) and the axis says so; a series that is 0
    at every step says so in its legend entry. Several series are drawn widest first, each narrower
    one on top, so that where they coincide (often: at the floor) every one still shows.
    """
    colours = ("k", "tab:red", "tab:green", "tab:purple")
    magnitudes = {name: np.abs(np.asarray(values, dtype=float)) for name, values in series.items()}
    n = len(magnitudes)
    for k, ((name, values), colour) in enumerate(zip(magnitudes.items(), colours * 3)):
        label = f"{name} (0 at every step)" if name and values.size and not np.any(values) else name
        step_hold(ax, t, np.maximum(values, floor), color=colour, lw=1.0 + 1.4 * (n - 1 - k), label=label,
                  solid_capstyle="butt")
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


def _style(index: int, colours) -> tuple[str, float]:
    """Colour and marker area (pt^2) of the ``index``-th system."""
    return colours[index % len(colours)], PZ_SIZES[index % len(PZ_SIZES)]


def _scatter(ax, point: complex, kind: str, index: int, label=None, size_factor: float = 1.0,
             colours=PZ_COLOURS) -> None:
    colour, size = _style(index, colours)
    size *= size_factor
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


def _format_point(p: complex) -> str:
    real = p.real + 0.0  # no "-0"
    if abs(p.imag) < 1e-9 * max(1.0, abs(p)):
        return f"{real:.3g}"
    return f"{real:.3g}{'+' if p.imag >= 0 else '-'}{abs(p.imag):.3g}j"


#: Size of the labels of far poles and zeros, in points.
PZ_LABEL_PT = 7.0


def _data_per_point(ax) -> tuple[float, float]:
    """Data units per typographic point along x and along y, for ``ax`` as it is laid out on its figure."""
    ax.apply_aspect()
    pos = ax.get_position()
    width_in, height_in = ax.figure.get_size_inches()
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    return (x1 - x0) / (pos.width * width_in * 72), (y1 - y0) / (pos.height * height_in * 72)


def _box_gap(box, p: complex) -> float:
    """Distance from the point ``p`` to the box (x0, x1, y0, y1); 0 inside."""
    x0, x1, y0, y1 = box
    dx, dy = max(x0 - p.real, 0.0, p.real - x1), max(y0 - p.imag, 0.0, p.imag - y1)
    return float(np.hypot(dx, dy))


def _overlap(a, b) -> bool:
    return a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3]


def _crosses_circle(box, pad: float) -> bool:
    """Whether the unit circle (thickened by ``pad``) passes through the box."""
    x0, x1, y0, y1 = box
    nearest = _box_gap(box, 0j)
    farthest = max(np.hypot(x, y) for x in (x0, x1) for y in (y0, y1))
    return nearest < 1.0 + pad and farthest > 1.0 - pad


def _text_size_pt(ax, text: str) -> tuple[float, float]:
    """Width and height, in points, of ``text`` drawn at :data:`PZ_LABEL_PT` on ``ax``'s figure."""
    canvas = ax.figure.canvas
    if hasattr(canvas, "get_renderer"):  # Agg, and the inline backend of notebooks
        probe = ax.text(0, 0, text, fontsize=PZ_LABEL_PT)
        extent = probe.get_window_extent(canvas.get_renderer())
        probe.remove()
        return extent.width * 72 / ax.figure.dpi * 1.08 + 1.0, extent.height * 72 / ax.figure.dpi
    from .scene import text_width_in  # DejaVu Sans measured without a figure

    lines = text.split("\n")
    return max(text_width_in(line, PZ_LABEL_PT) for line in lines) * 72 * 1.1, 1.2 * PZ_LABEL_PT * len(lines)


def _place_label(ax, texts: list[str], marker: complex, radius: float, obstacles: list[tuple[complex, float]],
                 boxes: list, view: float, scale: tuple[float, float]):
    """(text, box) for a label near ``marker``: one of ``texts`` (the same words on one line or two) in
    a box (x0, x1, y0, y1) inside the axes, clear of the markers and arrows (``obstacles``: centre,
    radius), of the unit circle and of ``boxes`` (the zoom box, labels placed before), and as near its
    marker as that allows; ``None`` when nothing fits inside the axes."""
    sx, sy = scale
    limit = 0.985 * view
    gap_x = radius + 2.5 * sx
    best, best_cost = None, np.inf
    for rank, text in enumerate(texts):
        lines = text.split("\n")
        w, h = _text_size_pt(ax, text)
        w, h = w * sx, h * sy
        lefts = (marker.real + gap_x, marker.real - gap_x - w, marker.real - w / 2, -limit, limit - w)
        for dy in np.arange(0.0, 2 * view, 0.25 * h):
            for yc in ((marker.imag,) if dy == 0 else (marker.imag + dy, marker.imag - dy)):
                for x0 in lefts:
                    box = (x0, x0 + w, yc - h / 2, yc + h / 2)
                    if box[0] < -limit - 1e-9 or box[1] > limit + 1e-9 or box[2] < -limit or box[3] > limit:
                        continue
                    clashes = sum(_box_gap(box, c) < r for c, r in obstacles)
                    clashes += sum(_overlap(box, other) for other in boxes)
                    clashes += _crosses_circle(box, 0.15 * h / len(lines))
                    cost = 100.0 * clashes + _box_gap(box, marker) + 0.5 * dy + 0.05 * view * rank
                    if cost < best_cost - 1e-12:
                        best, best_cost = (text, box), cost
            if best_cost < 100.0 and 1.5 * dy - h > best_cost:  # nothing further away beats a clear spot found nearer
                break
    return best


def pzmap(ax, systems: dict, *, title: str = "pole-zero map", view: float = 1.5, inset="auto",
          crowd: float = 0.05, colours=None) -> None:
    """Poles (x) and zeros (o) of several systems (name -> (zeros, poles)) around the unit circle.

    The axes show ``[-view, view]`` in both directions, so the unit circle fills the picture.
    A pole or zero outside is drawn near the edge, on the ray from the origin through it, with
    an arrow pointing on to where it lies and its value beside it: each such label is put as near
    its marker as it can go without covering a marker, an arrow, the unit circle, the zoomed box
    or another label (a thin line joins it to its marker when it had to move away).
    ``inset="auto"`` adds a zoomed inset where distinct points lie closer than ``crowd * view`` to
    each other (poles and zeros that a student could not tell apart at full size), beside the map
    under the legend, and marks the zoomed box on the map;
    ``None`` leaves it out; a tuple ``(x0, x1, y0, y1)`` zooms there.
    ``colours``: one per system, in order (default :data:`SERIES_COLOURS`: the reference blue, then
    black, red, green, ...). The first system is drawn largest, so that one drawn exactly on top of
    it stays visible.
    """
    colours = tuple(colours) if colours else PZ_COLOURS
    _unit_circle(ax)
    points = _points(systems)
    labelled: set[tuple[int, str]] = set()
    outliers: dict[tuple[str, complex], list[tuple[int, complex]]] = {}
    drawn: list[tuple[complex, int]] = []  # every marker, where it is drawn
    edge = 0.93 * view
    for name, index, kind, p in points:
        label = None if (index, kind) in labelled else f"{name}: {kind}s"
        labelled.add((index, kind))
        reach = max(abs(p.real), abs(p.imag))
        shown = p if reach <= view else p * edge / reach
        _scatter(ax, shown, kind, index, label, colours=colours)
        drawn.append((shown, index))
        if reach > view:
            key = (kind, complex(round(shown.real, 6), round(shown.imag, 6)))
            outliers.setdefault(key, []).append((index, p))
    ax.set_xlim(-view, view)
    ax.set_ylim(-view, view)
    ax.set_aspect("equal")
    ax.set_xlabel("Re z")
    ax.set_ylabel("Im z")
    ax.set_title(title, fontsize=10)
    legend_outside(ax)
    box = _crowd([p for *_, p in points], crowd * view, view) if inset == "auto" else inset
    if box is not None:
        _zoom(ax, systems, box, view, colours)

    sx, sy = _data_per_point(ax)
    obstacles = [(shown, np.sqrt(_style(index, colours)[1]) / 2 * sx + 1.0 * sx) for shown, index in drawn]
    for (kind, shown), found in outliers.items():
        direction = shown / abs(shown)
        tip = shown + direction * (0.99 * view - edge) / max(abs(direction.real), abs(direction.imag))
        ax.annotate("", xy=(tip.real, tip.imag), xytext=(shown.real, shown.imag),
                    arrowprops={"arrowstyle": "->", "color": "0.35", "lw": 1.0})
        obstacles += [(shown + (tip - shown) * f, 2.5 * sx) for f in np.linspace(0.2, 1.0, 5)]
    placed = [(box[0], box[1], box[2], box[3])] if box is not None else []
    for (kind, shown), found in sorted(outliers.items(), key=lambda item: (-abs(item[0][1].imag), item[0][1].real)):
        values = sorted({_format_point(p) for _, p in found}, key=lambda v: (len(v), v))
        text = f"{kind}{'s' if len(values) > 1 else ''} at {', '.join(values)}"
        radius = max(np.sqrt(_style(index, colours)[1]) / 2 for index, _ in found) * sx
        found_spot = _place_label(ax, [text, text.replace(" at ", " at\n", 1)], shown, radius, obstacles, placed, view,
                                  (sx, sy))
        if found_spot is None:  # no room inside the axes at all: beside the marker
            found_spot = (text, (shown.real, shown.real, shown.imag, shown.imag))
        text, spot = found_spot
        x0, x1, y0, y1 = spot
        ax.text(x0, (y0 + y1) / 2, text, fontsize=PZ_LABEL_PT, color="0.2", va="center", ha="left")
        if _box_gap(spot, shown) > radius + 6 * sx:  # moved away from its marker: a leader line to it
            end = complex(min(max(shown.real, x0), x1), min(max(shown.imag, y0), y1))
            ax.plot([shown.real, end.real], [shown.imag, end.imag], color="0.55", lw=0.6, zorder=2)
        placed.append(spot)


def _zoom(ax, systems: dict, box, view: float, colours=PZ_COLOURS) -> None:
    x0, x1, y0, y1 = box
    zoom = ax.inset_axes([1.17, 0.0, 0.5, 0.5])  # beside the map, under the legend: it hides nothing
    _unit_circle(zoom)
    for _, index, kind, p in _points(systems):
        if x0 <= p.real <= x1 and y0 <= p.imag <= y1:
            _scatter(zoom, p, kind, index, size_factor=1.6, colours=colours)
    zoom.set_xlim(x0, x1)
    zoom.set_ylim(y0, y1)
    zoom.set_aspect("equal")
    zoom.tick_params(labelsize=6)
    zoom.set_xlabel("Re z", fontsize=7, labelpad=1)
    zoom.set_ylabel("Im z", fontsize=7, labelpad=1)
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
