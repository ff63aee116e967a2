"""Tests for lstmds_sim.drawing.graph (feedback loops) and lstmds_sim.drawing.render (drawing)."""

from __future__ import annotations

import pathlib

import pytest

from lstmds_sim.drawing.graph import (
    DiagramGraph,
    Edge,
    FeedbackLoop,
    Node,
    feedback_edge_indices,
    find_feedback_loops,
    graph_from_blockdiagram,
)
from lstmds_sim.drawing.layout import layout
from lstmds_sim.drawing.render import render

GATES = ("i", "f", "g", "o")


def _node(name: str, kind: str) -> Node:
    return Node(id=name, label=f"{name}\n{kind}", kind=kind, is_delay=kind == "unitdelay")


def lstm_graph() -> DiagramGraph:
    """A one-layer LSTM followed by a fully connected layer, as 28 blocks:

    gate k:  sum_k = Wk u + Rk h + bk,  i, f, o = sigmoid, g = tanh
    cell:    c = f*c_prev + i*g
    hidden:  h = o * tanh(c)
    output:  y = FC h
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
        _node("cell state", "unitdelay"),
        _node("hidden state", "unitdelay"),
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


def _graph(name: str, nodes: list[tuple[str, str]], edges: list[tuple[str, str]]) -> DiagramGraph:
    """A small graph from (name, kind) pairs and (src, dst) pairs; each
    destination's inputs are numbered in the order its edges are listed."""
    ports: dict[str, int] = {}
    built = []
    for src, dst in edges:
        built.append(Edge(src, dst, 0, ports.get(dst, 0)))
        ports[dst] = ports.get(dst, 0) + 1
    return DiagramGraph(name, tuple(_node(n, k) for n, k in nodes), tuple(built))


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
        assert all(b - a >= 1.0 - 1e-9 for a, b in zip(ys, ys[1:]))


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


def test_layout_is_deterministic() -> None:
    assert layout(lstm_graph()) == layout(lstm_graph())


# --------------------------------------------------------------------------- #
# render
# --------------------------------------------------------------------------- #

TAB_BLUE, TAB_RED = "#1f77b4", "#d62728"


def test_render_writes_svg_and_png(tmp_path: pathlib.Path) -> None:
    written = render(lstm_graph(), tmp_path / "sub" / "lstm")
    assert written == [tmp_path / "sub" / "lstm.svg", tmp_path / "sub" / "lstm.png"]
    png = written[1].read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    svg = written[0].read_text()
    assert svg.lstrip().startswith("<?xml") and "</svg>" in svg
    assert "loop closed by 'cell state' (3 blocks)" in svg
    assert "loop closed by 'hidden state' (18 blocks)" in svg
    assert TAB_BLUE in svg and TAB_RED in svg
    assert "LSTM layer" in svg  # default title: the diagram's name


def test_render_without_loops_uses_no_loop_colours(tmp_path: pathlib.Path) -> None:
    g = _graph("chain", [("u", "constant"), ("k", "gain"), ("y", "recorder")], [("u", "k"), ("k", "y")])
    (svg,) = render(g, tmp_path / "chain", formats=("svg",), title="a chain")
    text = svg.read_text()
    assert "a chain" in text and "loop closed by" not in text
    assert TAB_BLUE not in text and TAB_RED not in text


def test_render_is_deterministic(tmp_path: pathlib.Path) -> None:
    a = render(lstm_graph(), tmp_path / "a")
    b = render(lstm_graph(), tmp_path / "b")
    for pa, pb in zip(a, b):
        assert pa.read_bytes() == pb.read_bytes(), pa.suffix


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
    assert find_feedback_loops(g) == []
