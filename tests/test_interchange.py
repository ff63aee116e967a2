"""Weights in and out: ONNX models, MATLAB .mat files as MATLAB saves them, strict PyTorch state dicts, lstmds convert.

The references are independent of lstmds: onnx's reference evaluator and onnxruntime run the ONNX files;
the PyTorch LSTM equations are written out below from PyTorch's documentation on the state dict's own
arrays (gates i, f, g, o); the ONNX files are built here with onnx.helper the way torch.onnx.export
builds them (gate blocks reordered to ONNX's i, o, f, c by hand, two biases, zero initial states made
from the input's shape, Gemm or MatMul + Add after the LSTM); the MATLAB files are written as MATLAB
writes them (scipy.io.savemat for v5; HDF5 with MATLAB's column-major layout and attributes for v7.3;
a MATLAB object as MATLAB's v5 writer stores it), and scipy's own MATLAB-written files where it ships them.
"""

import struct
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.io import savemat

from lstmds_sim import LSTMParams, simulate
from lstmds_sim.io import cli

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

# ----------------------------------------------------------------------------------------- PyTorch side


def torch_like_state(rng, n_in, n_hidden, n_layers=1, n_out=None):
    """An nn.LSTM(n_in, n_hidden, n_layers) state dict with PyTorch's initialisation U(-1/sqrt(H), 1/sqrt(H)),
    plus an nn.Linear(n_hidden, n_out) under 'fc.'."""
    k = 1 / np.sqrt(n_hidden)
    state = {}
    for layer in range(n_layers):
        width = n_in if layer == 0 else n_hidden
        state[f"weight_ih_l{layer}"] = rng.uniform(-k, k, (4 * n_hidden, width))
        state[f"weight_hh_l{layer}"] = rng.uniform(-k, k, (4 * n_hidden, n_hidden))
        state[f"bias_ih_l{layer}"] = rng.uniform(-k, k, 4 * n_hidden)
        state[f"bias_hh_l{layer}"] = rng.uniform(-k, k, 4 * n_hidden)
    if n_out is not None:
        state["fc.weight"] = rng.uniform(-k, k, (n_out, n_hidden))
        state["fc.bias"] = rng.uniform(-k, k, n_out)
    return state


def torch_lstm(state, x, n_layers=1, h0=None, c0=None):
    """PyTorch's nn.LSTM equations (its documentation), layer by layer, then the Linear 'fc.' if present.

    i = sigma(W_ii x + b_ii + W_hi h + b_hi), f, g (tanh), o likewise; c' = f*c + i*g; h' = o*tanh(c').
    """
    def sig(z):
        return 1.0 / (1.0 + np.exp(-z))

    seq = np.asarray(x, dtype=float)
    hs, cs = [], []
    for layer in range(n_layers):
        w_ih, w_hh = state[f"weight_ih_l{layer}"], state[f"weight_hh_l{layer}"]
        b_ih, b_hh = state[f"bias_ih_l{layer}"], state[f"bias_hh_l{layer}"]
        H = w_hh.shape[1]
        h = np.zeros(H) if h0 is None else h0[layer]
        c = np.zeros(H) if c0 is None else c0[layer]
        out = []
        for xt in seq:
            z = w_ih @ xt + b_ih + w_hh @ h + b_hh
            i, f, g, o = sig(z[:H]), sig(z[H:2 * H]), np.tanh(z[2 * H:3 * H]), sig(z[3 * H:])
            c = f * c + i * g
            h = o * np.tanh(c)
            out.append(h)
        seq = np.array(out)
        hs.append(h)
        cs.append(c)
    if "fc.weight" in state:
        seq = seq @ state["fc.weight"].T + state["fc.bias"]
    return seq, hs, cs


def to_onnx_gates(a):
    """PyTorch's gate blocks [i; f; g; o] (rows) in ONNX's order [i; o; f; c]."""
    H = a.shape[0] // 4
    return np.concatenate([a[:H], a[3 * H:], a[H:2 * H], a[2 * H:3 * H]])


# ------------------------------------------------------------------------------------ ONNX files by hand

ELEM = {np.float32: TensorProto.FLOAT, np.float64: TensorProto.DOUBLE}


class Builder:
    """A graph assembled node by node, as torch.onnx.export lays it out."""

    def __init__(self, dtype=np.float64):
        self.dtype, self.nodes, self.inits, self.inputs, self.outputs = dtype, [], [], [], []

    def const(self, name, value, dtype=None):
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=dtype or self.dtype), name))
        return name

    def node(self, op, inputs, outputs, **attrs):
        self.nodes.append(helper.make_node(op, inputs, outputs, name=f"/{op}_{len(self.nodes)}", **attrs))
        return outputs[0]

    def input(self, name, shape, elem=None):
        self.inputs.append(helper.make_tensor_value_info(name, elem or ELEM[self.dtype], shape))
        return name

    def output(self, name, shape):
        self.outputs.append(helper.make_tensor_value_info(name, ELEM[self.dtype], shape))

    def zeros_from_shape_of(self, x, hidden):
        """initial_h/initial_c as torch exports nn.LSTM's default zeros: [1, batch, H] with batch = x.shape[1]."""
        shape = self.node("Shape", [x], ["x_shape"])
        batch = self.node("Gather", [shape, self.const("one", np.array(1), np.int64)], ["batch"], axis=0)
        batch1 = self.node("Unsqueeze", [batch, self.const("ax0", [0], np.int64)], ["batch1"])
        dims = self.node("Concat", [self.const("d0", [1], np.int64), batch1, self.const("dH", [hidden], np.int64)],
                         ["state_shape"], axis=0)
        zero = helper.make_tensor("zero", ELEM[self.dtype], [1], [0.0])
        return self.node("ConstantOfShape", [dims], ["zeros"], value=zero)

    def lstm(self, x, state, layer, *, inits=("", ""), sliced=False, **attrs):
        """One nn.LSTM layer as an ONNX LSTM node: W, R in ONNX gate order, B = [bias_ih; bias_hh] reordered.

        ``sliced``: W is computed in the graph from PyTorch's array by Slice + Concat (as exporters without
        constant folding write it) instead of being stored reordered."""
        w_ih, w_hh = state[f"weight_ih_l{layer}"], state[f"weight_hh_l{layer}"]
        H = w_hh.shape[1]
        if sliced:
            raw = self.const(f"w_ih{layer}", w_ih)
            parts = []
            for k, (a, b) in enumerate([(0, H), (3 * H, 4 * H), (H, 2 * H), (2 * H, 3 * H)]):
                parts.append(self.node("Slice", [raw, self.const(f"s{layer}{k}", [a], np.int64),
                                                 self.const(f"e{layer}{k}", [b], np.int64)], [f"w{layer}_{k}"]))
            cat = self.node("Concat", parts, [f"w_cat{layer}"], axis=0)
            W = self.node("Unsqueeze", [cat, self.const(f"u{layer}", [0], np.int64)], [f"W{layer}"])
        else:
            W = self.const(f"W{layer}", to_onnx_gates(w_ih)[None])
        R = self.const(f"R{layer}", to_onnx_gates(w_hh)[None])
        B = self.const(f"B{layer}", np.concatenate([to_onnx_gates(state[f"bias_ih_l{layer}"]),
                                                    to_onnx_gates(state[f"bias_hh_l{layer}"])])[None])
        ins = [x, W, R, B, "", *inits]
        while ins[-1] == "":
            ins.pop()
        self.node("LSTM", ins, [f"Y{layer}", f"Yh{layer}", f"Yc{layer}"], hidden_size=H, **attrs)
        return f"Y{layer}"

    def save(self, path, opset=14):
        graph = helper.make_graph(self.nodes, "torch_jit", self.inputs, self.outputs, self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="pytorch")
        model.ir_version = 8
        onnx.checker.check_model(model)
        onnx.save(model, str(path))
        return path


def torch_export(path, state, *, n_layers=1, head="gemm", dtype=np.float64, sliced=False, zeros=True):
    """An nn.LSTM (+ nn.Linear 'fc.') exported as torch.onnx.export writes it, batch 1: input (T, 1, Ni)."""
    g = Builder(dtype)
    n_in, H = state["weight_ih_l0"].shape[1], state["weight_hh_l0"].shape[1]
    x = g.input("input", ["T", 1, n_in])
    inits = ("", "")
    if zeros:
        z = g.zeros_from_shape_of(x, H)
        inits = (z, z)
    for layer in range(n_layers):
        y = g.lstm(x, state, layer, inits=inits, sliced=sliced)
        g.output(f"Yh{layer}", [1, 1, H])
        x = g.node("Squeeze", [y, g.const(f"sq{layer}", [1], np.int64)], [f"S{layer}"])  # (T, 1, H)
    if head == "gemm":  # torch: Linear on a 2-D input is Gemm(x, weight, bias, transB=1)
        flat = g.node("Reshape", [x, g.const("flat", [-1, H], np.int64)], ["flat_h"])
        g.node("Gemm", [flat, g.const("fc.weight", state["fc.weight"]), g.const("fc.bias", state["fc.bias"])],
               ["output"], transB=1)
        g.output("output", ["T", state["fc.weight"].shape[0]])
    elif head == "matmul":  # torch: Linear on a 3-D input is MatMul(x, weight^T) + Add(bias)
        m = g.node("MatMul", [x, g.const("fc.weight_T", state["fc.weight"].T)], ["fc_mm"])
        g.node("Add", [g.const("fc.bias", state["fc.bias"]), m], ["output"])
        g.output("output", ["T", 1, state["fc.weight"].shape[0]])
    else:
        g.node("Identity", [x], ["output"])
        g.output("output", ["T", 1, H])
    return g.save(path)


def run_reference(path, outputs=("output",), **feeds):
    """The named outputs of the model, computed by onnx's reference evaluator."""
    return ReferenceEvaluator(onnx.load(str(path))).run(list(outputs), feeds)


# ------------------------------------------------------------------------------------------ ONNX import


def test_onnx_lstm_gemm_with_pytorch_weights_simulates_as_pytorch_and_the_reference_evaluator(tmp_path, rng):
    state = torch_like_state(rng, 3, 6, n_out=2)
    path = torch_export(tmp_path / "net.onnx", state, head="gemm")
    p = LSTMParams.from_onnx(path)
    assert isinstance(p, LSTMParams) and (p.n_inputs, p.n_units, p.n_outputs) == (3, 6, 2)
    q = LSTMParams.from_torch(state, output_prefix="fc.")  # the gate reordering undone exactly
    for name in ("W", "R", "b", "F", "bF"):
        np.testing.assert_array_equal(getattr(p, name), getattr(q, name), err_msg=name)

    u = rng.standard_normal((60, 3))
    ours = simulate(p, u)
    y_torch, _, c_torch = torch_lstm(state, u)
    y_ref, h_ref = run_reference(path, ("output", "Yh0"), input=u[:, None, :])
    assert np.max(np.abs(ours.y - y_torch)) <= 1e-12
    assert np.max(np.abs(ours.y - y_ref)) <= 1e-12
    assert np.max(np.abs(ours.h[0] - h_ref[0, 0])) <= 1e-12
    assert np.max(np.abs(ours.c[0] - c_torch[0])) <= 1e-12
    assert np.abs(ours.y).max() > 0.05  # a response, not zeros agreeing with zeros


def test_onnx_float32_file_matches_onnxruntime_within_float32_rounding(tmp_path, rng):
    ort = pytest.importorskip("onnxruntime")
    state = torch_like_state(rng, 3, 6, n_out=2)
    state32 = {k: v.astype(np.float32) for k, v in state.items()}
    path = torch_export(tmp_path / "net32.onnx", state32, head="gemm", dtype=np.float32)
    p = LSTMParams.from_onnx(path)
    np.testing.assert_array_equal(p.W, LSTMParams.from_torch(state32).W)  # float32 values, held exactly
    u = rng.standard_normal((60, 3)).astype(np.float32)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    y_ort = session.run(["output"], {"input": u[:, None, :]})[0]
    y = simulate(p, u.astype(np.float64)).y
    error = np.max(np.abs(y - y_ort))
    assert error <= 2e-6 * max(1.0, np.abs(y).max())  # float32 eps is 1.2e-7 (measured: 4e-8)
    assert error > 0  # onnxruntime really computed in float32 (a float64 run would agree to 1e-16)


def test_stacked_lstm_nodes_with_matmul_add_and_weights_computed_by_slices_read_as_layers(tmp_path, rng):
    state = torch_like_state(rng, 2, 5, n_layers=2, n_out=1)
    path = torch_export(tmp_path / "stack.onnx", state, n_layers=2, head="matmul", sliced=True)
    layers = LSTMParams.from_onnx(path)
    assert isinstance(layers, list) and len(layers) == 2
    assert layers[0].F is None and layers[1].F.shape == (1, 5)
    np.testing.assert_array_equal(layers[0].W, state["weight_ih_l0"])  # Slice/Concat undone to the bit
    u = rng.standard_normal((40, 2))
    y = simulate(layers, u).y
    assert np.max(np.abs(y - torch_lstm(state, u, n_layers=2)[0])) <= 1e-12
    assert np.max(np.abs(y - run_reference(path, input=u[:, None, :])[0][:, 0])) <= 1e-12


def test_a_batch_first_two_layer_export_that_returns_its_final_states(tmp_path, rng):
    """nn.LSTM(2, 5, num_layers=2, batch_first=True) + nn.Linear returning (y, (h_n, c_n)), laid out as
    torch.onnx.export writes it: Transposes around the LSTMs, zero states (2, B, H) made from the input's shape
    and sliced per layer, h_n and c_n joined by Concat."""
    state = torch_like_state(rng, 2, 5, n_layers=2, n_out=3)
    g = Builder()
    x = g.input("input", [1, "T", 2])
    shape = g.node("Shape", [x], ["shape"])
    batch = g.node("Gather", [shape, g.const("zero_i", np.array(0), np.int64)], ["batch"], axis=0)
    batch1 = g.node("Unsqueeze", [batch, g.const("ax0", [0], np.int64)], ["batch1"])
    dims = g.node("Concat", [g.const("nl", [2], np.int64), batch1, g.const("nh", [5], np.int64)], ["dims"], axis=0)
    zeros = g.node("ConstantOfShape", [dims], ["h_all"], value=helper.make_tensor("z", TensorProto.DOUBLE, [1], [0]))
    seq = g.node("Transpose", [x], ["x_t"], perm=[1, 0, 2])
    for layer in range(2):
        h = g.node("Slice", [zeros, g.const(f"a{layer}", [layer], np.int64), g.const(f"b{layer}", [layer + 1], np.int64),
                             g.const(f"axes{layer}", [0], np.int64)], [f"h_init{layer}"])
        y = g.lstm(seq, state, layer, inits=(h, h))
        seq = g.node("Squeeze", [y, g.const(f"sq{layer}", [1], np.int64)], [f"S{layer}"])
    out = g.node("Transpose", [seq], ["batch_first"], perm=[1, 0, 2])
    out = g.node("MatMul", [out, g.const("fc.weight_T", state["fc.weight"].T)], ["mm"])
    g.node("Add", [out, g.const("fc.bias", state["fc.bias"])], ["output"])
    g.node("Concat", ["Yh0", "Yh1"], ["h_n"], axis=0)
    g.node("Concat", ["Yc0", "Yc1"], ["c_n"], axis=0)
    g.output("output", [1, "T", 3])
    g.output("h_n", [2, 1, 5])
    g.output("c_n", [2, 1, 5])
    path = g.save(tmp_path / "batch_first.onnx")
    layers, h0, c0 = LSTMParams.from_onnx(path, with_states=True)
    assert len(layers) == 2 and h0 is None and c0 is None
    u = rng.standard_normal((30, 2))
    ours = simulate(layers, u)
    y_ref, h_n = run_reference(path, ("output", "h_n"), input=u[None])
    assert np.max(np.abs(ours.y - y_ref[0])) <= 1e-12
    assert np.max(np.abs(ours.y - torch_lstm(state, u, n_layers=2)[0])) <= 1e-12
    assert np.max(np.abs(np.stack(ours.h) - h_n[:, 0])) <= 1e-12


def test_initial_states_held_in_the_file_are_returned_and_computed_ones_are_not(tmp_path, rng):
    state = torch_like_state(rng, 2, 4)
    h0, c0 = rng.standard_normal(4), rng.standard_normal(4)
    g = Builder()
    x = g.input("input", ["T", 1, 2])
    y = g.lstm(x, state, 0, inits=(g.const("h0", h0[None, None]), g.const("c0", c0[None, None])))
    g.node("Squeeze", [y, g.const("sq", [1], np.int64)], ["output"])
    g.output("output", ["T", 1, 4])
    path = g.save(tmp_path / "states.onnx")
    p, h, c = LSTMParams.from_onnx(path, with_states=True)
    np.testing.assert_array_equal(h, h0)
    np.testing.assert_array_equal(c, c0)
    u = rng.standard_normal((30, 2))
    assert np.max(np.abs(simulate(p, u, h, c).y - run_reference(path, input=u[:, None, :])[0][:, 0])) <= 1e-12
    assert np.max(np.abs(simulate(p, u, h, c).y - torch_lstm(state, u, h0=[h0], c0=[c0])[0])) <= 1e-12

    # the exporter's zeros (made from the input's shape) and states given as model inputs: no state in the file
    zeros = torch_export(tmp_path / "zeros.onnx", torch_like_state(rng, 2, 4, n_out=1), head="gemm")
    assert LSTMParams.from_onnx(zeros, with_states=True)[1:] == (None, None)
    g = Builder()
    x = g.input("input", ["T", 1, 2])
    y = g.lstm(x, state, 0, inits=(g.input("h_in", [1, 1, 4]), g.input("c_in", [1, 1, 4])))
    g.node("Squeeze", [y, g.const("sq", [1], np.int64)], ["output"])
    g.output("output", ["T", 1, 4])
    path = g.save(tmp_path / "state_inputs.onnx")
    p, h, c = LSTMParams.from_onnx(path, with_states=True)
    assert h is None and c is None
    y_ref = run_reference(path, input=u[:, None, :], h_in=h0[None, None], c_in=c0[None, None])[0][:, 0]
    assert np.max(np.abs(simulate(p, u, h0, c0).y - y_ref)) <= 1e-12


def test_batch_first_layout_with_a_batch_of_initial_states(tmp_path, rng):
    """layout=1: X (batch, T, Ni), initial_h (batch, 1, Nn), Y (batch, T, 1, Nn); two rows with their own states."""
    state = torch_like_state(rng, 2, 3)
    h0, c0 = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    g = Builder()
    x = g.input("input", [2, "T", 2])
    g.lstm(x, state, 0, inits=(g.const("h0", h0[:, None]), g.const("c0", c0[:, None])), layout=1)
    g.output("Y0", [2, "T", 1, 3])
    path = g.save(tmp_path / "layout1.onnx")
    p, h, c = LSTMParams.from_onnx(path, with_states=True)
    np.testing.assert_array_equal(h, h0)
    np.testing.assert_array_equal(c, c0)
    u = rng.standard_normal((2, 25, 2))
    y_ref = run_reference(path, ("Y0",), input=u)[0][:, :, 0]
    assert np.max(np.abs(simulate(p, u, h, c).y - y_ref)) <= 1e-12


def test_an_lstm_inside_a_local_function_is_read(tmp_path, rng):
    """Newer exporters wrap each module in a model-local function: it is inlined before reading."""
    state = torch_like_state(rng, 2, 3)
    axis = numpy_helper.from_array(np.array([1], dtype=np.int64))
    module = helper.make_function(
        "pkg.torch", "LSTMModule", ["x", "w", "r", "b"], ["y"],
        [helper.make_node("Constant", [], ["ax"], value=axis),
         helper.make_node("LSTM", ["x", "w", "r", "b"], ["Y"], hidden_size=3),
         helper.make_node("Squeeze", ["Y", "ax"], ["y"])],
        opset_imports=[helper.make_opsetid("", 14)])
    g = Builder()
    x = g.input("input", ["T", 1, 2])
    B = np.concatenate([to_onnx_gates(state["bias_ih_l0"]), to_onnx_gates(state["bias_hh_l0"])])[None]
    g.nodes.append(helper.make_node("LSTMModule", [x, g.const("W", to_onnx_gates(state["weight_ih_l0"])[None]),
                                                  g.const("R", to_onnx_gates(state["weight_hh_l0"])[None]),
                                                  g.const("B", B)], ["output"], domain="pkg.torch"))
    g.output("output", ["T", 1, 3])
    graph = helper.make_graph(g.nodes, "g", g.inputs, g.outputs, g.inits)
    model = helper.make_model(graph, functions=[module], ir_version=8,
                              opset_imports=[helper.make_opsetid("", 14), helper.make_opsetid("pkg.torch", 1)])
    onnx.checker.check_model(model)
    onnx.save(model, str(tmp_path / "function.onnx"))
    p = LSTMParams.from_onnx(tmp_path / "function.onnx")
    u = rng.standard_normal((20, 2))
    assert np.max(np.abs(simulate(p, u).y - torch_lstm(state, u)[0])) <= 1e-12


def test_all_zero_peepholes_are_accepted(tmp_path, rng):
    state = torch_like_state(rng, 2, 3)
    g = Builder()
    x = g.input("input", ["T", 1, 2])
    y = g.lstm(x, state, 0, inits=("", "", g.const("P", np.zeros((1, 9)))))
    g.node("Squeeze", [y, g.const("sq", [1], np.int64)], ["output"])
    g.output("output", ["T", 1, 3])
    p = LSTMParams.from_onnx(g.save(tmp_path / "p0.onnx"))
    np.testing.assert_array_equal(p.R, state["weight_hh_l0"])


def _one_lstm(tmp_path, rng, name, *, P=None, extra=None, inputs2=False, bidirectional=False, **attrs):
    """A one-layer model with something lstmds cannot represent (an attribute, P, a node after it)."""
    state = torch_like_state(rng, 2, 3)
    g = Builder()
    x = g.input("input", ["T", 1, 2])
    if inputs2:
        x = g.node("Add", [x, g.input("other", ["T", 1, 2])], ["sum"])
    if bidirectional:
        W = np.stack([to_onnx_gates(state["weight_ih_l0"])] * 2)
        R = np.stack([to_onnx_gates(state["weight_hh_l0"])] * 2)
        g.node("LSTM", [x, g.const("W", W), g.const("R", R)], ["Y0"], hidden_size=3, direction="bidirectional")
        y = "Y0"
    else:
        inits = ("", "", g.const("P", P)) if P is not None else ("", "")
        y = g.lstm(x, state, 0, inits=inits, **attrs)
    out = g.node("Squeeze", [y, g.const("sq", [1], np.int64)], ["S"])
    if extra == "relu":
        out = g.node("Relu", [out], ["R_out"])
    elif extra == "two_linear":
        out = g.node("MatMul", [out, g.const("F1", np.ones((3, 2)))], ["m1"])
        out = g.node("MatMul", [out, g.const("F2", np.ones((2, 1)))], ["m2"])
    elif extra == "side_output":
        g.node("Sigmoid", ["Yh0"], ["side"])  # a second head on the final hidden state
        g.output("side", None)
    if extra == "subgraph":
        branch = helper.make_graph([helper.make_node("Identity", ["S"], ["b"])], "branch", [],
                                   [helper.make_tensor_value_info("b", TensorProto.DOUBLE, None)])
        cond = g.const("cond", np.array(True), np.bool_)
        g.nodes.append(helper.make_node("If", [cond], ["branch_out"], then_branch=branch, else_branch=branch))
    g.node("Identity", [out], ["output"])
    g.output("output", None)
    graph = helper.make_graph(g.nodes, "g", g.inputs, g.outputs, g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    path = tmp_path / f"{name}.onnx"
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize("name, build, message", [
    ("bidirectional", {"bidirectional": True}, r"LSTM node '/LSTM_0' runs bidirectional: lstmds represents a forward"),
    ("reverse", {"direction": "reverse"}, r"runs reverse"),
    ("peepholes", {"P": np.full((1, 9), 0.1)}, r"has peephole connections \(P\)"),
    ("input_forget", {"input_forget": 1}, r"couples its input and forget gates \(input_forget=1\)"),
    ("clip", {"clip": 5.0}, r"clips its gate inputs \(clip=5.0\)"),
    ("activations", {"activations": ["Sigmoid", "Relu", "Tanh"]},
     r"non-default activations \['Sigmoid', 'Relu', 'Tanh'\]: lstmds models Sigmoid, Tanh, Tanh"),
    ("relu", {"extra": "relu"}, r"Relu node '/Relu_\d+' after LSTM node '/LSTM_0'.*cannot represent Relu"),
    ("two_linear", {"extra": "two_linear"}, r"MatMul node '/MatMul_\d+' is a second linear layer"),
    ("side_output", {"extra": "side_output"}, r"the model output 'side' is computed off the LSTM chain"),
    ("subgraph", {"extra": "subgraph"}, r"If node .* holds graphs of its own \(several graphs\)"),
    ("two_inputs", {"inputs2": True}, r"input X depends on 2 model inputs \(input, other\)"),
])
def test_onnx_models_lstmds_cannot_represent_are_refused_in_one_line(tmp_path, rng, name, build, message):
    path = _one_lstm(tmp_path, rng, name, **build)
    with pytest.raises(ValueError, match=message) as info:
        LSTMParams.from_onnx(path)
    assert str(info.value).startswith(str(path)) and "\n" not in str(info.value)


def test_files_that_are_not_lstm_models_are_refused(tmp_path):
    (tmp_path / "text.onnx").write_text("not a model at all")
    with pytest.raises(ValueError, match=r"text.onnx is not an ONNX model"):
        LSTMParams.from_onnx(tmp_path / "text.onnx")
    g = Builder()
    g.node("Relu", [g.input("x", [2])], ["y"])
    g.output("y", [2])
    with pytest.raises(ValueError, match=r"has no LSTM node \(its nodes: Relu\)"):
        LSTMParams.from_onnx(g.save(tmp_path / "relu.onnx"))
    with pytest.raises(FileNotFoundError):
        LSTMParams.from_onnx(tmp_path / "missing.onnx")


# ------------------------------------------------------------------------------------------ ONNX export


def test_to_onnx_round_trips_and_runs_in_the_reference_evaluator_and_onnxruntime(tmp_path, rng):
    ort = pytest.importorskip("onnxruntime")
    from lstmds_sim.io.onnx import write_onnx

    p = LSTMParams.random(3, 4, 2, rng=rng, low=-1, high=1, output_bias=True)
    h0, c0 = rng.standard_normal(4), rng.standard_normal(4)
    path = p.to_onnx(tmp_path / "net", h0=h0, c0=c0)
    assert path.name == "net.onnx"
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    q, h, c = LSTMParams.from_onnx(path, with_states=True)
    for name in ("W", "R", "b", "F", "bF"):
        np.testing.assert_array_equal(getattr(q, name), getattr(p, name), err_msg=name)
    np.testing.assert_array_equal(h, h0)
    np.testing.assert_array_equal(c, c0)
    u = rng.standard_normal((50, 3))
    ours = simulate(p, u, h0, c0)
    y, h_n, c_n = run_reference(path, ("y", "h0", "c0"), u=u[:, None, :])
    assert np.max(np.abs(y[:, 0] - ours.y)) <= 1e-12
    assert np.max(np.abs(h_n[0, 0] - ours.h[0])) <= 1e-12 and np.max(np.abs(c_n[0, 0] - ours.c[0])) <= 1e-12
    with pytest.raises(FileExistsError, match="net.onnx exists; pass overwrite=True"):
        p.to_onnx(path)

    # layers in series, float32, batched: onnxruntime runs it
    layers = [LSTMParams.random(3, 4, rng=rng, low=-1, high=1), LSTMParams.random(4, 5, 1, rng=rng, low=-1, high=1)]
    path32 = write_onnx(tmp_path / "stack32.onnx", layers, dtype="float32")
    back = LSTMParams.from_onnx(path32)
    assert [L.n_units for L in back] == [4, 5]
    np.testing.assert_array_equal(back[1].R, layers[1].R.astype(np.float32))
    u = rng.standard_normal((5, 40, 3))
    y_ort = ort.InferenceSession(str(path32), providers=["CPUExecutionProvider"]).run(
        ["y"], {"u": np.ascontiguousarray(u.transpose(1, 0, 2)).astype(np.float32)})[0]
    y = simulate(back, u.astype(np.float32).astype(np.float64)).y
    assert np.max(np.abs(y_ort.transpose(1, 0, 2) - y)) <= 2e-6 * max(1.0, np.abs(y).max())


# ---------------------------------------------------------------------------------------------- MATLAB


def savemat_v73(path, variables):
    """Write a MATLAB v7.3 MAT-file as MATLAB does: HDF5 behind a 512-byte text header, every array stored
    column-major (so HDF5 sees its dimensions reversed) with a MATLAB_class attribute, vectors as columns,
    structs as groups, objects as uint32 references with MATLAB_object_decode."""
    h5py = pytest.importorskip("h5py")

    def put(group, name, value):
        if isinstance(value, dict):
            sub = group.create_group(name)
            sub.attrs["MATLAB_class"] = np.bytes_(b"struct")
            for key, item in value.items():
                put(sub, key, item)
        elif isinstance(value, str):  # the class of a MATLAB object
            ds = group.create_dataset(name, data=np.array([[0xDD000000, 2, 1, 1, 1, 1]], dtype=np.uint32))
            ds.attrs["MATLAB_class"] = np.bytes_(value.encode())
            ds.attrs["MATLAB_object_decode"] = np.int32(3)
        else:
            arr = np.asarray(value)
            arr = arr[:, None] if arr.ndim == 1 else arr  # MATLAB has no 1-D arrays: a vector is a column
            ds = group.create_dataset(name, data=np.ascontiguousarray(arr.T))  # column-major bytes
            ds.attrs["MATLAB_class"] = np.bytes_({"float64": b"double", "float32": b"single"}[arr.dtype.name])

    with h5py.File(path, "w", userblock_size=512) as f:
        for name, value in variables.items():
            put(f, name, value)
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5 schema 1.00 ."
    with open(path, "r+b") as f:
        f.write(header.ljust(116, b" ") + b"\0" * 8 + b"\x00\x02" + b"IM")
    return path


def savemat_object_v5(path, name, classname):
    """A v5 MAT-file holding one MATLAB (classdef) object, as MATLAB writes `save(path, name)`: an miMATRIX of
    class mxOPAQUE (17) with the variable name, 'MCOS', the class name and a uint32 reference array."""

    def element(mtype, data):
        return struct.pack("<II", mtype, len(data)) + data + b"\0" * (-len(data) % 8)

    refs = np.array([0xDD000000, 2, 1, 1, 1, 1], dtype="<u4")
    inner = element(14, element(6, struct.pack("<II", 13, 0)) + element(5, struct.pack("<2i", 6, 1))
                    + element(1, b"") + element(6, refs.tobytes()))
    body = element(6, struct.pack("<II", 17, 0)) + element(1, name.encode()) + element(1, b"MCOS") \
        + element(1, classname.encode()) + inner
    header = b"MATLAB 5.0 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024".ljust(116, b" ")
    Path(path).write_bytes(header + b"\0" * 8 + struct.pack("<H", 0x0100) + b"IM" + element(14, body))
    return path


def matlab_layer(p):
    """An lstmLayer's and a fullyConnectedLayer's properties as MATLAB holds them (biases are columns)."""
    return {"InputWeights": p.W, "RecurrentWeights": p.R, "Bias": p.b[:, None],
            "FC_Weights": p.F, "FC_Bias": p.bF[:, None]}


def assert_same(q, p):
    for name in ("W", "R", "b", "F", "bF"):
        np.testing.assert_array_equal(getattr(q, name), getattr(p, name), err_msg=name)


def test_matlab_struct_variable_and_export_snippet_file_import_exactly(tmp_path, rng):
    p = LSTMParams.random(3, 4, 2, rng=rng, low=-1, high=1, output_bias=True)
    savemat(tmp_path / "struct.mat", {"s": matlab_layer(p), "note": np.array([1.0])})  # s = struct(...); save
    assert_same(LSTMParams.from_matlab(tmp_path / "struct.mat"), p)
    savemat(tmp_path / "snippet.mat", matlab_layer(p))  # save(FILE, '-struct', 's'): the fields as variables
    assert_same(LSTMParams.from_matlab(tmp_path / "snippet.mat"), p)
    # struct(layer) of an lstmLayer: its other properties (text, numbers, a nested struct) beside the weights
    layer = {**{k: v for k, v in matlab_layer(p).items() if not k.startswith("FC")},
             "Name": "lstm", "NumHiddenUnits": np.array([[4.0]]), "OutputMode": "sequence",
             "HiddenState": np.zeros((0, 0)), "CellState": np.zeros((0, 0)), "Private": {"x": np.ones(2)}}
    savemat(tmp_path / "layer.mat", {"layer": layer, "other": {"a": np.ones(1)}})
    q, h0, c0 = LSTMParams.from_matlab(tmp_path / "layer.mat", with_states=True)
    assert q.F is None and h0 is None and c0 is None
    np.testing.assert_array_equal(q.W, p.W)


def test_matlab_v73_hdf5_files_import_exactly(tmp_path, rng):
    p = LSTMParams.random(3, 4, 2, rng=rng, low=-1, high=1, output_bias=True)
    h0 = rng.standard_normal(4)
    single = {k: np.asarray(v, dtype=np.float32) for k, v in matlab_layer(p).items()}
    savemat_v73(tmp_path / "v73.mat", {"net": {**single, "HiddenState": h0[:, None]}})
    q, h, c = LSTMParams.from_matlab(tmp_path / "v73.mat", with_states=True)
    for name, key in (("W", "InputWeights"), ("R", "RecurrentWeights"), ("F", "FC_Weights")):
        np.testing.assert_array_equal(getattr(q, name), single[key].astype(np.float64))
    np.testing.assert_array_equal(q.b, single["Bias"].ravel())
    np.testing.assert_array_equal(h, h0)
    assert c is None
    savemat_v73(tmp_path / "top.mat", matlab_layer(p))
    assert_same(LSTMParams.from_matlab(tmp_path / "top.mat"), p)


def test_a_real_matlab_v73_file_reads_with_matlabs_orientation():
    """scipy ships a v7.3 file written by MATLAB 7.4: testdouble = 0:pi/4:2*pi, a 1x9 row vector."""
    import scipy.io.matlab as scipy_matlab

    from lstmds_sim.io.matlab import load_variables

    path = Path(scipy_matlab.__file__).parent / "tests" / "data" / "testhdf5_7.4_GLNX86.mat"
    if not path.is_file():
        pytest.skip("this scipy does not ship its MATLAB test files")
    data = load_variables(path)
    assert data["testdouble"].shape == (1, 9)
    np.testing.assert_allclose(data["testdouble"][0], np.arange(9) * np.pi / 4, rtol=1e-15)


def test_matlab_objects_and_incomplete_files_are_refused_in_one_line(tmp_path, rng):
    p = LSTMParams.random(3, 4, 2, rng=rng)
    v5 = savemat_object_v5(tmp_path / "obj.mat", "layer", "nnet.cnn.layer.LSTMLayer")
    v73 = savemat_v73(tmp_path / "obj73.mat", {"layer": "nnet.cnn.layer.LSTMLayer"})
    for path in (v5, v73):
        with pytest.raises(ValueError) as info:
            LSTMParams.from_matlab(path)
        text = str(info.value)
        assert text.startswith(f"{path}: variable 'layer' is a MATLAB object of class nnet.cnn.layer.LSTMLayer")
        assert "save('lstm.mat', '-struct', 's')" in text and "exportONNXNetwork" in text and "\n" not in text
    savemat(tmp_path / "partial.mat", {"s": {"InputWeights": p.W, "Bias": p.b}})
    with pytest.raises(ValueError, match=r"partial.mat: variable 's' lacks RecurrentWeights; save the lstmLayer"):
        LSTMParams.from_matlab(tmp_path / "partial.mat")
    savemat(tmp_path / "two.mat", {"a": matlab_layer(p), "b": matlab_layer(p)})
    with pytest.raises(ValueError, match=r"several structs with LSTM weights \(a, b\): pass variable="):
        LSTMParams.from_matlab(tmp_path / "two.mat")
    assert_same(LSTMParams.from_matlab(tmp_path / "two.mat", variable="b"), p)
    with pytest.raises(ValueError, match=r"two.mat has no variable 'c'; its variables are: a, b"):
        LSTMParams.from_matlab(tmp_path / "two.mat", variable="c")
    savemat(tmp_path / "none.mat", {"x": np.ones(3)})
    with pytest.raises(ValueError, match=r"none.mat holds no LSTM weights \(variables: x\)"):
        LSTMParams.from_matlab(tmp_path / "none.mat")
    savemat(tmp_path / "bad.mat", {**matlab_layer(p), "RecurrentWeights": np.ones((5, 4))})
    with pytest.raises(ValueError, match=r"bad.mat: R \(recurrent weights\) has shape \(5, 4\).*RecurrentWeights -> R"):
        LSTMParams.from_matlab(tmp_path / "bad.mat")
    (tmp_path / "text.mat").write_text("hello")
    with pytest.raises(ValueError, match=r"text.mat is not a MATLAB .mat file"):
        LSTMParams.from_matlab(tmp_path / "text.mat")


def test_write_matlab_round_trips_and_keeps_existing_files(tmp_path, rng):
    from lstmds_sim.io.matlab import write_matlab

    p = LSTMParams.random(2, 3, 1, rng=rng, output_bias=True)
    h0 = rng.standard_normal(3)
    path = write_matlab(tmp_path / "w", p, h0=h0)
    assert path.name == "w.mat"
    q, h, c = LSTMParams.from_matlab(path, with_states=True)
    assert_same(q, p)
    np.testing.assert_array_equal(h, h0)
    assert c is None
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="w.mat exists; pass overwrite=True"):
        write_matlab(path, p.replace(b=np.zeros(12)))
    assert path.read_bytes() == before


# ---------------------------------------------------------------------------------------------- PyTorch


def test_pytorch_bidirectional_and_projected_lstms_are_refused_by_name(rng):
    state = torch_like_state(rng, 2, 3)
    reverse = {**state, **{k + "_reverse": v for k, v in state.items()}}
    with pytest.raises(ValueError, match=r"bidirectional LSTM \(bias_hh_l0_reverse, bias_ih_l0_reverse, \.\.\.\)"):
        LSTMParams.from_torch(reverse)
    projected = {**state, "weight_hr_l0": np.ones((2, 3))}
    with pytest.raises(ValueError, match=r"weight_hr_l0: an nn.LSTM with proj_size > 0"):
        LSTMParams.from_torch(projected)


def test_pytorch_biases_must_come_in_pairs_and_none_means_bias_false(rng):
    state = torch_like_state(rng, 2, 3)
    for missing, kept in (("bias_hh_l0", "bias_ih_l0"), ("bias_ih_l0", "bias_hh_l0")):
        partial = {k: v for k, v in state.items() if k != missing}
        with pytest.raises(KeyError, match=f"has {kept} but lacks {missing}") as info:
            LSTMParams.from_torch(partial)
        assert isinstance(info.value, ValueError)  # the CLI's one-line error
    no_bias = {k: v for k, v in state.items() if not k.startswith("bias")}  # nn.LSTM(..., bias=False)
    p = LSTMParams.from_torch(no_bias)
    np.testing.assert_array_equal(p.b, np.zeros(12))
    u = rng.standard_normal((20, 2))
    zero_bias = {**state, "bias_ih_l0": np.zeros(12), "bias_hh_l0": np.zeros(12)}
    assert np.max(np.abs(simulate(p, u).y - torch_lstm(zero_bias, u)[0])) <= 1e-12


def test_pytorch_missing_layer_lists_the_layers_present_and_prefixes_are_found(rng):
    state = torch_like_state(rng, 2, 3, n_layers=2)
    with pytest.raises(KeyError, match=r"no layer 2 \(weight_ih_l2\): the layers present are 0, 1"):
        LSTMParams.from_torch(state, layer=2)
    p1 = LSTMParams.from_torch(state, layer=1)
    np.testing.assert_array_equal(p1.W, state["weight_ih_l1"])
    model = {"lstm." + k: v for k, v in state.items()}
    with pytest.raises(KeyError, match=r"under prefix 'lstm.': pass prefix='lstm.'"):
        LSTMParams.from_torch(model)
    np.testing.assert_array_equal(LSTMParams.from_torch(model, prefix="lstm.", layer=1).R, state["weight_hh_l1"])


# ----------------------------------------------------------------------------------------- lstmds convert


def convert(capsys, *args):
    code = cli.main(["convert", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_convert_goes_both_ways_between_npz_onnx_and_mat(tmp_path, rng, capsys):
    p = LSTMParams.random(3, 4, 2, rng=rng, low=-1, high=1, output_bias=True)
    npz = p.save(tmp_path / "a.npz")
    code, out, _ = convert(capsys, npz, tmp_path / "b.onnx")
    assert code == 0 and "1 layer (3 -> LSTM(4) -> FC(2)), float64" in out
    assert convert(capsys, tmp_path / "b.onnx", tmp_path / "c.mat")[0] == 0
    assert convert(capsys, tmp_path / "c.mat", tmp_path / "d.npz")[0] == 0
    assert_same(LSTMParams.load(tmp_path / "d.npz"), p)
    assert_same(LSTMParams.from_onnx(tmp_path / "b.onnx"), p)
    assert convert(capsys, tmp_path / "d.npz", tmp_path / "e.onnx", "--dtype", "float32")[0] == 0
    np.testing.assert_array_equal(LSTMParams.from_onnx(tmp_path / "e.onnx").W, p.W.astype(np.float32))

    # initial states travel with the weights; a stacked model stays in ONNX
    state = torch_like_state(rng, 2, 4, n_out=1)
    g = Builder()
    y = g.lstm(g.input("input", ["T", 1, 2]), state, 0, inits=(g.const("h0", np.full((1, 1, 4), 0.5)), ""))
    g.node("Squeeze", [y, g.const("sq", [1], np.int64)], ["output"])
    g.output("output", ["T", 1, 4])
    g.save(tmp_path / "s.onnx")
    assert convert(capsys, tmp_path / "s.onnx", tmp_path / "s.npz")[0] == 0
    with np.load(tmp_path / "s.npz") as data:
        np.testing.assert_array_equal(data["h0"], np.full(4, 0.5))
        assert "c0" not in data.files
    assert convert(capsys, tmp_path / "s.npz", tmp_path / "s.mat")[0] == 0
    assert convert(capsys, tmp_path / "s.mat", tmp_path / "s2.onnx")[0] == 0
    np.testing.assert_array_equal(LSTMParams.from_onnx(tmp_path / "s2.onnx", with_states=True)[1], np.full(4, 0.5))


@pytest.mark.parametrize("case, message", [
    ("suffix", r"OUT .*a.txt: unknown format '.txt'; lstmds convert reads and writes .npz, .onnx, .mat"),
    ("missing", r"IN .*nothing.onnx: no such file"),
    ("exists", r"OUT .*taken.onnx exists; pass --force to replace it"),
    ("stacked", r"a .npz file holds one LSTM layer and IN holds 2 layers in series; convert to .onnx"),
    ("dtype", r"--dtype applies to .onnx files"),
    ("variable", r"--variable applies to a .mat IN; .*a.npz is a .npz file"),
    ("broken", r"broken.onnx is not an ONNX model"),
])
def test_convert_refuses_bad_input_in_one_line_with_exit_2(tmp_path, rng, capsys, case, message):
    p = LSTMParams.random(2, 3, 1, rng=rng)
    npz = p.save(tmp_path / "a.npz")
    taken = tmp_path / "taken.onnx"
    taken.write_bytes(b"the user's own file")
    stack = tmp_path / "stack.onnx"
    from lstmds_sim.io.onnx import write_onnx

    write_onnx(stack, [p.replace(F=None, bF=None), LSTMParams.random(3, 2, rng=rng)])
    (tmp_path / "broken.onnx").write_text("garbage")
    args = {"suffix": (npz, tmp_path / "a.txt"), "missing": (tmp_path / "nothing.onnx", tmp_path / "x.npz"),
            "exists": (npz, taken), "stacked": (stack, tmp_path / "s.npz"), "dtype": (npz, tmp_path / "x.mat",
                                                                                   "--dtype", "float32"),
            "broken": (tmp_path / "broken.onnx", tmp_path / "y.npz"),
            "variable": (npz, tmp_path / "x.mat", "--variable", "s")}[case]
    code, out, err = convert(capsys, *args)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lstmds: error: ")
    assert __import__("re").search(message, lines[0]), lines[0]
    assert taken.read_bytes() == b"the user's own file"
    assert not (tmp_path / "s.npz").exists() and not (tmp_path / "x.mat").exists()


def test_convert_force_replaces_out(tmp_path, rng, capsys):
    p = LSTMParams.random(2, 3, 1, rng=rng)
    npz = p.save(tmp_path / "a.npz")
    out = tmp_path / "b.mat"
    out.write_bytes(b"old")
    assert convert(capsys, npz, out, "--force")[0] == 0
    assert_same(LSTMParams.from_matlab(out), p)


def test_a_missing_extra_is_one_line_naming_the_install(tmp_path, rng, capsys, monkeypatch):
    npz = LSTMParams.random(2, 3, 1, rng=rng).save(tmp_path / "a.npz")
    v73 = savemat_v73(tmp_path / "v73.mat", matlab_layer(LSTMParams.random(2, 3, 1, rng=rng)))
    monkeypatch.setitem(sys.modules, "onnx", None)  # as if the onnx package were not installed
    monkeypatch.setitem(sys.modules, "h5py", None)
    code, _, err = convert(capsys, npz, tmp_path / "b.onnx")
    assert code == 2 and err == "lstmds: error: ONNX files need the onnx package: pip install 'lstmds-sim[onnx]'\n"
    code, _, err = convert(capsys, v73, tmp_path / "b.npz")
    assert code == 2 and len(err.splitlines()) == 1 and "needs h5py: pip install 'lstmds-sim[matlab]'" in err
    assert not (tmp_path / "b.onnx").exists() and not (tmp_path / "b.npz").exists()


def test_the_format_modules_and_the_convert_command_import_nothing_heavy():
    import subprocess

    code = """
import sys
import lstmds_sim.io.onnx, lstmds_sim.io.matlab, lstmds_sim.io.torch_dict, lstmds_sim.io.convert
from lstmds_sim.io import cli
cli._parser()
print(sorted(m for m in ("onnx", "onnxruntime", "h5py", "torch") if m in sys.modules))
"""
    root = Path(__file__).resolve().parent.parent  # the checkout, found first as `python -c` puts cwd on sys.path
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
