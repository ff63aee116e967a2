"""The diagram of the signal inspector as inline SVG, every wire and block addressable in the DOM.

The inspector page (:mod:`lstmds_sim.drawing.inspector`) draws a diagram the
way :func:`lstmds_sim.drawing.render.render` draws its pictures: the same
layout (:func:`~lstmds_sim.drawing.layout.plan_layout`) measured out by the
same scene (:func:`~lstmds_sim.drawing.scene.build_scene`: column widths,
strips for wide diagrams, subsystem frames, feedback lanes), the same box
names, wire labels and loop colours -- but as SVG elements a browser can click:

* a wire is ``<g class="wire" data-signal="c" data-edge="31" data-loops="0 1">``
  holding its visible path, one coloured overlay per loop it lies on
  (``data-loop``) and a wide transparent path that catches clicks;
* a block is ``<g class="block" data-block="sum c" data-shows="c">`` (the signal
  its output carries);
* each named output port has a label (``data-for``) and a value badge (one
  bar per component, ``<g class="badge" data-for="c">``) that the page's
  script moves with the time slider; only wires carry ``data-signal``, so
  ``[data-signal="c"]`` finds exactly the wires of ``c``;
* a loop of an LSTM layer carries a tag with its Theorem 4 quantity on its
  feedback lane (``<g class="loop-tag" data-loop="0">``);
* a subsystem is drawn open, in its frame (whose title collapses it), or
  collapsed into one box (``data-toggle``).

This module only draws: which signal a wire carries, which loops exist and
what their gains are is decided by the caller and handed over in a
:class:`ViewSpec`.
"""

from __future__ import annotations

import html
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

from .graph import DiagramGraph
from .layout import plan_layout
from .scene import FRAME_PT, NAME_PT, build_scene, display_name, text_width_in

__all__ = ["BADGE_HEIGHT", "MAX_BADGE_BARS", "SMALLEST_TEXT_PX", "ViewSpec", "draw_view", "svg_defs"]

_PX = 96.0  # CSS pixels per inch of the scene
_PT = _PX / 72.0  # CSS pixels per point
_MARGIN = 10.0

# Text sizes in px at the drawing's own size (zoom 1). The scene measures boxes for NAME_PT and KIND_PT;
# the page's text is drawn a little larger where the scene leaves room (a kind is clamped to its box), so
# that at the page's default zoom, set from SMALLEST_TEXT_PX, every block's text is at least 11 px.
_NAME_PX = NAME_PT * _PT  # 14 px
_KIND_PX = 13.0
_LABEL_PX = 13.0  # wire labels
_TAG_PX = 13.5  # Theorem 4 tags on the loops' lanes
_GAINS_PX = 13.0  # the line under a collapsed subsystem
#: The smallest text a block carries (px at zoom 1): the page zooms so that it is shown at least 11 px high.
SMALLEST_TEXT_PX = min(_NAME_PX, _KIND_PX, _LABEL_PX)

#: At most this many bars in a value badge (one per component).
MAX_BADGE_BARS = 8
_BAR_W, _BAR_GAP, _BAR_H = 4.0, 1.0, 10.0
#: Height in px of a badge bar at the signal's largest magnitude over the run.
BADGE_HEIGHT = _BAR_H

EDGE_GREY = "#4a4a4a"
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
        Node id of a collapsed subsystem -> ``(title, subtitle, [(text, ok, colour, loop), ...])``, one
        entry per loop inside it: ``ok`` is True, False or None (no verdict) and colours the text; ``colour``
        (or None) and ``loop`` (its index) draw a dot before the text and a tab on the box's foot.
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
# helpers
# --------------------------------------------------------------------------- #


def _esc(text: str) -> str:
    return html.escape(str(text), quote=True)


def _num(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _text_px(text: str, size_pt: float) -> float:
    return text_width_in(text, size_pt) * _PX


def _svg_path(path, height: float) -> tuple[str, list[tuple[float, float]]]:
    """A matplotlib Path of the scene (inches, y up, ``height`` tall) as SVG path data in px (y down),
    and its vertices in px."""
    d, pts = [], []
    for verts, code in path.iter_segments(simplify=False, curves=True):
        xy = [(verts[k] * _PX, (height - verts[k + 1]) * _PX) for k in range(0, len(verts), 2)]
        pts += xy
        coords = " ".join(f"{_num(x)},{_num(y)}" for x, y in xy)
        d.append({1: "M", 2: "L", 3: "Q", 4: "C"}.get(code, "L") + coords)
    return " ".join(d), pts


def _lane(pts: Sequence[tuple[float, float]]) -> tuple[float, float, float] | None:
    """The longest horizontal run of a feedback wire (its lane): (x_a, x_b, y)."""
    best = None
    for (x0, y0), (x1, y1) in itertools.pairwise(pts):
        if abs(y1 - y0) < 1e-6 and (best is None or abs(x1 - x0) > abs(best[1] - best[0])):
            best = (min(x0, x1), max(x0, x1), y0)
    return best


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


def _fit(text: str, size_px: float, box_w: float, italic: bool = False, bold: bool = False) -> str:
    """A ``textLength`` that squeezes ``text`` into a box ``box_w`` px wide, if it would not fit (else "")."""
    room = box_w - 8
    if text_width_in(text, size_px / _PT, italic) * _PX * (1.12 if bold else 1.0) <= room or room <= 0:
        return ""
    return f' textLength="{_num(room)}" lengthAdjust="spacingAndGlyphs"'


def _gain_item(item: tuple) -> tuple[str, bool | None, str | None, int | None]:
    """An entry of :attr:`ViewSpec.collapsed`'s list as ``(text, ok, colour, loop)``."""
    text, ok, colour, k = (*item, None, None)[:4]
    return text, ok, colour, k


def _verdict_class(ok: bool | None) -> str:
    return "ok" if ok else ("fail" if ok is False else "none")


def draw_view(spec: ViewSpec) -> str:
    """One ``<svg class="view">`` for ``spec``."""
    graph = spec.graph
    scene = build_scene(graph, plan_layout(graph), 0.0)
    width, height = scene.width * _PX, scene.height * _PX
    parts: list[str] = []
    xs: list[float] = [0.0, width]
    ys: list[float] = [0.0, height]

    for f in scene.frames:  # open subsystems, behind everything
        x, y, w, h = f.x * _PX, (scene.height - f.y - f.h) * _PX, f.w * _PX, f.h * _PX
        group = f.name.partition("/")[0]
        toggle = group in spec.toggles and f.name == group
        title = f"\u25be {f.name}  (subsystem)" + ("  \u2014 click to collapse" if toggle else "")
        attrs = f' data-toggle="{_esc(group)}" role="button" tabindex="0"' if toggle else ""
        parts.append(
            f'<g class="frame" data-group="{_esc(f.name)}">'
            f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(w)}" height="{_num(h)}" rx="11"/>'
            f'<text class="frame-title"{attrs} x="{_num(x + 13)}" y="{_num(y + 6 + FRAME_PT * _PT)}" '
            f'font-size="{_num(FRAME_PT * _PT)}">{_esc(title)}<title>{_esc(title)}</title></text></g>')

    paths = {}
    for i, e in enumerate(graph.edges):
        d, pts = _svg_path(scene.paths[i], scene.height)
        paths[i] = (d, pts)
        xs += [p[0] for p in pts]
        ys += [p[1] for p in pts]
        signal = spec.edge_signal[i]
        loops = spec.edge_loops[i]
        attrs = f' data-edge="{i}"' + (f' data-signal="{_esc(signal)}"' if signal else "")
        attrs += f' data-loops="{" ".join(map(str, loops))}"' if loops else ""
        tip = f"{signal or e.label or 'unnamed wire'}: {e.src} \u2192 {e.dst}"
        g = [f'<g class="wire{" on-loop" if loops else ""}"{attrs}><title>{_esc(tip)}</title>',
             f'<path class="halo" d="{d}"/>',
             f'<path class="base" d="{d}" marker-end="url(#lstmds-arrow)"/>']
        n = len(loops)
        for j, k in enumerate(loops):
            dash = f' stroke-dasharray="7 {7 * (n - 1)}" stroke-dashoffset="{-7 * j}"' if n > 1 else ""
            marker = f' marker-end="url(#lstmds-arrow-{k})"' if j == 0 else ""
            g.append(f'<path class="loop-overlay" data-loop="{k}" d="{d}" stroke="{_esc(spec.loop_colours[k])}"'
                     f'{dash}{marker}/>')
        g.append(f'<path class="hit" d="{d}"/></g>')
        parts.append("".join(g))

    has_in = {e.dst for e in graph.edges}
    has_out = {e.src for e in graph.edges}
    for node in graph.nodes:
        bx, by, bw, bh = scene.boxes[node.id]
        x, y, w, h = bx * _PX, (scene.height - by - bh) * _PX, bw * _PX, bh * _PX
        shows = spec.block_shows.get(node.id)
        attrs = f' data-block="{_esc(node.id)}" data-kind="{_esc(node.kind)}"'
        attrs += f' data-shows="{_esc(shows)}"' if shows else ""
        classes = ["block"]
        if node.is_delay:
            classes.append("delay")
            fill = _DELAY_FACE
        elif node.kind in ("inport", "outport"):
            fill = "#eeeeee"
        elif node.id not in has_in:
            fill = "#e3f1e0"  # a source
        elif node.id not in has_out:
            fill = "#fdeccf"  # a sink
        else:
            fill = "white"
        text_fill = "#000000"
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
        main, kind = display_name(graph, node.id)
        cx, cy = x + w / 2, y + h / 2
        g = [f'<g class="{" ".join(classes)}"{attrs}><title>{_esc(tip)}</title>',
             f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(w)}" height="{_num(h)}" rx="5" fill="{fill}"/>']
        name_px, kind_px = _NAME_PX, _KIND_PX
        items = [_gain_item(item) for item in spec.collapsed[node.id][2]] if node.id in spec.collapsed else []
        if kind and items:  # a collapsed subsystem's loops: a dot in the loop's colour and its gain or name
            spans = []
            for t, ok, colour, k in items:
                dot = f'<tspan class="dot" data-loop="{k}" fill="{_esc(colour)}">\u25cf </tspan>' if colour else ""
                spans.append(f'{dot}<tspan class="{_verdict_class(ok)}">{_esc(t)}</tspan>')
            g.append(f'<text class="name" x="{_num(cx)}" y="{_num(cy - 1)}" font-size="{_num(name_px)}" '
                     f'fill="{text_fill}"{_fit(main, name_px, w)}>{_esc(main)}</text>')
            g.append(f'<text class="gains" x="{_num(cx)}" y="{_num(cy + kind_px + 1)}" font-size="{_num(kind_px)}"'
                     f'{_fit(kind, kind_px, w, bold=True)}>' + "<tspan>\u2003</tspan>".join(spans) + "</text>")
        elif kind:
            g.append(f'<text class="name" x="{_num(cx)}" y="{_num(cy - 1)}" font-size="{_num(name_px)}" '
                     f'fill="{text_fill}"{_fit(main, name_px, w)}>{_esc(main)}</text>')
            g.append(f'<text class="kind" x="{_num(cx)}" y="{_num(cy + kind_px + 1)}" font-size="{_num(kind_px)}" '
                     f'fill="{text_fill}"{_fit(kind, kind_px, w, italic=True)}>{_esc(kind)}</text>')
        else:
            g.append(f'<text class="name" x="{_num(cx)}" y="{_num(cy + name_px / 3)}" font-size="{_num(name_px)}" '
                     f'fill="{text_fill}"{_fit(main, name_px, w)}>{_esc(main)}</text>')
        g.append("</g>")
        parts.append("".join(g))
        if node.id in spec.collapsed:
            _, _, gains = spec.collapsed[node.id]
            items = [_gain_item(item) for item in gains]
            chips = [(colour, k) for _, _, colour, k in items if colour is not None]
            for j, (colour, k) in enumerate(chips):  # one tab per loop inside, in its colour, on the box's foot
                cw = min(22.0, (w - 12) / max(len(chips), 1) - 3)
                parts.append(f'<rect class="loop-chip" data-loop="{k}" x="{_num(x + 6 + j * (cw + 3))}" '
                             f'y="{_num(y + h - 7)}" width="{_num(cw)}" height="4" rx="1.5" fill="{_esc(colour)}">'
                             f'<title>a loop inside {_esc(node.id)}</title></rect>')
            if node.id in spec.toggles:
                parts.append(f'<g class="toggle" data-toggle="{_esc(node.id)}" role="button" tabindex="0">'
                             f'<title>open {_esc(node.id)}: show its blocks</title>'
                             f'<rect x="{_num(x + w - 17)}" y="{_num(y + 3)}" width="14" height="14" rx="3"/>'
                             f'<text x="{_num(x + w - 10)}" y="{_num(y + 14)}">+</text></g>')

    done = set()
    wire_px = _LABEL_PX
    for i, e in enumerate(graph.edges):  # wire labels and value badges, once per output port
        key = (e.src, e.src_port)
        if key in done:
            continue
        done.add(key)
        signal = spec.edge_signal[i]
        px, py = scene.ports_out[key][0] * _PX, (scene.height - scene.ports_out[key][1]) * _PX
        below = key in scene.labels_below
        if e.label:
            ty = py + 4 + wire_px * 0.8 if below else py - 4
            parts.append(f'<text class="wire-label"{f" data-for={chr(34)}{_esc(signal)}{chr(34)}" if signal else ""} '
                         f'x="{_num(px + 6)}" y="{_num(ty)}" font-size="{_num(_LABEL_PX)}">{_esc(e.label)}</text>')
        n = spec.badges.get(signal or "", 0)
        if n:
            bars = min(n, MAX_BADGE_BARS)
            bx = px + 6
            by = py - 3 - _BAR_H if below else py + 3 + _BAR_H  # opposite the label
            rects = "".join(
                f'<rect x="{_num(bx + j * (_BAR_W + _BAR_GAP))}" y="{_num(by)}" width="{_num(_BAR_W)}" height="0"/>'
                for j in range(bars))
            end = bx + bars * (_BAR_W + _BAR_GAP)
            parts.append(f'<g class="badge" data-for="{_esc(signal)}" data-y0="{_num(by)}"><title>{_esc(signal)}</title>'
                         f'<line x1="{_num(bx - 1)}" x2="{_num(end)}" y1="{_num(by)}" y2="{_num(by)}"/>{rects}</g>')

    for x, y in scene.branches:
        parts.append(f'<circle class="branch" cx="{_num(x * _PX)}" cy="{_num((scene.height - y) * _PX)}" r="3.4"/>')

    for i, (k, short, ok, long) in spec.loop_tags.items():  # Theorem 4 on the feedback lanes
        lane = _lane(paths[i][1]) if i in paths else None
        if lane is None:
            continue
        x_a, x_b, ly = lane
        w = _text_px(short, _TAG_PX / _PT) * 1.1 + 18
        cx = (x_a + x_b) / 2
        parts.append(
            f'<g class="loop-tag {_verdict_class(ok)}" data-loop="{k}"><title>{_esc(long)}</title>'
            f'<rect x="{_num(cx - w / 2)}" y="{_num(ly - 11)}" width="{_num(w)}" height="22" rx="11" '
            f'stroke="{_esc(spec.loop_colours[k])}"/>'
            f'<text x="{_num(cx)}" y="{_num(ly + 5)}" font-size="{_num(_TAG_PX)}">{_esc(short)}</text></g>')
        xs += [cx - w / 2, cx + w / 2]
        ys += [ly - 12, ly + 12]

    x0, x1 = min(xs) - _MARGIN, max(xs) + _MARGIN
    y0, y1 = min(ys) - _MARGIN, max(ys) + _MARGIN
    hidden = ' style="display:none"' if spec.hidden else ""
    box = f"{_num(x0)} {_num(y0)} {_num(x1 - x0)} {_num(y1 - y0)}"
    return (f'<svg class="view" data-view="{_esc(spec.key)}" viewBox="{box}" width="{_num(x1 - x0)}" '
            f'height="{_num(y1 - y0)}" role="img" aria-label="block diagram"{hidden}>' + "".join(parts) + "</svg>")
