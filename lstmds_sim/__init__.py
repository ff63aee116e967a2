"""lstmds-sim: an LSTM layer as a nonlinear discrete-time dynamical system, drawn and run as a bdsim block diagram.

The package is grouped by concern (see docs/architecture.md):

* :mod:`lstmds_sim.core` -- parameters, the matrix twin, the engine, the diagram builder, the cross-check;
* :mod:`lstmds_sim.systems` -- linear systems and the pH plant;
* :mod:`lstmds_sim.learning` -- training, identification data and metrics, ISS-constrained identification;
* :mod:`lstmds_sim.safety` -- the ISS certificate, reachable-set bounds, the scenario approach;
* :mod:`lstmds_sim.drawing` -- diagram pictures and plots;
* :mod:`lstmds_sim.io` -- files, the output folder, the ``lstmds`` command.

The names below are the public API. Importing the package is light and changes
nothing process-wide: the heavy parts (bdsim, JAX, matplotlib) load on first
use, and no environment variable, JAX setting, umask or allocator setting is
touched (see :func:`lstmds_sim.core.allocator.tune_allocator` for the opt-in
allocator tuning the ``lstmds`` command uses).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

__version__ = "0.1.0"

#: public name -> the module that defines it
_API = {
    # core
    "LSTMParams": "core.params", "count_params": "core.params",
    "simulate": "core.matrix", "lstm_step": "core.matrix", "Response": "core.matrix",
    "run": "core.engine", "blockdiagram": "core.engine", "signal_names": "core.engine", "simulator": "core.engine",
    "block_classes": "core.engine", "RunResult": "core.engine",
    "Backend": "core.backend", "Interpreter": "core.interpreter", "Compiled": "core.compiled",
    "lstm_diagram": "core.diagram", "add_lstm_layer": "core.diagram", "lstm_subsystem": "core.diagram",
    "crosscheck": "core.crosscheck", "CrossCheck": "core.crosscheck",
    "load": "core.bdfile",
    "LSTMDSError": "core.errors", "ShapeError": "core.errors", "NonFiniteError": "core.errors",
    "DiagramError": "core.errors", "SequenceEndError": "core.errors", "IncompleteSweepError": "core.errors",
    "FolderBusyError": "core.errors", "StateDictKeyError": "core.errors", "WriteError": "core.errors",
    # systems
    "reference_system": "systems.reference", "lstm_from_linear": "systems.lstm_linear",
    "linear_from_lstm": "systems.lstm_linear", "reproduced_system": "systems.lstm_linear",
    "describe": "systems.lti", "balanced_realization": "systems.lti",
    "PHParams": "systems.ph_plant", "simulate_plant": "systems.ph_plant", "steady_state": "systems.ph_plant",
    # learning
    "train": "learning.training", "TrainOptions": "learning.options", "TrainResult": "learning.training",
    "train_iss": "learning.iss_training", "ISSTrainOptions": "learning.iss_training",
    "IdentifiedModel": "learning.model", "IdentificationData": "learning.dataset",
    "generate_identification_data": "learning.dataset", "fit_percent": "learning.metrics",
    # safety
    "iss_check": "safety.iss", "reachable_set_bound": "safety.bounds", "worst_case_input": "safety.falsify",
    "sample_size": "safety.scenario",
    "ScenarioClass": "safety.scenario", "draw_scenarios": "safety.scenario",
    # drawing and I/O
    "render": "drawing.render", "OutputDir": "io.outdir", "inspect": "drawing.inspector",
    "live": "drawing.live",
}

__all__ = sorted(_API)


def __getattr__(name: str):
    """Load the module behind a public name on first use (PEP 562)."""
    if name in _API:
        value = getattr(importlib.import_module(f"{__name__}.{_API[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def _adopt_top_level_folders() -> None:
    """Make ``blocks/`` and ``diagrams/`` importable as ``lstmds_sim.blocks`` / ``.diagrams`` in a checkout.

    ``pip install .`` puts them inside the installed package and ``pip install -e .``
    maps their names to the folders; only a checkout used without installing
    (``python -m pytest`` with the package not installed, or installed elsewhere)
    needs this: the two sub-packages are then loaded from the repository's top.
    """
    root = Path(__file__).resolve().parent.parent
    for name in ("blocks", "diagrams"):
        full = f"{__name__}.{name}"
        if full in sys.modules or importlib.util.find_spec(full) is not None:
            continue
        init = root / name / "__init__.py"
        if init.is_file():
            spec = importlib.util.spec_from_file_location(full, init, submodule_search_locations=[str(init.parent)])
            module = importlib.util.module_from_spec(spec)
            sys.modules[full] = module
            spec.loader.exec_module(module)
            globals()[name] = module  # as the import system binds a sub-package on its parent


_adopt_top_level_folders()
