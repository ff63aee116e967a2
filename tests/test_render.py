"""Tests for lstmds_sim.drawing.graph (feedback loops), layout, scene and render (drawing)."""

from __future__ import annotations

import colorsys
import itertools
import pathlib
import re
import xml.etree.ElementTree as ET

import pytest
from matplotlib.colors import to_rgb

from lstmds_sim.drawing.graph import (
    INNER,
    OUTER,
    DiagramGraph,
    Edge,
    FeedbackLoop,
    Node,
    feedback_edge_indices,
    find_feedback_loops,
    graph_from_blockdiagram,
    loop_role,
)
from lstmds_sim.drawing.layout import layout, plan_layout
from lstmds_sim.drawing.render import LOOP_SCHEME, render
from lstmds_sim.drawing.scene import build_scene

GATES = ("i", "f", "g", "o")


def _node(name: str, kind: str, meaning: str = "") -> Node:
    """A block; ``meaning``: what its state stands for, as a layer's record says (INNER, OUTER)."""
    return Node(id=name, label=f"{name}\n{kind}", kind=kind, is_delay=kind == "unitdelay", meaning=meaning)


def lstm_graph() -> DiagramGraph:
    """A one-layer LSTM followed by a fully connected layer, as 28 blocks:

    gate k:  sum_k = Wk u + Rk h + bk,  i, f, o = sigmoid, g = tanh
    cell:    c = f*c_prev + i*g
    hidden:  h = o * tanh(c)
    output:  y = FC h

    Its two delays carry the meanings a layer's record gives them (graph_from_blockdiagram reads them
    from core.diagram.lstm_layers).
    """
    nodes = [_node("u", "sequence")]
    edges = []
    for k in GATES:
        act = "tanh" if k == "g" else "sigmoid"
        nodes += [
            _node(f"W{k}", "matgain"),
            _node(f"R{k}", "matgain"),
            _node(f"b{k}", "constant"),
            _node(f"sum_{k}", "sum"),
            _node(f"{act} {k}", act),
        ]
        edges += [
            Edge("u", f"W{k}", 0, 0, "u"),
            Edge("hidden state", f"R{k}", 0, 0, "h_prev"),
            Edge(f"W{k}", f"sum_{k}", 0, 0),
            Edge(f"R{k}", f"sum_{k}", 0, 1),
            Edge(f"b{k}", f"sum_{k}", 0, 2),
            Edge(f"sum_{k}", f"{act} {k}", 0, 0, f"z_{k}"),
        ]
    nodes += [
        _node("f*c", "hadamard"),
        _node("i*g", "hadamard"),
        _node("sum c", "sum"),
        _node("tanh c", "tanh"),
        _node("o*tanh(c)", "hadamard"),
        _node("cell state", "unitdelay", INNER),
        _node("hidden state", "unitdelay", OUTER),
        _node("FC layer", "matgain"),
        _node("y", "recorder"),
    ]
    edges += [
        Edge("sigmoid f", "f*c", 0, 0, "f"),
        Edge("cell state", "f*c", 0, 1, "c_prev"),
        Edge("sigmoid i", "i*g", 0, 0, "i"),
        Edge("tanh g", "i*g", 0, 1, "g"),
        Edge("f*c", "sum c", 0, 0),
        Edge("i*g", "sum c", 0, 1),
        Edge("sum c", "cell state", 0, 0, "c"),
        Edge("sum c", "tanh c", 0, 0, "c"),
        Edge("sigmoid o", "o*tanh(c)", 0, 0, "o"),
        Edge("tanh c", "o*tanh(c)", 0, 1),
        Edge("o*tanh(c)", "hidden state", 0, 0, "h"),
        Edge("o*tanh(c)", "FC layer", 0, 0, "h"),
        Edge("FC layer", "y", 0, 0, "y"),
    ]
    return DiagramGraph("LSTM layer", tuple(nodes), tuple(edges))


def _graph(name: str, nodes: list[tuple[str, ...]], edges: list[tuple[str, str]]) -> DiagramGraph:
    """A small graph from (name, kind) or (name, kind, meaning) tuples and (src, dst) pairs; each
    destination's inputs are numbered in the order its edges are listed."""
    ports: dict[str, int] = {}
    built = []
    for src, dst in edges:
        built.append(Edge(src, dst, 0, ports.get(dst, 0)))
        ports[dst] = ports.get(dst, 0) + 1
    return DiagramGraph(name, tuple(_node(*node) for node in nodes), tuple(built))


def _loop_edges(graph: DiagramGraph, loop: FeedbackLoop) -> set[tuple[str, str]]:
    return {(graph.edges[i].src, graph.edges[i].dst) for i in loop.edges}


# --------------------------------------------------------------------------- #
# DiagramGraph
# --------------------------------------------------------------------------- #


def test_lstm_graph_has_the_expected_blocks() -> None:
    g = lstm_graph()
    assert len(g.nodes) == 30  # 28 LSTM + FC blocks, plus source u and sink y
    assert g.delays == ("cell state", "hidden state")


def test_graph_rejects_duplicate_nodes_and_dangling_edges() -> None:
    with pytest.raises(ValueError, match="duplicate node id 'a'"):
        DiagramGraph("d", (_node("a", "gain"), _node("a", "sum")), ())
    with pytest.raises(ValueError, match="unknown node 'b'"):
        DiagramGraph("d", (_node("a", "gain"),), (Edge("a", "b"),))


# --------------------------------------------------------------------------- #
# find_feedback_loops
# --------------------------------------------------------------------------- #


def test_lstm_inner_loop_is_the_cell_state_loop() -> None:
    g = lstm_graph()
    loops = find_feedback_loops(g)
    assert [loop.delay for loop in loops] == ["cell state", "hidden state"]
    inner = loops[0]
    assert inner.nodes == {"cell state", "f*c", "sum c"}
    assert _loop_edges(g, inner) == {("cell state", "f*c"), ("f*c", "sum c"), ("sum c", "cell state")}


def test_lstm_outer_loop_is_the_hidden_state_loop() -> None:
    g = lstm_graph()
    outer = find_feedback_loops(g)[1]
    expected = (
        {f"R{k}" for k in GATES}
        | {f"sum_{k}" for k in GATES}
        | {"sigmoid i", "sigmoid f", "sigmoid o", "tanh g"}
        | {"f*c", "i*g", "sum c", "tanh c", "o*tanh(c)", "hidden state"}
    )
    assert outer.nodes == expected
    assert len(outer.nodes) == 18
    # Inputs, biases, input weights, the readout and the other delay are not on it.
    for outside in ["u", "y", "FC layer", "cell state", *(f"W{k}" for k in GATES), *(f"b{k}" for k in GATES)]:
        assert outside not in outer.nodes
    assert ("o*tanh(c)", "hidden state") in _loop_edges(g, outer)
    assert ("o*tanh(c)", "FC layer") not in _loop_edges(g, outer)
    assert ("sum c", "cell state") not in _loop_edges(g, outer)


def test_lstm_loops_share_exactly_the_forget_product_edge() -> None:
    g = lstm_graph()
    inner, outer = find_feedback_loops(g)
    shared = inner.edges & outer.edges
    assert {(g.edges[i].src, g.edges[i].dst) for i in shared} == {("f*c", "sum c")}
    assert inner.nodes & outer.nodes == {"f*c", "sum c"}


def test_feedback_edges_are_the_edges_into_delays() -> None:
    g = lstm_graph()
    into = {(g.edges[i].src, g.edges[i].dst) for i in feedback_edge_indices(g)}
    assert into == {("sum c", "cell state"), ("o*tanh(c)", "hidden state")}


def test_no_delay_means_no_loop() -> None:
    g = _graph("chain", [("u", "constant"), ("k", "gain"), ("y", "recorder")], [("u", "k"), ("k", "y")])
    assert find_feedback_loops(g) == []


def test_algebraic_cycle_without_delay_is_not_a_feedback_loop() -> None:
    g = _graph(
        "algebraic",
        [("u", "constant"), ("s", "sum"), ("k", "gain")],
        [("u", "s"), ("k", "s"), ("s", "k")],
    )
    assert find_feedback_loops(g) == []


def test_delay_on_a_feedforward_path_closes_no_loop() -> None:
    g = _graph(
        "fir",
        [("u", "constant"), ("z", "unitdelay"), ("s", "sum"), ("y", "recorder")],
        [("u", "z"), ("u", "s"), ("z", "s"), ("s", "y")],
    )
    assert find_feedback_loops(g) == []
    # ... and is drawn as a plain forward edge.
    pos = layout(g)
    assert pos["u"][0] < pos["z"][0] < pos["s"][0]


def test_two_independent_loops() -> None:
    g = _graph(
        "two accumulators",
        [
            ("u", "constant"),
            ("s1", "sum"),
            ("z1", "unitdelay"),
            ("k", "gain"),
            ("s2", "sum"),
            ("z2", "unitdelay"),
            ("y", "recorder"),
        ],
        [("u", "s1"), ("z1", "s1"), ("s1", "z1"), ("s1", "k")]
        + [("k", "s2"), ("z2", "s2"), ("s2", "z2"), ("s2", "y")],
    )
    loops = find_feedback_loops(g)
    assert [(loop.delay, set(loop.nodes)) for loop in loops] == [("z1", {"s1", "z1"}), ("z2", {"s2", "z2"})]
    assert not loops[0].edges & loops[1].edges


def test_loop_through_two_delays_belongs_to_neither() -> None:
    # s -> z1 -> k -> z2 -> s: every cycle passes through both delays.
    g = _graph(
        "two delays in series",
        [("u", "constant"), ("s", "sum"), ("z1", "unitdelay"), ("k", "gain"), ("z2", "unitdelay")],
        [("u", "s"), ("z2", "s"), ("s", "z1"), ("z1", "k"), ("k", "z2")],
    )
    assert find_feedback_loops(g) == []


# --------------------------------------------------------------------------- #
# layout
# --------------------------------------------------------------------------- #


def test_layout_runs_forward_edges_left_to_right() -> None:
    g = lstm_graph()
    pos = layout(g)
    assert set(pos) == {n.id for n in g.nodes}
    back = feedback_edge_indices(g)
    for i, e in enumerate(g.edges):
        if i not in back:
            assert pos[e.src][0] < pos[e.dst][0], f"{e.src} -> {e.dst} does not run left to right"
    # Feedback edges point backwards: the delays sit left of the blocks feeding them.
    for i in back:
        e = g.edges[i]
        assert pos[e.dst][0] < pos[e.src][0]


def test_layout_does_not_stack_blocks_on_each_other() -> None:
    pos = layout(lstm_graph())
    by_column: dict[float, list[float]] = {}
    for x, y in pos.values():
        by_column.setdefault(x, []).append(y)
    for ys in by_column.values():
        ys.sort()
        assert all(b - a >= 1.0 - 1e-9 for a, b in itertools.pairwise(ys))


def test_layout_puts_delays_next_to_their_consumers() -> None:
    pos = layout(lstm_graph())
    assert pos["cell state"][0] == pos["f*c"][0] - 1
    assert pos["hidden state"][0] == pos["Ri"][0] - 1
    assert pos["u"][0] == 0


def test_layout_keeps_a_recurrent_branch_next_to_its_loop() -> None:
    # A long input chain u -> k1 -> k2 -> k3 -> s, and a loop s -> z -> r -> s.
    # Longest-path columns would put z and r at the far left; shortest wires
    # put them right before s.
    g = _graph(
        "late loop",
        [("u", "constant"), ("k1", "gain"), ("k2", "gain"), ("k3", "gain"), ("s", "sum"), ("z", "unitdelay")]
        + [("r", "gain"), ("y", "recorder")],
        [("u", "k1"), ("k1", "k2"), ("k2", "k3"), ("k3", "s"), ("r", "s"), ("s", "z"), ("z", "r"), ("s", "y")],
    )
    pos = layout(g)
    assert [pos[v][0] for v in ("u", "k1", "k2", "k3", "s", "y")] == [0, 1, 2, 3, 4, 5]
    assert pos["r"][0] == 3 and pos["z"][0] == 2


def test_layout_of_empty_graph_is_empty() -> None:
    assert layout(DiagramGraph("nothing", (), ())) == {}


# That the layout, the loops and the rendered files do not depend on the process (its string-hash seed)
# is test_determinism's: it lays out and renders the labs' diagrams in two fresh Pythons.


# --------------------------------------------------------------------------- #
# render
# --------------------------------------------------------------------------- #

CELL, HIDDEN = LOOP_SCHEME["cell state"], LOOP_SCHEME["hidden state"]


def test_render_writes_svg_and_png(tmp_path: pathlib.Path) -> None:
    written = render(lstm_graph(), tmp_path / "sub" / "lstm")
    assert written == [tmp_path / "sub" / "lstm.svg", tmp_path / "sub" / "lstm.png"]
    png = written[1].read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    svg = written[0].read_text()
    assert svg.lstrip().startswith("<?xml") and "</svg>" in svg
    assert "loop closed by 'cell state' (3 blocks)" in svg
    assert "loop closed by 'hidden state' (18 blocks)" in svg
    assert CELL in svg and HIDDEN in svg
    assert "LSTM layer" in svg  # default title: the diagram's name


def test_render_without_loops_uses_no_loop_colours(tmp_path: pathlib.Path) -> None:
    g = _graph("chain", [("u", "constant"), ("k", "gain"), ("y", "recorder")], [("u", "k"), ("k", "y")])
    (svg,) = render(g, tmp_path / "chain", formats=("svg",), title="a chain")
    text = svg.read_text()
    assert "a chain" in text and "loop closed by" not in text
    assert not set(LOOP_SCHEME.values()) & set(re.findall(r"#[0-9a-f]{6}", text))


def test_render_rejects_empty_diagram_and_bad_arguments(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ValueError, match="empty"):
        render(DiagramGraph("nothing", (), ()), tmp_path / "x")
    with pytest.raises(ValueError, match="unknown image format"):
        render(lstm_graph(), tmp_path / "x", formats=("bmpx",))
    with pytest.raises(TypeError, match="DiagramGraph or a bdsim BlockDiagram"):
        render("not a diagram", tmp_path / "x")
    stranger = FeedbackLoop("z9", frozenset({"z9"}), frozenset({0}))
    with pytest.raises(ValueError, match="not in diagram"):
        render(lstm_graph(), tmp_path / "x", loops=[stranger])
    assert not list(tmp_path.iterdir())


def test_render_drops_an_image_suffix_from_the_stem(tmp_path: pathlib.Path) -> None:
    g = _graph("chain", [("u", "constant"), ("y", "recorder")], [("u", "y")])
    assert render(g, tmp_path / "chain.png", formats=("png",)) == [tmp_path / "chain.png"]


# --------------------------------------------------------------------------- #
# subsystems, loop colours by meaning, legibility
# --------------------------------------------------------------------------- #

SVG = "{http://www.w3.org/2000/svg}"


def _in(sub: str, name: str, kind: str, delay: bool = False, meaning: str = "") -> Node:
    """A block flattened from subsystem ``sub``, named as bdsim names it."""
    return Node(id=f"{sub}/{name}", label=f"{name}\n{kind}", kind=kind, is_delay=delay, subsystem=sub,
                meaning=meaning)


def _layer_in_subsystem(sub: str) -> tuple[list[Node], list[Edge]]:
    """lstm_graph's 28 layer blocks inside subsystem ``sub``, with its INPORT u and OUTPORT y."""
    base = lstm_graph()
    inner = [n for n in base.nodes if n.id not in ("u", "FC layer", "y")]
    nodes = [_in(sub, "u", "inport"), *(_in(sub, n.id, n.kind, n.is_delay, n.meaning) for n in inner),
             _in(sub, "y", "outport")]
    edges = [
        Edge(f"{sub}/{e.src}", f"{sub}/{e.dst}", e.src_port, e.dst_port, e.label)
        for e in base.edges
        if e.dst not in ("FC layer", "y")
    ]
    return nodes, [*edges, Edge(f"{sub}/o*tanh(c)", f"{sub}/y", 0, 0, "h")]


def stack_graph() -> DiagramGraph:
    """Two LSTM layers in series as subsystems lstm1 and lstm2, then a fully connected layer (62 blocks)."""
    n1, e1 = _layer_in_subsystem("lstm1")
    n2, e2 = _layer_in_subsystem("lstm2")
    nodes = [_node("u", "sequence"), *n1, *n2, _node("FC layer", "matgain"), _node("y", "recorder")]
    edges = [
        Edge("u", "lstm1/u", 0, 0, "u"),
        *e1,
        Edge("lstm1/y", "lstm2/u", 0, 0, "h1"),
        *e2,
        Edge("lstm2/y", "FC layer", 0, 0, "h2"),
        Edge("FC layer", "y", 0, 0, "y"),
    ]
    return DiagramGraph("two layers", tuple(nodes), tuple(edges))


def parallel_graph() -> DiagramGraph:
    """Two subsystems side by side on one input, with top-level blocks in the columns of the longer one
    (the shape of the pH identification lab: an LSTM beside the tank)."""
    a = [_in("a", n, k) for n, k in [("in", "inport"), ("k1", "gain"), ("s", "sum"), ("k2", "gain"), ("k3", "gain")]]
    a += [_in("a", "z", "unitdelay", True), _in("a", "k4", "gain"), _in("a", "out", "outport")]
    b = [_in("b", n, k) for n, k in [("in", "inport"), ("m1", "gain"), ("m2", "gain"), ("out", "outport")]]
    top = [_node("u", "sequence"), _node("pre", "gain"), _node("post", "gain"), _node("ya", "recorder")]
    top += [_node("p1", "gain"), _node("p2", "gain"), _node("p3", "gain"), _node("yb", "recorder")]
    chain = ["u", "pre", "a/in", "a/k1", "a/s", "a/k2", "a/k3", "a/k4", "a/out", "post", "ya"]
    wires = list(itertools.pairwise(chain))
    wires += [("a/s", "a/z"), ("a/z", "a/s"), ("u", "b/in"), ("b/in", "b/m1"), ("b/m1", "b/m2"), ("b/m2", "b/out")]
    wires += [("b/out", "p1"), ("p1", "p2"), ("p2", "p3"), ("p3", "yb")]
    return _graph_of("side by side", [*top, *a, *b], wires)


def _graph_of(name: str, nodes: list[Node], wires: list[tuple[str, str]]) -> DiagramGraph:
    ports: dict[str, int] = {}
    edges = []
    for src, dst in wires:
        edges.append(Edge(src, dst, 0, ports.get(dst, 0)))
        ports[dst] = ports.get(dst, 0) + 1
    return DiagramGraph(name, tuple(nodes), tuple(edges))


def _svg_fills(svg: pathlib.Path) -> dict[str, str]:
    """SVG group id -> fill colour of its first path, for the blocks, tabs and subsystem frames."""
    fills = {}
    for g in ET.parse(svg).getroot().iter(f"{SVG}g"):
        gid, path = g.get("id", ""), g.find(f"{SVG}path")
        if path is not None and re.match(r"(block|tab|subsystem)-", gid):
            found = re.search(r"fill: (#[0-9a-f]{6})", path.get("style", ""))
            fills[gid] = found.group(1) if found else "none"
    return fills


def _hls(colour: str) -> tuple[float, float, float]:
    return colorsys.rgb_to_hls(*to_rgb(colour))


def test_loops_have_meanings_and_layers() -> None:
    g = stack_graph()
    roles = {loop.delay: loop_role(g, loop) for loop in find_feedback_loops(g)}
    assert {d: (r.meaning, r.layer, r.name) for d, r in roles.items()} == {
        "lstm1/cell state": ("cell state", "lstm1", "cell state"),
        "lstm2/cell state": ("cell state", "lstm2", "cell state"),
        "lstm1/hidden state": ("hidden state", "lstm1", "hidden state"),
        "lstm2/hidden state": ("hidden state", "lstm2", "hidden state"),
    }
    # a layer drawn inline with a prefixed name (no subsystem), and the tank's integrators
    inline = _graph("inline", [("u", "constant"), ("lstm/sum c", "sum"), ("lstm/cell state", "unitdelay", INNER)],
                    [("u", "lstm/sum c"), ("lstm/cell state", "lstm/sum c"), ("lstm/sum c", "lstm/cell state")])
    (loop,) = find_feedback_loops(inline)
    assert (loop_role(inline, loop).meaning, loop_role(inline, loop).layer) == ("cell state", "lstm")
    tank = _graph_of("tank", [Node("h", "h\nintegrator", "integrator", True), _node("k", "gain"),
                              Node("Wa4", "Wa4\nintegrator", "integrator", True), _node("j", "gain")],
                     [("h", "k"), ("k", "h"), ("Wa4", "j"), ("j", "Wa4")])
    assert [loop_role(tank, loop).meaning for loop in find_feedback_loops(tank)] == ["reaction invariant", "tank level"]


@pytest.fixture(scope="module")
def svgs(tmp_path_factory) -> dict[str, pathlib.Path]:
    """The one-layer and the two-layer picture, drawn once for the tests below."""
    folder = tmp_path_factory.mktemp("pictures")
    return {
        "one": render(lstm_graph(), folder / "one", formats=("svg",))[0],
        "two": render(stack_graph(), folder / "two", formats=("svg",))[0],
    }


def test_a_loop_has_the_colour_of_its_meaning_in_every_render(svgs, tmp_path: pathlib.Path) -> None:
    a, b = _svg_fills(svgs["one"]), _svg_fills(svgs["two"])
    # the first layer of a stack has the single layer's colours, whatever the order of the loops
    assert b["block-lstm1-cell-state"] == a["block-cell-state"]
    assert b["block-lstm1-hidden-state"] == a["block-hidden-state"]
    # the second layer: a lighter shade of the same hue
    for state in ("cell-state", "hidden-state"):
        (h1, l1, _), (h2, l2, _) = _hls(b[f"block-lstm1-{state}"]), _hls(b[f"block-lstm2-{state}"])
        assert abs(h1 - h2) < 0.01 and l2 > l1 + 0.1
    # the inner and the outer loop never share a hue
    assert abs(_hls(a["block-cell-state"])[0] - _hls(a["block-hidden-state"])[0]) > 0.2
    # colours follow meaning, not the order in which the loops are given
    g = stack_graph()
    (again,) = render(g, tmp_path / "again", formats=("svg",), loops=find_feedback_loops(g)[::-1])
    assert _svg_fills(again) == b


def test_only_the_delays_are_filled_and_only_shared_blocks_carry_tabs(svgs) -> None:
    fills = _svg_fills(svgs["one"])
    loop_fills = {fills["block-cell-state"], fills["block-hidden-state"]}
    assert len(loop_fills) == 2
    assert {gid for gid, f in fills.items() if gid.startswith("block-") and f in loop_fills} == {
        "block-cell-state",
        "block-hidden-state",
    }
    assert fills["block-sigmoid-o"] == fills["block-o-tanh-c"] == "#ffffff"  # on the outer loop, drawn neutral
    # f*c and sum c lie on both loops: one tab of each loop's colour
    assert {gid for gid in fills if gid.startswith("tab-")} == {"tab-f-c-0", "tab-f-c-1", "tab-sum-c-0", "tab-sum-c-1"}
    assert {fills["tab-f-c-0"], fills["tab-f-c-1"]} == loop_fills


def test_each_subsystem_is_framed_and_named_and_its_blocks_are_prefixed(svgs) -> None:
    text = svgs["two"].read_text()
    assert {"subsystem-lstm1", "subsystem-lstm2"} <= set(_svg_fills(svgs["two"]))
    assert "lstm1  (subsystem)" in text and "lstm2  (subsystem)" in text
    for name in ("lstm1/Wo", "lstm2/Wo", "lstm1/cell state", "lstm2/cell state"):
        assert f">{name}</text>" in text
    assert "subsystem" not in svgs["one"].read_text()


@pytest.mark.parametrize("make", [stack_graph, parallel_graph])
def test_a_frame_holds_its_own_blocks_and_no_other(make) -> None:
    g = make()
    scene = build_scene(g, plan_layout(g), header=1.0)
    frames = {f.name: f for f in scene.frames}
    assert set(frames) == {n.group for n in g.nodes} - {""}
    for n in g.nodes:
        x, y, w, h = scene.boxes[n.id]
        for name, f in frames.items():
            if n.group == name:
                assert f.x <= x and x + w <= f.x + f.w and f.y <= y and y + h <= f.y + f.h, (n.id, name)
            else:
                assert x + w <= f.x or f.x + f.w <= x or y + h <= f.y or f.y + f.h <= y, (n.id, name)
    first, *rest = frames.values()
    for f in rest:  # and frames do not overlap
        assert f.x + f.w <= first.x or first.x + first.w <= f.x or f.y + f.h <= first.y or first.y + first.h <= f.y


def _width_pt(svg: pathlib.Path) -> float:
    return float(ET.parse(svg).getroot().get("width", "").removesuffix("pt"))


def _px_at(svg: pathlib.Path, texts: set[str], width_px: float = 1600) -> float:
    """The smallest font size, in pixels, of the given texts when the picture is shown ``width_px`` wide."""
    root = ET.parse(svg).getroot()
    width = _width_pt(svg)
    sizes = [
        float(re.search(r"font-size: ([0-9.]+)px", t.get("style", "")).group(1))
        for t in root.iter(f"{SVG}text")
        if t.text in texts
    ]
    assert len(sizes) >= len(texts)
    return min(sizes) * width_px / width


def test_wire_labels_and_names_are_readable_at_1600_px(svgs) -> None:
    wires, names = {"h_prev", "c_prev", "z_f", "i"}, {"sum_o", "cell state"}
    for svg, prefix in [(svgs["one"], ""), (svgs["two"], "lstm2/")]:
        assert _px_at(svg, wires) >= 9.0
        assert _px_at(svg, {prefix + n for n in names}) >= 10.0
        # at most 3400 px wide at render()'s 150 dpi; the two-layer lab's picture was 6319 px wide
        # before it was cut into strips
        assert _width_pt(svg) / 72 * 150 <= 3400


def test_two_layers_in_series_are_cut_into_two_strips() -> None:
    g = stack_graph()
    assert build_scene(g, plan_layout(g), header=1.0).strips == 2
    one = lstm_graph()
    assert build_scene(one, plan_layout(one), header=1.0).strips == 1


# --------------------------------------------------------------------------- #
# a real bdsim diagram
# --------------------------------------------------------------------------- #


def _accumulator_blockdiagram():
    """c[k+1] = c[k] + 1, read out through a gain; the ZOH stands in for a unit delay."""
    bdsim = pytest.importorskip("bdsim")
    sim = bdsim.BDSim(banner=False, sysargs=False, toolboxes=False)
    bd = sim.blockdiagram(name="accumulator")
    clock = bd.clock(0.1, "s")
    one = bd.CONSTANT(1.0, name="one")
    acc = bd.SUM("++", name="acc sum")
    delay = bd.ZOH(clock, x0=0.0, name="cell state")
    gain = bd.GAIN(2.0, name="out")
    sink = bd.NULL(name="sink")
    bd.connect(one, acc[0])
    bd.connect(delay, acc[1])
    bd.connect(acc, delay)
    bd.connect(acc, gain)
    bd.connect(gain, sink)
    return bd


def test_graph_from_real_blockdiagram(tmp_path: pathlib.Path) -> None:
    bd = _accumulator_blockdiagram()
    g = graph_from_blockdiagram(bd)
    assert bd.compiled
    assert g.name == "accumulator"
    kinds = {n.id: (n.kind, n.is_delay) for n in g.nodes}
    assert kinds == {
        "one": ("constant", False),
        "acc sum": ("sum", False),
        "cell state": ("zoh", True),
        "out": ("gain", False),
        "sink": ("null", False),
    }
    assert g.node("acc sum").label == "acc sum\nsum"
    assert {(e.src, e.src_port, e.dst, e.dst_port) for e in g.edges} == {
        ("one", 0, "acc sum", 0),
        ("cell state", 0, "acc sum", 1),
        ("acc sum", 0, "cell state", 0),
        ("acc sum", 0, "out", 0),
        ("out", 0, "sink", 0),
    }
    (loop,) = find_feedback_loops(g)
    assert loop.delay == "cell state"
    assert loop.nodes == {"cell state", "acc sum"}
    # render accepts the BlockDiagram itself
    (svg,) = render(bd, tmp_path / "acc", formats=("svg",))
    assert "loop closed by 'cell state' (2 blocks)" in svg.read_text()


def test_graph_from_blockdiagram_flattens_subsystems() -> None:
    bdsim = pytest.importorskip("bdsim")
    sim = bdsim.BDSim(banner=False, sysargs=False, toolboxes=False)
    inner = sim.blockdiagram(name="inner")
    inp, outp, gain = inner.INPORT(1, name="in"), inner.OUTPORT(1, name="out"), inner.GAIN(3.0, name="W")
    inner.connect(inp, gain)
    inner.connect(gain, outp)
    bd = sim.blockdiagram(name="outer")
    src, sub, sink = bd.CONSTANT(1.0, name="u"), bd.SUBSYSTEM(inner, name="layer1"), bd.NULL(name="y")
    bd.connect(src, sub)
    bd.connect(sub, sink)
    g = graph_from_blockdiagram(bd)
    assert {n.id for n in g.nodes} == {"u", "layer1/in", "layer1/W", "layer1/out", "y"}
    assert g.node("layer1/W").label == "W\ngain"
    assert g.node("layer1/in").kind == "inport"
    assert {n.id: n.subsystem for n in g.nodes} == {"u": "", "layer1/in": "layer1", "layer1/W": "layer1",
                                                    "layer1/out": "layer1", "y": ""}
    assert find_feedback_loops(g) == []


def test_a_slash_in_a_top_level_name_is_not_a_subsystem() -> None:
    bdsim = pytest.importorskip("bdsim")
    sim = bdsim.BDSim(banner=False, sysargs=False, toolboxes=False)
    bd = sim.blockdiagram(name="scaled")
    src, scale, sink = bd.CONSTANT(1.0, name="u"), bd.GAIN(0.5, name="1/u_scale"), bd.NULL(name="y")
    bd.connect(src, scale)
    bd.connect(scale, sink)
    g = graph_from_blockdiagram(bd)
    assert g.node("1/u_scale").subsystem == "" and g.node("1/u_scale").label == "1/u_scale\ngain"


# --------------------------------------------------------------------------- #
# summing blocks' signs, fan-outs clear of labels, large diagrams readable
# --------------------------------------------------------------------------- #


def _balance_blockdiagram():
    """A tank's balance, dh/dt = q_in - q_out, with q_out = k h: a SUM("+-") in a loop."""
    bdsim = pytest.importorskip("bdsim")
    sim = bdsim.BDSim(banner=False, sysargs=False, toolboxes=False)
    bd = sim.blockdiagram(name="balance")
    q_in = bd.CONSTANT(1.0, name="q_in")
    net = bd.SUM("+-", name="net flow")
    level = bd.INTEGRATOR(x0=0.0, name="h")
    valve = bd.GAIN(0.5, name="valve")
    bd.connect(q_in, net[0])
    bd.connect(valve, net[1])
    bd.connect(net, level)
    bd.connect(level, valve)
    return bd


def test_a_summing_blocks_signs_are_drawn_at_its_input_ports(tmp_path: pathlib.Path) -> None:
    bd = _balance_blockdiagram()
    g = graph_from_blockdiagram(bd)
    assert g.node("net flow").signs == "+-"
    assert g.node("valve").signs == "" and g.node("h").signs == ""
    (svg,) = render(g, tmp_path / "balance", formats=("svg",))
    root = ET.parse(svg).getroot()
    signs = {}
    for group in root.iter(f"{SVG}g"):
        if group.get("id", "").startswith("sign-net-flow-"):
            (text,) = group.iter(f"{SVG}text")
            y = float(text.get("y"))
            signs[int(group.get("id").rsplit("-", 1)[1])] = (text.text, y)
    assert [signs[0][0], signs[1][0]] == ["+", "\N{MINUS SIGN}"]
    assert signs[0][1] < signs[1][1]  # input 0 (added) above input 1 (subtracted), as the ports are
    # the signs sit inside the box's left edge, at the ports the wires come in at
    plan = plan_layout(g)
    scene = build_scene(g, plan, header=1.0)
    _, y, _, h = scene.boxes["net flow"]
    ends = sorted(scene.paths[i].vertices[-1][1] for i, e in enumerate(g.edges) if e.dst == "net flow")
    assert ends == pytest.approx(sorted(y + h / 2 + scene.port_offset(p, 2) for p in (0, 1)))


def test_a_fanned_out_signal_branches_past_every_label_of_its_column() -> None:
    # "src" fans out to three blocks; "wide" beside it has a long label: the branches start after it
    g = DiagramGraph("fan", (_node("src", "sum"), _node("wide", "gain"), _node("a", "gain"), _node("b", "gain"),
                             _node("c", "gain"), _node("d", "recorder"), _node("u", "constant")),
                     (Edge("u", "src", 0, 0), Edge("u", "wide", 0, 0), Edge("src", "a", 0, 0, "q"),
                      Edge("src", "b", 0, 0, "q"), Edge("src", "c", 0, 0, "q"),
                      Edge("wide", "d", 0, 0, "a_rather_long_signal_name")))
    scene = build_scene(g, plan_layout(g), header=1.0)
    (branch,) = [b for b in scene.branches if b[1] == pytest.approx(scene.ports_out[("src", 0)][1])]
    from lstmds_sim.drawing.scene import WIRE_PT, text_width_in

    x_port = scene.ports_out[("wide", 0)][0]
    assert branch[0] >= x_port + text_width_in("a_rather_long_signal_name", WIRE_PT)


def _fitted_px(svg: pathlib.Path, texts: set[str], screen=(1600, 1000)) -> float:
    """The smallest font size, in pixels, of the given texts when the whole picture is fitted into ``screen``."""
    root = ET.parse(svg).getroot()
    width = float(root.get("width", "").removesuffix("pt"))
    height = float(root.get("height", "").removesuffix("pt"))
    sizes = [float(re.search(r"font-size: ([0-9.]+)px", t.get("style", "")).group(1))
             for t in root.iter(f"{SVG}text") if t.text in texts]
    assert sizes
    return min(sizes) * min(screen[0] / width, screen[1] / height)


def test_a_large_diagram_is_readable_when_fitted_to_a_screen_and_a_small_one_is_unchanged(svgs) -> None:
    from lstmds_sim.drawing.render import READABLE_PX, readable_scene

    # the two-layer stack (62 blocks, two strips): its wire labels were about 5 px high fitted into
    # 1600 x 1000 px; its text is now drawn larger relative to the geometry
    assert _fitted_px(svgs["two"], {"h_prev", "c_prev", "z_f"}) >= 0.95 * READABLE_PX
    assert _fitted_px(svgs["two"], {"lstm2/sum_o", "lstm2/cell state"}) >= READABLE_PX
    one = lstm_graph()
    assert readable_scene(one, plan_layout(one), 1.0).text_scale == 1.0  # already readable: as before
    two = stack_graph()
    assert readable_scene(two, plan_layout(two), 1.0).text_scale > 1.5
