"""ONNX models in and out: the ONNX ``LSTM`` operator, stacked, each layer optionally followed by a linear layer.

ONNX stacks an LSTM's gates ``[i; o; f; c]``; ours are ``[i; f; g; o]`` (g is
ONNX's c), so the blocks are reordered on the way in and out. ONNX keeps two
biases, ``B = [Wb; Rb]``; ours is their sum ``b = Wb + Rb``. What is read:

* the model's one input sequence, passed through shape-only nodes (Squeeze,
  Transpose, Reshape, ...) to an ``LSTM`` node (``direction="forward"``,
  default activations, no peepholes, no ``clip``, no ``input_forget``);
* after each LSTM, optionally a ``MatMul`` (+ ``Add``) or a ``Gemm`` with
  constant weights: that layer's output layer F, bF;
* further ``LSTM`` nodes: further layers (a list of :class:`LSTMParams`);
* ``initial_h`` / ``initial_c`` held in the file: the initial states.
  States computed from a model input are the caller's (None); zeros an
  exporter builds from the input's shape are read as None (zeros).

Weights may be initializers, ``Constant`` nodes or anything computed from them
alone (such as the Slice/Concat gate reordering some exporters write). Float32
and float64 files are read; ``sequence_lens`` (padding of a batch)
is ignored. Everything else is refused with one line naming the node and what
is wrong. :func:`write_onnx` writes opset 14 models that ``onnx.checker``
accepts; onnxruntime runs the float32 ones (its LSTM kernel has no float64),
``onnx.reference.ReferenceEvaluator`` both.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.errors import LSTMDSError
__all__ = ["OPSET", "OnnxLSTM", "params_from_onnx", "read_onnx", "write_onnx"]

#: Our gate blocks [i, f, g, o] as blocks of ONNX's [i, o, f, c], and the reverse.
FROM_ONNX = (0, 2, 3, 1)
TO_ONNX = (0, 3, 1, 2)
OPSET = 14
#: Nodes that move, select or relabel values without computing with them.
SHAPE_OPS = {"Squeeze", "Unsqueeze", "Transpose", "Reshape", "Identity", "Flatten", "Cast", "Gather", "Slice",
             "Dropout"}
_ACTIVATIONS = ["sigmoid", "tanh", "tanh"]
EXTRA = "pip install 'lstmds-sim[onnx]'"


def _onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError(f"ONNX files need the onnx package: {EXTRA}") from None
    return onnx


def _reorder(arr: np.ndarray, blocks, n: int) -> np.ndarray:
    return np.concatenate([arr[k * n:(k + 1) * n] for k in blocks], axis=0)


def _onnx_path(path) -> Path:
    path = Path(path)
    return path if path.suffix.lower() == ".onnx" else path.with_name(path.name + ".onnx")


@dataclass
class OnnxLSTM:
    """What :func:`read_onnx` found: the layers, their initial states (None: zeros) and the weights' dtype."""

    layers: list
    h0: list
    c0: list
    dtype: np.dtype

    def result(self, with_states: bool):
        """One layer as LSTMParams, several as a list; with the states: ``(params, h0, c0)`` as simulate takes them."""
        params = self.layers[0] if len(self.layers) == 1 else list(self.layers)
        if not with_states:
            return params
        if len(self.layers) == 1:
            return params, self.h0[0], self.c0[0]
        states = [None if all(s is None for s in x) else list(x) for x in (self.h0, self.c0)]
        return params, states[0], states[1]


class _Refused(LSTMDSError, ValueError):
    pass


class _Graph:
    """The model's main graph with what the reader asks of it: producers, users, constant values."""

    def __init__(self, onnx, model, where: str):
        self.onnx, self.model, self.where = onnx, model, where
        graph = model.graph
        self.graph = graph
        self.inits = {t.name: t for t in graph.initializer}
        self.inputs = [v for v in graph.input if v.name not in self.inits]
        self.outputs = [v.name for v in graph.output]
        self.producer, self.users = {}, {}
        for node in graph.node:
            for name in node.output:
                if name:
                    self.producer[name] = node
            for slot, name in enumerate(node.input):
                if name:
                    self.users.setdefault(name, []).append((node, slot))
        self._values = {}

    def refuse(self, message: str):
        raise _Refused(f"{self.where}: {message}")

    @staticmethod
    def label(node) -> str:
        return f"{node.op_type} node '{node.name}'" if node.name else f"{node.op_type} node (unnamed)"

    def attrs(self, node) -> dict:
        return {a.name: self.onnx.helper.get_attribute_value(a) for a in node.attribute}

    def value_users(self, name: str) -> list:
        """The nodes that use the values of ``name`` (Shape and Size read only its shape)."""
        return [(n, s) for n, s in self.users.get(name, []) if n.op_type not in ("Shape", "Size")]

    def ancestors(self, name: str) -> tuple[list, set]:
        """The nodes ``name`` is computed by (in graph order) and the model inputs it depends on."""
        needed, inputs, stack = set(), set(), [name]
        input_names = {v.name for v in self.inputs}
        while stack:
            t = stack.pop()
            if t in input_names:
                inputs.add(t)
            node = self.producer.get(t)
            if node is not None and id(node) not in needed:
                needed.add(id(node))
                stack.extend(x for x in node.input if x)
        return [n for n in self.graph.node if id(n) in needed], inputs

    def evaluate(self, name: str, feeds: dict | None = None) -> np.ndarray:
        """Compute ``name`` with onnx's reference evaluator from the nodes it depends on alone."""
        from onnx.reference import ReferenceEvaluator

        helper = self.onnx.helper
        nodes, inputs = self.ancestors(name)
        used = {x for n in nodes for x in n.input} | {name}
        graph = helper.make_graph(
            nodes, "part", [v for v in self.inputs if v.name in inputs],
            [helper.make_empty_tensor_value_info(name)], [t for n, t in self.inits.items() if n in used])
        part = helper.make_model(graph, opset_imports=self.model.opset_import, ir_version=self.model.ir_version)
        try:
            return np.asarray(ReferenceEvaluator(part).run(None, feeds or {})[0])
        except Exception as err:  # noqa: BLE001 -- an operator the reference evaluator lacks, an inconsistent graph
            self.refuse(f"cannot compute {name!r} from the constants it depends on ({type(err).__name__}: "
                        f"{' '.join(str(err).split())[:200]})")

    def constant(self, name: str, what: str) -> np.ndarray:
        """The value of a tensor computed from the file's constants alone; refused if it depends on an input."""
        if name in self._values:
            return self._values[name]
        if name in self.inits:
            value = self.onnx.numpy_helper.to_array(self.inits[name])
        else:
            node = self.producer.get(name)
            if node is None:
                self.refuse(f"{what} ({name!r}) is a model input, not a constant held in the file")
            _, inputs = self.ancestors(name)
            if inputs:
                self.refuse(f"{what} ({name!r}) is computed from the model input {min(inputs)!r}, not held "
                            "in the file: lstmds reads constant weights")
            value = self.evaluate(name)
        self._values[name] = value
        return value

    def dummy_feeds(self, inputs: set, fill: float) -> dict:
        feeds = {}
        for v in self.inputs:
            if v.name in inputs:
                tensor = v.type.tensor_type
                if not tensor.HasField("shape"):
                    self.refuse(f"model input {v.name!r} has no declared shape")
                shape = [d.dim_value if d.HasField("dim_value") else 1 for d in tensor.shape.dim]
                dtype = self.onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type)
                feeds[v.name] = np.full(shape, fill, dtype=dtype)
        return feeds

    def state(self, name: str, hidden: int, what: str, layout: int = 0):
        """An initial state: (Nn,) or (B, Nn) when held in the file; None for zeros or a state given at run time."""
        if not name:
            return None
        _, inputs = self.ancestors(name)
        if not inputs:
            value = self.constant(name, what)
        else:  # computed from a model input: from its shape only (an exporter's zeros) or from its values
            first, second = (self.evaluate(name, self.dummy_feeds(inputs, fill)) for fill in (0.0, 0.37))
            if first.shape != second.shape or not np.array_equal(first, second) or not np.any(first):
                return None  # zeros, or a state given at run time
            value = first
        if layout and value.ndim == 3:  # batch-first: (batch, 1, Nn)
            value = value.transpose(1, 0, 2)
        if value.ndim != 3 or value.shape[0] != 1 or value.shape[2] != hidden:
            self.refuse(f"{what} ({name!r}) has shape {value.shape}, expected (1, batch, {hidden}) (in the "
                        "LSTM's layout)")
        value = np.asarray(value[0], dtype=np.float64)
        if inputs and np.all(value == value[:1]):
            value = value[:1]  # the same state for every row of a batch made from the input's shape
        return value[0] if value.shape[0] == 1 else value


def _lstm(g: _Graph, node) -> tuple[dict, object, object, np.dtype]:
    """W, R, b of one ONNX LSTM node in our gate order, its initial states and its weights' dtype."""
    label = g.label(node)
    attrs = g.attrs(node)
    direction = attrs.get("direction", b"forward")
    direction = direction.decode() if isinstance(direction, bytes) else str(direction)
    if direction != "forward":
        g.refuse(f"{label} runs {direction}: lstmds represents a forward LSTM (export it with "
                 "bidirectional=False; a reverse LSTM reads the sequence backwards in time)")
    if attrs.get("input_forget", 0):
        g.refuse(f"{label} couples its input and forget gates (input_forget=1), which an LSTMParams cannot hold")
    if "clip" in attrs:
        g.refuse(f"{label} clips its gate inputs (clip={attrs['clip']}), which lstmds does not model; "
                 "export it without clip")
    activations = [a.decode() if isinstance(a, bytes) else str(a) for a in attrs.get("activations", [])]
    if activations and [a.lower() for a in activations] != _ACTIVATIONS:
        g.refuse(f"{label} has non-default activations {activations}: lstmds models Sigmoid, Tanh, Tanh")
    names = list(node.input) + [""] * (8 - len(node.input))
    _x, w, r, bias, _seq_lens, h0, c0, peep = names[:8]
    W = g.constant(w, f"the input weights W of {label}")
    R = g.constant(r, f"the recurrent weights R of {label}")
    dtype = W.dtype
    if W.ndim != 3 or R.ndim != 3:
        g.refuse(f"{label}: W {W.shape} and R {R.shape} should be (1, 4 Nn, Ni) and (1, 4 Nn, Nn)")
    if W.shape[0] != 1 or R.shape[0] != 1:
        g.refuse(f"{label} holds {W.shape[0]} directions (a bidirectional LSTM): lstmds represents a forward LSTM")
    hidden = int(attrs.get("hidden_size", R.shape[-1]))
    if R.shape[1:] != (4 * hidden, hidden) or W.shape[1] != 4 * hidden:
        g.refuse(f"{label}: W {W.shape} and R {R.shape} do not fit hidden_size={hidden}")
    if peep:
        P = g.constant(peep, f"the peepholes P of {label}")
        if np.any(P):
            g.refuse(f"{label} has peephole connections (P), which lstmds's LSTM does not have")
    W, R = (np.asarray(a[0], dtype=np.float64) for a in (W, R))
    b = np.zeros(4 * hidden)
    if bias:
        B = np.asarray(g.constant(bias, f"the biases B of {label}"), dtype=np.float64)
        if B.shape != (1, 8 * hidden):
            g.refuse(f"{label}: B has shape {B.shape}, expected (1, {8 * hidden}) = [Wb, Rb]")
        b = B[0, :4 * hidden] + B[0, 4 * hidden:]
    arrays = {"W": _reorder(W, FROM_ONNX, hidden), "R": _reorder(R, FROM_ONNX, hidden),
              "b": _reorder(b, FROM_ONNX, hidden)}
    layout = int(attrs.get("layout", 0))
    return (arrays, g.state(h0, hidden, f"initial_h of {label}", layout),
            g.state(c0, hidden, f"initial_c of {label}", layout), dtype)


def _bias(g: _Graph, node, name: str, n_out: int) -> np.ndarray:
    value = np.asarray(g.constant(name, f"the bias added by {g.label(node)}"), dtype=np.float64)
    if value.size == 1:
        return np.full(n_out, float(value.reshape(())))
    if value.size != n_out or value.shape[-1] != n_out:
        g.refuse(f"{g.label(node)} adds a bias of shape {value.shape}; an output layer of {n_out} outputs "
                 f"adds ({n_out},)")
    return value.reshape(-1)


def _linear(g: _Graph, node, slot: int) -> tuple[np.ndarray, np.ndarray, str]:
    """F, bF and the output tensor of a MatMul (+ Add) or a Gemm fed by the layer's output."""
    label = g.label(node)
    if slot != 0:
        g.refuse(f"{label} multiplies the LSTM's output from the left; lstmds reads h @ F^T (MatMul(h, F^T))")
    if node.op_type == "Gemm":
        attrs = g.attrs(node)
        if attrs.get("transA", 0):
            g.refuse(f"{label} transposes the LSTM's output (transA=1); lstmds reads Gemm(h, B, C)")
        B = np.asarray(g.constant(node.input[1], f"the weights of {label}"), dtype=np.float64)
        if B.ndim != 2:
            g.refuse(f"{label} has weights of shape {B.shape}, expected a matrix")
        F = attrs.get("alpha", 1.0) * (B if attrs.get("transB", 0) else B.T)
        bF = np.zeros(F.shape[0])
        if len(node.input) > 2 and node.input[2]:
            bF = attrs.get("beta", 1.0) * _bias(g, node, node.input[2], F.shape[0])
        return F, bF, node.output[0]
    B = np.asarray(g.constant(node.input[1], f"the weights of {label}"), dtype=np.float64)
    if B.ndim != 2:
        g.refuse(f"{label} has weights of shape {B.shape}, expected a matrix (Nn, No)")
    F, out = B.T, node.output[0]
    users = g.value_users(out)
    if len(users) == 1 and users[0][0].op_type == "Add":
        add, add_slot = users[0]
        return F, _bias(g, add, add.input[1 - add_slot], F.shape[0]), add.output[0]
    return F, np.zeros(F.shape[0]), out


def _check_state_output(g: _Graph, name: str) -> None:
    """A model output beside y must be LSTM outputs (final states, say), at most moved or joined (Concat)."""
    stack, seen = [name], set()
    while stack:
        tensor = stack.pop()
        node = g.producer.get(tensor)
        if node is None or node.op_type == "LSTM" or tensor in seen:
            continue  # a constant, or an LSTM's Y, Y_h or Y_c
        seen.add(tensor)
        if node.op_type in SHAPE_OPS:
            stack.append(node.input[0])
        elif node.op_type == "Concat":
            stack.extend(node.input)
        else:
            g.refuse(f"the model output {name!r} is computed off the LSTM chain (by {g.label(node)}); lstmds "
                     "reads one input -> LSTM layers -> one output")
    if name in {v.name for v in g.inputs}:
        g.refuse(f"the model output {name!r} is a model input; lstmds reads one input -> LSTM layers -> one output")


def _walk(g: _Graph) -> OnnxLSTM:
    from ..core.params import LSTMParams, as_layers

    lstm_nodes = [n for n in g.graph.node if n.op_type == "LSTM"]
    if not lstm_nodes:
        ops = sorted({n.op_type for n in g.graph.node})
        g.refuse(f"the model has no LSTM node (its nodes: {', '.join(ops) or 'none'}); lstmds reads the ONNX "
                 "LSTM operator")
    _, sources = g.ancestors(lstm_nodes[0].input[0])
    if len(sources) != 1:
        g.refuse(f"the first LSTM's input X depends on {len(sources)} model inputs ({', '.join(sorted(sources))}); "
                 "lstmds reads models with one input sequence")
    t = sources.pop()
    found, current, dtype = [], None, None
    while True:
        users = g.value_users(t)
        if not users:
            break
        if len(users) > 1:
            g.refuse(f"{t!r} feeds {len(users)} nodes ({', '.join(g.label(n) for n, _ in users)}); lstmds reads "
                     "a chain: input -> LSTM [-> output layer] -> LSTM ... -> output")
        node, slot = users[0]
        op = node.op_type
        if op == "LSTM":
            if slot != 0:
                g.refuse(f"{t!r} enters {g.label(node)} as input {slot}, not as its sequence X")
            if current is not None:
                found.append(current)
            arrays, h0, c0, layer_dtype = _lstm(g, node)
            dtype = layer_dtype if dtype is None else dtype
            current = {"arrays": arrays, "h0": h0, "c0": c0, "node": node}
            outputs = list(node.output) + [""] * (3 - len(node.output))
            t = next((o for o in outputs[:2] if o and g.value_users(o)), outputs[0] or outputs[1])
        elif op in SHAPE_OPS:
            if slot != 0:
                g.refuse(f"{t!r} enters {g.label(node)} as input {slot}, not as the data it reshapes")
            if op == "Dropout" and len(node.input) > 2 and node.input[2] and np.any(
                    g.constant(node.input[2], f"training_mode of {g.label(node)}")):
                g.refuse(f"{g.label(node)} is in training mode; export the model in eval mode")
            t = node.output[0]
        elif op in ("MatMul", "Gemm"):
            if current is None:
                g.refuse(f"{g.label(node)} comes before the first LSTM; lstmds reads input -> LSTM -> ...")
            if "F" in current["arrays"]:
                g.refuse(f"{g.label(node)} is a second linear layer after {g.label(current['node'])}; an "
                         "LSTMParams has one output layer F, bF per LSTM layer")
            F, bF, t = _linear(g, node, slot)
            current["arrays"].update(F=F, bF=bF)
        else:
            where = "before the first LSTM" if current is None else f"after {g.label(current['node'])}"
            g.refuse(f"{g.label(node)} {where}: lstmds reads ONNX LSTM nodes, each optionally followed by "
                     f"MatMul+Add or Gemm (its output layer), and cannot represent {op}")
    found.append(current)
    for name in g.outputs:
        if name != t:
            _check_state_output(g, name)
    used = {id(layer["node"]) for layer in found}
    stray = [n for n in lstm_nodes if id(n) not in used]
    if stray:
        g.refuse(f"{g.label(stray[0])} is not on the chain from the input to the output; lstmds reads one "
                 "chain of LSTM layers")
    layers = []
    for k, layer in enumerate(found):
        try:
            layers.append(LSTMParams(**layer["arrays"]))
        except (TypeError, ValueError) as err:
            g.refuse(f"{g.label(layer['node'])} (layer {k}): {err}")
    try:
        as_layers(layers)
    except ValueError as err:
        g.refuse(str(err))
    return OnnxLSTM(layers, [x["h0"] for x in found], [x["c0"] for x in found], np.dtype(dtype))


def read_onnx(path) -> OnnxLSTM:
    """Read the LSTM layers, their output layers and initial states of an ONNX model file."""
    onnx = _onnx()
    with open(path, "rb"):  # FileNotFoundError names the path
        pass
    try:
        model = onnx.load(str(path))
    except Exception as err:  # noqa: BLE001 -- protobuf's DecodeError and friends
        raise ValueError(f"{path} is not an ONNX model ({type(err).__name__}: {' '.join(str(err).split())[:200]})"
                         ) from None
    if not model.graph.node:
        raise ValueError(f"{path} is not an ONNX model with a graph (it holds no nodes)")
    if model.functions:
        from onnx.inliner import inline_local_functions

        model = inline_local_functions(model)
    graph_kinds = (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS)
    for node in model.graph.node:
        if any(a.type in graph_kinds for a in node.attribute):
            raise ValueError(f"{path}: {_Graph.label(node)} holds graphs of its own (several graphs); lstmds reads "
                             "one flat graph of LSTM layers")
    try:
        return _walk(_Graph(onnx, model, str(path)))
    except _Refused as err:
        raise ValueError(str(err)) from None


def params_from_onnx(path, *, with_states: bool = False):
    """:meth:`LSTMParams.from_onnx`: one layer, or a list for stacked LSTM nodes; ``with_states``: ``(params, h0, c0)``."""
    return read_onnx(path).result(with_states)


# ---------------------------------------------------------------------------------------------- writing
def _batch_of(states) -> int | None:
    """The batch size the initial states fix (1 for (Nn,) states), None without states."""
    batches = {1 if value.ndim == 1 else value.shape[0] for value in states if value is not None}
    if len(batches) > 1:
        raise ValueError(f"the initial states have different batch sizes {sorted(batches)}; give (Nn,) states or "
                         "(B, Nn) states with one B")
    return batches.pop() if batches else None


def build_model(params, *, h0=None, c0=None, dtype="float64"):
    """The ONNX model of one layer or layers in series (see :func:`write_onnx`)."""
    onnx = _onnx()
    from onnx import TensorProto, helper, numpy_helper

    from ..core.params import as_layers, per_layer
    from ..core.validation import initial_state

    layers = as_layers(params)
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    elem = TensorProto.FLOAT if dtype == np.float32 else TensorProto.DOUBLE
    states = {}
    for name, values in (("h0", h0), ("c0", c0)):
        states[name] = [None if v is None else initial_state(v, L.n_units, f"{name} (layer {k}, Nn={L.n_units})")
                        for k, (v, L) in enumerate(zip(per_layer(values, len(layers), name), layers))]
    batch = _batch_of(states["h0"] + states["c0"])
    nodes, inits, outputs = [], [], []

    def const(name, value):
        inits.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    inits.append(numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"))
    x = "u"
    steps, b_dim = "steps", ("batch" if batch is None else batch)
    for k, L in enumerate(layers):
        n = L.n_units
        ins = [x, const(f"W{k}", _reorder(L.W, TO_ONNX, n)[None]), const(f"R{k}", _reorder(L.R, TO_ONNX, n)[None]),
               const(f"B{k}", np.concatenate([_reorder(L.b, TO_ONNX, n), np.zeros(4 * n)])[None]), ""]
        for name, key in (("initial_h", "h0"), ("initial_c", "c0")):
            value = states[key][k]
            if value is None:
                ins.append("")
            else:
                value = np.broadcast_to(value, (batch, n)) if value.ndim == 1 else value
                ins.append(const(f"{name}{k}", value[None]))
        while ins[-1] == "":
            ins.pop()
        nodes.append(helper.make_node("LSTM", ins, [f"Y{k}", f"h{k}", f"c{k}"], name=f"lstm{k}", hidden_size=n))
        outputs += [helper.make_tensor_value_info(f"h{k}", elem, [1, b_dim, n]),
                    helper.make_tensor_value_info(f"c{k}", elem, [1, b_dim, n])]
        last = k == len(layers) - 1
        squeezed = "y" if last and L.F is None else f"H{k}"
        nodes.append(helper.make_node("Squeeze", [f"Y{k}", "axis1"], [squeezed], name=f"squeeze{k}"))
        x = squeezed
        if L.F is not None:
            out = "y" if last else f"out{k}"
            nodes.append(helper.make_node("MatMul", [x, const(f"FT{k}", L.F.T)], [f"FH{k}"], name=f"output_weights{k}"))
            nodes.append(helper.make_node("Add", [f"FH{k}", const(f"bF{k}", L.bF)], [out], name=f"output_bias{k}"))
            x = out
    graph = helper.make_graph(
        nodes, "lstmds_lstm", [helper.make_tensor_value_info("u", elem, [steps, b_dim, layers[0].n_inputs])],
        [helper.make_tensor_value_info("y", elem, [steps, b_dim, layers[-1].n_outputs])] + outputs, inits,
        doc_string="LSTM layers written by lstmds-sim: u (steps, batch, Ni) -> y (steps, batch, No); h{k}, c{k}: "
                   "the final states of layer k")
    opset = [helper.make_opsetid("", OPSET)]
    model = helper.make_model(graph, opset_imports=opset, producer_name="lstmds-sim",
                              ir_version=helper.find_min_ir_version_for(opset))
    onnx.checker.check_model(model, full_check=True)
    return model


def write_onnx(path, params, *, h0=None, c0=None, dtype="float64", overwrite: bool = False) -> Path:
    """Write one layer or layers in series as an ONNX model (``.onnx`` added when missing).

    The model maps ``u`` (steps, batch, Ni) to ``y`` (steps, batch, No) with one
    ``LSTM`` node per layer (B = [b; 0]), a ``Squeeze`` and, for a layer with an
    output layer, ``MatMul`` + ``Add``; it also outputs each layer's final
    states ``h{k}``, ``c{k}``. Initial states are stored as ``initial_h``/``initial_c``
    and fix the batch size (1 for (Nn,) states). ``dtype`` float64 keeps the
    weights exactly; onnxruntime runs float32 models only. Refuses to replace a
    file unless ``overwrite``.
    """
    from ..core.atomic import write_file

    model = build_model(params, h0=h0, c0=c0, dtype=dtype)
    path = _onnx_path(path)
    if not overwrite and path.exists():
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it or choose another name")
    return write_file(path, model.SerializeToString(), overwrite=overwrite)  # all at once: never a partial file
