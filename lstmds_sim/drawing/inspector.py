"""The signal inspector: a run of a block diagram as one self-contained, interactive HTML page.

:func:`inspect` takes a diagram and its run (``lstmds_sim.run(bd, probes=["*"])``)
and returns an :class:`Inspector`, which shows inline in Jupyter and saves one
HTML file that works offline (BokehJS, the data and the script are all inside
it; no server, no CDN). On the page:

* the diagram, drawn as :func:`~lstmds_sim.drawing.render.render` draws it,
  each feedback loop in its own colour (a checkbox per loop shows or hides it);
* every wire is clickable and carries ``data-signal="<name>"`` with the name
  :func:`~lstmds_sim.core.engine.signal_names` gives its signal (``c``,
  ``z_f``, ``lstm2/h``); a click plots that signal over time (every component;
  for a batched run, the sequence chosen in a selector), a click on a block
  plots its output;
* a time slider scrubs the step k: the value badge of every wire, the table of
  values and the cursor in the plot follow it;
* each loop of an LSTM layer carries its Theorem 4 quantity (Bonassi et al.,
  L4DC 2020) from :func:`~lstmds_sim.safety.iss.iss_check`: the inner
  (cell-state) loop ``(1 + sigma_o) sigma_f``, the outer (hidden-state) loop
  ``(1 + sigma_o) sigma_i ||U_c||_1``, whether it is below 1, and the margin;
* subsystems (blocks named ``prefix/...``, e.g. stacked layers ``lstm1/``,
  ``lstm2/``) can be opened or collapsed; a collapsed layer shows its gains;
* long runs are decimated to fit a budget of stored values (every s-th step,
  with the min-max of the steps between as a band) and batched runs keep their
  first sequences; the page says so.

The diagram is SVG (:mod:`.inspector_svg`), the plot a Bokeh figure, the glue a
small script (:mod:`.inspector_web`). Bokeh is the optional extra ``inspect``
and is imported only when a page is built.
"""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from .graph import DiagramGraph, Edge, FeedbackLoop, Node, find_feedback_loops, graph_from_blockdiagram

__all__ = ["MAX_LINES", "MAX_SEQUENCES", "MAX_VALUES", "PLACEHOLDER_ATTR", "Inspector", "LayerCheck", "inspect",
           "layer_checks"]

#: Default budget of float64 values stored in a page (8 MB of data, about 11 MB as base64).
MAX_VALUES = 1_000_000
#: Default number of sequences of a batched run kept in a page.
MAX_SEQUENCES = 16
#: Components drawn at once in the plot.
MAX_LINES = 10
#: Subsystems up to this number get every open/collapsed combination as a view (2**n layouts).
_MAX_COMBINED_GROUPS = 4
#: A view opens with at most this many blocks drawn (more would be too small to read when fitted).
_OPEN_BY_DEFAULT = 64

#: The height in px that the page's default zoom gives the smallest text of a block, at least.
LEGIBLE_PX = 11.5
#: The attribute of a diagram whose builder drew a stand-in network: a sentence saying so (the page shows it).
PLACEHOLDER_ATTR = "lstmds_placeholder"

_INSTALL = "pip install 'lstmds-sim[inspect]'"
ITEM_GAP = "\u2003"  # between the loops listed in a collapsed subsystem's box
_YES, _NO = "\u2713", "\u2717"


# --------------------------------------------------------------------------- #
# LSTM layers in a diagram and their Theorem 4 check
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class LayerCheck:
    """One LSTM layer of a diagram, and Theorem 4 for it.

    Attributes
    ----------
    layer : LSTMLayer
        The layer's record (:func:`~lstmds_sim.core.diagram.lstm_layers`): its weights and its blocks.
    input_bound : float
        The bound on ``|u|_inf`` the gate bounds were computed for: 1 (normalised
        inputs, the paper's assumption) for a layer fed from outside, and for a
        layer fed by another layer what that layer can emit (1 for its hidden
        state, ``||[F bF]||_inf`` through its output layer).
    report : ISSReport
        :func:`~lstmds_sim.safety.iss.iss_check` for the layer.
    """

    layer: Any
    input_bound: float
    report: Any
    weights: Any = None

    @property
    def params(self):
        """The layer's weights (LSTMParams): as it was drawn with them, or those checked in their place
        (``layer_checks(..., weights=...)``: a live page's sliders)."""
        return self.layer.params if self.weights is None else self.weights

    @property
    def name(self) -> str:
        """Where the layer lies (``"lstm2"``; ``""`` at the top level), read from its blocks' names."""
        return self.layer.path

    @property
    def prefix(self) -> str:
        """:attr:`name` as a prefix of its blocks' and signals' names (``"lstm2/"``, ``""``)."""
        return self.name + "/" if self.name else ""

    @property
    def inner(self) -> str:
        """The name of the delay that closes the inner (cell-state) loop."""
        return str(self.layer.cell.name)

    @property
    def outer(self) -> str:
        """The name of the delay that closes the outer (hidden-state) loop."""
        return str(self.layer.hidden.name)


def _source_through_ports(graph: DiagramGraph, node: str) -> str:
    """The block that really feeds ``node``: follows INPORT/OUTPORT pass-through blocks upstream."""
    kinds = {n.id: n.kind for n in graph.nodes}
    seen = set()
    while kinds.get(node) in ("inport", "outport") and node not in seen:
        seen.add(node)
        feeding = [e.src for e in graph.edges if e.dst == node]
        if not feeding:
            break
        node = feeding[0]
    return node


def _feeding(graph: DiagramGraph, block) -> str | None:
    """The name of the block that really feeds input 0 of ``block`` (through any subsystem ports)."""
    name = str(block.name)
    into = [e.src for e in graph.edges if e.dst == name and e.dst_port == 0]
    return _source_through_ports(graph, into[0]) if into else None


def _emitted_bound(params) -> float:
    """A bound on ``|y|_inf`` of what a layer emits: 1 for its hidden state, ``||[F bF]||_inf`` through F."""
    F, bF = params.F, params.bF
    if F is None:
        return 1.0  # its output is its hidden state, which lies in (-1, 1)
    return float((np.abs(F).sum(axis=1) + np.abs(bF)).max())


def layer_checks(bd, graph: DiagramGraph | None = None, *, input_bound: float = 1.0,
                 weights: Sequence | None = None) -> list[LayerCheck]:
    """The LSTM layers of a diagram (:func:`~lstmds_sim.core.diagram.lstm_layers`), with Theorem 4.

    Each layer's weights and blocks come from its record, whatever its blocks
    are named. A layer fed by another layer is checked for the inputs that
    layer can emit (Remark 6 of the paper,
    :func:`~lstmds_sim.safety.iss.layer_input_bounds`): 1 from its hidden state,
    ``||[F bF]||_inf`` from its output layer; any other layer for
    ``|u|_inf <= input_bound``. ``weights``: one LSTMParams per layer (in
    ``lstm_layers`` order, None to keep a layer's own) checked in place of the
    weights the layers were drawn with (a live page's sliders move them).
    """
    from ..core.diagram import lstm_layers
    from ..safety.iss import iss_check

    graph = graph or graph_from_blockdiagram(bd)
    found = lstm_layers(bd)
    given = list(weights) if weights is not None else [None] * len(found)
    if len(given) != len(found):
        raise ValueError(f"layer_checks(): {len(given)} weights given for the diagram's {len(found)} LSTM layers")
    params = [layer.params if w is None else w for layer, w in zip(found, given)]
    checks = []
    for layer, p, w in zip(found, params, given):
        rho = float(input_bound)
        feeder = _feeding(graph, layer.inputs[0])
        for other, other_p in zip(found, params):
            if other is not layer and feeder in {str(b.name) for b in other.blocks}:
                hidden = feeder in (str(other.emit.name), str(other.hidden.name))
                rho = 1.0 if hidden else _emitted_bound(other_p)
        checks.append(LayerCheck(layer, rho, iss_check(p, input_bound=rho), w))
    return checks


# --------------------------------------------------------------------------- #
# wires and their signals
# --------------------------------------------------------------------------- #


def _prefixed(node_id: str, label: str, paths: Sequence[str] | None = None) -> str:
    """``label`` with the prefix of block ``node_id``: its name up to the last "/", or, given ``paths``
    (the diagram's real subsystem and layer prefixes), the longest of them that the name starts with."""
    if paths is None:
        prefix = node_id.rpartition("/")[0]
    else:
        prefix = max((p for p in paths if node_id.startswith(p + "/")), key=len, default="")
    return f"{prefix}/{label}" if prefix else label


def _edge_signals(bd, graph: DiagramGraph, layers: Sequence[LayerCheck] = ()
                  ) -> tuple[list[str | None], dict[str, tuple[str, int]]]:
    """The signal each wire carries, named as :func:`~lstmds_sim.core.engine.signal_names` names it.

    A wire named ``c`` between blocks of ``lstm2/`` carries ``lstm2/c`` (the name
    as its destination sees it, then as its source does); an unnamed wire carries
    its source block's output (``"name"`` or ``"name[1]"``). A ``"/"`` in a block's
    own name is no prefix: the wire ``q3 - mean`` into the block ``1/u_scale`` is
    ``q3 - mean`` (a prefix is a subsystem's path or an LSTM layer's).
    """
    from ..core.engine import signal_names

    names = {n: (str(b.name), int(p)) for n, (b, p) in signal_names(bd).items()}
    paths = {n.subsystem for n in graph.nodes if n.subsystem} | {layer.name for layer in layers if layer.name}
    out: list[str | None] = []
    for e in graph.edges:
        candidates = []
        if e.label:
            candidates += [_prefixed(e.dst, e.label, paths), _prefixed(e.src, e.label, paths),
                           _prefixed(e.dst, e.label), _prefixed(e.src, e.label)]
        candidates.append(e.src if e.src_port == 0 else f"{e.src}[{e.src_port}]")
        out.append(next((c for c in candidates if c in names and names[c] == (e.src, e.src_port)),
                        next((c for c in candidates if c in names), None)))
    return out, names


def _as_steps(value, n_steps: int) -> np.ndarray | None:
    """A recorded signal as (sequences, steps, components); None if it does not span the run."""
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 1:
        arr = arr[None, :, None]
    elif arr.ndim == 2:
        arr = arr[None]
    elif arr.ndim >= 3:
        arr = arr.reshape(arr.shape[0], arr.shape[1], -1)
    if arr.ndim != 3 or arr.shape[1] != n_steps or arr.shape[2] == 0:
        return None
    return arr


def _b64(values: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(values, dtype="<f8").tobytes()).decode("ascii")


@dataclass
class _Port:
    """One distinct signal (a block's output port) and what the page stores of it."""

    key: tuple[str, int]
    names: list[str]
    values: np.ndarray | None  # (sequences or 1, steps, components)

    @property
    def shared(self) -> bool:  # one row for every sequence of a batched run
        return self.values is not None and self.values.shape[0] == 1

    @property
    def constant(self) -> bool:
        v = self.values
        return v is not None and bool(np.all(v == v[:, :1, :]))


def _collect_ports(edge_signal, names, result, n_steps: int, max_sequences: int) -> tuple[list[_Port], int]:
    """The distinct signals on the wires, their recorded values and the number of sequences of the run."""
    recorded = dict(result.signals)
    ports: dict[tuple[str, int], _Port] = {}
    for name in edge_signal:
        if name is None or names[name] in ports:
            continue
        key = names[name]
        aliases = [name] + sorted(n for n, k in names.items() if k == key and n != name)
        found = next((a for a in aliases if a in recorded), None)
        values = _as_steps(recorded[found], n_steps) if found is not None else None
        ports[key] = _Port(key, aliases, values)
    batch = max((p.values.shape[0] for p in ports.values() if p.values is not None), default=1)
    batched = any(np.ndim(v) == 3 for v in recorded.values())
    for p in ports.values():
        if p.values is not None:
            p.values = p.values[:max_sequences]
    return list(ports.values()), (batch if batched else 0)


def _stride(ports: Sequence[_Port], n_steps: int, max_values: int) -> int:
    """Smallest step stride s such that the stored values fit ``max_values`` (x3 once decimated: min and max)."""
    per_step = sum(p.values.shape[0] * p.values.shape[2] for p in ports if p.values is not None and not p.constant)
    if per_step * n_steps <= max_values:
        return 1
    kept = max(2, max_values // max(3 * per_step, 1))
    return max(2, math.ceil(n_steps / kept))


def _port_record(p: _Port, stride: int, n_steps: int) -> dict:
    if p.values is None:
        return {"names": p.names, "n": 0, "nb": 0, "nk": 0, "shared": True, "const": True, "absmax": 0.0,
                "data": None, "lo": None, "hi": None}
    v = p.values
    const = p.constant
    record = {"names": p.names, "n": int(v.shape[2]), "nb": int(v.shape[0]), "shared": p.shared, "const": const}
    finite = np.abs(v[np.isfinite(v)])
    record["absmax"] = float(finite.max()) if finite.size else 0.0
    if const:
        record.update(nk=1, data=_b64(v[:, :1, :]), lo=None, hi=None)
    elif stride == 1:
        record.update(nk=n_steps, data=_b64(v), lo=None, hi=None)
    else:
        idx = np.arange(0, n_steps, stride)
        record.update(nk=len(idx), data=_b64(v[:, idx, :]), lo=_b64(np.minimum.reduceat(v, idx, axis=1)),
                      hi=_b64(np.maximum.reduceat(v, idx, axis=1)))
    return record


# --------------------------------------------------------------------------- #
# views: subsystems open or collapsed
# --------------------------------------------------------------------------- #


def _groups(graph: DiagramGraph, layers: Sequence[LayerCheck] = ()) -> dict[str, list[str]]:
    """Top-level subsystems with their blocks, in diagram order.

    A name prefix ``g/`` is a subsystem when bdsim flattened one there (an
    INPORT or OUTPORT block lies in it) or an LSTM layer was drawn with it; a
    top-level block may have a ``"/"`` in its own name without being one.
    """
    ids = {n.id for n in graph.nodes}
    marked = {n.id.partition("/")[0] for n in graph.nodes if "/" in n.id and n.kind in ("inport", "outport")}
    marked |= {layer.prefix.partition("/")[0] for layer in layers if layer.prefix}
    groups: dict[str, list[str]] = {}
    for n in graph.nodes:
        head, sep, _ = n.id.partition("/")
        if sep and head in marked:
            groups.setdefault(head, []).append(n.id)
    return {g: members for g, members in groups.items() if len(members) > 1 and g not in ids}


def _collapse(graph: DiagramGraph, groups: dict[str, list[str]], closed: Sequence[str],
              labels: dict[str, str] | None = None) -> tuple[DiagramGraph, list[int]]:
    """The graph with each closed group as one node (``labels``: the text of its box, two lines, e.g.
    "lstm2 · LSTM layer, 3 units\ninner 1.989 ✗  outer 5.14 ✗"); for every new edge, the index of
    the edge it stands for."""
    labels = labels or {}
    owner = {m: g for g in closed for m in groups[g]}
    nodes, added = [], set()
    for n in graph.nodes:
        g = owner.get(n.id)
        if g is None:
            nodes.append(n)
        elif g not in added:
            added.add(g)
            nodes.append(Node(id=g, label=labels.get(g, f"{g}\nsubsystem"), kind="subsystem"))
    edges: list[Edge] = []
    origin: list[int] = []
    seen = set()
    in_ports: dict[str, dict] = {}
    out_ports: dict[str, dict] = {}
    for i, e in enumerate(graph.edges):
        s, d = owner.get(e.src, e.src), owner.get(e.dst, e.dst)
        if e.src in owner and e.dst in owner and s == d:
            continue  # inside a collapsed group
        sp = e.src_port if e.src not in owner else out_ports.setdefault(s, {}).setdefault(
            (e.src, e.src_port), len(out_ports.get(s, {})))
        dp = e.dst_port if e.dst not in owner else in_ports.setdefault(d, {}).setdefault(
            (e.src, e.src_port), len(in_ports.get(d, {})))
        key = (s, sp, d, dp)
        if key in seen:
            continue
        seen.add(key)
        edges.append(Edge(s, d, sp, dp, e.label))
        origin.append(i)
    return DiagramGraph(name=graph.name, nodes=tuple(nodes), edges=tuple(edges)), origin


def _view_keys(groups: Sequence[str]) -> list[tuple[str, ...]]:
    """The open-group sets that get a view: all of them for a few groups, else all open and all closed."""
    if not groups:
        return [()]
    if len(groups) <= _MAX_COMBINED_GROUPS:
        return [c for r in range(len(groups), -1, -1) for c in combinations(groups, r)]
    return [tuple(groups), ()]


def _default_open(graph: DiagramGraph, groups: dict[str, list[str]], layers: Sequence[LayerCheck],
                  open_sets: Sequence[tuple[str, ...]]) -> tuple[str, ...]:
    """The subsystems open at first: all of them if the diagram is small enough, else those holding
    an LSTM layer (its loops and their gains are what the page is about), else none."""
    def drawn(open_groups):
        return len(graph.nodes) - sum(len(groups[g]) - 1 for g in groups if g not in open_groups)

    with_layers = tuple(g for g in groups if any(layer.prefix.startswith(g + "/") for layer in layers))
    for candidate in (tuple(groups), with_layers):
        if candidate in open_sets and drawn(candidate) <= _OPEN_BY_DEFAULT:
            return candidate
    return ()


def _key(open_groups: Sequence[str]) -> str:
    return "open:" + ",".join(open_groups)


# --------------------------------------------------------------------------- #
# loops and their labels
# --------------------------------------------------------------------------- #


def _loop_colours(graph: DiagramGraph, loops: Sequence[FeedbackLoop]) -> list[str]:
    """The loops' colours as the rendered pictures give them (by meaning where render.py offers
    ``loop_colours``; else its palette in loop order), as CSS hex colours."""
    from matplotlib.colors import to_hex

    from . import render

    if hasattr(render, "loop_colours"):
        return [to_hex(c) for c in render.loop_colours(graph, loops)]
    return [to_hex(render.LOOP_COLOURS[k % len(render.LOOP_COLOURS)]) for k in range(len(loops))]


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def _loop_name(graph: DiagramGraph, loop: FeedbackLoop) -> str:
    """What a loop is called in the legend: its meaning where graph.py can tell it, else "feedback loop"."""
    from . import graph as graph_module

    if hasattr(graph_module, "loop_role"):  # the meaning of the state closing it (tank level, ...)
        role = graph_module.loop_role(graph, loop)
        if role.meaning not in ("state", "integrator"):
            return f"{role.meaning} loop" + (f" of {role.layer}" if role.layer else "")
    return "feedback loop"


def _loop_records(graph: DiagramGraph, loops: Sequence[FeedbackLoop], layers: Sequence[LayerCheck],
                  colours: Sequence[str], placeholder: bool = False) -> list[dict]:
    """One record per loop: its delay, colour, label and, for an LSTM layer's loop, Theorem 4 (``iss``).
    ``placeholder``: the weights are a stand-in (untrained), and the texts say so."""
    by_delay = {}
    for layer in layers:
        by_delay[layer.inner] = (layer, 0)
        by_delay[layer.outer] = (layer, 1)
    records = []
    for k, loop in enumerate(loops):
        rec = {"delay": loop.delay, "colour": colours[k], "blocks": len(loop.nodes),
               "label": _loop_name(graph, loop), "iss": None, "index": k}
        if loop.delay in by_delay:
            layer, which = by_delay[loop.delay]
            r = layer.report
            where = f" of {layer.name}" if layer.name else ""
            if which == 0:
                rec["label"] = f"inner loop (cell state){where}"
                quantity, short = "(1 + \u03c3_o) \u03c3_f", "(1+\u03c3o)\u03c3f"
                parts = f"\u03c3_f = {_fmt(r.sigma_f)}, \u03c3_o = {_fmt(r.sigma_o)}"
            else:
                rec["label"] = f"outer loop (hidden state){where}"
                quantity, short = "(1 + \u03c3_o) \u03c3_i \u2016U_c\u2016\u2081", "(1+\u03c3o)\u03c3i\u2016Uc\u2016\u2081"
                parts = (f"\u03c3_i = {_fmt(r.sigma_i)}, \u03c3_o = {_fmt(r.sigma_o)}, "
                         f"\u2016U_c\u2016\u2081 = {_fmt(r.uc_norm_1)}")
            value, margin = float(r.lhs[which]), float(r.margins[which])
            holds = value < 1.0
            verdict = "< 1: holds" if holds else "\u2265 1: does not hold"
            whose = " of the placeholder's untrained weights, not the lab's" if placeholder else ""
            rec["iss"] = {
                "layer": layer.name, "which": "inner" if which == 0 else "outer", "quantity": quantity,
                "value": value, "margin": margin, "holds": holds, "input_bound": layer.input_bound,
                "sigma_i": r.sigma_i, "sigma_f": r.sigma_f, "sigma_o": r.sigma_o, "uc_norm_1": r.uc_norm_1,
                "text": f"Theorem 4{whose}: {quantity} = {_fmt(value)} {verdict} (margin 1 \u2212 {_fmt(value)} = "
                        f"{_fmt(margin)}); {parts}, for |u|\u221e \u2264 {_fmt(layer.input_bound)}",
                "short": f"{short} = {_fmt(value)} " + ("< 1 " + _YES if holds else "\u2265 1 " + _NO)
                         + (" (untrained)" if placeholder else ""),
                "placeholder": placeholder,
            }
        records.append(rec)
    return records


# --------------------------------------------------------------------------- #
# the page
# --------------------------------------------------------------------------- #


class Inspector:
    """An inspector page: shows inline in Jupyter, saves as one offline HTML file.

    Attributes
    ----------
    html : str
        The whole page.
    loops : list of dict
        Every feedback loop: its delay, colour, label and, for an LSTM layer's
        loops, the Theorem 4 quantity (``iss``: value, margin, holds, ...).
    summary : dict
        Steps, stride, sequences, signals and the page's size in bytes.
    """

    def __init__(self, page: str, loops: list[dict], summary: dict):
        self.html = page
        self.loops = loops
        self.summary = summary

    def save(self, path, *, overwrite: bool = False) -> Path:
        """Write the page to ``path`` (``.html`` is added to a path without a suffix); return the path.

        Refuses to replace a file unless ``overwrite``, and a name that is not ``.html``/``.htm``. The
        page is written all at once: a full disk or an interrupt leaves no partial file.
        """
        from ..core.atomic import write_file
        from ..core.errors import ArgumentError

        path = Path(path)
        if not path.suffix:
            path = path.with_suffix(".html")
        if path.suffix.lower() not in (".html", ".htm"):
            raise ArgumentError(f"{path}: an inspector page is an HTML file; give a name ending in .html")
        return write_file(path, self.html, overwrite=overwrite)

    def _repr_html_(self) -> str:
        """The page in an isolated frame (its script and Bokeh do not meet the notebook's)."""
        return (f'<iframe srcdoc="{html.escape(self.html, quote=True)}" style="width:100%;height:980px;'
                f'border:1px solid #ddd" sandbox="allow-scripts allow-downloads" '
                f'title="lstmds signal inspector"></iframe>')

    def __repr__(self) -> str:
        s = self.summary
        return (f"<Inspector {s['title']!r}: {s['steps']} steps, {s['signals']} signals, {len(self.loops)} loops, "
                f"{s['bytes'] / 1e6:.1f} MB>")


def _bokeh():
    """Import the Bokeh pieces, or say which extra to install."""
    try:
        import bokeh  # noqa: F401
    except ImportError as err:
        raise ModuleNotFoundError(f"the signal inspector needs Bokeh: {_INSTALL}", name="bokeh") from err
    from bokeh.embed import components
    from bokeh.embed.bundle import bundle_for_objs_and_resources
    from bokeh.models import ColumnDataSource, CustomJS, HoverTool, Legend, LegendItem, Span
    from bokeh.palettes import Category10_10
    from bokeh.plotting import figure
    from bokeh.resources import INLINE

    return SimpleNamespace(components=components, bundle=bundle_for_objs_and_resources, ColumnDataSource=ColumnDataSource,
                           HoverTool=HoverTool, CustomJS=CustomJS, Legend=Legend, LegendItem=LegendItem, Span=Span,
                           palette=Category10_10, figure=figure, INLINE=INLINE)


def _figure(bk: SimpleNamespace, times: np.ndarray, lines: Sequence[tuple], title: str):
    """The Bokeh plot: a pool of MAX_LINES step lines and min-max bands, first showing ``lines``
    (``(label, values, lo, hi)`` per line: sequence 0 of a selected signal's component; ``lo``/``hi`` the
    band of a decimated run, or None)."""
    n = min(len(lines), MAX_LINES)
    cols = {"t": times}
    nan = np.full(len(times), np.nan)
    for j in range(MAX_LINES):
        _, values, lo, hi = lines[j] if j < n else ("", None, None, None)
        cols[f"y{j}"] = values if values is not None else nan
        cols[f"lo{j}"] = lo if lo is not None else nan
        cols[f"hi{j}"] = hi if hi is not None else nan
    source = bk.ColumnDataSource(cols, name="lstmds_signal")
    fig = bk.figure(sizing_mode="stretch_both", min_height=220, x_axis_label="t [s]", name="lstmds_plot",
                    title=title, tools="pan,box_zoom,wheel_zoom,reset,save", toolbar_location="right")
    fig.title.text_font_size = "14px"
    fig.xaxis.axis_label_text_font_size = "13px"
    fig.axis.major_label_text_font_size = "12px"
    items, renderers = [], []
    for j in range(MAX_LINES):
        colour = bk.palette[j % 10]
        band = j < n and lines[j][2] is not None
        fig.varea_step(x="t", y1=f"lo{j}", y2=f"hi{j}", source=source, step_mode="after", fill_color=colour,
                       fill_alpha=0.18, name=f"lstmds_band{j}", visible=band)
        line = fig.step("t", f"y{j}", source=source, mode="after", line_color=colour, line_width=2.2,
                        name=f"lstmds_line{j}", visible=j < n)
        renderers.append(line)
        items.append(bk.LegendItem(label=lines[j][0] if j < n else f"y{j}", renderers=[line], visible=j < n))
    legend = bk.Legend(items=items, name="lstmds_legend", click_policy="hide", label_text_font_size="13px",
                       location="top_left", background_fill_alpha=0.75)
    fig.add_layout(legend)
    fig.add_layout(bk.Span(location=float(times[0]), dimension="height", line_color="#444444",
                           line_dash="dashed", line_width=1.2, name="lstmds_cursor"))
    fig.add_tools(bk.HoverTool(renderers=renderers, tooltips=[("t", "$x{0.[000]} s"), ("value", "$y{0.[0000]}")]))
    fig.js_on_event("tap", bk.CustomJS(code="if (window.lstmdsInspector) window.lstmdsInspector.setTime(cb_obj.x);"))
    return fig


def _json_for_script(data: dict) -> str:
    """JSON that is safe inside ``<script type="application/json">``."""
    return json.dumps(data, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")  # no "</script", "<!--"


def _short(name: str, groups: Sequence[str]) -> str:
    """A signal's name without its subsystem (``lstm2/c`` -> ``c``), as the plot's legend shows it."""
    head, sep, rest = (name or "").partition("/")
    return rest if sep and head in groups else (name or "")


def _line_labels(names: Sequence[str], widths: Sequence[int], groups: Sequence[str]) -> list[str]:
    """Legend labels of the plotted lines: ``c[0]``, ``c[1]``, ... or ``pH`` for a one-component signal;
    the full name where two selected signals would share a short one."""
    shorts = [_short(n, groups) for n in names]
    labels = []
    for name, short, n in zip(names, shorts, widths):
        shown = short if shorts.count(short) == 1 else name
        labels += [shown] if n == 1 else [f"{shown}[{j}]" for j in range(n)]
    return labels


# --------------------------------------------------------------------------- #
# what a page shows first
# --------------------------------------------------------------------------- #


def _recorder_inputs(graph: DiagramGraph, edge_signal: Sequence[str | None]) -> list[str]:
    """The signals the diagram's RECORDER blocks record, in diagram order (one per recorder)."""
    out = []
    for node in graph.nodes:
        if node.kind != "recorder":
            continue
        into = [edge_signal[i] for i, e in enumerate(graph.edges) if e.dst == node.id and edge_signal[i]]
        if into and into[0] not in out:
            out.append(into[0])
    return out


def _default_signals(graph, edge_signal, loops, layers, recorded: set, select) -> list[str]:
    """What the plot shows first: ``select`` if given; else the signals of the diagram's recorders where
    it has two or more (a lab comparing a plant with a model: plant pH and LSTM pH); else the cell state
    of its first LSTM layer; else its recorder's signal; else the signal into the first loop's delay."""
    if select is not None:
        chosen = [select] if isinstance(select, str) else list(select)
        unknown = [n for n in chosen if n not in recorded]
        if unknown:
            raise ValueError(f"inspect(): select names signals the run did not keep: {unknown}; "
                             f"the signals are those of lstmds_sim.signal_names(bd)")
        return chosen
    recorders = [n for n in _recorder_inputs(graph, edge_signal) if n in recorded]
    if len(recorders) >= 2:
        return recorders
    for layer in layers:
        c = layer.layer.signal("c")
        if c in recorded:
            return [c]
    if recorders:
        return recorders
    for loop in loops:
        into = [edge_signal[i] for i in sorted(loop.edges) if graph.edges[i].dst == loop.delay and edge_signal[i]]
        if into and into[0] in recorded:
            return [into[0]]
    first = next((n for n in edge_signal if n in recorded), None)
    return [first] if first else []


def _focus(loops: Sequence[FeedbackLoop], layers: Sequence[LayerCheck]) -> int | None:
    """The loop the diagram is centred on when it opens too big to show whole: the first LSTM layer's
    inner (cell-state) loop, else the first loop (an index into ``loops``)."""
    delays = [loop.delay for loop in loops]
    if layers and layers[0].inner in delays:
        return delays.index(layers[0].inner)
    return 0 if loops else None


def _collapsed_boxes(graph: DiagramGraph, groups: dict[str, list[str]], layers: Sequence[LayerCheck],
                     loop_info: Sequence[dict]) -> dict:
    """What each subsystem's box says when collapsed: its name, its kind, and one entry per loop inside
    it (``(text, ok, colour, loop)``: an LSTM loop's Theorem 4 gain, another loop's delay name)."""
    from .graph import state_role

    boxes = {}
    for g, members in groups.items():
        layer_here = [layer for layer in layers if layer.prefix.startswith(g + "/")]
        items = []
        for rec in loop_info:
            if not rec["delay"].startswith(g + "/"):
                continue
            if rec["iss"]:
                items.append((f"{rec['iss']['which']} {_fmt(rec['iss']['value'])} "
                              + (_YES if rec["iss"]["holds"] else _NO), rec["iss"]["holds"], rec["colour"],
                              rec["index"]))
            else:
                items.append((state_role(graph, rec["delay"]).name, None, rec["colour"], rec["index"]))
        sub = (f"LSTM layer, {layer_here[0].params.n_units} units" if len(layer_here) == 1
               else f"{len(members)} blocks")
        boxes[g] = (g, sub, items)
    return boxes


def _box_label(name: str, kind: str, items: Sequence[tuple]) -> str:
    """The two lines of a collapsed subsystem's box: its name and kind, then its loops (a dot and a text each),
    as the scene measures the box for them."""
    if not items:
        return f"{name}\n{kind}"
    return f"{name} \u00b7 {kind}\n" + ITEM_GAP.join("\u25cf " + text for text, *_ in items)


@dataclass
class _Diagram:
    """The diagram's part of a page: its graph, the signal of each wire, its LSTM layers with Theorem 4,
    its loops, subsystems and the SVG of each view (shared by the inspector and the live page)."""

    graph: DiagramGraph
    edge_signal: list
    names: dict
    layers: list
    loops: list
    colours: list
    loop_info: list
    groups: list
    views: dict
    svgs: list
    default_view: str
    defs: str
    focus: int | None


def _diagram(bd, *, input_bound: float = 1.0, badges=None, placeholder: bool = False,
             only_default: bool = False, graph=None) -> _Diagram:
    """Analyse ``bd`` and draw its views. ``badges``: a function (edge_signal, names) -> {signal: components}
    for the value badges; ``only_default``: draw only the view shown first (the live page)."""
    from .inspector_svg import ViewSpec, draw_view, svg_defs

    graph = graph or graph_from_blockdiagram(bd)
    layers = layer_checks(bd, graph, input_bound=input_bound)
    edge_signal, names = _edge_signals(bd, graph, layers)
    loops = find_feedback_loops(graph)
    colours = _loop_colours(graph, loops)
    loop_info = _loop_records(graph, loops, layers, colours, placeholder)
    edge_loop_full = [tuple(k for k, loop in enumerate(loops) if i in loop.edges) for i in range(len(graph.edges))]
    badge_n = badges(edge_signal, names) if badges else {}

    groups = _groups(graph, layers)
    group_names = list(groups)
    open_sets = _view_keys(group_names)
    default_open = _default_open(graph, groups, layers, open_sets)
    if only_default:
        open_sets = [default_open]
    boxes = _collapsed_boxes(graph, groups, layers, loop_info)
    svgs, views = [], {}
    for open_groups in open_sets:
        closed = [g for g in group_names if g not in open_groups]
        vgraph, origin = _collapse(graph, groups, closed, {g: _box_label(*boxes[g]) for g in closed})
        v_signal = [edge_signal[i] for i in origin]
        present = {n.id for n in vgraph.nodes}
        block_shows = {}
        for n in vgraph.nodes:
            outs = [v_signal[j] for j, e in enumerate(vgraph.edges) if e.src == n.id and v_signal[j]]
            ins = [v_signal[j] for j, e in enumerate(vgraph.edges) if e.dst == n.id and v_signal[j]]
            if outs or ins:
                block_shows[n.id] = (outs or ins)[0]
        loop_tags = {}
        for k, (loop, rec) in enumerate(zip(loops, loop_info)):
            if rec["iss"] is None or loop.delay not in present:
                continue
            for j, i in enumerate(origin):
                if i in loop.edges and graph.edges[i].dst == loop.delay:
                    loop_tags[j] = (k, rec["iss"]["short"], rec["iss"]["holds"], f"{rec['label']}: {rec['iss']['text']}")
        spec = ViewSpec(
            key=_key(open_groups), graph=vgraph, edge_signal=v_signal, edge_loops=[edge_loop_full[i] for i in origin],
            loop_colours=colours, delay_loop={loop.delay: k for k, loop in enumerate(loops) if loop.delay in present},
            block_shows=block_shows, collapsed={g: boxes[g] for g in closed},
            frames={g: groups[g] for g in open_groups}, toggles=set(group_names) if not only_default else set(),
            loop_tags=loop_tags, badges=badge_n, hidden=open_groups != default_open,
        )
        svgs.append(draw_view(spec))
        views[spec.key] = {"open": list(open_groups)}
    return _Diagram(graph, edge_signal, names, layers, loops, colours, loop_info, group_names, views, svgs,
                    _key(default_open), svg_defs(colours), _focus(loops, layers))


# --------------------------------------------------------------------------- #
# the inspector
# --------------------------------------------------------------------------- #


def inspect(
    bd,
    result=None,
    *,
    title: str | None = None,
    input_bound: float = 1.0,
    max_values: int = MAX_VALUES,
    max_sequences: int = MAX_SEQUENCES,
    select: str | Sequence[str] | None = None,
) -> Inspector:
    """The interactive signal inspector of a diagram's run.

    Parameters
    ----------
    bd : bdsim BlockDiagram
        The diagram (from :func:`lstmds_sim.blockdiagram` or a lab's ``build_diagram()``).
    result : RunResult, optional
        Its run; by default ``lstmds_sim.run(bd, probes=["*"])`` is run here.
        Wires whose signal the run did not keep are drawn but say "not recorded".
    title : str, optional
        The page's title (default: the diagram's name).
    input_bound : float
        ``rho`` with ``|u|_inf <= rho`` for the Theorem 4 gate bounds of a layer
        fed from outside (1: inputs normalised to [-1, 1], as in the paper).
    max_values : int
        Budget of float64 values stored in the page; a longer run is decimated
        (every s-th step, plus the min and max of each stretch of s steps).
    max_sequences : int
        Sequences of a batched run kept in the page (the first ones).
    select : str or list of str, optional
        The signals plotted (overlaid) when the page opens. By default: the
        signals of the diagram's recorders if it has two or more (a plant and
        its model), else the cell state of its first LSTM layer, else what
        its recorder records.

    Returns
    -------
    Inspector
        ``.save(path)`` writes the page; in Jupyter it shows inline.

    Raises
    ------
    ModuleNotFoundError
        Without Bokeh (``pip install 'lstmds-sim[inspect]'``).
    ValueError, TypeError
        For a run without steps, a run of another diagram, or bad budgets.

    A diagram whose builder drew a stand-in network (an untrained one, to show
    the diagram's shape) says so in its attribute ``lstmds_placeholder`` (a
    sentence saying what it is and where the real one is); the page then says
    so at its top and on every Theorem 4 tag.
    """
    bk = _bokeh()
    if not (hasattr(bd, "blocklist") and hasattr(bd, "wirelist")):
        raise TypeError(f"inspect() needs a bdsim BlockDiagram (e.g. a lab's build_diagram()), not {type(bd).__name__}")
    for value, what in ((max_values, "max_values"), (max_sequences, "max_sequences")):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"inspect(): {what} must be a positive whole number, got {value!r}")
    if result is None:
        from ..core.engine import run

        result = run(bd, probes=["*"])
    times_all = np.asarray(getattr(result, "t", None), dtype=float)
    if times_all.ndim != 1 or len(times_all) == 0:
        raise ValueError("inspect(): the run has no steps (result.t is empty); run the diagram for at least one step")
    n_steps = len(times_all)
    placeholder = getattr(bd, PLACEHOLDER_ATTR, None)

    found: dict = {}

    def badges(edge_signal, names):  # the run's signals on the wires: what each badge shows
        ports, batch = _collect_ports(edge_signal, names, result, n_steps, int(max_sequences))
        if not any(p.values is not None for p in ports):
            raise ValueError("inspect(): the run kept none of the diagram's signals; run it with "
                             "lstmds_sim.run(bd, probes=['*']) (or leave result out)")
        port_id = {p.key: k for k, p in enumerate(ports)}
        signals = {name: port_id[key] for name, key in names.items() if key in port_id}
        found.update(ports=ports, batch=batch, signals=signals)
        return {name: ports[pid].values.shape[2] for name, pid in signals.items() if ports[pid].values is not None}

    dia = _diagram(bd, input_bound=input_bound, badges=badges, placeholder=bool(placeholder))
    graph, edge_signal, ports, batch, signals = dia.graph, dia.edge_signal, found["ports"], found["batch"], found["signals"]
    stride = _stride(ports, n_steps, int(max_values))
    kept = np.arange(0, n_steps, stride)
    recorded = {name for name, pid in signals.items() if ports[pid].values is not None}
    default_signals = _default_signals(graph, edge_signal, dia.loops, dia.layers, recorded, select)

    n_seq = max((p.values.shape[0] for p in ports if p.values is not None), default=1)
    notes = []
    if stride > 1:
        notes.append(f"Long run: {n_steps:,} steps are shown every {stride} steps ({len(kept):,} samples per signal, "
                     f"to keep the page under {max_values:,} stored values); the shaded band in the plot is the "
                     f"min\u2013max over the {stride} steps each sample stands for. The exact arrays are in the run "
                     f"(RunResult.signals).")
    if batch and batch > n_seq:
        notes.append(f"Batched run: the first {n_seq} of its {batch:,} sequences are kept in this page "
                     f"(inspect(..., max_sequences=N) keeps more).")
    from .inspector_svg import BADGE_HEIGHT, SMALLEST_TEXT_PX

    data = {
        "title": title or graph.name,
        "steps": n_steps,
        "stride": stride,
        "k": kept.tolist(),
        "t": _b64(times_all[kept]),
        "batch": batch or None,
        "sequences": list(range(n_seq)),
        "ports": [_port_record(p, stride, n_steps) for p in ports],
        "signals": signals,
        "loops": dia.loop_info,
        "groups": dia.groups,
        "views": dia.views,
        "default_view": dia.default_view,
        "all_open": _key(tuple(dia.groups)),
        "all_closed": _key(()),
        "default_signal": default_signals[0] if default_signals else None,
        "default_signals": default_signals,
        "focus": dia.focus,
        "max_lines": MAX_LINES,
        "badge_height": BADGE_HEIGHT,
        "legible_scale": LEGIBLE_PX / SMALLEST_TEXT_PX,
    }

    lines, widths = [], []
    for name in default_signals:  # the first plot, as the page's script draws it: sequence 0
        v = ports[signals[name]].values[0]  # (steps, components)
        widths.append(v.shape[1])
        for j in range(v.shape[1]):
            lo = hi = None
            if stride > 1 and not ports[signals[name]].constant:
                lo, hi = np.minimum.reduceat(v[:, j], kept), np.maximum.reduceat(v[:, j], kept)
            lines.append((None, v[kept, j], lo, hi))
    labels = _line_labels(default_signals, widths, dia.groups)
    lines = [(label, *rest) for label, (_, *rest) in zip(labels, lines)]
    fig = _figure(bk, times_all[kept], lines, (" and ".join(default_signals) + " over time") if lines
                  else "click a wire or a block to plot its signal")
    script, div = bk.components(fig)
    bundle = bk.bundle([fig], bk.INLINE)
    if bundle.js_files or bundle.css_files:  # INLINE resources never refer outside the page
        raise RuntimeError("Bokeh's inline resources refer to files outside the page")
    page = _page(data, dia, "".join(bundle), script, div, notes, batch, n_seq, float(times_all[-1]), placeholder)
    summary = {"title": data["title"], "steps": n_steps, "stride": stride, "samples": len(kept),
               "sequences": n_seq, "batch": batch or None, "signals": len(signals), "wires": len(graph.edges),
               "blocks": len(graph.nodes), "views": len(dia.views), "bytes": len(page.encode("utf-8")),
               "placeholder": placeholder}
    return Inspector(page, dia.loop_info, summary)


def loop_legend(loop_info: Sequence[dict]) -> str:
    """The loops' legend: per loop a checkbox, its colour, its name and, for an LSTM loop, its Theorem 4
    gain in one line (the whole check in the line's tooltip)."""
    esc = html.escape
    out = []
    for k, rec in enumerate(loop_info):
        iss = rec["iss"]
        detail = ""
        if iss:
            cls = "ok" if iss["holds"] else "fail"
            detail = (f'<span class="iss {cls}" data-loop-gain="{k}" title="{esc(iss["text"])}">'
                      f'{esc(iss["short"])}</span>')
        out.append(
            f'<label title="{esc(rec["label"])}: closed by \u2018{esc(rec["delay"])}\u2019, {rec["blocks"]} blocks">'
            f'<input type="checkbox" data-loop-toggle="{k}" checked>'
            f'<span class="swatch" style="background:{esc(rec["colour"])}"></span>'
            f'<span class="loop-name">{esc(rec["label"])}</span>'
            + (detail or f'<span class="none">closed by {esc(rec["delay"].rpartition("/")[2])}</span>') + '</label>')
    return "".join(out)


THEOREM_NOTE = ("Theorem 4 (Bonassi, Terzi, Farina, Scattolini, <i>LSTM neural networks: input-to-state "
                "stability and probabilistic safety verification</i>, L4DC 2020): an LSTM layer is ISS if "
                "(1 + \u03c3_o) \u03c3_f &lt; 1 (inner loop) and (1 + \u03c3_o) \u03c3_i \u2016U_c\u2016\u2081 &lt; 1 "
                "(outer loop), with \u03c3_g = sigmoid(\u2016[W_g U_g b_g]\u2016\u221e) the largest value gate g "
                "can take. It is a sufficient condition: a loop that fails it is not shown to be unstable. "
                "Margin = 1 \u2212 the quantity.")


def _page(data, dia: _Diagram, bokeh_head, script, div, notes, batch, n_seq, t_end, placeholder) -> str:
    from .inspector_web import CSS, JS

    esc = html.escape
    title = data["title"]
    graph = dia.graph
    n_loops = len(dia.loop_info)
    dot = " \u00b7 "
    lines = [f"{data['steps']:,} steps (t = 0 \u2026 {t_end:g} s)",
             f"{len(graph.nodes)} blocks, {len(graph.edges)} wires",
             f"{n_loops} feedback loop{'' if n_loops == 1 else 's'}"]
    if batch:
        lines.append(f"batch of {batch:,} sequences")
    groups_html = ""
    if data["groups"] and len(data["views"]) > 1:
        buttons = "".join(f'<button type="button" data-toggle="{esc(g)}">{esc(g)}</button>' for g in data["groups"])
        groups_html = f'<div class="groups">Subsystems: {buttons}</div>'
    seq_html = ""
    if batch:
        options = "".join(f'<option value="{b}">sequence {b}</option>' for b in range(n_seq))
        seq_html = f'<label>Sequence <select id="lstmds-sequence">{options}</select></label>'
    notes_html = "".join(f'<p class="note">{esc(n)}</p>' for n in notes)
    if placeholder:
        notes_html = (f'<p class="placeholder" role="alert"><b>Not the lab\u2019s network.</b> {esc(placeholder)}</p>'
                      + notes_html)
    theorem = f"<footer>{THEOREM_NOTE}</footer>" if dia.layers else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)} \u2014 signal inspector</title>
<link rel="icon" href="data:,">
<style>{CSS}</style>
{bokeh_head}
</head><body>
<div id="lstmds-inspector" class="app">
<header><h1>{esc(title)} <span class="sub">signal inspector</span></h1>
<p>{esc(dot.join(lines))}. Click a wire to plot it, Shift+click to add it to the plot; drag the slider to
scrub the step k; drag the diagram to move it.</p>{notes_html}</header>
<div class="bar"><button type="button" id="lstmds-play">\u25b6 play</button>
<input type="range" id="lstmds-slider" min="0" max="{len(data['k']) - 1}" value="0" step="1" aria-label="step k">
<span id="lstmds-step"></span>{seq_html}<span class="zoom"><button type="button" id="lstmds-zoom-out"
title="smaller">\u2212</button><span id="lstmds-zoom-level"></span><button type="button" id="lstmds-zoom-in"
title="larger">+</button><button type="button" id="lstmds-zoom" title="the whole diagram">fit</button></span></div>
<div class="main"><div class="left">
<div class="loops">{loop_legend(dia.loop_info)}</div>
{groups_html}
{dia.defs}
<div class="diagram">{"".join(dia.svgs)}</div></div>
<div class="right"><div class="plotbox"><p id="lstmds-now"></p><div class="plotwrap">{div}</div></div>
<div class="valuebox"><table><thead><tr><th></th><th>signal</th><th>at <span id="lstmds-values-k">k</span></th></tr></thead>
<tbody id="lstmds-values"></tbody></table></div></div></div>
</div>
{theorem}
<script type="application/json" id="lstmds-data">{_json_for_script(data)}</script>
{script}
<script>{JS}</script>
</body></html>
"""
