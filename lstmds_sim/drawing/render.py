"""Draw a block diagram left to right, like a Simulink model.

Blocks are placed by :func:`lstmds_sim.drawing.layout.layout` (layered graph drawing:
feedback edges set aside, columns, waypoints, ordering, rows), then

:func:`render` draws boxes and arrows with matplotlib (no graphviz, no
   display needed).  Forward edges are smooth S-curves; feedback edges run
   in lanes below (or above) the diagram back to their delay.  Each
   feedback loop found by :func:`~lstmds_sim.drawing.graph.find_feedback_loops` has
   its own colour; its edges are thicker and its delay box is filled with
   that colour.  An edge on several loops is drawn in alternating dashes
   of their colours.
"""

from __future__ import annotations

import pathlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.legend_handler import HandlerTuple
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, PathPatch
from matplotlib.path import Path
from matplotlib.transforms import Affine2D

from .graph import (
    DiagramGraph,
    FeedbackLoop,
    find_feedback_loops,
    graph_from_blockdiagram,
)
from .layout import _BOX_HEIGHT, Plan, _port_offset, layout, plan_layout

__all__ = ["layout", "render", "LOOP_COLOURS"]

#: Colours given to the feedback loops, in the order of find_feedback_loops.
LOOP_COLOURS: tuple[str, ...] = (
    "tab:blue",
    "tab:red",
    "tab:green",
    "tab:purple",
    "tab:orange",
    "tab:brown",
    "tab:pink",
    "tab:olive",
    "tab:cyan",
)

# --------------------------------------------------------------------------- #
# Geometry in inches (matplotlib y axis points up).
# --------------------------------------------------------------------------- #

_ROW_IN = 0.85  # one row, in inches
_GAP_IN = 1.0  # horizontal space between columns
_MIN_BOX_W = 0.95
_DUMMY_COL_W = 0.3
_STUB_IN = 0.1  # straight bit at each end of an edge, so arrowheads are horizontal
_TRUNK_IN = 0.3  # straight bit shared by the branches of a fanned-out signal
_FEEDBACK_IN = 0.3  # distance of a feedback edge's verticals from the boxes
_LANE_IN = 0.24  # spacing of the feedback lanes
_TRACK_IN = 0.12  # spacing of feedback verticals in a gap
_CORNER_IN = 0.09
_NAME_PT = 9.0
_KIND_PT = 7.0
_WIRE_PT = 6.5
_TITLE_IN = 0.6  # room for the title
_LEGEND_IN = 0.35  # room for the legend

# Same input, same bytes: fixed SVG ids, text kept as text (searchable,
# smaller), and no time stamps or version strings in the files.
_RC = {"svg.hashsalt": "lstmds-sim", "svg.fonttype": "none", "font.family": "DejaVu Sans"}
_NO_DATE = {"svg": {"Date": None}, "pdf": {"CreationDate": None}, "png": {"Software": None}}

_EDGE_GREY = "#505050"
_BOX_EDGE = "#303030"


def _text_width_in(text: str, size_pt: float, *, italic: bool = False) -> float:
    """Width of ``text`` in inches when drawn at ``size_pt``."""
    if not text:
        return 0.0
    prop = FontProperties(size=size_pt, style="italic" if italic else "normal")
    w, _, _ = RendererAgg(10, 10, 72).get_text_width_height_descent(text, prop, ismath=False)
    return w / 72.0


def _wire_label_width(label: str | None) -> float:
    """Width of a wire label in inches; 0 if there is none or it does not fit in a gap."""
    w = _text_width_in(label or "", _WIRE_PT)
    return w if w <= _GAP_IN / 2 - 0.15 else 0.0


def _split_label(label: str) -> tuple[str, str]:
    """``"Wi\\ngain"`` -> ``("Wi", "gain")``."""
    main, _, rest = label.partition("\n")
    return main, rest.replace("\n", " ")


def _column_geometry(plan: Plan, graph: DiagramGraph, left: float) -> tuple[list[float], list[float]]:
    """Left edge and width (inches) of each column; boxes in a column share its width."""
    widths = []
    for column in plan.columns:
        w = _DUMMY_COL_W
        for item in column:
            if item in plan.n_in:  # a real node
                main, kind = _split_label(graph.node(item).label)
                text_w = max(_text_width_in(main, _NAME_PT), _text_width_in(kind, _KIND_PT, italic=True))
                w = max(w, _MIN_BOX_W, text_w + 0.3)
        widths.append(w)
    lefts = []
    x = left
    for w in widths:
        lefts.append(x)
        x += w + _GAP_IN
    return lefts, widths


def _s_curve(a: tuple[float, float], b: tuple[float, float], stub_a: float = _STUB_IN) -> tuple[list, list]:
    """Vertices and codes from ``a`` (on a right edge) to ``b`` (on a left
    edge): straight stubs at both ends and a cubic S-curve between."""
    (xa, ya), (xb, yb) = a, b
    if abs(ya - yb) < 1e-9:
        return [b], [Path.LINETO]
    p, q = (xa + stub_a, ya), (xb - _STUB_IN, yb)
    mid = (p[0] + q[0]) / 2
    verts = [p, (mid, ya), (mid, yb), q, b]
    codes = [Path.LINETO, Path.CURVE4, Path.CURVE4, Path.CURVE4, Path.LINETO]
    return verts, codes


def _forward_path(points: Sequence[tuple[float, float]], trunk: float = _STUB_IN) -> Path:
    """Path through ``points``: pairs (exit, entry) across gaps are joined
    by S-curves, pairs inside a waypoint column by straight lines.  The
    first ``trunk`` inches run straight (shared by the branches of a fan-out)."""
    verts, codes = [points[0]], [Path.MOVETO]
    for k in range(1, len(points)):
        if k % 2 == 1:  # across a gap
            v, c = _s_curve(points[k - 1], points[k], trunk if k == 1 else _STUB_IN)
        else:  # through a waypoint column
            v, c = [points[k]], [Path.LINETO]
        verts += v
        codes += c
    return Path(verts, codes)


def _rounded_path(points: Sequence[tuple[float, float]], radius: float = _CORNER_IN) -> Path:
    """Orthogonal polyline through ``points`` with rounded corners."""
    verts, codes = [points[0]], [Path.MOVETO]
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
    return Path(verts, codes)


def _shorten_end(path: Path, by: float) -> Path:
    """The same path with its last (horizontal) vertex moved back by ``by``,
    so that an overlay stops short of the arrowhead."""
    verts = path.vertices.copy()
    verts[-1, 0] -= by
    return Path(verts, path.codes)


@dataclass
class _Scene:
    """Geometry of the picture, in inches."""

    boxes: dict[str, tuple[float, float, float, float]]  # node -> (x, y, w, h), y = bottom
    paths: dict[int, Path]  # edge index -> route
    ports_out: dict[tuple[str, int], tuple[float, float]]
    branches: list[tuple[float, float]]  # branch points of fanned-out signals
    width: float
    height: float


def _build_scene(graph: DiagramGraph, plan: Plan, header: float) -> _Scene:
    """Turn the abstract layout into boxes and edge routes in inches,
    leaving ``header`` inches on top for the title and legend."""
    n_back = len(plan.back)
    left_margin = 0.2 + _FEEDBACK_IN + _TRACK_IN * n_back
    lefts, widths = _column_geometry(plan, graph, left_margin)
    box_h = _BOX_HEIGHT * _ROW_IN

    def yi(rows: float) -> float:  # rows from the top -> inches, up; top item at 0
        return -rows * _ROW_IN

    boxes = {}
    for node in graph.nodes:
        c = plan.col[node.id]
        boxes[node.id] = (lefts[c], yi(plan.y[node.id]) - box_h / 2, widths[c], box_h)

    def port_in(e_dst: str, port: int) -> tuple[float, float]:
        c = plan.col[e_dst]
        return lefts[c], yi(plan.y[e_dst] + _port_offset(port, plan.n_in[e_dst]))

    def port_out(e_src: str, port: int) -> tuple[float, float]:
        c = plan.col[e_src]
        return lefts[c] + widths[c], yi(plan.y[e_src] + _port_offset(port, plan.n_out[e_src]))

    fan_out: dict[tuple[str, int], int] = defaultdict(int)
    label_w: dict[tuple[str, int], float] = {}
    for e in graph.edges:
        fan_out[(e.src, e.src_port)] += 1
        label_w.setdefault((e.src, e.src_port), _wire_label_width(e.label))

    def trunk(e_src: str, port: int) -> float:
        """Fanned-out signals branch after a straight trunk that holds their label."""
        if fan_out[(e_src, port)] == 1:
            return _STUB_IN
        return max(_TRUNK_IN, label_w[(e_src, port)] + 0.12)

    paths: dict[int, Path] = {}
    ports_out = {}
    branches = []
    for i, e in enumerate(graph.edges):
        key = (e.src, e.src_port)
        if key not in ports_out:
            ports_out[key] = port_out(*key)
            if fan_out[key] > 1:
                branches.append((ports_out[key][0] + trunk(*key), ports_out[key][1]))
        if i in plan.back:
            continue
        points = [port_out(e.src, e.src_port)]
        for w in plan.waypoints[i]:
            c = plan.col[w]
            points += [(lefts[c], yi(plan.y[w])), (lefts[c] + widths[c], yi(plan.y[w]))]
        points.append(port_in(e.dst, e.dst_port))
        paths[i] = _forward_path(points, trunk(*key))

    # Feedback lanes: shortest spans first, each lane just clear of the items
    # in the columns it spans and of the lanes already laid there (so lanes nest).
    mid = -(max(plan.y.values()) * _ROW_IN) / 2
    placed: list[tuple[int, int, float, str]] = []  # (first col, last col, lane y, side)
    tracks_out: dict[int, int] = defaultdict(int)
    tracks_in: dict[int, int] = defaultdict(int)

    def span_key(i: int) -> tuple[int, int]:
        e = graph.edges[i]
        return (abs(plan.col[e.src] - plan.col[e.dst]), i)

    for i in sorted(plan.back, key=span_key):
        e = graph.edges[i]
        start, end = port_out(e.src, e.src_port), port_in(e.dst, e.dst_port)
        c0, c1 = sorted((plan.col[e.src], plan.col[e.dst]))
        side = "below" if (start[1] + end[1]) / 2 <= mid else "above"
        sign = -1.0 if side == "below" else 1.0
        extent = [yi(plan.y[item]) + sign * box_h / 2 for c in range(c0, c1 + 1) for item in plan.columns[c]]
        extent += [lane for a, b, lane, s in placed if s == side and a <= c1 and c0 <= b]
        lane = (min(extent) if side == "below" else max(extent)) + sign * _LANE_IN
        placed.append((c0, c1, lane, side))
        x_a = start[0] + max(trunk(e.src, e.src_port), _FEEDBACK_IN) + _TRACK_IN * tracks_out[plan.col[e.src]]
        x_b = end[0] - _FEEDBACK_IN - _TRACK_IN * tracks_in[plan.col[e.dst]]
        tracks_out[plan.col[e.src]] += 1
        tracks_in[plan.col[e.dst]] += 1
        paths[i] = _rounded_path([start, (x_a, start[1]), (x_a, lane), (x_b, lane), (x_b, end[1]), end])

    # Shift so that everything lies in [0, width] x [0, height].
    xs = [b[0] for b in boxes.values()] + [b[0] + b[2] for b in boxes.values()]
    ys = [b[1] for b in boxes.values()] + [b[1] + b[3] for b in boxes.values()]
    for p in paths.values():
        xs += list(p.vertices[:, 0])
        ys += list(p.vertices[:, 1])
    x0, x1 = min(min(xs), 0.0) - 0.35, max(xs) + 0.45
    y0, y1 = min(ys) - 0.35, max(ys) + 0.3 + header
    shift = (-x0, -y0)
    boxes = {k: (x + shift[0], y + shift[1], w, h) for k, (x, y, w, h) in boxes.items()}
    paths = {k: p.transformed(Affine2D().translate(*shift)) for k, p in paths.items()}
    ports_out = {k: (x + shift[0], y + shift[1]) for k, (x, y) in ports_out.items()}
    branches = [(x + shift[0], y + shift[1]) for x, y in branches]
    return _Scene(boxes, paths, ports_out, branches, x1 - x0, y1 - y0)


# --------------------------------------------------------------------------- #
# Drawing
# --------------------------------------------------------------------------- #


def _loop_membership(graph: DiagramGraph, loops: Sequence[FeedbackLoop]) -> dict[int, list[int]]:
    """Edge index -> indices of the loops it lies on."""
    member: dict[int, list[int]] = defaultdict(list)
    for k, loop in enumerate(loops):
        for i in sorted(loop.edges):
            member[i].append(k)
    return member


def _draw_edge(ax: Any, path: Path, colours: Sequence[str]) -> None:
    """Draw one edge: grey if on no loop, else in its loops' colours."""
    if not colours:
        ax.add_patch(
            FancyArrowPatch(
                path=path,
                arrowstyle="-|>,head_length=0.45,head_width=0.22",
                mutation_scale=14,
                color=_EDGE_GREY,
                lw=1.0,
                shrinkA=0,
                shrinkB=0,
                zorder=1,
            )
        )
        return
    lw = 2.3
    ax.add_patch(
        FancyArrowPatch(
            path=path,
            arrowstyle="-|>,head_length=0.4,head_width=0.2",
            mutation_scale=18,
            color=colours[0],
            lw=lw,
            shrinkA=0,
            shrinkB=0,
            joinstyle="round",
            capstyle="butt",
            zorder=2,
        )
    )
    k = len(colours)
    dash = 4.0
    body = _shorten_end(path, 0.12)
    for j in range(1, k):
        ax.add_patch(
            PathPatch(
                body,
                fill=False,
                edgecolor=colours[j],
                lw=lw,
                linestyle=((k - j) * dash, (dash, (k - 1) * dash)),
                capstyle="butt",
                zorder=2.1,
            )
        )


def _box_style(graph: DiagramGraph, node_id: str) -> tuple[str, str]:
    """Face and text colour of a box that is not a loop's delay."""
    has_in = any(e.dst == node_id for e in graph.edges)
    has_out = any(e.src == node_id for e in graph.edges)
    node = graph.node(node_id)
    if node.is_delay:
        return "#d9d9d9", "black"
    if node.kind in ("inport", "outport"):
        return "#eeeeee", "black"
    if not has_in:
        return "#e3f1e0", "black"  # source
    if not has_out:
        return "#fdeccf", "black"  # sink
    return "white", "black"


def _draw_boxes(ax: Any, graph: DiagramGraph, scene: _Scene, delay_colour: dict[str, str]) -> None:
    for node in graph.nodes:
        x, y, w, h = scene.boxes[node.id]
        face, text = _box_style(graph, node.id)
        if node.id in delay_colour:
            face, text = delay_colour[node.id], "white"
        ax.add_patch(
            FancyBboxPatch(
                (x, y),
                w,
                h,
                boxstyle="round,pad=0,rounding_size=0.05",
                facecolor=face,
                edgecolor=_BOX_EDGE,
                lw=1.1,
                zorder=3,
            )
        )
        main, kind = _split_label(node.label)
        cx, cy = x + w / 2, y + h / 2
        centred = {"ha": "center", "va": "center", "color": text, "zorder": 4}
        if kind:
            ax.text(cx, cy + 0.07, main, fontsize=_NAME_PT, **centred)
            ax.text(cx, cy - 0.12, kind, fontsize=_KIND_PT, style="italic", **centred)
        else:
            ax.text(cx, cy, main, fontsize=_NAME_PT, **centred)


def _draw_wire_labels(ax: Any, graph: DiagramGraph, scene: _Scene) -> None:
    """Each named output port gets its wire name once, just right of the port,
    when it fits in the gap."""
    done = set()
    for e in graph.edges:
        key = (e.src, e.src_port)
        if not e.label or key in done:
            continue
        done.add(key)
        if not _wire_label_width(e.label):
            continue
        x, y = scene.ports_out[key]
        style = {"ha": "left", "va": "bottom", "fontsize": _WIRE_PT, "color": "#333333", "zorder": 5}
        ax.text(x + 0.05, y + 0.03, e.label, **style)


def _draw_legend(
    ax: Any, graph: DiagramGraph, loops: Sequence[FeedbackLoop], colours: Sequence[str], scene: _Scene
) -> None:
    """One legend entry per loop, plus one for edges on several loops."""
    handles: list[Any] = []
    labels: list[str] = []
    for loop, colour in zip(loops, colours):
        handles.append(Line2D([], [], color=colour, lw=2.3))
        n = len(loop.nodes)
        labels.append(f"loop closed by '{loop.delay}' ({n} block{'' if n == 1 else 's'})")
    member = _loop_membership(graph, loops)
    if any(len(ks) > 1 for ks in member.values()):
        ks = next(ks for _, ks in sorted(member.items()) if len(ks) > 1)
        solid = Line2D([], [], color=colours[ks[0]], lw=2.3)
        dashed = Line2D([], [], color=colours[ks[1]], lw=2.3, ls=(0, (3, 3)))
        handles.append((solid, dashed))
        labels.append("signal on several loops")
    if not handles:
        return
    ax.legend(
        handles,
        labels,
        handler_map={tuple: HandlerTuple(ndivide=1)},
        loc="upper center",
        bbox_to_anchor=(scene.width / 2, scene.height - 0.45),
        bbox_transform=ax.transData,
        ncol=min(len(handles), 3),
        frameon=False,
        fontsize=8.5,
        handlelength=3.0,
    )


def _as_graph(diagram: Any) -> DiagramGraph:
    """A DiagramGraph as is; a bdsim BlockDiagram converted."""
    if isinstance(diagram, DiagramGraph):
        return diagram
    if hasattr(diagram, "blocklist") and hasattr(diagram, "wirelist"):
        return graph_from_blockdiagram(diagram)
    raise TypeError(f"render() needs a DiagramGraph or a bdsim BlockDiagram, not {type(diagram).__name__}")


def _check_loops(graph: DiagramGraph, loops: Sequence[FeedbackLoop]) -> None:
    """Loops passed in by the caller must belong to this graph."""
    ids = {n.id for n in graph.nodes}
    for loop in loops:
        if loop.delay not in ids or not loop.nodes <= ids:
            raise ValueError(f"loop closed by {loop.delay!r} names blocks not in diagram {graph.name!r}")
        if any(not 0 <= i < len(graph.edges) for i in loop.edges):
            raise ValueError(f"loop closed by {loop.delay!r} has edge indices outside diagram {graph.name!r}")


def _draw(graph: DiagramGraph, title: str, loops: Sequence[FeedbackLoop]) -> Figure:
    """The whole picture, on a Figure of just the right size (1 data unit = 1 inch)."""
    plan = plan_layout(graph)
    scene = _build_scene(graph, plan, _TITLE_IN + (_LEGEND_IN if loops else 0.0))
    fig = Figure(figsize=(scene.width, scene.height))
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0, scene.width)
    ax.set_ylim(0, scene.height)
    ax.set_axis_off()

    colours = [to_hex(LOOP_COLOURS[k % len(LOOP_COLOURS)]) for k in range(len(loops))]
    member = _loop_membership(graph, loops)
    for i in range(len(graph.edges)):
        _draw_edge(ax, scene.paths[i], [colours[k] for k in member.get(i, [])])
    delay_colour = {loop.delay: colours[k] for k, loop in enumerate(loops)}
    _draw_boxes(ax, graph, scene, delay_colour)
    _draw_wire_labels(ax, graph, scene)
    for x, y in scene.branches:
        ax.add_patch(Circle((x, y), 0.03, color="black", zorder=5))
    ax.text(scene.width / 2, scene.height - 0.22, title, ha="center", va="top", fontsize=12, weight="bold")
    _draw_legend(ax, graph, loops, colours, scene)
    return fig


def render(
    diagram: Any,
    path: str | pathlib.Path,
    *,
    title: str | None = None,
    formats: Iterable[str] = ("svg", "png"),
    loops: Sequence[FeedbackLoop] | None = None,
    dpi: float = 150,
) -> list[pathlib.Path]:
    """Draw a block diagram to image files.

    Parameters
    ----------
    diagram : DiagramGraph or bdsim.BlockDiagram
        What to draw; a BlockDiagram is converted with
        :func:`~lstmds_sim.drawing.graph.graph_from_blockdiagram`.
    path : str or pathlib.Path
        Path stem: ``"out/lstm"`` writes ``out/lstm.svg`` and
        ``out/lstm.png``; an image suffix (``"out/lstm.png"``) is dropped.
        The parent directory is created.
    title : str, optional
        Title drawn on top; defaults to the diagram's name.
    formats : iterable of str
        File extensions to write (any format matplotlib can save).
    loops : sequence of FeedbackLoop, optional
        Loops to colour; defaults to ``find_feedback_loops(graph)``.  Pass
        ``[]`` for a picture without loop colours.
    dpi : float
        Resolution of raster formats.

    Returns
    -------
    list of pathlib.Path
        The files written, in the order of ``formats``.

    Raises
    ------
    ValueError
        If the diagram has no blocks, or no or an unknown format is asked for.
    TypeError
        If ``diagram`` is neither a DiagramGraph nor a BlockDiagram.

    Notes
    -----
    The output is deterministic: the same diagram gives byte-identical SVG
    (fixed ``svg.hashsalt``, no date) and PNG files.
    """
    graph = _as_graph(diagram)
    if not graph.nodes:
        raise ValueError(f"cannot render diagram {graph.name!r}: it is empty (no blocks)")
    formats = [f.lower().lstrip(".") for f in formats]
    if not formats:
        raise ValueError("render() needs at least one output format, e.g. formats=('svg', 'png')")
    supported = FigureCanvasAgg(Figure()).get_supported_filetypes()
    unknown = [f for f in formats if f not in supported]
    if unknown:
        raise ValueError(f"unknown image format(s) {unknown}; matplotlib can write {sorted(supported)}")
    if loops is None:
        loops = find_feedback_loops(graph)
    _check_loops(graph, loops)

    stem = pathlib.Path(path)
    if stem.suffix.lstrip(".").lower() in supported:  # "out/lstm.svg" -> "out/lstm"
        stem = stem.with_suffix("")
    stem.parent.mkdir(parents=True, exist_ok=True)
    written = []
    with matplotlib.rc_context(_RC):
        fig = _draw(graph, graph.name if title is None else title, loops)
        for fmt in formats:
            target = stem.with_name(f"{stem.name}.{fmt}")
            fig.savefig(target, format=fmt, dpi=dpi, metadata=_NO_DATE.get(fmt), facecolor="white")
            written.append(target)
    return written
