"""``lstmds convert IN OUT``: LSTM weights between ``.npz``, ``.onnx`` and ``.mat`` files, formats chosen by suffix.

    lstmds convert net.onnx net.npz          # ONNX (from PyTorch, MATLAB, Keras) -> lstmds parameters
    lstmds convert net.npz net.onnx --dtype float32
    lstmds convert lstm.mat net.onnx --variable s

What every format holds: the layer's W, R, b and its output layer F, bF, and
the initial states h0, c0 when there are some (``.npz`` keys ``h0``/``c0``,
``.mat`` variables ``HiddenState``/``CellState``, ONNX ``initial_h``/``initial_c``).
An ``.onnx`` file can hold layers in series; ``.npz`` and ``.mat`` hold one.
OUT is never replaced unless ``--force`` is given. Mistakes end with one line
on stderr and exit status 2 (``lstmds_sim.io.cli``).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

FORMATS = (".npz", ".onnx", ".mat")
DTYPES = ("float32", "float64")


@dataclass
class Weights:
    """What a file holds: layers in series, their initial states (None: zeros) and the weights' dtype name."""

    layers: list
    h0: list
    c0: list
    dtype: str = "float64"


def file_format(path, role: str) -> str:
    """The format of ``path`` by its suffix (``role`` is IN or OUT, for the error)."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(
            f"{role} {path}: unknown format {suffix or '(no suffix)'!r}; lstmds convert reads and writes "
            f"{', '.join(FORMATS)} files, chosen by suffix"
        )
    return suffix


def _npz_state(data, key: str, path, n_units: int):
    from ..core.validation import initial_state

    if key not in data:
        return None
    return initial_state(data[key], n_units, f"{path}: key {key!r} (the initial state, Nn={n_units})")


def read_weights(path, *, variable: str | None = None) -> Weights:
    """Read the layers of an ``.npz``, ``.onnx`` or ``.mat`` file."""
    kind = file_format(path, "IN")
    if not Path(path).is_file():
        raise FileNotFoundError(f"IN {path}: no such file")
    if kind == ".npz":
        from ..core.params import LSTMParams
        from ..core.npz import load_npz

        data = load_npz(path, "an LSTM parameter file (.npz with keys W R b F bF)")
        params = LSTMParams.from_file_arrays(data, path)
        return Weights([params], [_npz_state(data, "h0", path, params.n_units)],
                       [_npz_state(data, "c0", path, params.n_units)])
    if kind == ".onnx":
        from .onnx import read_onnx

        found = read_onnx(path)
        dtype = "float32" if found.dtype.itemsize <= 4 else "float64"
        return Weights(list(found.layers), list(found.h0), list(found.c0), dtype)
    from .matlab import params_from_matlab

    params, h0, c0 = params_from_matlab(path, variable=variable, with_states=True)
    return Weights([params], [h0], [c0])


def check_out(path, force: bool = False) -> None:
    """OUT can be written: not there (or ``force``), not a folder, in a folder (checked before IN is read)."""
    out = Path(path)
    if out.is_dir():
        raise IsADirectoryError(f"OUT {path} is a folder; give a file name ending in {', '.join(FORMATS)}")
    if os.path.lexists(out) and not force:
        raise FileExistsError(f"OUT {path} exists; pass --force to replace it, or choose another name")
    blocker = next((p for p in out.parents if os.path.lexists(p) and not p.is_dir()), None)
    if blocker is not None:
        raise NotADirectoryError(f"OUT {path}: {blocker} is a file, not a folder; give another OUT")


def write_weights(path, weights: Weights, *, dtype: str | None = None, force: bool = False) -> Path:
    """Write ``weights`` to an ``.npz``, ``.onnx`` or ``.mat`` file; never replaces one unless ``force``.

    OUT is written all at once (a temporary file beside it, renamed when complete): a full disk,
    Ctrl-C or SIGTERM leaves no partial file, and with ``force`` the file it replaces stays as it
    was until the new one is whole.
    """
    kind = file_format(path, "OUT")
    check_out(path, force)
    if kind == ".onnx":
        from .onnx import write_onnx

        h0 = weights.h0[0] if len(weights.layers) == 1 else weights.h0
        c0 = weights.c0[0] if len(weights.layers) == 1 else weights.c0
        return write_onnx(path, weights.layers, h0=h0, c0=c0, dtype=dtype or weights.dtype, overwrite=force)
    if len(weights.layers) != 1:
        raise ValueError(
            f"OUT {path}: a {kind} file holds one LSTM layer and IN holds {len(weights.layers)} layers in series; "
            "convert to .onnx, or use LSTMParams.from_onnx and save the layers one by one"
        )
    if dtype is not None:
        raise ValueError(f"--dtype applies to .onnx files; {kind} files hold float64")
    params, h0, c0 = weights.layers[0], weights.h0[0], weights.c0[0]
    if kind == ".npz":
        from ..core.npz import save_npz

        arrays = params.arrays()
        arrays.update({k: v for k, v in (("h0", h0), ("c0", c0)) if v is not None})
        return save_npz(path, arrays, overwrite=force)
    from .matlab import write_matlab

    return write_matlab(path, params, h0=h0, c0=c0, overwrite=force)


def describe(weights: Weights) -> str:
    layers = weights.layers
    sizes = " -> ".join([str(layers[0].n_inputs)] + [f"LSTM({L.n_units})" + (f" -> FC({L.n_outputs})"
                                                                          if L.F is not None else "") for L in layers])
    states = [k for k, v in (("h0", weights.h0), ("c0", weights.c0)) if any(x is not None for x in v)]
    return (f"{len(layers)} layer{'s' if len(layers) > 1 else ''} ({sizes})"
            + (f", initial states {' and '.join(states)}" if states else ""))


def cmd_convert(args) -> int:
    in_kind = file_format(args.input, "IN")  # both suffixes, the options and OUT checked before anything is read
    out_kind = file_format(args.output, "OUT")
    if args.variable is not None and in_kind != ".mat":
        raise ValueError(f"--variable applies to a .mat IN; {args.input} is a {in_kind} file")
    if args.dtype is not None and out_kind != ".onnx":
        raise ValueError(f"--dtype applies to .onnx files; a {out_kind} file holds float64")
    check_out(args.output, args.force)
    try:
        weights = read_weights(args.input, variable=args.variable)
        written = write_weights(args.output, weights, dtype=args.dtype, force=args.force)
    except ImportError as err:  # a missing optional extra: one line, as for any other mistake
        print(f"lstmds: error: {err}", file=sys.stderr)
        return 2
    dtype = (args.dtype or weights.dtype) if out_kind == ".onnx" else "float64"
    print(f"wrote {written}: {describe(weights)}, {dtype}")
    return 0


def register(sub) -> None:
    """Add ``lstmds convert`` to the subcommands ``sub`` (imports nothing heavy)."""
    parser = sub.add_parser(
        "convert", help="convert LSTM weights between .npz, .onnx and .mat files (by suffix)",
        description="Convert LSTM weights between .npz (lstmds), .onnx (ONNX LSTM operator) and .mat (MATLAB "
                    "lstmLayer properties) files; the formats are chosen by the suffixes. OUT is never replaced "
                    "unless --force is given.")
    parser.add_argument("input", metavar="IN", help="the file to read (.npz, .onnx or .mat)")
    parser.add_argument("output", metavar="OUT", help="the file to write (.npz, .onnx or .mat)")
    parser.add_argument("--force", action="store_true", help="replace OUT if it exists")
    parser.add_argument("--dtype", choices=DTYPES, default=None,
                        help="the weights' type in an .onnx OUT (default: IN's; float64 for .npz and .mat; "
                             "onnxruntime runs float32 only)")
    parser.add_argument("--variable", default=None,
                        help="for a .mat IN: the struct variable holding the layer (default: the only one)")
    parser.set_defaults(func=cmd_convert)
