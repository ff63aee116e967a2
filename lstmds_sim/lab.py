"""What every diagram script (lab) shares: arguments, a safe output folder, figures and results.json.

A lab writes into ``--out DIR``. Files are overwritten only when lstmds wrote
them there itself: every file is entered in the folder's manifest
(``DIR/.lstmds-files.json``) *before* it is written, so even a run that
stopped half-way leaves nothing that blocks the next one. Anything else in the
way is left alone and the run stops with an error saying so. ``results.json``
belongs to one lab: another lab refuses to replace it.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Sequence

import numpy as np

RESULTS = "results.json"
MANIFEST = ".lstmds-files.json"


class OutputDir:
    """An output folder that never overwrites a file lstmds did not write itself.

    ``lab`` names the lab whose ``results.json`` this folder holds (None for a
    folder that only collects pictures, like ``lstmds render``'s).
    """

    def __init__(self, path, lab: str | None = None) -> None:
        self.root = Path(path)
        self.lab = lab
        if self.root.exists() and not self.root.is_dir():
            raise NotADirectoryError(f"--out {self.root} is a file; give a folder")
        self.root.mkdir(parents=True, exist_ok=True)
        self.owned = self._owned_files()
        self.written: list[str] = []
        if lab is not None:
            self._check_results_owner(lab)

    def _read_json(self, name: str):
        try:
            return json.loads((self.root / name).read_text())
        except (OSError, json.JSONDecodeError):
            return None

    def _owned_files(self) -> set[str]:
        owned: set[str] = set()
        if (self.root / MANIFEST).exists():
            data = self._read_json(MANIFEST)
            if not isinstance(data, dict) or not isinstance(data.get("files"), list):
                raise FileExistsError(
                    f"{self.root / MANIFEST} exists and was not written by lstmds; choose another --out folder"
                )
            owned.update(data["files"])
        if (self.root / RESULTS).exists():
            data = self._read_json(RESULTS)
            if not isinstance(data, dict) or "lstmds_sim_version" not in data:
                raise FileExistsError(
                    f"{self.root / RESULTS} exists and was not written by lstmds; choose another --out folder"
                )
            owned.update(data.get("files", []))
            owned.add(RESULTS)
        return owned

    def _check_results_owner(self, lab: str) -> None:
        data = self._read_json(RESULTS) if (self.root / RESULTS).exists() else None
        if data is not None and data.get("lab") != lab:
            raise FileExistsError(
                f"{self.root / RESULTS} holds the results of lab '{data.get('lab')}'; run '{lab}' into its "
                f"own folder (e.g. --out out/{lab}) so that both records are kept"
            )

    def _own(self, name: str) -> None:
        """Enter ``name`` in the manifest before it is written."""
        self.owned.add(name)
        self._atomic_write(MANIFEST, json.dumps({"files": sorted(self.owned)}, indent=1) + "\n")

    def _atomic_write(self, name: str, text: str) -> Path:
        target = self.root / name
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=f".{name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(text)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    def path(self, name: str) -> Path:
        """The path for output ``name``; refuses to replace a file lstmds did not write."""
        target = self.root / name
        if target.exists() and name not in self.owned:
            raise FileExistsError(
                f"{target} exists and was not written by an earlier lstmds run; "
                "move it away or choose another --out folder"
            )
        if name not in self.owned:
            self._own(name)
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

    def write_json(self, name: str, record: dict[str, Any]) -> Path:
        """Write a JSON file (numpy values converted) atomically."""
        self.path(name)
        return self._atomic_write(name, json.dumps(record, indent=2, default=to_json) + "\n")

    def write_results(self, results: dict[str, Any]) -> Path:
        """Write ``results.json`` with the numbers the lab reports and the files it wrote."""
        from . import __version__

        if self.lab is None:
            raise ValueError("this output folder belongs to no lab: create it with OutputDir(path, lab=NAME)")
        record = {
            "lab": self.lab,
            "lstmds_sim_version": __version__,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:]),
            **results,
            "files": sorted(set(self.written) - {RESULTS}),
        }
        return self.write_json(RESULTS, record)


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
