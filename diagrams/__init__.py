"""The labs: diagram scripts, each runnable as ``lstmds run NAME`` or ``python diagrams/NAME.py``.

Every lab is also a notebook (jupytext percent format; ``lstmds notebook NAME --out DIR``); the
convention is written down in docs/labs.md. This package holds what the labs share as labs: their
order, and the one switch for small settings.
"""

from __future__ import annotations

import os

__all__ = ["LABS", "QUICK_ENV", "print_files", "quick", "setting"]

#: The labs in teaching order (``lstmds list`` shows them so).
LABS = (
    "lstm_layer", "lstm_stack", "lstm_vs_linear", "training_basin", "training_random",
    "ph_plant", "ph_identification", "scenario_safety",
)

#: The one switch for small settings: ``LSTMDS_QUICK=1`` makes the labs' long defaults (epochs,
#: iterations, seeds, samples of a cross-check) small, in scripts and notebooks alike. Options given
#: on the command line still win. The tests and CI's notebook runs use it.
QUICK_ENV = "LSTMDS_QUICK"


def quick() -> bool:
    """Whether ``LSTMDS_QUICK`` asks for small settings (read each time, never written)."""
    return os.environ.get(QUICK_ENV, "").strip().lower() not in ("", "0", "false", "no")


def setting(full, small):
    """A lab default: ``full`` normally, ``small`` when ``LSTMDS_QUICK`` is set."""
    return small if quick() else full


def print_files(out) -> None:
    """The last line of every lab: where its files are (``out`` an :class:`~lstmds_sim.io.outdir.OutputDir`
    whose run was committed)."""
    print(f"files in {out.root}: {', '.join(sorted(out.written))}")
