"""LSTM parameters: one layer with an optional fully connected output layer.

Gates are stacked ``[i; f; g; o]`` (input, forget, cell candidate, output) as in
MATLAB's ``lstmLayer`` and PyTorch's ``nn.LSTM``::

    W  : (4 Nn, Ni)   input weights
    R  : (4 Nn, Nn)   recurrent weights
    b  : (4 Nn,)      bias (PyTorch: bias_ih + bias_hh)
    F  : (No, Nn)     output layer ("FC layer"; Bonassi's C), or None for y = h
    bF : (No,)        output bias (Bonassi's b_y)

Layers in series are a list of :class:`LSTMParams`; an intermediate layer usually
has ``F=None`` and passes its hidden state on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from .errors import ArgumentError, ArgumentTypeError
from .npz import load_npz, save_npz
from .validation import ShapeError, as_float_array, matrix

GATES = ("i", "f", "g", "o")

#: Output conventions: ``y(k) = F h(k) + bF`` (MATLAB, PyTorch) or ``F h(k-1) + bF`` (Bonassi eq. 2).
FORMS = ("direct", "statespace")


def _vector(value, n: int, what: str) -> np.ndarray:
    """A bias vector of length n: (n,), or a MATLAB column (n, 1) or row (1, n)."""
    arr = as_float_array(value, what)
    if (arr.ndim == 2 and 1 in arr.shape) or (arr.ndim == 0 and n == 1):
        arr = arr.ravel()
    return matrix(arr, (n,), what)


@dataclass(frozen=True, eq=False)
class LSTMParams:
    """Weights of one LSTM layer and its output layer, validated on construction."""

    W: np.ndarray
    R: np.ndarray
    b: np.ndarray
    F: np.ndarray | None = None
    bF: np.ndarray | None = None

    def __post_init__(self) -> None:
        R = as_float_array(self.R, "R (recurrent weights)")
        if R.ndim != 2 or R.shape[0] != 4 * R.shape[1]:
            raise ShapeError(
                f"R (recurrent weights) has shape {R.shape}, expected (4*Nn, Nn): "
                "the four gate blocks [i; f; g; o] of shape (Nn, Nn) stacked row-wise"
            )
        nn = R.shape[1]
        if nn == 0:
            raise ShapeError("R (recurrent weights) has shape (0, 0): a layer needs at least one unit")
        W = matrix(self.W, (4 * nn, None), f"W (input weights, Nn={nn})")
        if W.shape[1] == 0:
            raise ShapeError(f"W (input weights) has shape {W.shape}: a layer needs at least one input")
        object.__setattr__(self, "W", W)
        object.__setattr__(self, "R", matrix(R, (4 * nn, nn), "R (recurrent weights)"))
        object.__setattr__(self, "b", _vector(self.b, 4 * nn, f"b (bias, 4*Nn = {4 * nn})"))
        if self.F is None:
            if self.bF is not None:
                raise ArgumentError("bF (output bias) given without F (output weights): pass both")
        else:
            F = as_float_array(self.F, "F (output weights)")
            if F.ndim == 1:
                F = F.reshape(1, -1)
            F = matrix(F, (None, nn), f"F (output weights, Nn={nn})")
            if F.shape[0] == 0:
                raise ShapeError(f"F (output weights) has shape {F.shape}: give at least one output row, or F=None")
            bF = np.zeros(F.shape[0]) if self.bF is None else self.bF
            object.__setattr__(self, "F", F)
            object.__setattr__(self, "bF", _vector(bF, F.shape[0], f"bF (output bias, No={F.shape[0]})"))
        for name in ("W", "R", "b", "F", "bF"):
            arr = getattr(self, name)
            if arr is not None:  # own copy, read-only: the caller's arrays stay as they were
                arr = np.array(arr, dtype=np.float64)
                arr.setflags(write=False)
                object.__setattr__(self, name, arr)

    # ------------------------------------------------------------------ sizes
    @property
    def n_units(self) -> int:
        """Nn, the number of hidden units (cells)."""
        return self.R.shape[1]

    @property
    def n_inputs(self) -> int:
        """Ni, the input width."""
        return self.W.shape[1]

    @property
    def n_outputs(self) -> int:
        """No, the output width (Nn when there is no output layer)."""
        return self.n_units if self.F is None else self.F.shape[0]

    @property
    def n_params(self) -> int:
        """Learnable parameters: 4 Nn Ni + 4 Nn^2 + 4 Nn, plus No Nn + No for the output layer."""
        n = count_params(self.n_inputs, self.n_units)
        if self.F is not None:
            n += self.F.size + self.bF.size
        return n

    def gate(self, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return ``(W_g, R_g, b_g)`` of gate ``name`` in ``'ifgo'``."""
        k = GATES.index(name)
        rows = slice(k * self.n_units, (k + 1) * self.n_units)
        return self.W[rows], self.R[rows], self.b[rows]

    def replace(self, **changes) -> "LSTMParams":
        """A copy with some arrays replaced (validated again)."""
        fields = {k: getattr(self, k) for k in ("W", "R", "b", "F", "bF")}
        fields.update(changes)
        return LSTMParams(**fields)

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays by name (``F``/``bF`` omitted when there is no output layer)."""
        out = {"W": self.W, "R": self.R, "b": self.b}
        if self.F is not None:
            out.update(F=self.F, bF=self.bF)
        return out

    # ------------------------------------------------------------- construction
    @classmethod
    def random(
        cls,
        n_inputs: int,
        n_units: int,
        n_outputs: int | None = None,
        *,
        rng: np.random.Generator | int | None = None,
        low: float = 0.0,
        high: float = 1.0,
        output_bias: bool = False,
    ) -> "LSTMParams":
        """Weights drawn uniformly from [low, high) (the example uses uniform(0, 1))."""
        n_inputs = _size(n_inputs, "n_inputs (Ni, the input width)")
        n_units = _size(n_units, "n_units (Nn, the hidden units)")
        if n_outputs is not None:
            n_outputs = _size(n_outputs, "n_outputs (No, the output width)")
        rng = np.random.default_rng(rng)
        W = rng.uniform(low, high, (4 * n_units, n_inputs))
        R = rng.uniform(low, high, (4 * n_units, n_units))
        b = rng.uniform(low, high, 4 * n_units)
        if n_outputs is None:
            return cls(W, R, b)
        F = rng.uniform(low, high, (n_outputs, n_units))
        bF = rng.uniform(low, high, n_outputs) if output_bias else np.zeros(n_outputs)
        return cls(W, R, b, F, bF)

    @classmethod
    def from_matlab(cls, source, *, variable: str | None = None, output_weights: str = "Weights",
                    output_bias: str = "Bias", with_states: bool = False):
        """Import from a MATLAB ``.mat`` file (path; v4 to v7.3) or a dict of its variables.

        The lstmLayer's ``InputWeights``, ``RecurrentWeights`` and ``Bias`` are
        read from top-level variables or from the fields of a struct variable
        (``variable`` names it when there are several); an optional fully
        connected layer from ``FC_Weights``/``FC_Bias`` or ``F``/``bF`` beside
        them. ``with_states=True`` returns ``(params, h0, c0)`` from
        ``HiddenState``/``CellState``. See :mod:`lstmds_sim.io.matlab`.
        """
        from ..io.matlab import params_from_matlab

        return params_from_matlab(source, variable=variable, output_weights=output_weights,
                                  output_bias=output_bias, with_states=with_states)

    @classmethod
    def from_torch(cls, state_dict: Mapping, *, layer: int = 0, output_prefix: str | None = None,
                   prefix: str = "") -> "LSTMParams":
        """Import from PyTorch ``nn.LSTM`` state-dict arrays (tensors or arrays; torch not needed).

        Uses ``weight_ih_l{layer}``, ``weight_hh_l{layer}`` and
        ``bias_ih_l{layer} + bias_hh_l{layer}`` (zero when the dict has neither:
        ``bias=False``). With ``output_prefix`` (say ``"fc."``) an ``nn.Linear``'s
        ``weight``/``bias`` become F and bF; ``prefix`` is the LSTM's name in a
        model's state dict (``"lstm."``). Bidirectional and ``proj_size``
        LSTMs, and one bias without the other, are refused by name. See
        :mod:`lstmds_sim.io.torch_dict`.
        """
        from ..io.torch_dict import params_from_state_dict

        return params_from_state_dict(state_dict, layer=layer, output_prefix=output_prefix, prefix=prefix)

    @classmethod
    def from_onnx(cls, path, *, with_states: bool = False):
        """Import the ``LSTM`` nodes of an ONNX model (needs ``pip install 'lstmds-sim[onnx]'``).

        One LSTM node gives an LSTMParams, stacked nodes a list of them (layers in
        series, as :func:`~lstmds_sim.simulate` takes them); a ``MatMul`` + ``Add``
        or ``Gemm`` after a node is its output layer F, bF. With
        ``with_states=True`` the result is ``(params, h0, c0)``: the
        ``initial_h``/``initial_c`` held in the file (None where absent), ready for
        ``simulate(params, u, h0, c0)``. See :mod:`lstmds_sim.io.onnx`.
        """
        from ..io.onnx import params_from_onnx

        return params_from_onnx(path, with_states=with_states)

    def to_onnx(self, path, *, h0=None, c0=None, dtype="float64", overwrite: bool = False) -> Path:
        """Write this layer as an ONNX model (``.onnx`` added); refuses to replace a file unless ``overwrite``.

        float64 (the default) keeps the weights exactly; onnxruntime runs float32
        models only (``dtype="float32"``). Layers in series:
        :func:`lstmds_sim.io.onnx.write_onnx`.
        """
        from ..io.onnx import write_onnx

        return write_onnx(path, self, h0=h0, c0=c0, dtype=dtype, overwrite=overwrite)

    # ----------------------------------------------------------------- storage
    def save(self, path, *, overwrite: bool = False) -> Path:
        """Save to ``.npz`` (suffix added) with keys ``W R b F bF``; refuses to replace a file unless ``overwrite``."""
        return save_npz(path, self.arrays(), overwrite=overwrite)

    @classmethod
    def load(cls, path) -> "LSTMParams":
        """Load parameters saved by :meth:`save` (or any ``.npz`` with those keys)."""
        return cls.from_file_arrays(load_npz(path, "an LSTM parameter file (.npz with keys W R b F bF)"), path)

    @classmethod
    def from_file_arrays(cls, data: Mapping[str, np.ndarray], path) -> "LSTMParams":
        """The parameters from the arrays of a file (``load_npz(path)``); every error names ``path`` and the key."""
        missing = [k for k in ("W", "R", "b") if k not in data]
        if missing:
            raise ArgumentError(f"{path} lacks {', '.join(missing)}: not an LSTM parameter file (keys W R b F bF)")
        arrays = {k: data[k] for k in ("W", "R", "b", "F", "bF") if k in data}
        for key, value in arrays.items():
            kind = np.asarray(value).dtype.kind
            if kind not in "biufc":  # complex is refused below, with its own hint
                raise ArgumentTypeError(
                    f"{path}: key {key!r} holds {np.asarray(value).dtype} values, not numbers; "
                    f"save {key} as a real float array (LSTMParams.save writes W R b F bF)"
                )
        try:
            return cls(**arrays)
        except (TypeError, ValueError) as err:  # the message names the array (W, R, b, F or bF)
            raise type(err)(
                f"{path}: {err}; fix that key in the file (LSTMParams.save writes valid parameter files)"
            ) from None

    def __repr__(self) -> str:
        return (
            f"LSTMParams(Ni={self.n_inputs}, Nn={self.n_units}, No={self.n_outputs}, "
            f"output_layer={self.F is not None}, n_params={self.n_params})"
        )


def _size(value, name: str) -> int:
    """A layer size: a whole number >= 1 (one line naming ``name`` otherwise)."""
    from .validation import positive_int

    return positive_int(value, name)


def count_params(n_inputs: int, n_units: int) -> int:
    """Learnable parameters of one LSTM layer: 4 Nn Ni + 4 Nn^2 + 4 Nn."""
    n_inputs = _size(n_inputs, "n_inputs (Ni, the input width)")
    n_units = _size(n_units, "n_units (Nn, the hidden units)")
    return 4 * n_units * n_inputs + 4 * n_units * n_units + 4 * n_units


def as_layers(params: "LSTMParams | Sequence[LSTMParams]") -> tuple[LSTMParams, ...]:
    """Normalise one layer or a sequence of layers in series, checking that widths chain."""
    if isinstance(params, Mapping):
        keys = ", ".join(map(str, params))
        raise ArgumentTypeError(f"got a dict of weights ({keys}) where LSTMParams is needed: use LSTMParams(**d)"
                                + (" (or LSTMParams.from_torch(d) for a PyTorch state dict)" if "W" not in params else ""))
    if not isinstance(params, LSTMParams) and (not hasattr(params, "__iter__") or isinstance(params, (str, bytes))):
        raise ArgumentTypeError(f"got {type(params).__name__} where LSTMParams (or a list of them, layers in series) "
                                "is needed")
    layers = (params,) if isinstance(params, LSTMParams) else tuple(params)
    if not layers:
        raise ArgumentError("need at least one LSTM layer")
    for k, layer in enumerate(layers):
        if not isinstance(layer, LSTMParams):
            raise ArgumentTypeError(f"layer {k} is {type(layer).__name__}, expected LSTMParams")
        if k and layer.n_inputs != layers[k - 1].n_outputs:
            raise ArgumentError(
                f"layer {k} expects {layer.n_inputs} inputs but layer {k - 1} outputs "
                f"{layers[k - 1].n_outputs}; make W of layer {k} have {layers[k - 1].n_outputs} columns"
            )
    return layers


def per_layer(values, n_layers: int, name: str) -> list:
    """Split initial states given for ``n_layers`` layers into a list, one entry per layer.

    One layer takes an array (or a one-element list of arrays); several layers
    take a list with one array (or None) per layer.
    """
    if values is None:
        return [None] * n_layers
    if n_layers == 1:
        if isinstance(values, (list, tuple)) and len(values) == 1 and np.ndim(values[0]) >= 1:
            return [values[0]]
        return [values]
    if not isinstance(values, (list, tuple)) or len(values) != n_layers:
        raise ArgumentError(f"{name}: give a list of {n_layers} initial states, one per layer")
    return list(values)
