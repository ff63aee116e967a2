"""The block library: exact discrete-time semantics, element-wise maths, clear errors."""

import numpy as np
import pytest
from scipy.special import expit

import lstmds_sim as L


def accumulator(inputs, x0=0.0):
    bd = L.blockdiagram()
    clock = bd.clock(1.0, "s")
    src = bd.SEQUENCE(inputs, clock, name="u")
    add = bd.SUM("++", name="add")
    delay = bd.UNITDELAY(clock, x0=x0, name="memory")
    rec = bd.RECORDER(name="y")
    bd.connect(src, add[0], name="u")
    bd.connect(delay, add[1], name="x_prev")
    bd.connect(add, delay, rec, name="x")
    return bd


OUR_BLOCKS = ("DSS", "HADAMARD", "LSTM", "MATGAIN", "PHPLANT", "RECORDER", "SEQUENCE", "SIGMOID", "TANH", "UNITDELAY")


def test_discovery_finds_exactly_the_blocks_of_the_blocks_folder():
    assert tuple(sorted(L.block_classes())) == OUR_BLOCKS
    bd = L.blockdiagram()
    for name in OUR_BLOCKS:  # each is a factory on every diagram
        assert callable(getattr(bd, name))


def test_library_loads_our_blocks_with_bdsim_ones():
    library = L.simulator().block_library
    for name in OUR_BLOCKS + ("GAIN", "SUM", "CONSTANT", "SUBSYSTEM"):
        assert name in library
    assert library["HADAMARD"]["package"] == "lstmds_sim"
    for name in OUR_BLOCKS:  # bdsim-style docstrings with a ports table
        doc = library[name]["doc"]
        assert f":blockname:`{name}`" in doc and "Port type" in doc


def test_accumulator_takes_the_input_at_step_zero():
    result = L.run(accumulator([1.0, 10.0, 100.0]), probes=["x_prev"])
    np.testing.assert_array_equal(result.recorders["y"][:, 0], [1.0, 11.0, 111.0])
    np.testing.assert_array_equal(result["x_prev"][:, 0], [0.0, 1.0, 11.0])  # y(k) = x(k-1), y(0) = x0


def test_unit_delay_initial_condition_and_vector_state():
    inputs = np.array([[1.0, 2.0], [10.0, 20.0], [100.0, 200.0]])
    result = L.run(accumulator(inputs, x0=[5.0, -5.0]))
    np.testing.assert_array_equal(result.recorders["y"], np.cumsum(inputs, axis=0) + [5.0, -5.0])


def test_batched_accumulator_keeps_batch_first(rng):
    inputs = rng.standard_normal((7, 4, 3))  # B=7 sequences, T=4 steps, 3 channels
    x0 = rng.standard_normal((7, 3))
    result = L.run(accumulator(inputs, x0=x0))
    assert result.recorders["y"].shape == (7, 4, 3)
    np.testing.assert_allclose(result.recorders["y"], np.cumsum(inputs, axis=1) + x0[:, None, :], rtol=0, atol=1e-14)


def test_unbatched_initial_state_broadcasts_over_a_batch(rng):
    inputs = rng.standard_normal((5, 3, 2))
    result = L.run(accumulator(inputs, x0=[1.0, 2.0]))
    np.testing.assert_allclose(result.recorders["y"], np.cumsum(inputs, axis=1) + [1.0, 2.0], atol=1e-14)


def test_unbatched_delay_output_is_recorded_as_a_batch(rng):
    """At step 0 the delay still emits its unbatched x0; recorded and probed, it stands for every row."""
    inputs = rng.standard_normal((5, 3, 2))
    bd = accumulator(inputs, x0=[1.0, 2.0])
    bd.connect(bd.blocknames["memory"], bd.RECORDER(name="x_prev rec"), name="x_prev")
    result = L.run(bd, probes=["x_prev"])
    expected = np.concatenate([np.broadcast_to([1.0, 2.0], (5, 1, 2)), np.cumsum(inputs, axis=1)[:, :-1] + [1.0, 2.0]], axis=1)
    np.testing.assert_allclose(result["x_prev"], expected, rtol=0, atol=1e-14)
    np.testing.assert_allclose(result.recorders["x_prev rec"], expected, rtol=0, atol=1e-14)


def test_state_space_lstm_block_with_a_batched_input_and_unbatched_states(rng):
    """The LSTM block's output is its hidden-state delay (unbatched at step 0): still (B, T, No)."""
    p = L.LSTMParams.random(2, 3, 1, rng=rng, low=-1, high=1)
    u = rng.standard_normal((4, 6, 2))
    h0 = rng.uniform(-1, 1, 3)
    bd = L.blockdiagram()
    clock = bd.clock(0.1, "s")
    bd.connect(bd.SEQUENCE(u, clock, name="u"), lstm := bd.LSTM(p, clock, h0=h0, form="statespace", name="lstm"), name="u")
    bd.connect(lstm, bd.RECORDER(name="y"), name="y")
    y = L.run(bd).recorders["y"]
    np.testing.assert_allclose(y, L.simulate(p, u, h0=h0, form="statespace").y, rtol=0, atol=1e-13)


def test_sigmoid_of_a_scalar_constant():
    bd = L.blockdiagram()
    clock = bd.clock(1.0, "s")
    bd.connect(bd.SEQUENCE([0.0, 0.0], clock, name="u"), bd.RECORDER(name="clock"))
    bd.connect(bd.CONSTANT(0.5, name="half"), bd.SIGMOID(name="s"), name="x")
    bd.connect(bd.blocknames["s"], bd.RECORDER(name="y"), name="y")
    np.testing.assert_allclose(L.run(bd).recorders["y"], expit(0.5), rtol=0, atol=3e-16)


def test_sequence_past_its_end_is_a_clear_error():
    bd = accumulator([1.0, 2.0])
    with pytest.raises(IndexError, match=r"SEQUENCE block 'u': step 2 .* past the end of its 2 samples"):
        L.run(bd, steps=3)


def test_steps_default_to_the_sequence_length():
    assert L.run(accumulator(np.ones(6))).recorders["y"].shape == (6, 1)


def test_non_finite_sequence_data_is_refused():
    bd = L.blockdiagram()
    clock = bd.clock(1.0, "s")
    with pytest.raises(L.NonFiniteError, match=r"SEQUENCE block 'u': data contains a non-finite value"):
        bd.SEQUENCE([1.0, np.nan], clock, name="u")
    with pytest.raises(L.NonFiniteError, match="UNITDELAY block 'd'"):
        bd.UNITDELAY(clock, x0=[np.inf], name="d")


def unary(block_name, value, **kwargs):
    bd = L.blockdiagram()
    clock = bd.clock(1.0, "s")
    src = bd.SEQUENCE(np.asarray(value)[None] if np.ndim(value) < 2 else np.asarray(value)[:, None], clock, name="u")
    block = getattr(bd, block_name)(name="block", **kwargs)
    rec = bd.RECORDER(name="y")
    bd.connect(src, block, name="u")
    bd.connect(block, rec, name="y")
    out = L.run(bd).recorders["y"]
    return out[0] if out.ndim == 2 else out[:, 0]


def test_sigmoid_and_tanh_blocks_match_scipy_and_numpy(rng):
    x = rng.normal(scale=8.0, size=50)
    np.testing.assert_allclose(unary("SIGMOID", x), expit(x), rtol=0, atol=3e-16)
    np.testing.assert_allclose(unary("TANH", x), np.tanh(x), rtol=0, atol=0)


def test_matgain_is_k_times_u_also_batched(rng):
    K = rng.standard_normal((3, 4))
    u = rng.standard_normal(4)
    np.testing.assert_allclose(unary("MATGAIN", u, K=K), K @ u, rtol=1e-15, atol=1e-15)
    batch = rng.standard_normal((6, 4))
    np.testing.assert_allclose(unary("MATGAIN", batch, K=K), batch @ K.T, rtol=1e-15, atol=1e-15)


def test_matgain_wrong_input_width_names_block_port_and_shape(rng):
    with pytest.raises(L.ShapeError, match=r"MATGAIN block 'block': input 0 has shape \(3,\), expected \(4,\) or \(B, 4\)"):
        unary("MATGAIN", np.ones(3), K=np.ones((2, 4)))


def hadamard(a, b, nin=2):
    bd = L.blockdiagram()
    clock = bd.clock(1.0, "s")
    had = bd.HADAMARD(nin=nin, name="prod")
    for port, value in enumerate([a, b] + [b] * (nin - 2)):
        bd.connect(bd.SEQUENCE(np.asarray(value)[None], clock, name=f"s{port}"), had[port], name=f"x{port}")
    rec = bd.RECORDER(name="y")
    bd.connect(had, rec, name="y")
    return L.run(bd).recorders["y"][0]


def test_hadamard_is_element_wise_unlike_bdsim_prod(rng):
    a, b = rng.standard_normal(5), rng.standard_normal(5)
    np.testing.assert_array_equal(hadamard(a, b), a * b)
    np.testing.assert_array_equal(hadamard(a, b, nin=3), a * b * b)


def test_hadamard_shape_mismatch_names_the_port():
    with pytest.raises(L.ShapeError, match=r"HADAMARD block 'prod': input 1 has shape \(3,\), expected \(2,\) like input 0"):
        hadamard(np.ones(2), np.ones(3))


def test_unit_delay_input_shape_mismatch_is_named():
    bd = L.blockdiagram()
    clock = bd.clock(1.0, "s")
    src = bd.SEQUENCE(np.ones((3, 4)), clock, name="u")
    delay = bd.UNITDELAY(clock, x0=np.zeros(3), name="cell state")
    bd.connect(src, delay, name="u")
    bd.connect(delay, bd.RECORDER(name="y"), name="y")
    with pytest.raises(L.ShapeError, match=r"UNITDELAY block 'cell state': input 0 has shape \(4,\), expected \(3,\)"):
        L.run(bd)


def test_failures_in_bdsim_blocks_name_the_block():
    bd = L.blockdiagram()
    clock = bd.clock(1.0, "s")
    add = bd.SUM("++", name="mismatched sum")
    bd.connect(bd.SEQUENCE(np.ones((2, 2)), clock, name="a"), add[0], name="a")
    bd.connect(bd.SEQUENCE(np.ones((2, 3)), clock, name="b"), add[1], name="b")
    bd.connect(add, bd.RECORDER(name="y"), name="y")
    with pytest.raises(L.DiagramError, match="SUM block 'mismatched sum' failed at step 0"):
        L.run(bd)


def test_algebraic_loop_is_refused():
    bd = L.blockdiagram()
    clock = bd.clock(1.0, "s")
    add = bd.SUM("++", name="add")
    bd.connect(bd.SEQUENCE(np.ones(3), clock, name="u"), add[0])
    bd.connect(add, add[1])
    with pytest.raises(L.DiagramError, match="algebraic loop: SUM 'add' -> SUM 'add'"):
        L.run(bd)


def test_unknown_probe_lists_the_signals():
    with pytest.raises(KeyError, match="x_prev"):
        L.run(accumulator([1.0]), probes=["nonexistent"])


def test_lstm_subsystem_blocks_stack_inside_a_larger_diagram(rng):
    """Two LSTM blocks in series between a gain and a recorder equal the matrix implementation."""
    first = L.LSTMParams.random(2, 4, rng=rng, low=-1, high=1)
    second = L.LSTMParams.random(4, 3, 1, rng=rng, low=-1, high=1)
    u = rng.standard_normal((25, 2))
    h0 = rng.uniform(-1, 1, 3)
    bd = L.blockdiagram()
    clock = bd.clock(0.5, "s")
    src = bd.SEQUENCE(u, clock, name="u")
    scale = bd.GAIN(2.0, name="pre-gain")
    lstm1 = bd.LSTM(first, clock, name="lstm1")
    lstm2 = bd.LSTM(second, clock, h0=h0, form="statespace", name="lstm2")
    bd.connect(src, scale, name="u")
    bd.connect(scale, lstm1, name="2u")
    bd.connect(lstm1, lstm2, name="h1")
    bd.connect(lstm2, bd.RECORDER(name="y"), name="y")
    result = L.run(bd, probes=["lstm2/c", "lstm1/z_f"])
    ref = L.simulate([first, second], 2.0 * u, h0=[None, h0], form="statespace", trace=True)
    np.testing.assert_allclose(result.recorders["y"], ref.y, rtol=0, atol=1e-12)
    np.testing.assert_allclose(result["lstm2/c"], ref.trace[1]["c"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(result["lstm1/z_f"], ref.trace[0]["z"][:, 4:8], rtol=0, atol=1e-12)


def test_lstm_block_carries_its_layer_and_the_diagram_finds_it(rng):
    """Each LSTM block's layer record: the weights it was given, its form, and delays that run in the diagram."""
    from lstmds_sim.core.diagram import lstm_layers

    first = L.LSTMParams.random(2, 4, rng=rng, low=-1, high=1)
    second = L.LSTMParams.random(4, 3, 1, rng=rng, low=-1, high=1)
    u = rng.standard_normal((6, 2))
    bd = L.blockdiagram()
    clock = bd.clock(1.0, "s")
    src = bd.SEQUENCE(u, clock, name="u")
    enc = bd.LSTM(first, clock, name="enc")
    dec = bd.LSTM(second, clock, form="statespace", name="dec")
    bd.connect(src, enc, name="u")
    bd.connect(enc, dec, name="h1")
    bd.connect(dec, bd.RECORDER(name="y"), name="y")
    assert enc.layer.params is first and dec.layer.params is second and dec.layer.form == "statespace"
    result = L.run(bd, probes=["enc/c", "dec/h"])
    layers = lstm_layers(bd)
    assert layers == [enc.layer, dec.layer]  # found in the flattened diagram, in order
    assert [layer.cell.name for layer in layers] == ["enc/cell state", "dec/cell state"]
    assert all(layer.cell in bd.blocklist and layer.hidden in bd.blocklist for layer in layers)
    ref = L.simulate([first, second], u, form="statespace", trace=True)  # the handle's signals are the layer's
    np.testing.assert_allclose(result[enc.layer.signal("c")], ref.trace[0]["c"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(result[dec.layer.signal("h")], ref.trace[1]["h"], rtol=0, atol=1e-12)


def test_step_note_on_python_without_add_note():
    """Python 3.10 has no BaseException.add_note: the step goes into the message instead."""
    from lstmds_sim.core.validation import add_note

    class OldStyleError:  # what a 3.10 exception offers: args, no add_note
        args = ("UNITDELAY block 'd': input 0 has shape (3,)",)

    err = OldStyleError()
    add_note(err, "(at step 4)")
    assert err.args == ("UNITDELAY block 'd': input 0 has shape (3,) (at step 4)",)


def test_errors_inside_a_run_say_the_step(rng):
    bd = L.blockdiagram()
    clock = bd.clock(1.0, "s")
    bd.connect(bd.SEQUENCE(rng.standard_normal((3, 2)), clock, name="u"), bd.UNITDELAY(clock, x0=np.zeros(3), name="memory"))
    with pytest.raises(L.ShapeError, match="UNITDELAY block 'memory'") as info:
        L.run(bd)
    assert "at step 0" in str(info.value) + "".join(getattr(info.value, "__notes__", []))


def test_an_unconnected_input_names_the_block_and_port():
    bd = L.blockdiagram()
    clock = bd.clock(1.0, "s")
    product = bd.HADAMARD(name="prod")
    bd.connect(bd.SEQUENCE(np.ones((3, 2)), clock, name="u"), product[0])
    bd.connect(product, bd.RECORDER(name="y"))
    with pytest.raises(L.DiagramError, match="unconnected input.*HADAMARD block 'prod' input 1"):
        L.run(bd)


def test_lstm_block_needs_lstm_params_and_right_sized_states(rng):
    p = L.LSTMParams.random(2, 3, 1, rng=rng)
    bd = L.blockdiagram()
    clock = bd.clock(1.0, "s")
    with pytest.raises(TypeError, match="LSTM layer 'net': params must be an LSTMParams"):
        bd.LSTM("net.npz", clock, name="net")
    with pytest.raises(L.ShapeError, match=r"LSTM layer 'net': c0 has shape \(2,\), expected \(3,\) or \(B, 3\)"):
        bd.LSTM(p, clock, c0=np.zeros(2), name="net")


def test_recording_a_signal_that_really_changes_shape_is_an_error():
    from lstmds_sim.core.engine import stack_steps

    np.testing.assert_array_equal(stack_steps([np.zeros(2), np.ones((3, 2))])[:, 0], np.zeros((3, 2)))
    with pytest.raises(L.ShapeError, match="changes shape between steps"):
        stack_steps([np.zeros(1), np.ones(3)])
    with pytest.raises(L.ShapeError, match="changes shape between steps"):
        stack_steps([np.float64(0.0), np.ones(3)])
