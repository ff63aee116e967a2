"""Live parameters: a diagram served on localhost with sliders that re-run it, traces and loop gains following.

``lstmds live NAME`` (:mod:`lstmds_sim.io.live`) and :func:`live` (in a
notebook) serve one page, a Bokeh server application (BokehJS comes from the
local server: nothing is loaded from the network):

* the diagram as the signal inspector draws it (:mod:`.inspector_svg`), each
  feedback loop coloured, an LSTM layer's loops tagged with their Theorem 4
  gains (:func:`~lstmds_sim.safety.iss.iss_check`, the inspector's code path);
* sliders for the parameters that teach something (a lab lists them in its
  ``live_params(bd)``; each is a :class:`Slider`): a move re-runs the whole
  run and redraws the traces, every value badge and the gains on the loops;
* the traces of the diagram's recorders, overlaid, with play, pause and a
  scrub of the step k as in the inspector.

The run is compiled once (:func:`~lstmds_sim.core.compiled.compile_run`)
with the sliders' blocks as arguments of the program (a MATGAIN's K, a
CONSTANT's value) and their SEQUENCE data as its inputs, so a slider move is
one call of the compiled program (:class:`LiveModel`), not a compilation.

For tests and scripts: each slider is the Bokeh model named ``param:NAME``;
the plotted traces are the ``ColumnDataSource`` named ``trace`` (a column
``t`` and ``y0``, ``y1``, ... one per component of the recorders' signals,
recorder by recorder; a batched recorder's sequences one after another); the
loops' Theorem 4 gains the ``ColumnDataSource`` named ``gains`` (columns
``loop``, ``value``, ``holds``, ``index``, ...). The page's script offers
``window.lstmdsLive`` (``setStep``, ``state``) and counts redraws
(``state().redraws``, ``state().redrawnAt``: ``performance.now()`` after the
browser painted the new traces).
"""

from __future__ import annotations

import asyncio
import html
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .page_js import DIAGRAM_JS

__all__ = ["Live", "LiveModel", "LiveRun", "Slider", "constant", "gate_bias", "input_amplitude", "layer_blocks",
           "live", "make_document", "recurrent_scale", "standard_sliders", "start_server"]

_INSTALL = "pip install 'lstmds-sim[inspect]'"
_GATES = ("i", "f", "g", "o")


# --------------------------------------------------------------------------- #
# sliders
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Slider:
    """One slider of a live page: what it is called, its range, and the block parameters it moves.

    Attributes
    ----------
    name : str
        Its name (the page's Bokeh model is ``param:NAME``; ``LiveModel.run(values={NAME: v})``).
    title : str
        What it says on the page.
    start, end, value, step : float
        Its range, its starting value and its step.
    blocks : tuple of (str, callable)
        ``(block name, f)``: the slider sets the block's parameter (a MATGAIN's K, a CONSTANT's
        value) to ``f(value, current)``, ``current`` being the parameter as drawn or as an earlier
        slider left it.
    inputs : tuple of (str, callable)
        ``(SEQUENCE block name, f)``: likewise for a SEQUENCE block's data.
    """

    name: str
    title: str
    start: float
    end: float
    value: float
    step: float
    blocks: tuple = ()
    inputs: tuple = ()

    def __post_init__(self):
        if not self.name or not all(c.isalnum() or c in "_-" for c in self.name):
            raise ValueError(f"Slider name {self.name!r}: use letters, digits, '_' and '-' (it names param:NAME)")
        if not (self.start <= self.value <= self.end) or not self.step > 0:
            raise ValueError(f"Slider {self.name!r}: needs start <= value <= end and step > 0, got "
                             f"{self.start}, {self.value}, {self.end}, step {self.step}")
        if not (self.blocks or self.inputs):
            raise ValueError(f"Slider {self.name!r} moves nothing: give blocks=... or inputs=...")


def _graph(bd):
    from .graph import graph_from_blockdiagram

    return graph_from_blockdiagram(bd)


def layer_blocks(bd, layer: int = 0, graph=None) -> dict[str, str]:
    """The names of the blocks holding the weights of LSTM layer ``layer`` of ``bd`` (as drawn by the
    library's builder): ``W_i``, ``R_i``, ``b_i``, ... per gate, ``F`` and ``bF`` (where drawn).

    Read from the layer's record (:func:`~lstmds_sim.core.diagram.lstm_layers`) and the diagram's
    wires, not from block names: a gate's input gain is the record's, its recurrent gain and bias are
    what feed the same sum (ports 1 and 2).
    """
    from ..core.diagram import lstm_layers

    graph = graph or _graph(bd)
    layers = lstm_layers(bd)
    if not layers:
        raise ValueError(f"diagram '{bd.name}' has no LSTM layer drawn by the library's builder")
    if not 0 <= layer < len(layers):
        raise ValueError(f"diagram '{bd.name}' has {len(layers)} LSTM layer(s); layer {layer} does not exist")
    found = layers[layer]
    names: dict[str, str] = {}
    for g, W in zip(_GATES, found.inputs):
        w = str(W.name)
        into = [e.dst for e in graph.edges if e.src == w]
        feeding = {e.dst_port: e.src for e in graph.edges if into and e.dst == into[0]}
        names.update({f"W_{g}": w, f"R_{g}": feeding[1], f"b_{g}": feeding[2]})
    own = {str(b.name) for b in found.blocks}
    gains = set(names.values())
    for block in found.blocks:
        if block.type == "matgain" and str(block.name) not in gains:
            names["F"] = str(block.name)
        elif block.type == "constant" and str(block.name) not in gains:
            names["bF"] = str(block.name)
    return {k: v for k, v in names.items() if v in own}


def gate_bias(bd, gate: str, *, name: str, title: str | None = None, start: float = -4.0, end: float = 4.0,
              value: float = 0.0, step: float = 0.1, layer: int = 0) -> Slider:
    """A slider that adds an offset to every bias of one gate (``"i"``, ``"f"``, ``"g"``, ``"o"``)."""
    if gate not in _GATES:
        raise ValueError(f"gate_bias: gate must be one of {_GATES}, got {gate!r}")
    block = layer_blocks(bd, layer)[f"b_{gate}"]
    words = {"i": "input", "f": "forget", "g": "candidate", "o": "output"}[gate]
    return Slider(name, title or f"{words}-gate bias offset (added to b_{gate})", start, end, value, step,
                  blocks=((block, lambda v, b: np.asarray(b, dtype=float) + v),))


def recurrent_scale(bd, *, name: str = "R_scale", title: str | None = None, start: float = 0.0, end: float = 2.0,
                    value: float = 1.0, step: float = 0.05, layer: int = 0) -> Slider:
    """A slider that multiplies the recurrent weights R of every gate (the outer loop's gain)."""
    blocks = layer_blocks(bd, layer)
    return Slider(name, title or "scale of R (the recurrent weights: the outer loop)", start, end, value, step,
                  blocks=tuple((blocks[f"R_{g}"], lambda v, R: v * np.asarray(R, dtype=float)) for g in _GATES))


def _sources(bd) -> list:
    return [b for b in bd.blocklist if b.type == "sequence"]


def input_amplitude(bd, *, name: str = "amplitude", title: str | None = None, source: str | None = None,
                    centre: float = 0.0, start: float = 0.0, end: float = 3.0, value: float = 1.0,
                    step: float = 0.05) -> Slider:
    """A slider that scales a SEQUENCE block's data about ``centre``: ``centre + a (u - centre)``
    (``source``: the block's name; default the diagram's only or first one)."""
    found = _sources(bd)
    if source is None:
        if not found:
            raise ValueError(f"diagram '{bd.name}' has no SEQUENCE block to scale")
        source = str(found[0].name)
    elif source not in {str(b.name) for b in found}:
        raise ValueError(f"diagram '{bd.name}' has no SEQUENCE block named {source!r}")
    what = f"the input's amplitude (u = {centre:g} + a (u \u2212 {centre:g}))" if centre else "the input's amplitude (a u)"
    return Slider(name, title or what, start, end, value, step,
                  inputs=((source, lambda v, u: centre + v * (np.asarray(u, dtype=float) - centre)),))


def constant(bd, block: str, *, name: str, title: str, start: float, end: float, step: float,
             value: float | None = None) -> Slider:
    """A slider that sets a CONSTANT block's value (a scalar, or every entry of an array)."""
    found = {str(b.name): b for b in bd.blocklist if b.type == "constant"}
    if block not in found:
        from ..core.bdsim_adapter import compile_diagram

        compile_diagram(bd)  # a block inside a subsystem is named after the flattening
        found = {str(b.name): b for b in bd.blocklist if b.type == "constant"}
    if block not in found:
        raise ValueError(f"diagram '{bd.name}' has no CONSTANT block named {block!r}")
    drawn = float(np.ravel(found[block].value)[0])
    return Slider(name, title, start, end, drawn if value is None else value, step,
                  blocks=((block, lambda v, c: np.full(np.shape(c), v, dtype=float)),))


def standard_sliders(bd, names: Iterable[str] | None = None) -> list[Slider]:
    """The sliders any diagram gets by name: ``forget_bias``, ``input_bias``, ``R_scale`` (its first
    LSTM layer's) and ``amplitude`` (its first SEQUENCE's). By default all that apply."""
    from ..core.diagram import lstm_layers

    has_layer = bool(lstm_layers(bd))
    makers = {
        "forget_bias": lambda: gate_bias(bd, "f", name="forget_bias"),
        "input_bias": lambda: gate_bias(bd, "i", name="input_bias"),
        "R_scale": lambda: recurrent_scale(bd),
        "amplitude": lambda: input_amplitude(bd),
    }
    if names is None:
        names = [n for n in makers if has_layer or n == "amplitude"] if _sources(bd) else \
            [n for n in makers if has_layer and n != "amplitude"]
    out = []
    for n in names:
        if n not in makers:
            raise ValueError(f"live(): no standard slider named {n!r}; they are {list(makers)} (or give Slider objects)")
        out.append(makers[n]())
    return out


# --------------------------------------------------------------------------- #
# the model: compiled once, re-run per slider move
# --------------------------------------------------------------------------- #


@dataclass
class LiveRun:
    """One run of a :class:`LiveModel`: the run, the loops with their Theorem 4 gains, the weights checked."""

    result: Any
    loops: list
    weights: list
    values: dict
    run_s: float


@dataclass
class _Layer:
    blocks: dict  # "W_i" ... -> block name
    params: Any  # as drawn


class LiveModel:
    """A diagram compiled once with its sliders' blocks as program arguments; :meth:`run` re-runs it.

    Parameters
    ----------
    bd : bdsim BlockDiagram
    sliders : sequence of Slider
    steps, substeps, dt : as for :func:`lstmds_sim.run`.
    input_bound : float
        ``rho`` of Theorem 4's gate bounds for a layer fed from outside (1: normalised inputs).
    """

    def __init__(self, bd, sliders: Sequence[Slider], *, steps: int | None = None, substeps: int = 10,
                 dt: float | None = None, input_bound: float = 1.0):
        from ..core.bdsim_adapter import compile_diagram
        from ..core.compiled import compile_run
        from ..core.diagram import lstm_layers
        from .inspector import PLACEHOLDER_ATTR, _diagram

        if not (hasattr(bd, "blocklist") and hasattr(bd, "wirelist")):
            raise TypeError(f"live() needs a bdsim BlockDiagram (e.g. a lab's build_diagram()), not {type(bd).__name__}")
        self.sliders = list(sliders)
        seen = set()
        for s in self.sliders:
            if not isinstance(s, Slider):
                raise TypeError(f"live(): params must be Slider objects or names of standard sliders, got {s!r}")
            if s.name in seen:
                raise ValueError(f"live(): two sliders are named {s.name!r}")
            seen.add(s.name)
        self.bd = bd
        compile_diagram(bd)
        self.placeholder = getattr(bd, PLACEHOLDER_ATTR, None)
        blocks = {str(b.name): b for b in bd.blocklist}
        self._drawn, self._data = {}, {}
        for s in self.sliders:
            for name, _ in s.blocks:
                b = blocks.get(name)
                if b is None:
                    raise ValueError(f"slider {s.name!r}: diagram '{bd.name}' has no block named {name!r}")
                self._drawn[name] = np.array(b.K if b.type in ("matgain", "gain") else b.value, dtype=float)
            for name, _ in s.inputs:
                b = blocks.get(name)
                if b is None or b.type != "sequence":
                    raise ValueError(f"slider {s.name!r}: diagram '{bd.name}' has no SEQUENCE block named {name!r}")
                self._data[name] = np.array(b.data, dtype=float)
        start = time.perf_counter()
        self.program = compile_run(bd, steps, probes=["*"], params=sorted(self._drawn), substeps=substeps, dt=dt)
        self.compile_s = time.perf_counter() - start
        self.input_bound = float(input_bound)
        self.diagram = _diagram(bd, input_bound=input_bound, placeholder=bool(self.placeholder), only_default=True,
                                badges=self._badges)
        graph = self.diagram.graph
        self.layers = [_Layer(layer_blocks(bd, k, graph), layer.params) for k, layer in enumerate(lstm_layers(bd))]
        self.first = self.run()

    def _badges(self, edge_signal, names):
        shapes = self.program.shapes.records[-1]
        out = {}
        for name in set(edge_signal) - {None}:
            shape = shapes.get(("signals", name))
            if shape is not None:
                out[name] = int(np.prod(shape[1:] if self.program.batch and len(shape) > 1 else shape)) or 1
        return out

    @property
    def defaults(self) -> dict[str, float]:
        """Every slider's starting value."""
        return {s.name: float(s.value) for s in self.sliders}

    def parameters(self, values: Mapping[str, float] | None = None) -> tuple[dict, dict]:
        """The block parameters and SEQUENCE data the sliders at ``values`` give (the others as drawn)."""
        values = {**self.defaults, **(values or {})}
        unknown = set(values) - set(self.defaults)
        if unknown:
            raise ValueError(f"no slider named {sorted(unknown)}; the sliders are {sorted(self.defaults)}")
        params, inputs = {}, {}
        for s in self.sliders:
            v = float(values[s.name])
            for name, f in s.blocks:
                params[name] = np.asarray(f(v, params.get(name, self._drawn[name])), dtype=float)
            for name, f in s.inputs:
                inputs[name] = np.asarray(f(v, inputs.get(name, self._data[name])), dtype=float)
        return params, inputs

    def weights(self, params: Mapping[str, np.ndarray]) -> list:
        """Each LSTM layer's weights with the parameters ``params`` (block name -> value) in place."""
        from ..core.params import LSTMParams

        out = []
        for layer in self.layers:
            p = layer.params
            parts = {"W": [], "R": [], "b": []}
            for g in _GATES:
                drawn = dict(zip("WRb", p.gate(g)))
                for key in "WRb":
                    block = layer.blocks.get(f"{key}_{g}")
                    parts[key].append(np.asarray(params[block]) if block in params else drawn[key])
            F = params.get(layer.blocks.get("F"), p.F) if p.F is not None else None
            bF = params.get(layer.blocks.get("bF"), p.bF) if p.F is not None else None
            out.append(LSTMParams(np.vstack(parts["W"]), np.vstack(parts["R"]), np.concatenate(parts["b"]), F, bF))
        return out

    def run(self, values: Mapping[str, float] | None = None) -> LiveRun:
        """Run the compiled diagram with the sliders at ``values`` (the rest at their starting values)."""
        from .inspector import _loop_records, layer_checks

        start = time.perf_counter()
        params, inputs = self.parameters(values)
        result = self.program.run(params=params or None, inputs=inputs or None)
        weights = self.weights(params)
        dia = self.diagram
        checks = layer_checks(self.bd, dia.graph, input_bound=self.input_bound, weights=weights)
        loops = _loop_records(dia.graph, dia.loops, checks, dia.colours, bool(self.placeholder))
        return LiveRun(result, loops, weights, {**self.defaults, **(values or {})}, time.perf_counter() - start)

    # ---------------------------------------------------------------- what the page's sources hold

    def traces(self, run: LiveRun) -> tuple[dict, list[str]]:
        """``trace``'s columns: ``t``, then ``y0``, ``y1``, ... (the recorders' components, recorder by recorder;
        a batch's sequences one after another), and a label per column."""
        cols, labels = {"t": np.asarray(run.result.t, dtype=float)}, []
        for name, values in run.result.recorders.items():
            v = np.asarray(values, dtype=float)
            v = v[None] if v.ndim == 2 else v.reshape(1, -1, 1) if v.ndim == 1 else v  # (B, T, n)
            for b in range(v.shape[0]):
                for j in range(v.shape[2]):
                    cols[f"y{len(labels)}"] = v[b, :, j]
                    labels.append(name + (f"[{j}]" if v.shape[2] > 1 else "") + (f" #{b}" if v.shape[0] > 1 else ""))
        return cols, labels

    def signals(self, run: LiveRun) -> tuple[dict, dict]:
        """The wires' signals for the value badges (sequence 0): columns ``s<k>_<j>``; and signal -> its columns."""
        cols, where = {}, {}
        wanted = {n for n in self.diagram.edge_signal if n}
        for k, name in enumerate(sorted(wanted)):
            if name not in run.result.signals:
                continue
            v = np.asarray(run.result.signals[name], dtype=float)
            if self.program.batch and v.ndim == 3:
                v = v[0]
            v = v.reshape(len(run.result.t), -1)
            where[name] = []
            for j in range(v.shape[1]):
                cols[f"s{k}_{j}"] = v[:, j]
                where[name].append(f"s{k}_{j}")
        return cols, where

    @staticmethod
    def gains(run: LiveRun) -> dict:
        """``gains``' columns: one row per loop with a Theorem 4 quantity."""
        rows = [rec for rec in run.loops if rec["iss"]]
        return {"loop": [rec["label"] for rec in rows], "value": [rec["iss"]["value"] for rec in rows],
                "holds": [bool(rec["iss"]["holds"]) for rec in rows], "margin": [rec["iss"]["margin"] for rec in rows],
                "short": [rec["iss"]["short"] for rec in rows], "text": [rec["iss"]["text"] for rec in rows],
                "index": [int(rec["index"]) for rec in rows]}


# --------------------------------------------------------------------------- #
# the page
# --------------------------------------------------------------------------- #


def _bokeh():
    try:
        import bokeh  # noqa: F401
    except ImportError as err:
        raise ModuleNotFoundError(f"live parameters need Bokeh: {_INSTALL}", name="bokeh") from err


def make_document(model: LiveModel, title: str | None = None) -> Callable:
    """The Bokeh application's ``modify_doc(doc)`` for ``model``: one page per browser session."""
    _bokeh()
    from bokeh.layouts import column
    from bokeh.models import Button, ColumnDataSource, CustomJS, Div, HoverTool, Legend, LegendItem, Span
    from bokeh.models import Slider as BokehSlider
    from bokeh.palettes import Category10_10
    from bokeh.plotting import figure

    first = model.first
    trace0, labels = model.traces(first)
    signals0, where = model.signals(first)
    page_title = title or model.bd.name

    def modify_doc(doc):
        trace = ColumnDataSource(trace0, name="trace")
        signals = ColumnDataSource(signals0, name="signals")
        gains = ColumnDataSource(model.gains(first), name="gains")
        fig = figure(sizing_mode="stretch_both", min_height=200, x_axis_label="t [s]", name="plot",
                     title=", ".join(dict.fromkeys(model.first.result.recorders)) + " over time",
                     tools="pan,box_zoom,wheel_zoom,reset,save", toolbar_location="right")
        fig.title.text_font_size = "14px"
        items = []
        for j, label in enumerate(labels):
            line = fig.step("t", f"y{j}", source=trace, mode="after", line_width=2.2,
                            line_color=Category10_10[j % 10], name=f"line{j}")
            items.append(LegendItem(label=label, renderers=[line]))
        legend = Legend(items=items, click_policy="hide", location="top_left", background_fill_alpha=0.75,
                        label_text_font_size="13px")
        fig.add_layout(legend, "right" if len(items) > 3 else "center")  # many lines: beside the plot, not on it
        fig.add_layout(Span(location=float(trace0["t"][0]), dimension="height", line_color="#444444",
                            line_dash="dashed", line_width=1.2, name="cursor"))
        fig.add_tools(HoverTool(tooltips=[("t", "$x{0.[000]} s"), ("value", "$y{0.[0000]}")]))
        fig.js_on_event("tap", CustomJS(code="if (window.lstmdsLive) window.lstmdsLive.setTime(cb_obj.x);"))
        trace.js_on_change("data", CustomJS(code="if (window.lstmdsLive) window.lstmdsLive.traced();"))
        signals.js_on_change("data", CustomJS(code="if (window.lstmdsLive) window.lstmdsLive.signalled();"))
        gains.js_on_change("data", CustomJS(code="if (window.lstmdsLive) window.lstmdsLive.gained();"))

        sliders = [BokehSlider(start=s.start, end=s.end, value=s.value, step=s.step, title=s.title,
                               name=f"param:{s.name}", sizing_mode="stretch_width") for s in model.sliders]
        status = Div(text=_status(first), name="status", sizing_mode="stretch_width")
        reset = Button(label="reset the sliders", name="reset", width=150)
        pending = {"tick": False}

        def rerun():
            pending["tick"] = False
            done = model.run({s.name: w.value for s, w in zip(model.sliders, sliders)})
            status.text = _status(done)
            gains.data = model.gains(done)
            signals.data = model.signals(done)[0]
            trace.data = model.traces(done)[0]  # last: the page counts a redraw when the traces arrive

        def moved(attr, old, new):  # slider moves coalesce: one re-run for whatever arrived meanwhile
            if not pending["tick"]:
                pending["tick"] = True
                doc.add_next_tick_callback(rerun)

        for w in sliders:
            w.on_change("value", moved)

        def back():
            for s, w in zip(model.sliders, sliders):
                w.value = s.value

        reset.on_click(back)
        # no plot shows signals and gains: the controls carry them (tags), so that they are in the document
        doc.add_root(column(*sliders, reset, status, name="controls", sizing_mode="stretch_width",
                            tags=[signals, gains]))
        doc.add_root(fig)
        doc.title = f"{page_title} \u2014 live"
        doc.template = _template(model, page_title, where)

    return modify_doc


def _status(run: LiveRun) -> str:
    moved = ", ".join(f"{k} = {v:g}" for k, v in run.values.items())
    return (f'<span class="live-status">re-run in {run.run_s * 1e3:.0f} ms '
            f'({len(run.result.t)} steps){": " + html.escape(moved) if moved else ""}</span>')


def _template(model: LiveModel, title: str, where: dict) -> str:
    from .inspector import LEGIBLE_PX, THEOREM_NOTE, _json_for_script, loop_legend
    from .inspector_svg import BADGE_HEIGHT, SMALLEST_TEXT_PX
    from .inspector_web import CSS

    dia = model.diagram
    esc = html.escape
    data = {"signals": where, "loops": dia.loop_info, "focus": dia.focus, "badge_height": BADGE_HEIGHT,
            "legible_scale": LEGIBLE_PX / SMALLEST_TEXT_PX, "steps": len(model.first.result.t)}
    placeholder = (f'<p class="placeholder" role="alert"><b>Not the lab\u2019s network.</b> {esc(model.placeholder)}</p>'
                   if model.placeholder else "")
    names = ", ".join(s.name for s in model.sliders)
    theorem = f"<footer>{THEOREM_NOTE}</footer>" if dia.layers else ""
    body = f"""
<div id="lstmds-live" class="app">
<header><h1>{esc(title)} <span class="sub">live parameters</span></h1>
<p>Move a slider ({esc(names)}): the whole run is simulated again and the traces, the values on the wires and the
Theorem 4 gains on the loops follow. Play or drag the step slider to scrub k; drag the diagram to move it.</p>{placeholder}</header>
<div class="bar"><button type="button" id="lstmds-play">\u25b6 play</button>
<input type="range" id="lstmds-slider" min="0" max="{data['steps'] - 1}" value="0" step="1" aria-label="step k">
<span id="lstmds-step"></span><span class="zoom"><button type="button" id="lstmds-zoom-out" title="smaller">\u2212</button>
<span id="lstmds-zoom-level"></span><button type="button" id="lstmds-zoom-in" title="larger">+</button>
<button type="button" id="lstmds-zoom" title="the whole diagram">fit</button></span></div>
<div class="main"><div class="left">
<div class="loops">{loop_legend(dia.loop_info)}</div>
{dia.defs}
<div class="diagram">{"".join(dia.svgs)}</div></div>
<div class="right"><div class="controls">{{{{ embed(roots.controls) }}}}</div>
<div class="plotbox"><p id="lstmds-now"></p><div class="plotwrap">{{{{ embed(roots.plot) }}}}</div></div></div></div>
</div>
{theorem}
<script type="application/json" id="lstmds-live-data">{_json_for_script(data)}</script>
<script>{LIVE_JS}</script>
"""
    return ("{% from macros import embed %}\n{% block preamble %}<style>" + CSS + LIVE_CSS + "</style><link rel=\"icon\" href=\"data:,\">{% endblock %}\n"
            "{% block contents %}" + body.replace("{%", "{ %").replace("{#", "{ #") + "{% endblock %}")


LIVE_CSS = r"""
.right .controls { flex: none; background: white; border: 1px solid var(--line); border-radius: 6px; padding: 6px 12px;
                   margin-bottom: 10px; }
.right .plotbox { flex: 1 1 auto; }
.live-status { font-size: 12.5px; color: var(--muted); }
.wire.selected .halo { stroke: #1f77b4; stroke-opacity: 0.28; }
"""

LIVE_JS = DIAGRAM_JS + r"""
(function () {
  "use strict";
  var root = document.getElementById("lstmds-live");
  var DATA = JSON.parse(document.getElementById("lstmds-live-data").textContent), BAR_H = DATA.badge_height;
  var svg = root.querySelector("svg.view"), diagram = root.querySelector(".diagram");
  var state = {i: 0, timer: null, zoom: 1, selected: null, redraws: 0, redrawnAt: null, doc: null, absmax: {}};
  var fmt = lstmdsDiagram.fmt;
  function doc() {
    if (state.doc) return state.doc;
    if (!window.Bokeh || !Bokeh.documents) return null;
    state.doc = Bokeh.documents.find(function (d) { return d.get_model_by_name("trace"); }) || null;
    return state.doc;
  }
  function column(source, name) { var d = source.data; return d instanceof Map ? d.get(name) : d[name]; }
  function model(name) { var d = doc(); return d ? d.get_model_by_name(name) : null; }
  function times() { return column(model("trace"), "t"); }
  function values(name, i) {
    var cols = DATA.signals[name], src = model("signals");
    if (!cols || !src) return null;
    return cols.map(function (c) { return column(src, c)[i]; });
  }
  function text(v) { return v.length === 1 ? fmt(v[0]) : "[" + v.slice(0, 8).map(fmt).join(", ") + (v.length > 8 ? ", \u2026" : "") + "]"; }
  function absmax() {
    var src = model("signals");
    state.absmax = {};
    Object.keys(DATA.signals).forEach(function (name) {
      var m = 0;
      DATA.signals[name].forEach(function (c) { column(src, c).forEach(function (x) { if (isFinite(x)) m = Math.max(m, Math.abs(x)); }); });
      state.absmax[name] = m;
    });
  }
  function badges() {
    var i = state.i;
    svg.querySelectorAll(".badge").forEach(function (el) {
      var name = el.getAttribute("data-for"), v = values(name, i), y0 = parseFloat(el.getAttribute("data-y0"));
      if (!v) return;
      var scale = state.absmax[name] > 0 ? BAR_H / state.absmax[name] : 0;
      el.querySelectorAll("rect").forEach(function (r, j) {
        var h = v[j] * scale;
        r.setAttribute("y", h >= 0 ? y0 - h : y0);
        r.setAttribute("height", Math.abs(h));
        r.setAttribute("class", h >= 0 ? "pos" : "neg");
      });
      el.setAttribute("data-k", i);
      el.querySelector("title").textContent = name + " at k = " + i + ": " + text(v);
    });
  }
  function now() {
    var el = document.getElementById("lstmds-now"), name = state.selected, v = name ? values(name, state.i) : null;
    el.textContent = name ? name + " at k = " + state.i + ": " + (v ? text(v) : "not recorded")
                          : "click a wire to read its value at k";
  }
  function setStep(i) {
    var t = times();
    if (!t) return;
    state.i = Math.max(0, Math.min(t.length - 1, Math.round(i)));
    slider.value = state.i;
    document.getElementById("lstmds-step").textContent = "step k = " + state.i + " of " + (t.length - 1) + "   t = " + fmt(t[state.i]) + " s";
    var cursor = model("cursor");
    if (cursor) cursor.location = t[state.i];
    badges();
    now();
  }
  function setTime(t0) {
    var t = times(), best = 0;
    for (var i = 1; i < t.length; i++) if (Math.abs(t[i] - t0) < Math.abs(t[best] - t0)) best = i;
    setStep(best);
  }
  function gained() {  // the server sent new Theorem 4 gains: rewrite the tags on the loops and the legend
    var g = model("gains");
    var idx = column(g, "index"), shorts = column(g, "short"), holds = column(g, "holds"), texts = column(g, "text");
    for (var r = 0; r < idx.length; r++) {
      var k = idx[r], ok = Boolean(holds[r]);
      svg.querySelectorAll('.loop-tag[data-loop="' + k + '"]').forEach(function (tag) {
        tag.querySelector("text").textContent = shorts[r];
        tag.classList.toggle("ok", ok); tag.classList.toggle("fail", !ok);
        tag.querySelector("title").textContent = texts[r];
      });
      root.querySelectorAll('[data-loop-gain="' + k + '"]').forEach(function (el) {
        el.textContent = shorts[r]; el.title = texts[r];
        el.classList.toggle("ok", ok); el.classList.toggle("fail", !ok);
      });
    }
  }
  function signalled() { absmax(); badges(); now(); }
  function traced() {
    requestAnimationFrame(function () { requestAnimationFrame(function () {
      state.redraws += 1; state.redrawnAt = performance.now();
    }); });
  }
  // zoom and pan, as in the inspector
  var zoomLevel = document.getElementById("lstmds-zoom-level");
  var W = parseFloat(svg.getAttribute("width")), H = parseFloat(svg.getAttribute("height"));
  function applyZoom(s) { state.zoom = s; svg.style.width = W * s + "px"; svg.style.height = H * s + "px"; zoomLevel.textContent = Math.round(s * 100) + "%"; }
  function fitScale() { return Math.min(2, (diagram.clientWidth - 4) / W, (diagram.clientHeight - 4) / H); }
  function setZoom(s) {
    if (s === "fit") { applyZoom(fitScale()); return; }
    if (s === "auto") s = Math.max(Math.min(fitScale(), 1.25), DATA.legible_scale);
    applyZoom(Math.max(0.15, Math.min(3, s)));
  }
  function centreOn(loop) { lstmdsDiagram.centreOn(svg, diagram, loop); }
  document.getElementById("lstmds-zoom-in").addEventListener("click", function () { setZoom(state.zoom * 1.25); });
  document.getElementById("lstmds-zoom-out").addEventListener("click", function () { setZoom(state.zoom / 1.25); });
  document.getElementById("lstmds-zoom").addEventListener("click", function () { setZoom("fit"); });
  var dragged = lstmdsDiagram.pannable(diagram);
  // the step: play, pause, scrub
  var slider = document.getElementById("lstmds-slider"), play = document.getElementById("lstmds-play");
  slider.addEventListener("input", function () { setStep(parseInt(slider.value, 10)); });
  play.addEventListener("click", function () {
    var n = times().length;
    if (state.timer) { clearInterval(state.timer); state.timer = null; play.textContent = "\u25b6 play"; return; }
    if (state.i >= n - 1) setStep(0);
    play.textContent = "\u275a\u275a pause";
    state.timer = setInterval(function () {
      if (state.i >= times().length - 1) { clearInterval(state.timer); state.timer = null; play.textContent = "\u25b6 play"; return; }
      setStep(state.i + 1);
    }, Math.max(40, Math.round(8000 / n)));
  });
  root.querySelectorAll("input[data-loop-toggle]").forEach(function (box) {
    box.addEventListener("change", function () {
      var k = box.getAttribute("data-loop-toggle"), on = box.checked;
      root.querySelectorAll('.loop-overlay[data-loop="' + k + '"], .loop-tag[data-loop="' + k + '"], .loop-chip[data-loop="' + k + '"]')
        .forEach(function (el) { el.style.display = on ? "" : "none"; });
      box.parentNode.classList.toggle("off", !on);
    });
  });
  root.addEventListener("click", function (ev) {
    if (dragged()) return;
    var el = ev.target.closest(".wire[data-signal], [data-for], [data-shows]");
    if (!el || !svg.contains(el)) return;
    state.selected = el.getAttribute("data-signal") || el.getAttribute("data-for") || el.getAttribute("data-shows");
    svg.querySelectorAll(".wire.selected").forEach(function (w) { w.classList.remove("selected"); });
    svg.querySelectorAll('.wire[data-signal="' + CSS.escape(state.selected) + '"]').forEach(function (w) { w.classList.add("selected"); });
    now();
  });
  window.lstmdsLive = {
    setStep: setStep, setTime: setTime, setZoom: setZoom, traced: traced, signalled: signalled, gained: gained,
    state: function () { return {step: state.i, zoom: state.zoom, selected: state.selected, redraws: state.redraws,
                                  redrawnAt: state.redrawnAt, playing: Boolean(state.timer)}; }
  };
  setZoom("auto");
  if (DATA.focus !== null && fitScale() < state.zoom) centreOn(DATA.focus);
  (function ready() {  // the Bokeh document arrives over the websocket
    if (!doc() || !model("signals")) { setTimeout(ready, 30); return; }
    absmax(); setStep(0);
  })();
})();
"""


# --------------------------------------------------------------------------- #
# serving it
# --------------------------------------------------------------------------- #


def start_server(model: LiveModel, *, port: int = 0, title: str | None = None, io_loop=None):
    """A Bokeh server for ``model`` on ``127.0.0.1:port`` (0: a free port), started on ``io_loop``
    (default: the current one); returns it (``.port``; ``.stop()``)."""
    _bokeh()
    from bokeh.application import Application
    from bokeh.application.handlers.function import FunctionHandler
    from bokeh.server.server import Server

    if not port:  # a free port, so that the page's own origin can be named (Bokeh takes no wildcard port)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
    server = Server({"/": Application(FunctionHandler(make_document(model, title)))}, port=port,
                    address="127.0.0.1", io_loop=io_loop, allow_websocket_origin=[f"localhost:{port}", f"127.0.0.1:{port}"],
                    check_unused_sessions_milliseconds=5000, unused_session_lifetime_milliseconds=15000)
    server.start()
    return server


class Live:
    """A live page served from a thread of this process (:func:`live`); in Jupyter it shows inline.

    Attributes
    ----------
    url : str
        The page (``http://localhost:PORT/``).
    model : LiveModel
        The compiled diagram and its sliders (``model.run(values)``).
    """

    def __init__(self, model: LiveModel, *, port: int = 0, title: str | None = None, height: int = 860):
        from tornado.ioloop import IOLoop

        self.model, self.height = model, int(height)
        started, failed = threading.Event(), []
        self._loop = asyncio.new_event_loop()

        def serve():
            asyncio.set_event_loop(self._loop)
            try:
                self._server = start_server(model, port=port, title=title, io_loop=IOLoop.current())
            except Exception as err:  # noqa: BLE001  (a port in use, say: raised in the caller's thread)
                failed.append(err)
                started.set()
                return
            started.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=serve, name="lstmds-live", daemon=True)
        self._thread.start()
        started.wait()
        if failed:
            raise failed[0]
        self.port = self._server.port
        self.url = f"http://localhost:{self.port}/"

    def stop(self) -> None:
        """Stop serving the page."""
        def halt():
            self._server.stop()
            self._loop.stop()

        if self._loop.is_running():
            self._loop.call_soon_threadsafe(halt)
            self._thread.join(timeout=5)

    def _repr_html_(self) -> str:
        return (f'<iframe src="{html.escape(self.url)}" style="width:100%;height:{self.height}px;border:1px solid #ddd" '
                f'title="lstmds live parameters"></iframe><p style="font-size:12px;color:#5f6368">Live while this '
                f'kernel runs, served at <a href="{html.escape(self.url)}" target="_blank">{html.escape(self.url)}</a> '
                f'(open it in a browser on this machine).</p>')

    def __repr__(self) -> str:
        return f"<Live {self.model.bd.name!r} at {self.url}: sliders {[s.name for s in self.model.sliders]}>"


def live(bd, params: Sequence[Slider | str] | None = None, *, title: str | None = None, port: int = 0,
         steps: int | None = None, substeps: int = 10, dt: float | None = None, input_bound: float = 1.0) -> Live:
    """Serve ``bd`` with sliders on localhost: a slider move re-runs the whole run and redraws it.

    Parameters
    ----------
    bd : bdsim BlockDiagram
        The diagram (a lab's ``build_diagram()``).
    params : list of Slider or str, optional
        The sliders: :class:`Slider` objects (a lab's ``live_params(bd)``), or names of the standard
        ones (``forget_bias``, ``input_bias``, ``R_scale``, ``amplitude``: :func:`standard_sliders`).
        Default: the standard ones that apply to the diagram.
    title : str, optional
        The page's title (default: the diagram's name).
    port : int
        The local port (0: a free one).
    steps, substeps, dt : as for :func:`lstmds_sim.run`.
    input_bound : float
        ``rho`` of Theorem 4's gate bounds (1: normalised inputs).

    Returns
    -------
    Live
        ``.url``; in Jupyter the page inline (a frame of the local page, live while the kernel runs);
        ``.stop()``.
    """
    _bokeh()
    if params is None or (params and all(isinstance(p, str) for p in params)):
        sliders = standard_sliders(bd, params)
    else:
        sliders = [p if isinstance(p, Slider) else standard_sliders(bd, [p])[0] for p in params]
    model = LiveModel(bd, sliders, steps=steps, substeps=substeps, dt=dt, input_bound=input_bound)
    return Live(model, port=port, title=title)
