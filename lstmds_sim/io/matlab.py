"""MATLAB ``.mat`` files as MATLAB users save them: plain arrays, structs, v7.3 (HDF5) files.

An ``lstmLayer`` stacks its gates ``[i; f; g; o]`` as we do, so its properties
are our arrays unchanged::

    InputWeights      (4 Nn, Ni) -> W          FC_Weights (or F)   (No, Nn) -> F
    RecurrentWeights  (4 Nn, Nn) -> R          FC_Bias    (or bF)  (No, 1)  -> bF
    Bias              (4 Nn, 1)  -> b          HiddenState, CellState (Nn, 1): initial states

They are read from top-level variables of those names (what ``save(FILE,
'-struct', 's')`` writes) or from the fields of one struct variable. Files
written by ``save`` in any format are read: v4 to v7 with scipy, v7.3 (HDF5)
with h5py (the ``[matlab]`` extra), whose arrays MATLAB stores column-major,
so they are transposed back here. A MATLAB object (``save(FILE, 'layer')`` of
``net.Layers(2)``) can be opened by MATLAB only: it is refused with the line
to run in MATLAB instead.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["EXPORT_SNIPPET", "MatlabObject", "load_variables", "params_from_matlab", "write_matlab"]

#: The lstmLayer's properties, in the order of LSTMParams' W, R, b.
LSTM_FIELDS = ("InputWeights", "RecurrentWeights", "Bias")
STATE_FIELDS = ("HiddenState", "CellState")
_NAMES = "InputWeights -> W, RecurrentWeights -> R, Bias -> b, FC_Weights -> F, FC_Bias -> bF"

#: What to run in MATLAB (one line; docs/interchange.md has the three-line version with the output layer).
EXPORT_SNIPPET = ("L = net.Layers(2); s = struct('InputWeights', L.InputWeights, 'RecurrentWeights', "
                  "L.RecurrentWeights, 'Bias', L.Bias); save('lstm.mat', '-struct', 's')")

_NUMERIC = {"double", "single", "logical", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64"}
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


@dataclass(frozen=True)
class MatlabObject:
    """A variable that only MATLAB can read: an object, a function handle, a cell or struct array."""

    kind: str  # e.g. "a MATLAB object of class nnet.cnn.layer.LSTMLayer"


def _mat_path(path) -> Path:
    path = Path(path)
    return path if path.suffix.lower() == ".mat" else path.with_name(path.name + ".mat")


# ---------------------------------------------------------------------------------------------- reading
def load_variables(path) -> dict[str, object]:
    """The variables of a ``.mat`` file: arrays (as MATLAB shows them), dicts for structs, :class:`MatlabObject`."""
    with open(path, "rb") as handle:  # FileNotFoundError names the path
        head = handle.read(128)
        handle.seek(512)
        at512 = handle.read(8)
    if head[:8] == _HDF5_SIGNATURE or at512 == _HDF5_SIGNATURE or head.startswith(b"MATLAB 7.3"):
        return _load_hdf5(path)
    from scipy.io import loadmat
    from scipy.io.matlab import MatReadError

    try:
        raw = loadmat(path)
    except NotImplementedError:  # scipy: "Please use HDF reader for matlab v7.3 files"
        return _load_hdf5(path)
    except (MatReadError, ValueError, TypeError, OSError, EOFError) as err:
        raise ValueError(f"{path} is not a MATLAB .mat file that can be read ({err})") from None
    out = {}
    for name, value in raw.items():
        if name.startswith("__"):
            continue
        if type(value).__name__ == "MatlabOpaque" and name == "None" and "s0" in (value.dtype.names or ()):
            name = _text(value.reshape(-1)[0]["s0"]) or name  # scipy < 1.18 names a top-level object 'None'
        out[name] = _from_scipy(value)
    return out


def _text(value) -> str:
    return value.decode("latin1") if isinstance(value, bytes) else str(value)


def _from_scipy(value):
    """A variable as scipy's loadmat gives it (or as a caller passes it) in plain terms."""
    if isinstance(value, dict):
        return {str(k): _from_scipy(v) for k, v in value.items()}
    if isinstance(value, MatlabObject):
        return value
    kind = type(value).__name__
    if kind == "MatlabOpaque":
        field = "_Class" if "_Class" in (value.dtype.names or ()) else "s2"  # scipy >= 1.18 : before
        return MatlabObject(f"a MATLAB object of class {_text(value.reshape(-1)[0][field])}")
    if kind == "MatlabObject":
        return MatlabObject(f"a MATLAB object of class {getattr(value, 'classname', '?')}")
    if kind == "MatlabFunction":
        return MatlabObject("a MATLAB function handle")
    if isinstance(value, np.ndarray) and value.dtype.names:
        if value.size != 1:
            return MatlabObject(f"a {'x'.join(map(str, value.shape))} struct array")
        record = value.reshape(-1)[0]
        return {name: _from_scipy(record[name]) for name in value.dtype.names}
    if not isinstance(value, np.ndarray):
        value = np.asarray(value)
    if value.dtype == object:
        return MatlabObject("a cell array")
    return value


def _load_hdf5(path) -> dict[str, object]:
    try:
        import h5py
    except ImportError:
        raise ImportError(
            f"{path} is a MATLAB v7.3 (HDF5) file, which needs h5py: pip install 'lstmds-sim[matlab]' "
            "(or save it in MATLAB with save(..., '-v7'))"
        ) from None
    try:
        handle = h5py.File(path, "r")
    except OSError as err:
        raise ValueError(f"{path} looks like a MATLAB v7.3 (HDF5) file but cannot be read ({err})") from None
    with handle:
        return {name: _from_hdf5(item) for name, item in handle.items() if not name.startswith("#")}


def _from_hdf5(item):
    import h5py

    cls = item.attrs.get("MATLAB_class")
    cls = cls.decode() if isinstance(cls, bytes) else (None if cls is None else str(cls))
    if "MATLAB_object_decode" in item.attrs or (cls is not None and cls not in _NUMERIC | {"char", "struct", "cell"}):
        return MatlabObject(f"a MATLAB object of class {cls}")
    if isinstance(item, h5py.Group):
        return {name: _from_hdf5(member) for name, member in item.items()}
    if cls == "cell":
        return MatlabObject("a cell array")
    if item.dtype.kind == "O" or item.dtype == h5py.ref_dtype:
        return MatlabObject("a struct array (its fields are references)")
    if item.attrs.get("MATLAB_empty", 0):  # an empty array: the data are its dimensions
        return np.zeros(tuple(int(d) for d in np.ravel(item[()])))
    data = item[()]
    if data.dtype.names and {"real", "imag"} <= set(data.dtype.names):
        data = data["real"] + 1j * data["imag"]
    data = np.asarray(data).T  # MATLAB is column-major: HDF5 holds the dimensions reversed
    if cls == "char":
        return "".join(map(chr, data.ravel(order="F")))
    return data.astype(bool) if cls == "logical" else data


# --------------------------------------------------------------------------------------------- the layer
def _describe(value) -> str:
    if isinstance(value, MatlabObject):
        return value.kind
    if isinstance(value, dict):
        return "a struct"
    if isinstance(value, str):
        return "text"
    return f"a {np.asarray(value).dtype} array"


def _is_number_array(value) -> bool:
    return isinstance(value, np.ndarray) and value.dtype.kind in "biufc"


def _object_error(where: str, name: str, value: MatlabObject) -> ValueError:
    return ValueError(
        f"{where}: variable '{name}' is {value.kind}, which only MATLAB can open; in MATLAB save the "
        f"layer's weights as plain arrays instead: {EXPORT_SNIPPET} (or export the network with "
        "exportONNXNetwork and read the .onnx file)"
    )


def _find_layer(data: Mapping[str, object], where: str, variable: str | None) -> tuple[str | None, Mapping]:
    """The variable holding the layer's fields (None: top-level variables) and those fields."""
    if variable is not None:
        if variable not in data:
            raise ValueError(f"{where} has no variable '{variable}'; its variables are: {', '.join(data) or 'none'}")
        value = data[variable]
        if isinstance(value, MatlabObject):
            raise _object_error(where, variable, value)
        if not isinstance(value, dict):
            raise ValueError(
                f"{where}: variable '{variable}' is {_describe(value)}, not a struct with fields "
                f"{', '.join(LSTM_FIELDS)}; name the struct variable that holds them (--variable NAME, variable='NAME'), or leave it out"
            )
        return variable, value
    if any(name in data for name in LSTM_FIELDS):
        return None, data
    structs = {name: value for name, value in data.items() if isinstance(value, dict)}
    complete = [name for name, value in structs.items() if all(f in value for f in LSTM_FIELDS)]
    if len(complete) == 1:
        return complete[0], structs[complete[0]]
    if len(complete) > 1:
        raise ValueError(f"{where} holds several structs with LSTM weights ({', '.join(complete)}): pass variable='{complete[0]}' "
                         f"(or another) in Python, --variable {complete[0]} to lstmds convert")
    objects = [(name, value) for name, value in data.items() if isinstance(value, MatlabObject)]
    if objects:
        raise _object_error(where, *objects[0])
    partial = max(structs.items(), key=lambda item: sum(f in item[1] for f in LSTM_FIELDS), default=None)
    if partial is not None and any(f in partial[1] for f in LSTM_FIELDS):
        return partial
    raise ValueError(
        f"{where} holds no LSTM weights (variables: {', '.join(data) or 'none'}); in MATLAB save the lstmLayer's "
        f"InputWeights, RecurrentWeights and Bias: {EXPORT_SNIPPET}"
    )


def params_from_matlab(source, *, variable: str | None = None, output_weights: str = "Weights",
                       output_bias: str = "Bias", with_states: bool = False):
    """An LSTM layer (and its fully connected output layer) from a ``.mat`` file or a dict of its variables.

    The lstmLayer's ``InputWeights``, ``RecurrentWeights`` and ``Bias`` are read
    from top-level variables or from the fields of a struct variable (the only
    one holding them, or ``variable``); the output layer from ``FC_Weights`` /
    ``FC_Bias`` (``"FC_" + output_weights``) or ``F`` / ``bF`` beside them. With
    ``with_states`` the result is ``(params, h0, c0)``, the initial states read
    from ``HiddenState`` / ``CellState`` (None when absent or empty).
    """
    from ..core.params import LSTMParams

    if isinstance(source, (str, Path)):
        where, data = str(source), load_variables(source)
    elif not isinstance(source, Mapping):
        from ..core.errors import ArgumentTypeError

        raise ArgumentTypeError(f"from_matlab takes a .mat file's path or a dict of its variables (scipy.io.loadmat), "
                                f"got {type(source).__name__}: {source!r}"[:300])
    else:
        where, data = "MATLAB data", {k: _from_scipy(v) for k, v in source.items() if not str(k).startswith("__")}
    name, fields = _find_layer(data, where, variable)
    place = where if name is None else f"{where}: variable '{name}'"
    missing = [f for f in LSTM_FIELDS if f not in fields]
    if missing:
        raise ValueError(
            f"{place} lacks {', '.join(missing)}; save the lstmLayer's InputWeights, RecurrentWeights and Bias "
            f"under those names: {EXPORT_SNIPPET}"
        )

    def get(field):
        value = fields.get(field)
        if value is None:
            return None
        if not _is_number_array(value):
            raise TypeError(f"{place}: {field} is {_describe(value)}, not numbers; save it as a numeric array")
        return value

    F = get("FC_" + output_weights) if "FC_" + output_weights in fields else get("F")
    bF = get("FC_" + output_bias) if "FC_" + output_bias in fields else get("bF")
    if F is None and bF is not None:
        raise ValueError(f"{place} has an output bias but no output weights: save FC_Weights with FC_Bias")
    try:
        params = LSTMParams(*(get(f) for f in LSTM_FIELDS), F, bF)
    except (TypeError, ValueError) as err:
        raise type(err)(f"{place}: {err} (read as {_NAMES})") from None
    if not with_states:
        return params
    states = []
    for field in STATE_FIELDS:
        value = get(field)
        states.append(None if value is None or value.size == 0 else np.asarray(value, dtype=float).ravel())
    return params, states[0], states[1]


# ---------------------------------------------------------------------------------------------- writing
def write_matlab(path, params, *, h0=None, c0=None, overwrite: bool = False) -> Path:
    """Write one layer as the export snippet does: top-level ``InputWeights RecurrentWeights Bias
    [FC_Weights FC_Bias] [HiddenState CellState]``, biases and states as columns (``.mat`` v5, added
    when missing); refuses to replace a file unless ``overwrite``."""
    from scipy.io import savemat

    from ..core.atomic import write_file

    variables = {"InputWeights": params.W, "RecurrentWeights": params.R, "Bias": params.b[:, None]}
    if params.F is not None:
        variables.update(FC_Weights=params.F, FC_Bias=params.bF[:, None])
    for field, value in zip(STATE_FIELDS, (h0, c0)):
        if value is not None:
            value = np.asarray(value, dtype=float)
            if value.shape != (params.n_units,):
                raise ValueError(f"{field}: a .mat file holds one initial state of shape ({params.n_units},), "
                                 f"got {value.shape}")
            variables[field] = value[:, None]
    path = _mat_path(path)
    if not overwrite and path.exists():
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it or choose another name")
    buffer = io.BytesIO()
    savemat(buffer, variables)
    return write_file(path, buffer.getbuffer(), overwrite=overwrite)  # all at once: never a partial file
