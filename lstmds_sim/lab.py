"""What every diagram script (lab) shares: arguments, a safe output folder, figures and results.json.

A lab writes into ``--out DIR``. lstmds replaces a file only when it wrote it
there itself, for the same lab (or the same ``lstmds render NAME``): each file
is entered in the folder's manifest ``DIR/.lstmds-files.json``, with its owner,
*before* it is written, so even a run that stopped half-way blocks nothing.
Anything else in the way is left alone and the run stops with an error saying
so. ``results.json`` belongs to one lab. Runs sharing a folder at the same time
update the manifest under a file lock.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Sequence

import numpy as np

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; concurrent runs into one folder are not guarded
    fcntl = None

RESULTS = "results.json"
MANIFEST = ".lstmds-files.json"
LOCK = ".lstmds-files.lock"


class OutputDir:
    """An output folder that never overwrites a file lstmds did not write itself.

    ``lab`` names the lab whose ``results.json`` this folder holds; ``owner``
    (default: ``lab``) is who the files written through this object belong to,
    e.g. ``"render lstm_layer"`` for a folder that only collects pictures.
    """

    def __init__(self, path, lab: str | None = None, *, owner: str | None = None) -> None:
        self.root = Path(path)
        self.lab = lab
        self.owner = owner or lab or "lstmds"
        if self.root.exists() and not self.root.is_dir():
            raise NotADirectoryError(f"--out {self.root} is a file; give a folder")
        self.root.mkdir(parents=True, exist_ok=True)
        self.written: list[str] = []
        with self._locked():
            owners = self._owners()
        results_owner = owners.get(RESULTS) if (self.root / RESULTS).exists() else None
        if lab is not None and results_owner not in (None, lab):
            raise FileExistsError(self._foreign_results(results_owner))

    # ------------------------------------------------------------ manifest
    @contextlib.contextmanager
    def _locked(self):
        """Hold the folder's lock while the manifest is read and updated."""
        if fcntl is None:
            yield
            return
        try:
            handle = open(self.root / LOCK, "a")
        except OSError as err:
            raise PermissionError(f"cannot write to the output folder {self.root} ({err.strerror}); "
                                  "choose another --out folder") from None
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _read_json(self, name: str):
        try:
            return json.loads((self.root / name).read_text())
        except (OSError, json.JSONDecodeError):
            return None

    def _owners(self) -> dict[str, str | None]:
        """Every file lstmds wrote here and who wrote it (None: unknown, from an older manifest)."""
        owners: dict[str, str | None] = {}
        if (self.root / RESULTS).exists():
            data = self._read_json(RESULTS)
            if not isinstance(data, dict) or "lstmds_sim_version" not in data:
                raise FileExistsError(
                    f"{self.root / RESULTS} exists and was not written by lstmds; choose another --out folder"
                )
            owners.update(dict.fromkeys(data.get("files", []), data.get("lab")))
            owners[RESULTS] = data.get("lab")
        if (self.root / MANIFEST).exists():
            data = self._read_json(MANIFEST)
            files = data.get("files") if isinstance(data, dict) else None
            if isinstance(files, list):  # an older manifest without owners: never overrides a known owner
                files = {name: owners.get(name) for name in files}
            if not isinstance(files, dict):
                raise FileExistsError(
                    f"{self.root / MANIFEST} exists and was not written by lstmds; choose another --out folder"
                )
            owners.update({name: owner if owner is not None else owners.get(name) for name, owner in files.items()})
        return owners

    def _foreign_results(self, other: str) -> str:
        advice = "move it away"
        suggestion = Path("out") / str(self.lab)
        if self.root.resolve() != suggestion.resolve():
            advice += f" or run '{self.lab}' into its own folder (e.g. --out {suggestion})"
        return f"{self.root / RESULTS} holds the results of '{other}'; {advice}, so that no record is lost"

    def path(self, name: str) -> Path:
        """The path for output ``name``; refuses to replace a file lstmds did not write here for this owner."""
        target = self.root / name
        with self._locked():
            owners = self._owners()
            if target.exists() and name not in self.written:
                if name not in owners:
                    raise FileExistsError(
                        f"{target} exists and was not written by an earlier lstmds run; "
                        "move it away or choose another --out folder"
                    )
                if owners[name] not in (None, self.owner):
                    if name == RESULTS:
                        raise FileExistsError(self._foreign_results(owners[name]))
                    raise FileExistsError(
                        f"{target} was written by '{owners[name]}', not '{self.owner}'; "
                        "move it away or choose another --out folder"
                    )
            if owners.get(name) != self.owner:
                owners[name] = self.owner
                self._atomic_write(MANIFEST, json.dumps({"files": dict(sorted(owners.items()))}, indent=1) + "\n")
        if name not in self.written:
            self.written.append(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def _atomic_write(self, name: str, text: str) -> Path:
        """Write through a temporary file beside the target, then rename (the mode a plain write would give)."""
        target = self.root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(text)
            os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the mode a plain write would
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
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


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # once, at import (setting the umask is process-wide)


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
