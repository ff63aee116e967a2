"""What every diagram script (lab) shares: arguments, a safe output folder, figures and results.json.

A lab writes into ``--out DIR``. Files are overwritten only when an earlier
run of lstmds wrote them (listed in ``DIR/results.json``); anything else that is
in the way is left alone and the run stops with an error saying so.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import sys
from pathlib import Path
from typing import Any, Sequence

import numpy as np

RESULTS = "results.json"


class OutputDir:
    """An output folder that never overwrites a file lstmds did not write itself."""

    def __init__(self, path) -> None:
        self.root = Path(path)
        if self.root.exists() and not self.root.is_dir():
            raise NotADirectoryError(f"--out {self.root} is a file; give a folder")
        self.root.mkdir(parents=True, exist_ok=True)
        self.previous = set(self._previous_files())
        self.written: list[str] = []

    def _previous_files(self) -> list[str]:
        manifest = self.root / RESULTS
        if not manifest.exists():
            return []
        try:
            data = json.loads(manifest.read_text())
        except (OSError, json.JSONDecodeError):
            data = None
        if not isinstance(data, dict) or "lstmds_sim_version" not in data:
            raise FileExistsError(
                f"{manifest} exists and was not written by lstmds; choose another --out folder"
            )
        return list(data.get("files", [])) + [RESULTS]

    def path(self, name: str) -> Path:
        """The path for output ``name``; refuses to replace a file lstmds did not write."""
        target = self.root / name
        if target.exists() and name not in self.previous and name not in self.written:
            raise FileExistsError(
                f"{target} exists and was not written by an earlier lstmds run; "
                "move it away or choose another --out folder"
            )
        if name not in self.written:
            self.written.append(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def savefig(self, fig, stem: str, formats: Sequence[str] = ("png", "svg")) -> list[Path]:
        """Save a matplotlib figure as ``stem.png`` and ``stem.svg``."""
        paths = []
        for fmt in formats:
            target = self.path(f"{stem}.{fmt}")
            fig.savefig(target, dpi=150, bbox_inches="tight", metadata=_metadata(fmt))
            paths.append(target)
        return paths

    def render(self, diagram, stem: str, *, title: str | None = None) -> list[Path]:
        """Draw a block diagram with its feedback loops as ``stem.svg`` and ``stem.png``."""
        from .render import render

        for fmt in ("svg", "png"):
            self.path(f"{stem}.{fmt}")
        return render(diagram, self.root / stem, title=title, formats=("svg", "png"))

    def write_results(self, lab: str, results: dict[str, Any]) -> Path:
        """Write ``results.json`` with the numbers the lab reports and the files it wrote."""
        from . import __version__

        record = {
            "lab": lab,
            "lstmds_sim_version": __version__,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:]),
            **results,
            "files": sorted(set(self.written) - {RESULTS}),
        }
        target = self.path(RESULTS)
        tmp = target.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(record, indent=2, default=to_json) + "\n")
        os.replace(tmp, target)
        return target


def _metadata(fmt: str) -> dict:
    # reproducible files: no creation date in SVG/PNG
    return {"Date": None} if fmt == "svg" else {}


def to_json(value):
    """JSON fallback for numpy scalars/arrays and complex numbers."""
    if isinstance(value, np.ndarray):
        return to_json(value.tolist()) if np.iscomplexobj(value) else value.tolist()
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, (complex, np.complexfloating)):
        return [float(np.real(value)), float(np.imag(value))]
    if isinstance(value, list):
        return [to_json(v) if isinstance(v, (complex, np.complexfloating, np.ndarray)) else v for v in value]
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def lab_parser(name: str, doc: str | None) -> argparse.ArgumentParser:
    """Common lab options: ``--out DIR`` and ``--seed``."""
    parser = argparse.ArgumentParser(
        prog=f"lstmds run {name}", description=(doc or "").strip().splitlines()[0] if doc else None
    )
    parser.add_argument("--out", default=f"out/{name}", help="folder for figures and results.json (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    return parser


def use_headless_backend() -> None:
    """Figures are written to files; never open a window (works without a display)."""
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")


def print_kv(title: str, rows: dict[str, Any]) -> None:
    """Print a small aligned table of key numbers."""
    print(title)
    width = max(len(k) for k in rows)
    for k, v in rows.items():
        text = f"{v:.6g}" if isinstance(v, float) else str(v)
        print(f"  {k:<{width}}  {text}")
