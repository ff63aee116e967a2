"""An output folder that a run owns while it runs and replaces all at once when it is done.

A run (a lab, or ``lstmds render NAME``) locks its folder before it computes
anything: a second run into the same folder is refused at once. Every file goes
to a staging folder inside it; only when the run is done are the files moved
into place, the run's record (``results.json``, or ``NAME.loops.json`` for a
render) last. Until then the previous run's files and record stand untouched,
so stopping a run at any moment (Ctrl-C, a crash) leaves them valid. A file
may be replaced only when the previous record of the same run lists it: a
user's own file, or another lab's, is never overwritten.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import weakref
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..core.errors import FolderBusyError
__all__ = ["FolderBusyError", "OutputDir", "RESULTS", "to_json"]

RESULTS = "results.json"
LOCK = ".lstmds.lock"
STAGING = ".lstmds-staging-"


class OutputDir:
    """The folder ``path`` for one run; ``lab`` names the lab whose ``results.json`` this is.

    ``record`` (default ``results.json``) is the run's record; ``owner`` says who
    wrote it (default: ``lab``). Use it as a context manager, or call
    :meth:`write_results` (which commits) at the end; a run that ends otherwise
    leaves the folder as it was.
    """

    def __init__(self, path, lab: str | None = None, *, record: str = RESULTS, owner: str | None = None):
        if str(path).strip() == "":
            raise ValueError("--out is empty: give a folder, e.g. --out out/" + (lab or "render"))
        self.root, self.lab, self.record = Path(path), lab, record
        self.owner = owner or lab or "lstmds"
        if self.root.exists() and not self.root.is_dir():
            raise NotADirectoryError(f"--out {self.root} is a file; give a folder")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            lock = open(self.root / LOCK, "a+")
        except OSError as err:
            raise PermissionError(f"cannot write to the output folder {self.root} ({err.strerror}); "
                                  "choose another --out folder") from None
        if not _try_lock(lock):
            lock.close()
            raise FolderBusyError(f"another lstmds run is writing to {self.root}; wait for it to finish "
                                  "or choose another --out folder")
        for stale in self.root.glob(STAGING + "*"):  # left by a run that was killed: we hold the lock
            shutil.rmtree(stale, ignore_errors=True)
        self.staging = Path(tempfile.mkdtemp(prefix=STAGING, dir=self.root))
        self._finalizer = weakref.finalize(self, _release, lock, self.staging)
        self.previous = self._previous_files()
        self.written: list[str] = []

    def _previous_files(self) -> set[str]:
        """The files the previous record of this owner lists; refuses a record of anyone else."""
        target = self.root / self.record
        if not target.exists():
            return set()
        try:
            data = json.loads(target.read_text())
        except (OSError, ValueError):
            data = None
        if not isinstance(data, dict) or "lstmds_sim_version" not in data:
            self.close()
            raise FileExistsError(f"{target} exists and was not written by lstmds; choose another --out folder")
        if data.get("owner", data.get("lab")) != self.owner:
            self.close()
            raise FileExistsError(
                f"{target} holds the results of '{data.get('owner', data.get('lab'))}'; move it away or run "
                f"'{self.owner}' into its own folder (e.g. --out out/{self.lab or 'render'}), so that no record is lost")
        return set(data.get("files", []))

    def path(self, name: str) -> Path:
        """Where to write output ``name`` (in staging); refuses a name that would replace a foreign file."""
        target = self.root / name
        if target.exists() and name not in self.previous and name != self.record:
            raise FileExistsError(f"{target} exists and was not written by an earlier '{self.owner}' run; "
                                  "move it away or choose another --out folder")
        if name not in self.written:
            self.written.append(name)
        staged = self.staging / name
        staged.parent.mkdir(parents=True, exist_ok=True)
        return staged

    def savefig(self, fig, stem: str, formats: Sequence[str] = ("png", "svg")) -> list[Path]:
        """Save a matplotlib figure as ``stem.png`` and ``stem.svg`` (no creation date, fixed SVG ids:
        the same figure gives the same bytes in every process)."""
        import matplotlib

        paths = []
        for fmt in formats:
            with matplotlib.rc_context({"svg.hashsalt": stem}):
                fig.savefig(self.path(f"{stem}.{fmt}"), dpi=150, bbox_inches="tight",
                            metadata={"Date": None} if fmt == "svg" else {})
            paths.append(self.root / f"{stem}.{fmt}")
        return paths

    def render(self, diagram, stem: str, *, title: str | None = None) -> list[Path]:
        """Draw a block diagram with its feedback loops as ``stem.svg`` and ``stem.png``."""
        from ..drawing.render import render

        for fmt in ("svg", "png"):
            self.path(f"{stem}.{fmt}")
        render(diagram, self.staging / stem, title=title, formats=("svg", "png"))
        return [self.root / f"{stem}.{fmt}" for fmt in ("svg", "png")]

    def write_inspector(self, bd, result=None, stem: str = "inspector", *, optional: bool = False,
                        **options) -> Path | None:
        """Write the interactive signal inspector of a run as ``stem.html``: one offline page.

        ``result`` is the run (``lstmds_sim.run(bd, probes=["*"])``; run here when
        omitted); ``options`` go to :func:`lstmds_sim.drawing.inspector.inspect`.
        Needs the ``inspect`` extra (Bokeh): ``pip install 'lstmds-sim[inspect]'``;
        with ``optional=True`` (the labs) a missing extra prints one line and
        writes nothing instead of stopping the run.
        """
        try:
            import bokeh  # noqa: F401  (the inspector's plot)
        except ModuleNotFoundError:
            if not optional:
                raise ModuleNotFoundError(
                    "the signal inspector needs Bokeh: pip install 'lstmds-sim[inspect]'"
                ) from None
            print(f"note: {stem}.html (the signal inspector) not written: pip install 'lstmds-sim[inspect]'")
            return None
        from ..drawing.inspector import inspect

        inspect(bd, result, **options).save(self.path(f"{stem}.html"))
        return self.root / f"{stem}.html"

    def write_json(self, name: str, record: dict[str, Any]) -> Path:
        """Write a JSON file (numpy values converted)."""
        self.path(name).write_text(json.dumps(record, indent=2, default=to_json) + "\n")
        return self.root / name

    def write_results(self, results: dict[str, Any]) -> Path:
        """Write the record with the run's numbers and files, then move every file into place."""
        from .. import __version__

        record = {
            "lab" if self.lab else "owner": self.lab or self.owner,
            "lstmds_sim_version": __version__,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:]),
            **results,
            "files": sorted(set(self.written) - {self.record}),
        }
        self.write_json(self.record, record)
        self.commit()
        return self.root / self.record

    def commit(self) -> None:
        """Move the staged files into the folder, the record last; Ctrl-C waits until it is done."""
        with _sigint_deferred():
            (self.root / self.record).unlink(missing_ok=True)  # no record lists a half-replaced set
            for name in sorted(self.written, key=lambda n: n == self.record):
                target = self.root / name
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(self.staging / name, target)
        self.close()

    def close(self) -> None:
        """End the run: drop what was not committed, unlock the folder."""
        self._finalizer()

    def __enter__(self) -> OutputDir:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _try_lock(handle) -> bool:
    try:
        if os.name == "nt":
            import msvcrt

            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _release(lock, staging: Path) -> None:
    shutil.rmtree(staging, ignore_errors=True)
    lock.close()  # closing the file releases the lock


@contextlib.contextmanager
def _sigint_deferred():
    """Hold Ctrl-C back for the few milliseconds of a commit (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, lambda *_: None)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


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
