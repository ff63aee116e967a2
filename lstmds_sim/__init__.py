"""lstmds-sim: an LSTM layer as a nonlinear discrete-time dynamical system, drawn and run as a bdsim block diagram."""

from ._malloc import tune_allocator

tune_allocator()

from .engine import DiagramError, RunResult, blockdiagram, run, signal_names, simulator
from .matrix import Response, lstm_step, simulate
from .params import LSTMParams, count_params
from .validation import NonFiniteError, ShapeError

__version__ = "0.1.0"

__all__ = [
    "DiagramError", "LSTMParams", "NonFiniteError", "Response", "RunResult", "ShapeError",
    "blockdiagram", "count_params", "lstm_step", "run", "signal_names", "simulate", "simulator",
]
