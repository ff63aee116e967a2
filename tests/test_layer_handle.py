"""The LSTM layer's record (core.diagram.LSTMLayer, lstm_layers): found in every kind of diagram, read by block
objects, never by block names.

The references are independent of the record: the weights the test drew the layer with, the gain blocks' own
matrices, the diagram's block list, iss_check on the test's weights, and bounds computed here with numpy.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

import lstmds_sim as L
from lstmds_sim.core.bdsim_adapter import blockdiagram, compile_diagram
from lstmds_sim.core.diagram import LSTMLayer, add_lstm_layer, lstm_diagram, lstm_layers, lstm_subsystem
from lstmds_sim.core.params import GATES
from lstmds_sim.drawing.graph import INNER, OUTER, find_feedback_loops, graph_from_blockdiagram, loop_role
from lstmds_sim.safety.iss import iss_check


def _types(blocks) -> list[str]:
    return [str(b.type).lower() for b in blocks]


# --------------------------------------------------------------------------- where layers are found


def test_one_layer_diagram_holds_one_layer_with_the_weights_it_was_drawn_with(rng):
    params = L.LSTMParams.random(4, 3, 2, rng=rng, low=-1, high=1).replace(bF=np.array([0.5, -0.25]))
    bd, _ = lstm_diagram(params, rng.standard_normal((5, 4)), form="statespace")
    (layer,) = lstm_layers(bd)
    assert isinstance(layer, LSTMLayer)
    assert layer.params is params and layer.form == "statespace" and layer.prefix == ""
    # the record's blocks are the diagram's blocks, of the kinds the layer is drawn with
    assert _types([layer.cell, layer.hidden, layer.emit]) == ["unitdelay", "unitdelay", "hadamard"]
    assert all(any(b is block for block in bd.blocklist) for b in layer.blocks)
    assert len(layer.blocks) == 2 + 5 * 4 + 5 + 3  # delays, 5 blocks per gate, f*c i*g sum-c tanh-c o*tanh(c), F bF sum-y
    # the input gains hold the gates' input weights, in the order i, f, g, o (read from the blocks themselves)
    assert _types(layer.inputs) == ["matgain"] * 4
    for g, gain in zip(GATES, layer.inputs):
        np.testing.assert_array_equal(np.atleast_2d(gain.K), params.gate(g)[0])
    # with a non-zero output bias the output is the sum F h(k-1) + bF, fed by the gain holding F
    assert str(layer.output.type).lower() == "sum"
    fc = next(w.start.block for w in bd.wirelist if w.end.block is layer.output and w.end.port == 0)
    np.testing.assert_array_equal(np.atleast_2d(fc.K), params.F)
    into_fc = next(w.start.block for w in bd.wirelist if w.end.block is fc)
    assert into_fc is layer.hidden  # the state-space form reads h(k-1)
    # the cell delay is the one c feeds, the hidden delay the one h feeds
    feeds = {w.end.block: w.name for w in bd.wirelist if w.end.block in (layer.cell, layer.hidden)}
    assert feeds == {layer.cell: "c", layer.hidden: "h"}


@pytest.mark.parametrize("F", [False, True])
def test_the_output_without_an_output_layer_is_the_hidden_state(rng, F):
    params = L.LSTMParams.random(2, 3, 1 if F else None, rng=rng)
    for form, out in (("direct", "emit"), ("statespace", "hidden")):
        bd = blockdiagram("one")
        clock = bd.clock(1.0, "s")
        y = add_lstm_layer(bd, params, bd.SEQUENCE(np.zeros((3, 2)), clock, name="u"), clock, form=form)
        (layer,) = lstm_layers(bd)
        assert layer.output is y
        if not F:
            assert y is getattr(layer, out)


def test_stacked_subsystem_layers_are_found_before_and_after_compiling(rng):
    first = L.LSTMParams.random(2, 4, rng=rng)
    second = L.LSTMParams.random(4, 3, 1, rng=rng)
    bd, prefixes = lstm_diagram([first, second], rng.standard_normal((6, 2)), subsystems=True)
    before = lstm_layers(bd)
    assert [layer.params for layer in before] == [first, second]  # the very objects, in order
    compile_diagram(bd)
    after = lstm_layers(bd)
    assert after == before  # the same records: compiling renames the blocks, it does not copy them
    assert [layer.path for layer in after] == ["lstm1", "lstm2"] and prefixes == ["lstm1/", "lstm2/"]
    assert [layer.cell.name for layer in after] == ["lstm1/cell state", "lstm2/cell state"]
    for layer in after:  # bdsim's SUBSYSTEM copied the subsystem: the record holds the copy's blocks, which run
        assert any(layer.cell is b for b in bd.blocklist) and any(layer.hidden is b for b in bd.blocklist)
        assert layer.signal("c") in L.signal_names(bd)


def test_inline_stack_and_user_prefixes(rng):
    layers = [L.LSTMParams.random(2, 3, rng=rng), L.LSTMParams.random(3, 2, rng=rng)]
    bd, _ = lstm_diagram(layers, rng.standard_normal((4, 2)), subsystems=False)
    assert [(layer.prefix, layer.path, layer.signal("z_f")) for layer in lstm_layers(bd)] == [
        ("lstm1/", "lstm1", "lstm1/z_f"), ("lstm2/", "lstm2", "lstm2/z_f")]
    # a prefix without a "/" names the blocks but not the signals (signal_names splits at "/")
    bd = blockdiagram("enc")
    clock = bd.clock(1.0, "s")
    add_lstm_layer(bd, layers[0], bd.SEQUENCE(np.zeros((3, 2)), clock, name="u"), clock, prefix="enc_")
    (layer,) = lstm_layers(bd)
    assert layer.cell.name == "enc_cell state" and layer.path == "" and layer.signal("c") == "c"


def test_a_subsystem_placed_by_hand_and_a_diagram_without_layers(rng):
    params = L.LSTMParams.random(2, 3, rng=rng)
    bd = blockdiagram("outer")
    clock = bd.clock(1.0, "s")
    inner = lstm_subsystem(params, clock, name="memory")
    block = bd.SUBSYSTEM(inner, name="memory")
    bd.connect(bd.SEQUENCE(np.zeros((3, 2)), clock, name="u"), block, name="u")
    bd.connect(block, bd.RECORDER(name="y"), name="y")
    compile_diagram(bd)
    (layer,) = lstm_layers(bd)
    assert layer.params is params and layer.path == "memory"
    (original,) = lstm_layers(inner)  # the subsystem diagram kept its own blocks (bdsim placed a copy)
    assert original is not layer and original.cell is not layer.cell
    assert lstm_layers(blockdiagram("empty")) == []
    with pytest.raises(TypeError, match="lstm_layers\\(\\) needs a bdsim BlockDiagram"):
        lstm_layers("lstm1")


def test_a_copy_of_a_diagram_holds_records_of_its_own_blocks(rng):
    bd, _ = lstm_diagram(L.LSTMParams.random(2, 3, rng=rng), np.zeros((3, 2)))
    twin = copy.deepcopy(bd)
    (layer,), (copied,) = lstm_layers(bd), lstm_layers(twin)
    assert copied.cell in twin.blocklist and copied.cell is not layer.cell
    assert copied.params is layer.params  # read-only weights are shared


def test_the_ph_identification_lab_holds_its_state_space_layer():
    from lstmds_sim.diagrams import ph_identification

    bd = ph_identification.build_diagram()
    compile_diagram(bd)
    (layer,) = lstm_layers(bd)
    assert layer.form == "statespace" and layer.path == "lstm" and layer.params.n_units == 5
    assert layer.cell.name == "lstm/cell state" and layer.hidden.name == "lstm/hidden state"


# --------------------------------------------------------------------------- readers go by the record


def _renamed_layer(params, u):
    """A layer whose blocks the user renamed after drawing it: nothing is called "cell state" any more."""
    bd, _ = lstm_diagram(params, u, Ts=1.0, name="renamed")
    (layer,) = lstm_layers(bd)
    for block in layer.blocks:
        block.name = f"mem {block.name}".replace("cell state", "carry").replace("hidden state", "recall")
    return bd, layer


def test_renamed_blocks_keep_their_loops_and_the_inspector_its_theorem4(rng):
    pytest.importorskip("bokeh")
    from lstmds_sim.drawing.inspector import inspect

    params = L.LSTMParams.random(2, 3, 1, rng=rng, low=-0.3, high=0.3)
    bd, layer = _renamed_layer(params, rng.standard_normal((12, 2)))
    assert layer.cell.name == "mem carry" and layer.hidden.name == "mem recall"
    graph = graph_from_blockdiagram(bd)
    roles = {loop.delay: loop_role(graph, loop).meaning for loop in find_feedback_loops(graph)}
    assert roles == {"mem carry": INNER, "mem recall": OUTER}
    report = iss_check(params)  # the reference: Theorem 4 for the weights the test drew with
    page = inspect(bd, L.run(bd, probes=["*"]))
    iss = {loop["delay"]: loop["iss"] for loop in page.loops}
    assert iss["mem carry"]["which"] == "inner" and iss["mem recall"]["which"] == "outer"
    assert iss["mem carry"]["value"] == pytest.approx((1 + report.sigma_o) * report.sigma_f, rel=1e-12)
    assert iss["mem recall"]["value"] == pytest.approx(report.lhs[1], rel=1e-12)


def test_a_block_merely_named_like_a_state_is_not_a_layer(rng):
    """A delay the user calls "cell state" in a diagram without an LSTM layer is just a state."""
    bd = blockdiagram("accumulator")
    clock = bd.clock(1.0, "s")
    add = bd.SUM("++", name="add")
    delay = bd.UNITDELAY(clock, x0=0.0, name="cell state")
    bd.connect(bd.SEQUENCE(rng.standard_normal(5), clock, name="u"), add[0], name="u")
    bd.connect(delay, add[1], name="c_prev")
    bd.connect(add, delay, bd.RECORDER(name="y"), name="c")
    graph = graph_from_blockdiagram(bd)
    (loop,) = find_feedback_loops(graph)
    assert loop.delay == "cell state" and loop_role(graph, loop).meaning == "state"
    assert lstm_layers(bd) == []


def test_a_layer_fed_by_another_is_checked_for_what_that_layer_emits(rng):
    """Remark 6: layer 2 reads layer 1's output F h + bF, so its gates are bounded for |u| <= ||[F bF]||_inf."""
    from lstmds_sim.drawing.inspector import layer_checks

    F = rng.uniform(-1, 1, (3, 4))
    bF = np.array([0.2, -0.7, 0.1])
    first = L.LSTMParams.random(2, 4, rng=rng).replace(F=F, bF=bF)
    second = L.LSTMParams.random(3, 2, rng=rng, low=-0.5, high=0.5)
    third = L.LSTMParams.random(2, 2, rng=rng)
    bd, _ = lstm_diagram([first, second, third], rng.standard_normal((4, 2)), subsystems=False)
    checks = layer_checks(bd, input_bound=0.5)
    bound = max(sum(abs(F[r, j]) for j in range(4)) + abs(bF[r]) for r in range(3))  # the row sums, by hand
    assert [c.input_bound for c in checks] == [0.5, pytest.approx(bound, rel=1e-15), 1.0]
    assert [c.params for c in checks] == [first, second, third]
    assert [(c.name, c.inner, c.outer) for c in checks] == [
        (f"lstm{j}", f"lstm{j}/cell state", f"lstm{j}/hidden state") for j in (1, 2, 3)]
    assert checks[1].report.lhs[1] == pytest.approx(iss_check(second, input_bound=bound).lhs[1], rel=1e-12)


def test_crosscheck_reads_the_layers_of_its_diagram(rng):
    layers = [L.LSTMParams.random(2, 3, rng=rng), L.LSTMParams.random(3, 2, 1, rng=rng)]
    check = L.crosscheck(layers, rng.standard_normal((8, 2)), subsystems=True)
    assert {k.partition("/")[0] for k in check.errors} == {"lstm1", "lstm2", "y"}
    assert check.passed()
