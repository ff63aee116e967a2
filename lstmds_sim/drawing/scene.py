"""Where everything of a diagram picture goes on the page, in inches.

:func:`~lstmds_sim.drawing.layout.plan_layout` gives every block a column and
a row; :func:`build_scene` turns that into boxes, wire routes and subsystem
frames, measured in inches (the picture is drawn at 1 data unit = 1 inch):

* **columns** are as wide as their longest block name (a summing block
  has room at its left edge for the signs of its inputs); the gap after a
  column is as wide as the wire labels that start in it need, and a
  fanned-out signal branches only past every label of its column;
* **text scale** -- a large diagram is drawn with its text (and lines)
  larger relative to its geometry (:func:`build_scene`'s ``text_scale``;
  the picture is then shown that many times smaller, so the text keeps
  its size while the whole diagram shrinks: readable when the picture is
  fitted to a screen);
* **strips** -- a diagram wider than :data:`MAX_WIDTH_IN` is cut into strips
  drawn one below the other, at gaps that no feedback wire and no subsystem
  spans and that few wires cross (two LSTM layers in series become two
  strips); a wire crossing a cut runs down from the end of one strip and
  back to the start of the next (a *wrap* wire);
* **frames** -- every subsystem (``lstm1/...``) is one rigid *body* with a
  labelled frame around its blocks and its own feedback lanes; bodies are
  pushed down, never up, until no frame holds a block of another body;
* **lanes** -- a feedback wire leaves its block to the right, runs in a lane
  below (or above) the blocks it spans and enters its delay from the left;
  lanes nest, shortest innermost.

Coordinates are computed with y pointing down and flipped at the end, so
that the :class:`Scene` is in matplotlib's convention (y up).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.font_manager import FontProperties
from matplotlib.path import Path
from matplotlib.transforms import Affine2D

from .graph import DiagramGraph
from .layout import _BOX_HEIGHT, _DUMMY_SIZE, _NODE_SIZE, Plan, _port_offset

__all__ = ["MAX_WIDTH_IN", "SIGN_PT", "Frame", "Scene", "build_scene", "display_name", "split_label"]

# --------------------------------------------------------------------------- #
# Sizes.  Text sizes are in points; at the widest picture (MAX_WIDTH_IN) shown
# 1600 px wide, a wire label is WIRE_PT / 72 * 1600 / MAX_WIDTH_IN ~ 10 px high.
# --------------------------------------------------------------------------- #

NAME_PT = 10.5  # block name
KIND_PT = 8.5  # block kind, under the name
WIRE_PT = 9.5  # wire label
FRAME_PT = 11.0  # subsystem name on its frame
SIGN_PT = 11.0  # a summing block's sign at an input port
MAX_WIDTH_IN = 22.0  # wider diagrams are cut into strips (at text scale 1)

_ROW_IN = 0.85  # one layout row
_BOX_H = _BOX_HEIGHT * _ROW_IN
_GAP_IN = 0.6  # least gap between columns
_MIN_BOX_W = 0.8
_DUMMY_COL_W = 0.25  # a column holding only wires passing through
_STUB_IN = 0.1  # straight bit at each end of a wire, so arrowheads are horizontal
_TRUNK_IN = 0.3  # straight bit shared by the branches of a fanned-out signal
_CURVE_IN = 0.3  # least horizontal room for a wire's S-curve
_FEEDBACK_IN = 0.22  # distance of a feedback wire's verticals from the boxes
_LANE_IN = 0.22  # spacing of the feedback lanes
_TRACK_IN = 0.12  # spacing of feedback verticals in a gap
_CORNER_IN = 0.09
_FRAME_PAD = 0.16  # frame to the blocks inside it
_FRAME_LABEL = 0.26  # room above the blocks for the frame's name
_SIGN_IN = 0.2  # room at a summing block's left edge for its signs (at text scale 1)
_FRAME_GAP = 0.22  # frame to a block outside it
_STRIP_GAP = 0.45  # between two strips, besides the wrap lanes
_MARGIN = 0.3  # around the whole picture


@dataclass(frozen=True)
class Frame:
    """A subsystem's frame: its name and its rectangle (x, y of the lower left corner, w, h)."""

    name: str
    x: float
    y: float
    w: float
    h: float


@dataclass
class Scene:
    """Geometry of the picture, in inches, y up; the header is the room left on top."""

    boxes: dict[str, tuple[float, float, float, float]]  # node -> (x, y, w, h), y = bottom
    paths: dict[int, Path]  # edge index -> route
    ports_out: dict[tuple[str, int], tuple[float, float]]
    branches: list[tuple[float, float]]  # branch points of fanned-out signals
    frames: list[Frame]
    labels_below: set[tuple[str, int]]  # output ports whose wire label goes under the wire (it curves up)
    width: float
    height: float
    strips: int  # how many strips the columns were cut into
    #: text (and line) size relative to the geometry: the picture is drawn ``text_scale`` times
    #: smaller than ``width`` x ``height`` inches, its text at its nominal point size
    text_scale: float = 1.0
    #: the height of every box, and the height of one layout row
    box_height: float = _BOX_H
    row: float = _ROW_IN

    def port_offset(self, port: int, n_ports: int) -> float:
        """How far (inches, up) input or output ``port`` of ``n_ports`` lies above its box's centre."""
        return -_port_offset(port, n_ports) / _BOX_HEIGHT * self.box_height


# --------------------------------------------------------------------------- #
# text
# --------------------------------------------------------------------------- #


@lru_cache(maxsize=4096)
def text_width_in(text: str, size_pt: float, italic: bool = False) -> float:
    """Width of ``text`` in inches when drawn at ``size_pt``."""
    if not text:
        return 0.0
    prop = FontProperties(family="DejaVu Sans", size=size_pt, style="italic" if italic else "normal")
    w, _, _ = RendererAgg(10, 10, 72).get_text_width_height_descent(text, prop, ismath=False)
    return w / 72.0


def split_label(label: str) -> tuple[str, str]:
    """``"Wi\\ngain"`` -> ``("Wi", "gain")``."""
    main, _, rest = label.partition("\n")
    return main, rest.replace("\n", " ")


def display_name(graph: DiagramGraph, node_id: str) -> tuple[str, str]:
    """The name and kind drawn in a block's box.

    A block from a subsystem keeps its subsystem's path (``"lstm1/Wo"``), so
    that two layers' blocks can be told apart.
    """
    node = graph.node(node_id)
    main, kind = split_label(node.label)
    if node.subsystem and main == node.name:
        main = f"{node.subsystem}/{main}"
    return main, kind


# --------------------------------------------------------------------------- #
# paths
# --------------------------------------------------------------------------- #


def _s_curve(a: tuple[float, float], b: tuple[float, float], stub_a: float,
             stub_b: float = _STUB_IN) -> tuple[list, list]:
    """Vertices and codes from ``a`` (a right edge) to ``b`` (a left edge):
    straight stubs at both ends and a cubic S-curve between."""
    (xa, ya), (xb, yb) = a, b
    if abs(ya - yb) < 1e-9:
        return [b], [Path.LINETO]
    p, q = (xa + stub_a, ya), (xb - stub_b, yb)
    mid = (p[0] + q[0]) / 2
    return [p, (mid, ya), (mid, yb), q, b], [Path.LINETO, Path.CURVE4, Path.CURVE4, Path.CURVE4, Path.LINETO]


def _rounded(points: Sequence[tuple[float, float]], radius: float = _CORNER_IN) -> tuple[list, list]:
    """Orthogonal polyline through ``points`` with rounded corners (the first point not included)."""
    verts: list = []
    codes: list = []
    for k in range(1, len(points) - 1):
        (x0, y0), (x1, y1), (x2, y2) = points[k - 1], points[k], points[k + 1]
        d_in = ((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5
        d_out = ((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5
        if d_in < 1e-9 or d_out < 1e-9:
            continue
        r = min(radius, d_in / 2, d_out / 2)
        verts += [(x1 - (x1 - x0) * r / d_in, y1 - (y1 - y0) * r / d_in), (x1, y1)]
        verts.append((x1 + (x2 - x1) * r / d_out, y1 + (y2 - y1) * r / d_out))
        codes += [Path.LINETO, Path.CURVE3, Path.CURVE3]
    verts.append(points[-1])
    codes.append(Path.LINETO)
    return verts, codes


# --------------------------------------------------------------------------- #
# the scene
# --------------------------------------------------------------------------- #


def _box_and_row(text_scale: float) -> tuple[float, float]:
    """The height of a box and of a layout row (inches) at ``text_scale``: as at scale 1 until a box
    gets too low for a block's name, its kind and a loop's tab under them at that scale; then the
    boxes grow, and the rows by as much (the gap between two boxes stays)."""
    box = max(_BOX_H, 0.4 * text_scale)
    return box, _ROW_IN + box - _BOX_H


class _Builder:
    """One scene under construction (y down until :meth:`finish`)."""

    def __init__(self, graph: DiagramGraph, plan: Plan, text_scale: float = 1.0):
        self.graph, self.plan = graph, plan
        self.scale = float(text_scale)
        self.box_h, self.row = _box_and_row(self.scale)
        self.stub = _STUB_IN * self.scale  # arrowheads grow with the text
        self.nodes = {n.id for n in graph.nodes}
        self.n_cols = len(plan.columns)
        self.group = {item: plan.group.get(item, "") for column in plan.columns for item in column}
        self.back_edges = sorted(plan.back)
        self.forward_edges = [i for i in range(len(graph.edges)) if i not in plan.back]
        self._labels_and_trunks()

    # ----------------------------------------------------------------- widths
    def _labels_and_trunks(self) -> None:
        """Each output port's label (from its first named wire), width and trunk."""
        fan_out: dict[tuple[str, int], int] = defaultdict(int)
        self.label: dict[tuple[str, int], str] = {}
        for e in self.graph.edges:
            key = (e.src, e.src_port)
            fan_out[key] += 1
            if e.label and key not in self.label:
                self.label[key] = e.label
        self.trunk: dict[tuple[str, int], float] = {}
        self.label_w: dict[tuple[str, int], float] = {}
        self.fan_out = dict(fan_out)
        for key, n in fan_out.items():
            self.label_w[key] = text_width_in(self.label.get(key, ""), WIRE_PT * self.scale)
        widest: dict[int, float] = defaultdict(float)  # the widest wire label starting in each column
        for key, w in self.label_w.items():
            widest[self.plan.col[key[0]]] = max(widest[self.plan.col[key[0]]], w)
        for key, n in fan_out.items():
            # a fanned-out signal branches after a straight trunk that holds its label and reaches past
            # every other label of its column, so that no branch runs through a label; a single
            # wire's label sits beside its curve, on the side the curve leaves
            label_room = widest[self.plan.col[key[0]]] + 0.12 * self.scale
            self.trunk[key] = max(_TRUNK_IN, label_room) if n > 1 else self.stub

    def _column_sizes(self) -> tuple[list[float], list[float]]:
        """Width of each column and of the gap after it."""
        plan, graph = self.plan, self.graph
        widths = []
        for column in plan.columns:
            w = _DUMMY_COL_W
            for item in column:
                if item in self.nodes:
                    main, kind = display_name(graph, item)
                    text_w = max(text_width_in(main, NAME_PT * self.scale),
                                 text_width_in(kind, KIND_PT * self.scale, True))
                    signs = 2 * _SIGN_IN * self.scale if graph.node(item).signs else 0.0  # both sides: centred text
                    w = max(w, _MIN_BOX_W, text_w + 0.24 * self.scale + signs)
            widths.append(w)
        back_out: dict[int, int] = defaultdict(int)
        back_in: dict[int, int] = defaultdict(int)
        back_trunk: dict[int, float] = defaultdict(float)
        for i in self.back_edges:
            e = graph.edges[i]
            back_out[plan.col[e.src]] += 1
            back_in[plan.col[e.dst]] += 1
            back_trunk[plan.col[e.src]] = max(back_trunk[plan.col[e.src]], self.trunk[(e.src, e.src_port)])
        self.back_in = back_in
        need_out: dict[int, float] = defaultdict(float)  # room after a column for its wires' labels
        for key, t in self.trunk.items():
            room = t + _CURVE_IN + self.stub if self.fan_out[key] > 1 else self.label_w[key] + 0.2 * self.scale
            need_out[plan.col[key[0]]] = max(need_out[plan.col[key[0]]], room)
        gaps = []
        for c in range(self.n_cols):
            need = max(_GAP_IN, need_out[c])
            if back_out[c] or back_in.get(c + 1, 0):  # the verticals of feedback wires
                leave = max(back_trunk[c], _FEEDBACK_IN) + _TRACK_IN * back_out[c] if back_out[c] else self.stub
                enter = _FEEDBACK_IN + _TRACK_IN * back_in[c + 1] if back_in.get(c + 1, 0) else self.stub
                need = max(need, leave + enter + 0.1)
            gaps.append(need)
        for g in {g for g in self.group.values() if g}:  # room for the frame's sides
            cols = [plan.col[i] for i, gi in self.group.items() if gi == g]
            if min(cols) > 0:
                gaps[min(cols) - 1] += _FRAME_PAD + 0.1
            gaps[max(cols)] += _FRAME_PAD + 0.1
        return widths, gaps

    # ----------------------------------------------------------------- strips
    def _crossings(self, c: int) -> list[int]:
        """Forward edges that cross the gap after column ``c``."""
        plan, graph = self.plan, self.graph
        return [i for i in self.forward_edges if plan.col[graph.edges[i].src] <= c < plan.col[graph.edges[i].dst]]

    def _strips(self, widths: list[float], gaps: list[float]) -> list[int]:
        """The gaps after which a new strip starts (none: one strip)."""
        plan, graph = self.plan, self.graph
        spans = [sorted((plan.col[graph.edges[i].src], plan.col[graph.edges[i].dst])) for i in self.back_edges]
        group_cols: dict[str, list[int]] = defaultdict(list)
        for item, g in self.group.items():
            if g:
                group_cols[g].append(plan.col[item])
        inside = [(min(cs), max(cs)) for cs in group_cols.values()]
        valid = [
            c
            for c in range(self.n_cols - 1)
            if not any(a <= c < b for a, b in spans)
            and not any(a <= c < b for a, b in inside)
            and 0 < len(self._crossings(c)) <= 2
        ]

        def strip_widths(cuts: Sequence[int]) -> list[float]:
            bounds = [-1, *cuts, self.n_cols - 1]
            return [
                sum(widths[a + 1 : b + 1]) + sum(gaps[a + 1 : b]) + 2 * _MARGIN + 0.6
                for a, b in itertools.pairwise(bounds)
            ]

        limit = MAX_WIDTH_IN * self.scale  # the picture is drawn text_scale times smaller
        one = max(strip_widths(()))
        if one <= limit:
            return []
        best: tuple[float, tuple[int, ...]] = (one, ())
        for k in range(1, 4):  # the fewest strips that fit (a tenth over is fine), else the narrowest
            fewest: tuple[float, tuple[int, ...]] | None = None
            for cuts in itertools.combinations(valid, k):
                w = max(strip_widths(cuts))
                if fewest is None or w < fewest[0] - 1e-9:
                    fewest = (w, cuts)
            if fewest is None:
                break
            if fewest[0] <= 1.1 * limit:
                return list(fewest[1])
            if fewest[0] < best[0] - 1e-9:
                best = fewest
        return list(best[1])

    # ----------------------------------------------------------------- build
    def build(self, header: float) -> Scene:
        plan, graph = self.plan, self.graph
        widths, gaps = self._column_sizes()
        cuts = self._strips(widths, gaps)
        strip_of_col = []
        s = 0
        for c in range(self.n_cols):
            strip_of_col.append(s)
            if c in cuts:
                s += 1
        n_strips = s + 1
        wraps = {c: self._crossings(c) for c in cuts}

        # x: each strip starts at the left margin, wide enough for the feedback
        # and wrap verticals that enter its first column.
        lefts = [0.0] * self.n_cols
        for c in range(self.n_cols):
            if c == 0 or c - 1 in cuts:
                n_wrap = len(wraps.get(c - 1, []))
                frame = _FRAME_PAD + 0.1 if any(self.group.get(i) for i in plan.columns[c]) else 0.0
                lefts[c] = _MARGIN + _FEEDBACK_IN + _TRACK_IN * (self.back_in.get(c, 0) + n_wrap) + 0.1 + frame
            else:
                lefts[c] = lefts[c - 1] + widths[c - 1] + gaps[c - 1]
        self.lefts, self.widths = lefts, widths
        self._feedback_verticals()

        y0 = {item: plan.y[item] * self.row for item in plan.y}
        half = {item: (self.box_h / 2 if item in self.nodes else 0.0) for item in y0}

        # feedback lanes inside each subsystem, relative to its blocks
        lanes: dict[int, float] = {}
        groups = sorted({g for g in self.group.values() if g})
        for g in groups:
            members = [i for i, gi in self.group.items() if gi == g]
            mid = (min(y0[i] for i in members) + max(y0[i] for i in members)) / 2
            own = [i for i in self.back_edges if self.group[graph.edges[i].src] == g == self.group[graph.edges[i].dst]]
            self._place_lanes(own, y0, half, lanes, mid, keep=lambda item, g=g: self.group[item] == g, frames=[])
        frames = {g: self._frame_box(g, y0, half, lanes) for g in groups}

        # bodies: a subsystem moves as one; push bodies down until no frame holds a stranger
        off = self._push_down(y0, half, frames)

        def body(item: str) -> str:
            return "G:" + self.group[item] if self.group[item] else "I:" + item

        y = {item: y0[item] + off[body(item)] for item in y0}
        for i in list(lanes):
            lanes[i] += off["G:" + self.group[graph.edges[i].src]]
        frames = {g: (x0, t + off["G:" + g], x1, b + off["G:" + g]) for g, (x0, t, x1, b) in frames.items()}

        # feedback lanes of the top level: clear of every block and frame they span
        top_level = [i for i in self.back_edges if i not in lanes]
        for s in range(n_strips):
            cols = [c for c in range(self.n_cols) if strip_of_col[c] == s]
            items = [i for c in cols for i in plan.columns[c]]
            mid = (min(y[i] for i in items) + max(y[i] for i in items)) / 2
            mine = [i for i in top_level if strip_of_col[plan.col[graph.edges[i].src]] == s]
            self._place_lanes(mine, y, half, lanes, mid, keep=lambda item: True, frames=list(frames.values()))

        # strips, one below the other, with the wrap lanes between them
        dy = [0.0] * n_strips
        wrap_lane: dict[tuple[int, int], float] = {}
        bottom = header
        for s in range(n_strips):
            cols = {c for c in range(self.n_cols) if strip_of_col[c] == s}
            tops, bots = [], []
            for c in cols:
                for item in plan.columns[c]:
                    tops.append(y[item] - half[item])
                    bots.append(y[item] + half[item])
            for i, lane in lanes.items():
                if plan.col[graph.edges[i].src] in cols:
                    tops.append(lane)
                    bots.append(lane)
            for g, (x0, t, x1, b) in frames.items():
                if strip_of_col[min(plan.col[i] for i, gi in self.group.items() if gi == g)] == s:
                    tops.append(t)
                    bots.append(b)
            top = bottom + (0.0 if s == 0 else _STRIP_GAP + _LANE_IN * len(wraps[cuts[s - 1]]))
            dy[s] = top - min(tops)
            if s > 0:
                for k, i in enumerate(wraps[cuts[s - 1]]):
                    wrap_lane[(cuts[s - 1], i)] = bottom + _STRIP_GAP / 2 + _LANE_IN * k
            bottom = max(bots) + dy[s]
        for item in y:
            y[item] += dy[strip_of_col[plan.col[item]]]
        for i in lanes:
            lanes[i] += dy[strip_of_col[plan.col[graph.edges[i].src]]]
        frame_list = []
        for g, (x0, t, x1, b) in frames.items():
            s = strip_of_col[min(plan.col[i] for i, gi in self.group.items() if gi == g)]
            frame_list.append(Frame(g, x0, t + dy[s], x1 - x0, b - t))

        return self._finish(y, lanes, wraps, wrap_lane, frame_list, n_strips, header)

    def _frame_box(self, g: str, y0: dict, half: dict, lanes: dict) -> tuple[float, float, float, float]:
        """The frame of subsystem ``g``: (left, top, right, bottom), y down, before any push."""
        plan, graph = self.plan, self.graph
        members = [i for i, gi in self.group.items() if gi == g]
        cols = [plan.col[i] for i in members]
        left = min(self.lefts[c] for c in cols)
        right = max(self.lefts[c] + self.widths[c] for c in cols)
        top = min(y0[i] - half[i] for i in members)
        bot = max(y0[i] + half[i] for i in members)
        for i, lane in lanes.items():
            e = graph.edges[i]
            if self.group[e.src] == g:
                top, bot = min(top, lane), max(bot, lane)
                x_a, x_b = self._feedback_x[i]
                left, right = min(left, x_b), max(right, x_a)
        return (left - _FRAME_PAD, top - _FRAME_PAD - _FRAME_LABEL * self.scale, right + _FRAME_PAD, bot + _FRAME_PAD)

    def _push_down(self, y0: dict, half: dict, frames: dict) -> dict[str, float]:
        """Offsets (down) of the bodies that keep columns in order and frames clear.

        Every constraint says that a body lower in the key order must lie
        some distance below a body higher up, so one pass in key order
        settles them all (the least offsets, none negative).
        """
        plan = self.plan

        def body(item: str) -> str:
            return "G:" + self.group[item] if self.group[item] else "I:" + item

        key: dict[str, float] = {}
        for item in y0:
            key.setdefault(body(item), plan.key.get(item, 0.0))
        order = sorted(key, key=lambda b: (key[b], b))
        rank = {b: k for k, b in enumerate(order)}
        need: dict[str, list[tuple[str, float]]] = defaultdict(list)  # below -> [(above, least offset difference)]

        def require(above: str, below: str, diff: float) -> None:
            if rank[above] < rank[below]:
                need[below].append((above, diff))

        for column in plan.columns:  # neighbours in a column keep their spacing
            for a, b in itertools.pairwise(column):
                if body(a) != body(b):
                    size = lambda i: _NODE_SIZE if i in self.nodes else _DUMMY_SIZE
                    require(body(a), body(b), y0[a] + (size(a) + size(b)) / 2 * self.row - y0[b])
        group_cols = {}
        for g in frames:
            cols = [plan.col[i] for i, gi in self.group.items() if gi == g]
            group_cols[g] = (min(cols), max(cols))
        for g, (_, top, _, bot) in frames.items():
            c0, c1 = group_cols[g]
            for c in range(c0, c1 + 1):
                for item in plan.columns[c]:
                    if self.group[item]:
                        continue
                    b = body(item)
                    if rank[b] < rank["G:" + g]:
                        require(b, "G:" + g, y0[item] + half[item] + _FRAME_GAP - top)
                    else:
                        require("G:" + g, b, bot + _FRAME_GAP - (y0[item] - half[item]))
            for h, (_, top_h, _, bot_h) in frames.items():
                d0, d1 = group_cols[h]
                if h != g and d0 <= c1 and c0 <= d1:
                    require("G:" + g, "G:" + h, bot + _FRAME_GAP - top_h)
        off: dict[str, float] = {}
        for b in order:
            off[b] = max([0.0] + [off[a] + d for a, d in need[b]])
        return off

    def _feedback_verticals(self) -> None:
        """x of the two verticals of each feedback wire (leaving, entering):
        shortest spans nearest to the boxes."""
        plan, graph = self.plan, self.graph
        self._feedback_x: dict[int, tuple[float, float]] = {}
        self.back_out: dict[int, int] = defaultdict(int)
        tracks_in: dict[int, int] = defaultdict(int)
        for i in sorted(self.back_edges, key=self._span_key):
            e = graph.edges[i]
            c_src, c_dst = plan.col[e.src], plan.col[e.dst]
            x_a = (self.lefts[c_src] + self.widths[c_src] + max(self.trunk[(e.src, e.src_port)], _FEEDBACK_IN)
                   + _TRACK_IN * self.back_out[c_src])
            x_b = self.lefts[c_dst] - _FEEDBACK_IN - _TRACK_IN * tracks_in[c_dst]
            self.back_out[c_src] += 1
            tracks_in[c_dst] += 1
            self._feedback_x[i] = (x_a, x_b)
        self._placed: list[tuple[int, int, float, bool, str]] = []  # (first col, last col, lane, below, group)

    def _place_lanes(self, edges, y, half, lanes, mid, keep, frames) -> None:
        """Lanes for feedback wires ``edges``: shortest spans first, each just
        clear of the kept items in the columns it spans, of the frames given
        and of the lanes already laid there (so lanes nest)."""
        plan, graph = self.plan, self.graph
        for i in sorted(edges, key=self._span_key):
            e = graph.edges[i]
            a = y[e.src] + self._port(e.src_port, plan.n_out[e.src])
            b = y[e.dst] + self._port(e.dst_port, plan.n_in[e.dst])
            c0, c1 = sorted((plan.col[e.src], plan.col[e.dst]))
            below = (a + b) / 2 >= mid
            sign = 1.0 if below else -1.0
            extent = [y[item] + sign * half[item] for c in range(c0, c1 + 1) for item in plan.columns[c] if keep(item)]
            x_a, x_b = self._feedback_x[i]
            for x0, t, x1, bt in frames:
                if x0 <= x_a and x_b <= x1:  # the lane passes the frame
                    extent.append(bt if below else t)
            g = self.group[e.src] if self.group[e.src] == self.group[e.dst] else ""
            extent += [ln for p, q, ln, side, pg in self._placed if side == below and p <= c1 and c0 <= q and pg == g]
            lane = (max(extent) if below else min(extent)) + sign * _LANE_IN
            self._placed.append((c0, c1, lane, below, g))
            lanes[i] = lane

    def _port(self, port: int, n_ports: int) -> float:
        """Offset (inches, down) of a port from its box's centre: the ports share the box's height."""
        return _port_offset(port, n_ports) / _BOX_HEIGHT * self.box_h

    def _span_key(self, i: int) -> tuple[int, int]:
        e = self.graph.edges[i]
        return (abs(self.plan.col[e.src] - self.plan.col[e.dst]), i)

    # ----------------------------------------------------------------- routes
    def _finish(self, y, lanes, wraps, wrap_lane, frames: list[Frame], n_strips: int, header: float) -> Scene:
        plan, graph = self.plan, self.graph
        lefts, widths = self.lefts, self.widths
        box_h = self.box_h
        boxes = {n.id: (lefts[plan.col[n.id]], y[n.id] - box_h / 2, widths[plan.col[n.id]], box_h)
                 for n in graph.nodes}

        def port_in(node: str, port: int) -> tuple[float, float]:
            return lefts[plan.col[node]], y[node] + self._port(port, plan.n_in[node])

        def port_out(node: str, port: int) -> tuple[float, float]:
            c = plan.col[node]
            return lefts[c] + widths[c], y[node] + self._port(port, plan.n_out[node])

        frame_of = {f.name: f for f in frames}
        below: set[tuple[str, int]] = set()
        fan_out: dict[tuple[str, int], int] = defaultdict(int)
        for e in graph.edges:
            fan_out[(e.src, e.src_port)] += 1
        paths: dict[int, Path] = {}
        ports_out: dict[tuple[str, int], tuple[float, float]] = {}
        branches = []
        for i, e in enumerate(graph.edges):
            key = (e.src, e.src_port)
            if key not in ports_out:
                ports_out[key] = port_out(*key)
                if fan_out[key] > 1:
                    branches.append((ports_out[key][0] + self.trunk[key], ports_out[key][1]))
            start = port_out(e.src, e.src_port)
            verts, codes = [start], [Path.MOVETO]
            if i in plan.back:
                end = port_in(e.dst, e.dst_port)
                x_a, x_b = self._feedback_x[i]
                if fan_out[key] == 1 and lanes[i] < start[1]:  # the lane is above: label below
                    below.add(key)
                v, c = _rounded([start, (x_a, start[1]), (x_a, lanes[i]), (x_b, lanes[i]), (x_b, end[1]), end])
                paths[i] = Path(verts + v, codes + c)
                continue
            items = [e.src, *plan.waypoints[i], e.dst]
            exit_ = start
            for k in range(1, len(items)):
                item = items[k]
                c = plan.col[item]
                entry = port_in(e.dst, e.dst_port) if k == len(items) - 1 else (lefts[c], y[item])
                if c - 1 in wraps:
                    n = wraps[c - 1].index(i)
                    stub = self.trunk[key] if k == 1 else self.stub
                    clear = max(stub + 0.08, _FEEDBACK_IN, self.label_w[key] + 0.3 if k == 1 else 0.0)  # past the label
                    x_a = exit_[0] + clear + _TRACK_IN * (n + self.back_out[c - 1])
                    x_b = entry[0] - _FEEDBACK_IN - _TRACK_IN * (n + self.back_in.get(c, 0))
                    if self.group[items[k - 1]]:  # leave and enter frames square, outside them
                        f = frame_of[self.group[items[k - 1]]]
                        x_a = max(x_a, f.x + f.w + 0.25 + _TRACK_IN * n)
                    if self.group[item]:
                        x_b = min(x_b, frame_of[self.group[item]].x - 0.25 - _TRACK_IN * n)
                    lane = wrap_lane[(c - 1, i)]
                    v, cd = _rounded([exit_, (x_a, exit_[1]), (x_a, lane), (x_b, lane), (x_b, entry[1]), entry])
                else:
                    v, cd = _s_curve(exit_, entry, self.trunk[key] if k == 1 else self.stub, self.stub)
                    if k == 1 and fan_out[key] == 1 and entry[1] < exit_[1] - 1e-9:  # it curves up: label below
                        below.add(key)
                verts += v
                codes += cd
                if k < len(items) - 1:  # straight through the waypoint's column
                    exit_ = (lefts[c] + widths[c], y[item])
                    verts.append(exit_)
                    codes.append(Path.LINETO)
            paths[i] = Path(verts, codes)

        # everything into [0, width] x [0, height], y up
        xs = [b[0] for b in boxes.values()] + [b[0] + b[2] for b in boxes.values()]
        ys = [b[1] for b in boxes.values()] + [b[1] + b[3] for b in boxes.values()]
        for f in frames:
            xs += [f.x, f.x + f.w]
            ys += [f.y, f.y + f.h]
        for p in paths.values():
            xs += list(p.vertices[:, 0])
            ys += list(p.vertices[:, 1])
        x0 = min(min(xs), 0.0) - _MARGIN
        width = max(xs) + _MARGIN - x0
        height = max(ys) + _MARGIN  # the header is already above the first strip
        flip = Affine2D().scale(1.0, -1.0).translate(-x0, height)

        def pt(p: tuple[float, float]) -> tuple[float, float]:
            return (p[0] - x0, height - p[1])

        return Scene(
            boxes={k: (x - x0, height - (yy + h), w, h) for k, (x, yy, w, h) in boxes.items()},
            paths={k: p.transformed(flip) for k, p in paths.items()},
            ports_out={k: pt(p) for k, p in ports_out.items()},
            branches=[pt(p) for p in branches],
            frames=[Frame(f.name, f.x - x0, height - (f.y + f.h), f.w, f.h) for f in frames],
            labels_below=below,
            width=width,
            height=height,
            strips=n_strips,
            text_scale=self.scale,
            box_height=self.box_h,
            row=self.row,
        )


def build_scene(graph: DiagramGraph, plan: Plan, header: float, text_scale: float = 1.0) -> Scene:
    """Turn the abstract layout into boxes, wire routes and frames in inches,
    leaving ``header`` inches on top for the title and legend.

    ``text_scale``: how much larger than at scale 1 the text (and the lines and arrowheads) are drawn
    relative to the geometry; column widths, the room for labels and frame names, the box and row
    heights follow, while the gaps and lanes between them do not. A picture drawn
    ``text_scale`` times smaller than the scene (:func:`~lstmds_sim.drawing.render.render` does)
    shows its text at the nominal point sizes and the whole diagram smaller."""
    return _Builder(graph, plan, text_scale).build(header)
