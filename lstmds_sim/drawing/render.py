"""Draw a block diagram left to right, like a Simulink model.

Blocks are placed by :func:`lstmds_sim.drawing.layout.plan_layout` (layered
graph drawing: feedback wires set aside, columns, waypoints, ordering, rows)
and measured out in inches by :func:`lstmds_sim.drawing.scene.build_scene`
(column widths, strips, subsystem frames, feedback lanes); :func:`render`
draws the result with matplotlib (no graphviz, no display needed).

How loops are coloured.  Every feedback loop found by
:func:`~lstmds_sim.drawing.graph.find_feedback_loops` gets the colour of what
it *means* (:func:`~lstmds_sim.drawing.graph.loop_role`), the same in every
picture: an LSTM's cell-state (inner) loop is blue, its hidden-state (outer)
loop vermillion, a linear system's state purple, the pH tank's level green
and its reaction invariants ochre (a loop is an LSTM's inner or outer loop
when its delay is a layer's cell-state or hidden-state delay, as the layer's
record says, :func:`~lstmds_sim.core.diagram.lstm_layers`; the block's name
does not matter).  Loops of the same meaning in different
layers (``lstm1``, ``lstm2``) get lighter shades of that colour, in the
order of their subsystems.  Only a loop's *wires* and its *delay* are
coloured: the delay box is filled, the wires are drawn thick, and a wire on
two loops is drawn in both colours, one inside the other.  Every other
block stays white, so that a loop's path is what stands out; a block on
several loops (an LSTM's ``f*c`` and ``sum c``) carries a thin tab of each
loop's colour along its lower edge.

Subsystems are framed and named, and their blocks show the subsystem's
prefix (``lstm1/Wo``).  Wires keep their signal names.  A summing block
shows the sign of each input (``+``, ``−``) at its port, as in Simulink,
so that a balance (``A dh/dt = q_in − q4``) can be read off the picture.

Readable at screen size.  A picture is meant to be read whole, fitted into
a screen (:data:`SCREEN_PX`): a large diagram gets its text (and lines and
arrowheads) larger relative to its geometry, up to :data:`MAX_TEXT_SCALE`
times, until its wire labels are :data:`READABLE_PX` high when fitted, and
is drawn that many times smaller (:func:`readable_scene`).
"""

from __future__ import annotations

import io
import math
import pathlib
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex, to_rgb
from matplotlib.figure import Figure
from matplotlib.legend_handler import HandlerTuple
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, PathPatch, Rectangle
from matplotlib.path import Path

from ..core.atomic import write_file
from .graph import (
    INNER,
    MEANINGS,
    OUTER,
    DiagramGraph,
    FeedbackLoop,
    find_feedback_loops,
    graph_from_blockdiagram,
    loop_role,
    state_role,
)
from .layout import layout, plan_layout
from .scene import _SIGN_IN, FRAME_PT, KIND_PT, NAME_PT, SIGN_PT, WIRE_PT, Scene, build_scene, display_name

__all__ = ["LOOP_COLOURS", "LOOP_SCHEME", "MAX_TEXT_SCALE", "READABLE_PX", "SCREEN_PX", "fitted_text_px", "layout",
           "loop_colours", "readable_scene", "render"]

#: The colour of each loop meaning (see :data:`lstmds_sim.drawing.graph.MEANINGS`).
LOOP_SCHEME: dict[str, str] = {
    INNER: "#1f5fa8",  # blue: an LSTM's inner loop (its cell state)
    OUTER: "#d4541a",  # vermillion: an LSTM's outer loop (its hidden state)
    "linear state": "#7b3fa0",  # purple: a linear system's state
    "tank level": "#238a48",  # green: the pH tank's level h
    "reaction invariant": "#b8860b",  # ochre: the pH tank's Wa4, Wb4
    "integrator": "#138a8a",  # teal: any other integrator
    "state": "#c0397f",  # magenta: any other delay
}

#: The base colours of :data:`LOOP_SCHEME`, in the order of the meanings (kept for callers of old).
LOOP_COLOURS: tuple[str, ...] = tuple(LOOP_SCHEME.values())

#: How far toward white the k-th loop of one meaning is mixed (layer 1, layer 2, ...).
_SHADES = (0.0, 0.45, 0.65, 0.78)

#: What a legend says about a loop of each meaning.
_WHAT = {
    INNER: "inner loop: cell state c",
    OUTER: "outer loop: hidden state h",
    "linear state": "linear system state x",
    "tank level": "tank level h",
    "reaction invariant": "reaction invariant {name}",
    "integrator": "integrator {name}",
    "state": "state {name}",
}

_TITLE_PT = 15.0
_LEGEND_PT = 10.5
_TITLE_IN = 0.55  # room for the title
_LEGEND_ROW_IN = 0.27  # room for one row of the legend
_EDGE_GREY = "#4a4a4a"
_BOX_EDGE = "#303030"
_LOOP_LW = 2.4  # a loop's wire
_CASE_LW = 2.8  # each further loop on the same wire adds this much casing
_TAB_IN = 0.045  # height of a loop's tab under a block
_LABEL_BOX = {"boxstyle": "square,pad=0.06", "facecolor": "white", "edgecolor": "none", "alpha": 0.8}
_SIGNS = {"+": "+", "-": "\N{MINUS SIGN}"}

#: The screen a picture is meant to be read on, whole (width, height in pixels), ...
SCREEN_PX = (1600, 1000)
#: ... how high its wire labels should then be, in pixels, ...
READABLE_PX = 8.5
#: ... and how much larger than nominal, relative to the geometry, its text may be drawn to get there.
MAX_TEXT_SCALE = 2.5

# Same input, same bytes: fixed SVG ids, text kept as text (searchable,
# smaller), and no time stamps or version strings in the files.
_RC = {"svg.hashsalt": "lstmds-sim", "svg.fonttype": "none", "font.family": "DejaVu Sans"}
_NO_DATE = {"svg": {"Date": None}, "pdf": {"CreationDate": None}, "png": {"Software": None}}


# --------------------------------------------------------------------------- #
# Colours
# --------------------------------------------------------------------------- #


def _shade(colour: str, k: int) -> str:
    """The k-th shade of ``colour``: mixed toward white, further for larger k."""
    t = _SHADES[k % len(_SHADES)]
    return to_hex(tuple(c + (1.0 - c) * t for c in to_rgb(colour)))


def loop_colours(graph: DiagramGraph, loops: Sequence[FeedbackLoop]) -> list[str]:
    """The colour of each loop, by its meaning (:data:`LOOP_SCHEME`).

    Loops of one meaning are numbered by (subsystem, block name) -- ``lstm1``
    before ``lstm2``, ``Wa4`` before ``Wb4`` -- and the k-th gets the k-th
    shade; so a one-layer LSTM's cell state, the first layer's cell state of
    a stack and the cell state of the LSTM beside the pH tank all get the
    same blue.
    """
    roles = [loop_role(graph, loop) for loop in loops]
    seen: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for role in roles:
        seen[role.meaning].add((role.layer, role.name))
    rank = {meaning: sorted(found) for meaning, found in seen.items()}
    return [_shade(LOOP_SCHEME[r.meaning], rank[r.meaning].index((r.layer, r.name))) for r in roles]


def _role_order(graph: DiagramGraph, loop: FeedbackLoop) -> tuple[int, str, str, str]:
    """Loops in the order of their meanings, then subsystems, then names."""
    role = loop_role(graph, loop)
    return (MEANINGS.index(role.meaning), role.layer, role.name, loop.delay)


def _inner_states(graph: DiagramGraph, loops: Sequence[FeedbackLoop]) -> dict[str, str]:
    """Blocks that hold a whole linear system (its loop inside them), with their colour."""
    closing = {loop.delay for loop in loops}
    found = sorted(
        n.id for n in graph.nodes if n.is_delay and n.id not in closing and state_role(graph, n.id).meaning == "linear state"
    )
    return {node_id: _shade(LOOP_SCHEME["linear state"], k) for k, node_id in enumerate(found)}


def _slug(text: str, used: set[str]) -> str:
    """An SVG id made from ``text`` (letters, digits and dashes), unique among ``used``."""
    base = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-") or "x"
    slug, n = base, 1
    while slug in used:
        n += 1
        slug = f"{base}-{n}"
    used.add(slug)
    return slug


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


def _shorten_end(path: Path, by: float) -> Path:
    """The same path with its last (horizontal) vertex moved back by ``by``,
    so that a casing stops short of the arrowhead."""
    verts = path.vertices.copy()
    verts[-1, 0] -= by
    return Path(verts, path.codes)


def _draw_edge(ax: Any, path: Path, colours: Sequence[str], scale: float = 1.0) -> None:
    """Draw one wire: thin grey if on no loop; else thick in its loop's
    colour, each further loop adding a casing of its colour around it
    (``scale``: the scene's text scale, which the arrowheads follow)."""
    if not colours:
        ax.add_patch(
            FancyArrowPatch(
                path=path,
                arrowstyle="-|>,head_length=0.45,head_width=0.22",
                mutation_scale=15,
                color=_EDGE_GREY,
                lw=1.15,
                shrinkA=0,
                shrinkB=0,
                zorder=1,
            )
        )
        return
    k = len(colours)
    body = _shorten_end(path, 0.14 * scale)
    for j in range(k - 1):  # casings, widest first
        ax.add_patch(
            PathPatch(
                body,
                fill=False,
                edgecolor=colours[j],
                lw=_LOOP_LW + _CASE_LW * (k - 1 - j),
                capstyle="butt",
                joinstyle="round",
                zorder=2 + 0.01 * j,
            )
        )
    ax.add_patch(
        FancyArrowPatch(
            path=path,
            arrowstyle="-|>,head_length=0.4,head_width=0.2",
            mutation_scale=19,
            color=colours[-1],
            lw=_LOOP_LW,
            shrinkA=0,
            shrinkB=0,
            joinstyle="round",
            capstyle="butt",
            zorder=2.1,
        )
    )


def _box_style(graph: DiagramGraph, node_id: str) -> str:
    """Face colour of a box that is not a loop's delay."""
    has_in = any(e.dst == node_id for e in graph.edges)
    has_out = any(e.src == node_id for e in graph.edges)
    node = graph.node(node_id)
    if node.is_delay:
        return "#d9d9d9"
    if node.kind in ("inport", "outport"):
        return "#eeeeee"
    if not has_in:
        return "#e3f1e0"  # source
    if not has_out:
        return "#fdeccf"  # sink
    return "white"


def _draw_boxes(
    ax: Any,
    graph: DiagramGraph,
    scene: Scene,
    filled: dict[str, str],
    tabs: dict[str, list[str]],
    n_in: dict[str, int] | None = None,
) -> None:
    """The blocks: ``filled`` boxes (states) in their loop's colour, ``tabs``
    (the colours of the loops through a block) along their lower edge, and a
    summing block's signs at its input ports (``n_in``: the ports the layout
    placed, per block)."""
    used: set[str] = set()
    s = scene.text_scale
    for node in graph.nodes:
        x, y, w, h = scene.boxes[node.id]
        face, text = _box_style(graph, node.id), "black"
        if node.id in filled:
            face = filled[node.id]
            r, g, b = to_rgb(face)
            text = "white" if 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.55 else "black"  # legible on light shades
        box = FancyBboxPatch(
            (x, y),
            w,
            h,
            boxstyle="round,pad=0,rounding_size=0.05",
            facecolor=face,
            edgecolor=_BOX_EDGE,
            lw=1.1,
            zorder=3,
        )
        slug = _slug(node.id, used)
        box.set_gid("block-" + slug)
        ax.add_patch(box)
        colours = tabs.get(node.id, [])
        inset = 0.07
        left = inset + (_SIGN_IN * s if node.signs else 0.0)  # clear of a summing block's signs
        for j, colour in enumerate(colours):
            tab_w = (w - left - inset) / len(colours)
            tab = Rectangle((x + left + j * tab_w, y + 0.025 * s), tab_w, _TAB_IN * s, facecolor=colour, lw=0,
                            zorder=3.5)
            tab.set_gid(f"tab-{slug}-{j}")
            ax.add_patch(tab)
        main, kind = display_name(graph, node.id)
        cx, cy = x + w / 2, y + h / 2 + (0.02 * s if colours else 0.0)
        centred = {"ha": "center", "va": "center", "color": text, "zorder": 4}
        if kind:
            ax.text(cx, cy + 0.085 * s, main, fontsize=NAME_PT, **centred)
            ax.text(cx, cy - 0.11 * s, kind, fontsize=KIND_PT, style="italic", **centred)
        else:
            ax.text(cx, cy, main, fontsize=NAME_PT, **centred)
        ports = (n_in or {}).get(node.id, len(node.signs))
        if node.signs:  # at most as high as the ports are apart (the picture is s times smaller than the scene)
            size = min(SIGN_PT, 0.9 * 72 * (scene.port_offset(0, ports) - scene.port_offset(1, ports)) / s)
        for port, sign in enumerate(node.signs[:ports]):  # a SUM's signs, inside its left edge, at each input
            sign_y = y + h / 2 + scene.port_offset(port, ports)
            mark = ax.text(x + 0.05 * s, sign_y, _SIGNS[sign], fontsize=size, weight="bold", ha="left",
                           va="center", color=text, zorder=4)
            mark.set_gid(f"sign-{slug}-{port}")


def _draw_frames(ax: Any, scene: Scene) -> None:
    """A labelled frame around each subsystem's blocks."""
    used: set[str] = set()
    s = scene.text_scale
    for f in scene.frames:
        frame = FancyBboxPatch(
            (f.x, f.y),
            f.w,
            f.h,
            boxstyle="round,pad=0,rounding_size=0.12",
            facecolor="#f3f5f9",
            edgecolor="#6b7a90",
            lw=1.4,
            linestyle=(0, (6, 3)),
            zorder=0.5,
        )
        frame.set_gid("subsystem-" + _slug(f.name, used))
        ax.add_patch(frame)
        ax.text(f.x + 0.14 * s, f.y + f.h - 0.07 * s, f"{f.name}  (subsystem)", ha="left", va="top", fontsize=FRAME_PT,
                weight="bold", color="#3d4a5c", zorder=0.6)


def _draw_wire_labels(ax: Any, graph: DiagramGraph, scene: Scene) -> None:
    """Each named output port gets its wire name once, just right of the
    port: above the wire, or under it where the wire curves up."""
    done = set()
    s = scene.text_scale
    for e in graph.edges:
        key = (e.src, e.src_port)
        if not e.label or key in done:
            continue
        done.add(key)
        x, y = scene.ports_out[key]
        below = key in scene.labels_below
        ax.text(
            x + 0.06 * s,
            y - 0.045 * s if below else y + 0.04 * s,
            e.label,
            ha="left",
            va="top" if below else "bottom",
            fontsize=WIRE_PT,
            color="#1a1a1a",
            zorder=5,
            bbox=_LABEL_BOX,  # a light backing, so a wire passing behind does not cross out the name
        )


def _legend_entries(
    graph: DiagramGraph, loops: Sequence[FeedbackLoop], colours: Sequence[str], inner: dict[str, str]
) -> tuple[list[Any], list[str]]:
    """One entry per loop (by meaning), one per block holding a linear
    system, and keys for cased wires and the tabs of blocks on several loops."""
    handles: list[Any] = []
    labels: list[str] = []
    for loop, colour in zip(loops, colours):
        role = loop_role(graph, loop)
        n = len(loop.nodes)
        handles.append(Line2D([], [], color=colour, lw=_LOOP_LW + 0.4))
        what = _WHAT[role.meaning].format(name=role.name)
        labels.append(f"{what} \N{EM DASH} loop closed by '{loop.delay}' ({n} block{'' if n == 1 else 's'})")
    for node_id, colour in inner.items():
        handles.append(Rectangle((0, 0), 1, 1, facecolor=colour, edgecolor=_BOX_EDGE))
        labels.append(f"{_WHAT['linear state']}: its loop is inside '{node_id}' ({graph.node(node_id).kind})")
    member = _loop_membership(graph, loops)
    shared = [ks for _, ks in sorted(member.items()) if len(ks) > 1]
    if shared:
        ks = shared[0]
        casing = Line2D([], [], color=colours[ks[0]], lw=_LOOP_LW + _CASE_LW, solid_capstyle="butt")
        core = Line2D([], [], color=colours[ks[1]], lw=_LOOP_LW, solid_capstyle="butt")
        handles.append((casing, core))
        labels.append("a wire on two loops (one colour inside the other)")
        handles.append(
            _SideBySide(
                (
                    Rectangle((0, 0), 1, 0.35, facecolor=colours[ks[0]], lw=0),
                    Rectangle((0, 0), 1, 0.35, facecolor=colours[ks[1]], lw=0),
                )
            )
        )
        labels.append("tabs under a block: it lies on several loops")
    return handles, labels


class _SideBySide(tuple):
    """Legend handles drawn next to each other (a plain tuple draws them on top of each other)."""


def _legend_layout(n: int) -> tuple[int, int]:
    """Columns and rows of a legend of ``n`` entries."""
    ncol = 1 if n <= 1 else 2
    return ncol, math.ceil(n / ncol)


def _draw_legend(ax: Any, handles: list[Any], labels: list[str], scene: Scene) -> None:
    if not handles:
        return
    ncol, _ = _legend_layout(len(handles))
    ax.legend(
        handles,
        labels,
        handler_map={tuple: HandlerTuple(ndivide=1), _SideBySide: HandlerTuple(ndivide=None, pad=0.0)},
        loc="upper center",
        bbox_to_anchor=(scene.width / 2, scene.height - (_TITLE_IN - 0.05) * scene.text_scale),
        bbox_transform=ax.transData,
        ncol=ncol,
        frameon=False,
        fontsize=_LEGEND_PT,
        handlelength=3.0,
        columnspacing=2.0,
        borderaxespad=0.0,
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


def fitted_text_px(width_in: float, height_in: float, size_pt: float = WIRE_PT) -> float:
    """How many pixels high text of ``size_pt`` points is when a picture ``width_in`` x ``height_in``
    inches is fitted into :data:`SCREEN_PX`."""
    return size_pt / 72 * min(SCREEN_PX[0] / width_in, SCREEN_PX[1] / height_in)


def readable_scene(graph: DiagramGraph, plan: Any, header_in: float) -> Scene:
    """The scene of ``graph`` at the smallest text scale (1 to :data:`MAX_TEXT_SCALE`) at which its
    picture, drawn ``text_scale`` times smaller than the scene, shows its wire labels at least
    :data:`READABLE_PX` high when fitted into :data:`SCREEN_PX` (a few fixed steps: deterministic).
    ``header_in``: the room for the title and legend at scale 1."""
    scale = 1.0
    for _ in range(5):
        scene = build_scene(graph, plan, header_in * scale, text_scale=scale)
        px = fitted_text_px(scene.width / scale, scene.height / scale)
        if px >= 0.98 * READABLE_PX or scale >= MAX_TEXT_SCALE:
            break
        scale = min(MAX_TEXT_SCALE, round(scale * READABLE_PX / px * 1.03, 3))
    return scene


def _draw(graph: DiagramGraph, title: str, loops: Sequence[FeedbackLoop]) -> Figure:
    """The whole picture, on a Figure of just the right size (1 data unit = 1 inch of the scene; the
    figure is the scene's text scale times smaller, see :func:`readable_scene`)."""
    loops = sorted(loops, key=lambda loop: _role_order(graph, loop))  # the picture does not depend on their order
    colours = loop_colours(graph, loops)
    inner = _inner_states(graph, loops)
    handles, labels = _legend_entries(graph, loops, colours, inner)
    _, rows = _legend_layout(len(handles))
    plan = plan_layout(graph)
    scene = readable_scene(graph, plan, _TITLE_IN + (_LEGEND_ROW_IN * rows + 0.2 if handles else 0.0))
    s = scene.text_scale
    fig = Figure(figsize=(scene.width / s, scene.height / s))
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0, scene.width)
    ax.set_ylim(0, scene.height)
    ax.set_axis_off()

    _draw_frames(ax, scene)
    member = _loop_membership(graph, loops)
    for i in range(len(graph.edges)):
        _draw_edge(ax, scene.paths[i], [colours[k] for k in member.get(i, [])], s)
    filled = {loop.delay: colours[k] for k, loop in enumerate(loops)} | inner
    tabs: dict[str, list[str]] = defaultdict(list)  # blocks on several loops: one tab per loop
    for k, loop in enumerate(loops):
        for node_id in sorted(loop.nodes - {loop.delay}):
            tabs[node_id].append(colours[k])
    tabs = {node_id: cs for node_id, cs in tabs.items() if len(cs) > 1}
    _draw_boxes(ax, graph, scene, filled, tabs, plan.n_in)
    _draw_wire_labels(ax, graph, scene)
    for x, y in scene.branches:
        ax.add_patch(Circle((x, y), 0.035 * s, color="black", zorder=5))
    ax.text(scene.width / 2, scene.height - 0.18 * s, title, ha="center", va="top", fontsize=_TITLE_PT, weight="bold")
    _draw_legend(ax, handles, labels, scene)
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
    written = []
    with matplotlib.rc_context(_RC):
        fig = _draw(graph, graph.name if title is None else title, loops)
        for fmt in formats:
            target = stem.with_name(f"{stem.name}.{fmt}")
            buffer = io.BytesIO()
            fig.savefig(buffer, format=fmt, dpi=dpi, metadata=_NO_DATE.get(fmt), facecolor="white")
            written.append(write_file(target, buffer.getbuffer(), overwrite=True))  # all at once
    return written
