"""The diagram of the signal inspector as inline SVG, every wire and block addressable in the DOM.

The inspector page (:mod:`lstmds_sim.drawing.inspector`) draws a diagram the
way :mod:`lstmds_sim.drawing.render` draws its pictures -- the same layered
layout (:func:`lstmds_sim.drawing.layout.plan_layout`), boxes of the same
proportions, forward wires as S-curves, feedback wires in lanes below or above
the blocks, each loop in its own colour with its delay filled in that colour,
a dot where a signal branches -- but as SVG elements that a browser can click:

* a wire is ``<g class="wire" data-signal="c" data-edge="31" data-loops="0 1">``
  holding its visible path, one coloured overlay per loop it lies on
  (``data-loop``) and a wide transparent path that catches clicks;
* a block is ``<g class="block" data-block="sum c" data-shows="c">`` (the signal
  its output carries);
* each named output port has a label and a value badge (one bar per
  component, ``<g class="badge" data-for="c">``) that the page's script
  moves with the time slider; only wires carry ``data-signal``, so
  ``[data-signal="c"]`` finds exactly the wires of ``c``;
* a loop of an LSTM layer carries a tag with its Theorem 4 quantity on its
  feedback lane (``<g class="loop-tag" data-loop="0">``);
* a subsystem (blocks named ``prefix/...``) is drawn open, inside a frame
  whose title collapses it, or collapsed into one box (``data-toggle``).

This module only draws: which signal a wire carries, which loops exist and
what their gains are is decided by the caller and handed over in a
:class:`ViewSpec`.
"""

from __future__ import annotations

import functools
import html
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from .graph import DiagramGraph
from .layout import _BOX_HEIGHT, Plan, _port_offset, plan_layout

__all__ = ["BADGE_HEIGHT", "MAX_BADGE_BARS", "ViewSpec", "draw_view", "svg_defs"]

# --------------------------------------------------------------------------- #
# Geometry in px (CSS pixels), render.py's inches times 96; y grows downwards.
# --------------------------------------------------------------------------- #

_PX = 96.0
_ROW = 0.85 * _PX
_GAP = 1.0 * _PX
_MIN_BOX_W = 0.95 * _PX
_DUMMY_COL_W = 0.3 * _PX
_STUB = 0.1 * _PX
_TRUNK = 0.3 * _PX
_FEEDBACK = 0.3 * _PX
_LANE = 0.27 * _PX
_TRACK = 0.12 * _PX
_CORNER = 0.09 * _PX
_NAME_PX = 12.0
_KIND_PX = 9.5
_WIRE_PX = 9.5
_BOX_H = _BOX_HEIGHT * _ROW
_COLLAPSED_H = 0.9 * _ROW  # a collapsed subsystem box holds three lines
_FRAME_PAD = 12.0
_FRAME_TITLE = 18.0
_MARGIN = 24.0

#: At most this many bars in a value badge (one per component).
MAX_BADGE_BARS = 8
_BAR_W, _BAR_GAP, _BAR_H = 4.0, 1.0, 10.0
#: Height in px of a badge bar at the signal's largest magnitude over the run.
BADGE_HEIGHT = _BAR_H

EDGE_GREY = "#505050"
_BOX_EDGE = "#303030"
_DELAY_FACE = "#d9d9d9"


@dataclass
class ViewSpec:
    """One view of a diagram (a choice of open and collapsed subsystems) and what to write on it.

    Attributes
    ----------
    key : str
        The view's name in the page (``data-view``).
    graph : DiagramGraph
        The blocks and wires to draw (collapsed subsystems are single nodes).
    edge_signal : sequence of str or None
        The signal each edge carries (its ``data-signal``), by edge index.
    edge_loops : sequence of tuple of int
        The loops (indices into ``loop_colours``) each edge lies on.
    loop_colours : sequence of str
        One CSS colour per loop.
    delay_loop : dict
        Node id -> index of the loop its delay closes (drawn filled in that colour).
    block_shows : dict
        Node id -> the signal a click on the block plots.
    collapsed : dict
        Node id of a collapsed subsystem -> ``(title, subtitle, [(text, ok), ...])``; ``ok`` is
        True, False or None (no verdict) and colours the text.
    frames : dict
        Open subsystem -> the node ids inside it (drawn inside a frame that collapses it).
    toggles : set of str
        Subsystems that can be opened or collapsed (their frame or box gets ``data-toggle``).
    loop_tags : dict
        Edge index of a feedback edge -> ``(loop index, short text, ok, long text)``, drawn on its lane.
    badges : dict
        Signal name -> number of components, for the output ports that get a value badge.
    hidden : bool
        Draw the view hidden (another view is shown first).
    """

    key: str
    graph: DiagramGraph
    edge_signal: Sequence[str | None]
    edge_loops: Sequence[tuple[int, ...]]
    loop_colours: Sequence[str]
    delay_loop: dict[str, int] = field(default_factory=dict)
    block_shows: dict[str, str] = field(default_factory=dict)
    collapsed: dict[str, tuple[str, str, list[tuple[str, bool | None]]]] = field(default_factory=dict)
    frames: dict[str, list[str]] = field(default_factory=dict)
    toggles: set[str] = field(default_factory=set)
    loop_tags: dict[int, tuple[int, str, bool | None, str]] = field(default_factory=dict)
    badges: dict[str, int] = field(default_factory=dict)
    hidden: bool = False


# --------------------------------------------------------------------------- #
# text
# --------------------------------------------------------------------------- #


@functools.lru_cache(maxsize=4096)
def _text_width(text: str, size_px: float, *, italic: bool = False, bold: bool = False) -> float:
    """Width of ``text`` in px at ``size_px`` in DejaVu Sans (the font the page asks for first)."""
    if not text:
        return 0.0
    from matplotlib.backends.backend_agg import RendererAgg  # a core dependency; measured as render.py does
    from matplotlib.font_manager import FontProperties

    prop = FontProperties(family="DejaVu Sans", size=size_px, style="italic" if italic else "normal",
                          weight="bold" if bold else "normal")
    w, _, _ = RendererAgg(10, 10, 72).get_text_width_height_descent(text, prop, ismath=False)
    return float(w)


def _esc(text: str) -> str:
    return html.escape(str(text), quote=True)


def _num(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".") if abs(x) < 1e6 else f"{x:.0f}"


def _split_label(label: str) -> tuple[str, str]:
    main, _, rest = label.partition("\n")
    return main, rest.replace("\n", " ")


def _wire_label_fits(label: str | None) -> bool:
    return bool(label) and _text_width(label, _WIRE_PX) <= _GAP / 2 - 12


# --------------------------------------------------------------------------- #
# scene: boxes and routes in px
# --------------------------------------------------------------------------- #


@dataclass
class _Scene:
    boxes: dict[str, tuple[float, float, float, float]]  # node -> (x, y_top, w, h)
    paths: dict[int, str]  # edge -> SVG path data
    points: dict[int, list[tuple[float, float]]]  # edge -> points it passes (for extents)
    lanes: dict[int, tuple[float, float, float]]  # feedback edge -> (x_a, x_b, lane y)
    ports_out: dict[tuple[str, int], tuple[float, float]]
    branches: list[tuple[float, float]]


def _column_geometry(plan: Plan, graph: DiagramGraph, spec: ViewSpec, left: float) -> tuple[list[float], list[float]]:
    widths = []
    for column in plan.columns:
        w = _DUMMY_COL_W
        for item in column:
            if item not in plan.n_in:
                continue
            if item in spec.collapsed:
                title, sub, parts = spec.collapsed[item]
                text_w = max(_text_width(title, _NAME_PX, bold=True), _text_width(sub, _KIND_PX, italic=True),
                             _text_width("  ".join(t for t, _ in parts), _KIND_PX)) + 24
            else:
                main, kind = _split_label(graph.node(item).label)
                text_w = max(_text_width(main, _NAME_PX), _text_width(kind, _KIND_PX, italic=True))
            w = max(w, _MIN_BOX_W, text_w + 0.3 * _PX)
        widths.append(w)
    lefts, x = [], left
    for w in widths:
        lefts.append(x)
        x += w + _GAP
    return lefts, widths


def _s_curve(a: tuple[float, float], b: tuple[float, float], stub_a: float) -> str:
    (xa, ya), (xb, yb) = a, b
    if abs(ya - yb) < 1e-9:
        return f" L{_num(xb)},{_num(yb)}"
    px, qx = xa + stub_a, xb - _STUB
    mid = (px + qx) / 2
    return (f" L{_num(px)},{_num(ya)} C{_num(mid)},{_num(ya)} {_num(mid)},{_num(yb)} {_num(qx)},{_num(yb)}"
            f" L{_num(xb)},{_num(yb)}")


def _forward_path(points: Sequence[tuple[float, float]], trunk: float) -> str:
    d = f"M{_num(points[0][0])},{_num(points[0][1])}"
    for k in range(1, len(points)):
        if k % 2 == 1:  # across a gap
            d += _s_curve(points[k - 1], points[k], trunk if k == 1 else _STUB)
        else:  # through a waypoint column
            d += f" L{_num(points[k][0])},{_num(points[k][1])}"
    return d


def _rounded_path(points: Sequence[tuple[float, float]], radius: float = _CORNER) -> str:
    d = f"M{_num(points[0][0])},{_num(points[0][1])}"
    for k in range(1, len(points) - 1):
        (x0, y0), (x1, y1), (x2, y2) = points[k - 1], points[k], points[k + 1]
        d_in = ((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5
        d_out = ((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5
        if d_in < 1e-9 or d_out < 1e-9:
            continue
        r = min(radius, d_in / 2, d_out / 2)
        a = (x1 - (x1 - x0) * r / d_in, y1 - (y1 - y0) * r / d_in)
        b = (x1 + (x2 - x1) * r / d_out, y1 + (y2 - y1) * r / d_out)
        d += f" L{_num(a[0])},{_num(a[1])} Q{_num(x1)},{_num(y1)} {_num(b[0])},{_num(b[1])}"
    d += f" L{_num(points[-1][0])},{_num(points[-1][1])}"
    return d


def _build_scene(graph: DiagramGraph, plan: Plan, spec: ViewSpec) -> _Scene:
    """Boxes and wire routes, as render.py's scene but in px with y downwards."""
    left_margin = _FEEDBACK + _TRACK * len(plan.back)
    lefts, widths = _column_geometry(plan, graph, spec, left_margin)

    def yi(rows: float) -> float:
        return rows * _ROW

    boxes = {}
    for node in graph.nodes:
        c = plan.col[node.id]
        h = _COLLAPSED_H if node.id in spec.collapsed else _BOX_H
        boxes[node.id] = (lefts[c], yi(plan.y[node.id]) - h / 2, widths[c], h)

    def port_in(dst: str, port: int) -> tuple[float, float]:
        return lefts[plan.col[dst]], yi(plan.y[dst] + _port_offset(port, plan.n_in[dst]))

    def port_out(src: str, port: int) -> tuple[float, float]:
        c = plan.col[src]
        return lefts[c] + widths[c], yi(plan.y[src] + _port_offset(port, plan.n_out[src]))

    fan_out: dict[tuple[str, int], int] = defaultdict(int)
    label_w: dict[tuple[str, int], float] = {}
    for e in graph.edges:
        fan_out[(e.src, e.src_port)] += 1
        label_w.setdefault((e.src, e.src_port), _text_width(e.label or "", _WIRE_PX) if _wire_label_fits(e.label)
                           else 0.0)

    def trunk(src: str, port: int) -> float:
        if fan_out[(src, port)] == 1:
            return _STUB
        return max(_TRUNK, label_w[(src, port)] + 12)

    paths: dict[int, str] = {}
    points: dict[int, list[tuple[float, float]]] = {}
    lanes: dict[int, tuple[float, float, float]] = {}
    ports_out: dict[tuple[str, int], tuple[float, float]] = {}
    branches = []
    for i, e in enumerate(graph.edges):
        key = (e.src, e.src_port)
        if key not in ports_out:
            ports_out[key] = port_out(*key)
            if fan_out[key] > 1:
                branches.append((ports_out[key][0] + trunk(*key), ports_out[key][1]))
        if i in plan.back:
            continue
        pts = [port_out(e.src, e.src_port)]
        for w in plan.waypoints[i]:
            c = plan.col[w]
            pts += [(lefts[c], yi(plan.y[w])), (lefts[c] + widths[c], yi(plan.y[w]))]
        pts.append(port_in(e.dst, e.dst_port))
        paths[i] = _forward_path(pts, trunk(*key))
        points[i] = pts

    mid = max(plan.y.values()) * _ROW / 2
    placed: list[tuple[int, int, float, str]] = []
    tracks_out: dict[int, int] = defaultdict(int)
    tracks_in: dict[int, int] = defaultdict(int)

    def half_height(item: str) -> float:
        return (_COLLAPSED_H if item in spec.collapsed else _BOX_H) / 2 if item in plan.n_in else 0.0

    for i in sorted(plan.back, key=lambda i: (abs(plan.col[graph.edges[i].src] - plan.col[graph.edges[i].dst]), i)):
        e = graph.edges[i]
        start, end = port_out(e.src, e.src_port), port_in(e.dst, e.dst_port)
        c0, c1 = sorted((plan.col[e.src], plan.col[e.dst]))
        side = "below" if (start[1] + end[1]) / 2 >= mid else "above"
        sign = 1.0 if side == "below" else -1.0
        extent = [yi(plan.y[item]) + sign * max(half_height(item), _BOX_H / 2)
                  for c in range(c0, c1 + 1) for item in plan.columns[c]]
        extent += [lane for a, b, lane, s in placed if s == side and a <= c1 and c0 <= b]
        lane = (max(extent) if side == "below" else min(extent)) + sign * _LANE
        placed.append((c0, c1, lane, side))
        x_a = start[0] + max(trunk(e.src, e.src_port), _FEEDBACK) + _TRACK * tracks_out[plan.col[e.src]]
        x_b = end[0] - _FEEDBACK - _TRACK * tracks_in[plan.col[e.dst]]
        tracks_out[plan.col[e.src]] += 1
        tracks_in[plan.col[e.dst]] += 1
        pts = [start, (x_a, start[1]), (x_a, lane), (x_b, lane), (x_b, end[1]), end]
        paths[i] = _rounded_path(pts)
        points[i] = pts
        lanes[i] = (x_a, x_b, lane)
    return _Scene(boxes, paths, points, lanes, ports_out, branches)


# --------------------------------------------------------------------------- #
# SVG
# --------------------------------------------------------------------------- #


def svg_defs(loop_colours: Sequence[str]) -> str:
    """Arrowhead markers, shared by every view (one hidden SVG of its own at the top of the page)."""
    def marker(mid: str, colour: str, size: float) -> str:
        return (f'<marker id="{mid}" viewBox="0 0 10 10" refX="10" refY="5" markerUnits="userSpaceOnUse" '
                f'markerWidth="{size}" markerHeight="{size}" orient="auto">'
                f'<path d="M0,0 L10,5 L0,10 z" fill="{_esc(colour)}"/></marker>')

    markers = [marker("lstmds-arrow", EDGE_GREY, 9), marker("lstmds-arrow-sel", "#111111", 11)]
    markers += [marker(f"lstmds-arrow-{k}", c, 11) for k, c in enumerate(loop_colours)]
    return ('<svg class="lstmds-defs" width="0" height="0" style="position:absolute" aria-hidden="true"><defs>'
            + "".join(markers) + "</defs></svg>")


def _verdict_class(ok: bool | None) -> str:
    return "ok" if ok else ("fail" if ok is False else "none")


def draw_view(spec: ViewSpec) -> str:
    """One ``<svg class="view">`` for ``spec``."""
    graph = spec.graph
    plan = plan_layout(graph)
    scene = _build_scene(graph, plan, spec)
    parts: list[str] = []

    xs: list[float] = []
    ys: list[float] = []
    for x, y, w, h in scene.boxes.values():
        xs += [x, x + w]
        ys += [y, y + h]
    for pts in scene.points.values():
        xs += [p[0] for p in pts]
        ys += [p[1] for p in pts]

    # frames of open subsystems, behind everything
    frame_parts = []
    for group, members in spec.frames.items():
        inside = set(members)
        fx = [v for m in members for v in (scene.boxes[m][0], scene.boxes[m][0] + scene.boxes[m][2])]
        fy = [v for m in members for v in (scene.boxes[m][1], scene.boxes[m][1] + scene.boxes[m][3])]
        for i, e in enumerate(graph.edges):
            if e.src in inside and e.dst in inside:
                fx += [p[0] for p in scene.points[i]]
                fy += [p[1] for p in scene.points[i]]
        x0, x1 = min(fx) - _FRAME_PAD, max(fx) + _FRAME_PAD
        y0, y1 = min(fy) - _FRAME_PAD - _FRAME_TITLE, max(fy) + _FRAME_PAD
        xs += [x0, x1]
        ys += [y0, y1]
        toggle = f' data-toggle="{_esc(group)}" role="button" tabindex="0"' if group in spec.toggles else ""
        hint = " \u2014 click to collapse" if group in spec.toggles else ""
        frame_parts.append(
            f'<g class="frame" data-group="{_esc(group)}">'
            f'<rect x="{_num(x0)}" y="{_num(y0)}" width="{_num(x1 - x0)}" height="{_num(y1 - y0)}" rx="8"/>'
            f'<text class="frame-title"{toggle} x="{_num(x0 + 8)}" y="{_num(y0 + 13)}">'
            f'\u25be {_esc(group)}{hint}<title>subsystem {_esc(group)}{hint}</title></text></g>'
        )
    parts += frame_parts

    # wires
    for i, e in enumerate(graph.edges):
        signal = spec.edge_signal[i]
        loops = spec.edge_loops[i]
        d = scene.paths[i]
        attrs = f' data-edge="{i}"' + (f' data-signal="{_esc(signal)}"' if signal else "")
        attrs += f' data-loops="{" ".join(map(str, loops))}"' if loops else ""
        tip = f"{signal or e.label or 'unnamed wire'}: {e.src} \u2192 {e.dst}"
        g = [f'<g class="wire{" on-loop" if loops else ""}"{attrs}><title>{_esc(tip)}</title>',
             f'<path class="halo" d="{d}"/>',
             f'<path class="base" d="{d}" marker-end="url(#lstmds-arrow)"/>']
        n = len(loops)
        for j, k in enumerate(loops):
            dash = f' stroke-dasharray="6 {6 * (n - 1)}" stroke-dashoffset="{-6 * j}"' if n > 1 else ""
            marker = f' marker-end="url(#lstmds-arrow-{k})"' if j == 0 else ""
            g.append(f'<path class="loop-overlay" data-loop="{k}" d="{d}" stroke="{_esc(spec.loop_colours[k])}"'
                     f'{dash}{marker}/>')
        g.append(f'<path class="hit" d="{d}"/></g>')
        parts.append("".join(g))

    # blocks
    for node in graph.nodes:
        x, y, w, h = scene.boxes[node.id]
        shows = spec.block_shows.get(node.id)
        attrs = f' data-block="{_esc(node.id)}" data-kind="{_esc(node.kind)}"'
        attrs += f' data-shows="{_esc(shows)}"' if shows else ""
        classes = ["block"]
        fill, text_fill = "white", "#000000"
        has_in = any(e.dst == node.id for e in graph.edges)
        has_out = any(e.src == node.id for e in graph.edges)
        if node.is_delay:
            classes.append("delay")
            fill = _DELAY_FACE
        elif node.kind in ("inport", "outport"):
            fill = "#eeeeee"
        elif not has_in:
            fill = "#e3f1e0"
        elif not has_out:
            fill = "#fdeccf"
        k = spec.delay_loop.get(node.id)
        if k is not None:
            attrs += f' data-loop="{k}" data-loop-fill="{_esc(spec.loop_colours[k])}" data-plain-fill="{fill}"'
            fill, text_fill = spec.loop_colours[k], "#ffffff"
        if node.id in spec.collapsed:
            classes.append("collapsed")
            fill = "#f4f1fb"
            if node.id in spec.toggles:
                attrs += f' data-subsystem="{_esc(node.id)}"'
        tip = f"{node.id} ({node.kind})" + (f": click to plot {shows}" if shows else "")
        g = [f'<g class="{" ".join(classes)}"{attrs}><title>{_esc(tip)}</title>',
             f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(w)}" height="{_num(h)}" rx="5" fill="{fill}"/>']
        cx, cy = x + w / 2, y + h / 2
        if node.id in spec.collapsed:
            title, sub, gains = spec.collapsed[node.id]
            g.append(f'<text class="name" x="{_num(cx)}" y="{_num(cy - 13)}" font-weight="bold">{_esc(title)}</text>')
            g.append(f'<text class="kind" x="{_num(cx)}" y="{_num(cy + 2)}">{_esc(sub)}</text>')
            spans = "".join(f'<tspan class="{_verdict_class(ok)}">{_esc(t)}</tspan>{"  " if j < len(gains) - 1 else ""}'
                            for j, (t, ok) in enumerate(gains))
            g.append(f'<text class="gains" x="{_num(cx)}" y="{_num(cy + 17)}">{spans}</text>')
        else:
            main, kind = _split_label(node.label)
            if kind:
                g.append(f'<text class="name" x="{_num(cx)}" y="{_num(cy - 2)}" fill="{text_fill}">{_esc(main)}</text>')
                g.append(f'<text class="kind" x="{_num(cx)}" y="{_num(cy + 12)}" fill="{text_fill}">{_esc(kind)}</text>')
            else:
                g.append(f'<text class="name" x="{_num(cx)}" y="{_num(cy + 4)}" fill="{text_fill}">{_esc(main)}</text>')
        g.append("</g>")
        parts.append("".join(g))
        if node.id in spec.collapsed and node.id in spec.toggles:
            parts.append(f'<g class="toggle" data-toggle="{_esc(node.id)}" role="button" tabindex="0">'
                         f'<title>open {_esc(node.id)}: show its blocks</title>'
                         f'<rect x="{_num(x + w - 17)}" y="{_num(y + 3)}" width="14" height="14" rx="3"/>'
                         f'<text x="{_num(x + w - 10)}" y="{_num(y + 14)}">+</text></g>')

    # wire labels and value badges, once per output port
    done = set()
    for i, e in enumerate(graph.edges):
        key = (e.src, e.src_port)
        signal = spec.edge_signal[i]
        if key in done:
            continue
        done.add(key)
        px, py = scene.ports_out[key]
        if signal and _wire_label_fits(e.label):
            parts.append(f'<text class="wire-label" data-for="{_esc(signal)}" x="{_num(px + 4)}" '
                         f'y="{_num(py - 4)}">{_esc(e.label)}</text>')
        n = spec.badges.get(signal or "", 0)
        if n:
            bars = min(n, MAX_BADGE_BARS)
            bx, by = px + 4, py + 4 + _BAR_H
            rects = "".join(
                f'<rect x="{_num(bx + j * (_BAR_W + _BAR_GAP))}" y="{_num(by)}" width="{_num(_BAR_W)}" height="0"/>'
                for j in range(bars))
            parts.append(f'<g class="badge" data-for="{_esc(signal)}" data-y0="{_num(by)}">'
                         f'<title>{_esc(signal)}</title>'
                         f'<line x1="{_num(bx - 1)}" x2="{_num(bx + bars * (_BAR_W + _BAR_GAP))}" '
                         f'y1="{_num(by)}" y2="{_num(by)}"/>{rects}</g>')
            xs.append(bx + bars * (_BAR_W + _BAR_GAP))
            ys.append(by + _BAR_H)

    for x, y in scene.branches:
        parts.append(f'<circle class="branch" cx="{_num(x)}" cy="{_num(y)}" r="3"/>')

    # Theorem 4 tags on the feedback lanes
    for i, (k, short, ok, long) in spec.loop_tags.items():
        if i not in scene.lanes:
            continue
        x_a, x_b, lane = scene.lanes[i]
        w = _text_width(short, 11, bold=True) + 16
        cx = (x_a + x_b) / 2
        parts.append(
            f'<g class="loop-tag {_verdict_class(ok)}" data-loop="{k}"><title>{_esc(long)}</title>'
            f'<rect x="{_num(cx - w / 2)}" y="{_num(lane - 9)}" width="{_num(w)}" height="18" rx="9" '
            f'stroke="{_esc(spec.loop_colours[k])}"/>'
            f'<text x="{_num(cx)}" y="{_num(lane + 4)}">{_esc(short)}</text></g>'
        )
        xs += [cx - w / 2, cx + w / 2]

    x0, x1 = min(xs) - _MARGIN, max(xs) + _MARGIN
    y0, y1 = min(ys) - _MARGIN, max(ys) + _MARGIN
    width, height = x1 - x0, y1 - y0
    hidden = ' style="display:none"' if spec.hidden else ""
    box = f"{_num(x0)} {_num(y0)} {_num(width)} {_num(height)}"
    return (f'<svg class="view" data-view="{_esc(spec.key)}" viewBox="{box}" width="{_num(width)}" '
            f'height="{_num(height)}" role="img" aria-label="block diagram"{hidden}>' + "".join(parts) + "</svg>")
