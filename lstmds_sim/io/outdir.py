"""An output folder that a run owns while it runs and replaces all at once when it is done.

A run (a lab, or ``lstmds render NAME``) locks its folder before it computes
anything: a second run into the same folder is refused at once. Every file goes
to a staging folder inside it; only when the run is done are the files moved
into place, the run's record (``results.json``, or ``NAME.loops.json`` for a
render) last. Until then the previous run's files and record stand untouched,
so stopping a run at any moment (Ctrl-C, SIGTERM, SIGHUP, a crash) leaves them
valid. A file may be replaced only when the previous record of the same run
lists it: a user's own file, or another lab's, is never overwritten.

The commit is a journal: the staged record and a manifest (``.lstmds-commit.json``)
are on the disk before the first file moves, and interrupts wait until the
last has moved. A run killed outright during those milliseconds (SIGKILL, a
power cut) leaves its staging folder with the manifest; the next run into the
folder, holding the lock, finishes that commit before it starts, so the folder
never stays half-replaced. A staging folder without a manifest is the rest of
a run that never finished: the next run removes it.
"""

from __future__ import annotations

import datetime as _dt
import errno
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import weakref
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..core.atomic import describe_write_error, sync_folder, sync_path, write_file
from ..core.errors import FolderBusyError, WriteError

__all__ = ["COMMITTED", "RESULTS", "FolderBusyError", "OutputDir", "public_paths", "recover", "to_json"]

RESULTS = "results.json"
LOCK = ".lstmds.lock"
STAGING = ".lstmds-staging-"
MANIFEST = ".lstmds-commit.json"  # in a staging folder: its commit has begun (the record is staged)

#: The records committed by this process, in order (the CLI's interrupt line says whether a run got there).
COMMITTED: list[Path] = []

_STAGED = re.compile(r"[/\\]\.lstmds-staging-[^/\\\s'\"]*(?=[/\\\s'\",;:)]|$)")


def public_paths(text: str) -> str:
    """``text`` with a staging folder's name taken out of every path (``out/.lstmds-staging-x/a.png`` -> ``out/a.png``).

    Errors raised while a run writes name the file in its staging folder; the user knows the
    folder they gave (``--out``), where the file would have gone.
    """
    return _STAGED.sub("", text)


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
        if self.root.is_symlink() and not self.root.exists():
            raise NotADirectoryError(f"--out {self.root} is a symbolic link to {os.readlink(self.root)}, which does "
                                     "not exist; create that folder, or give another --out folder")
        if self.root.exists() and not self.root.is_dir():
            raise NotADirectoryError(f"--out {self.root} is a file; give a folder")
        blocker = next((p for p in self.root.parents if p.exists() and not p.is_dir()), None)
        if blocker is not None:
            raise NotADirectoryError(f"--out {self.root}: {blocker} is a file, not a folder; give another --out folder")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            lock = open(self.root / LOCK, "a+")
        except OSError as err:
            raise self._unwritable(err) from None
        if not _try_lock(lock):
            lock.close()
            raise FolderBusyError(f"another lstmds run is writing to {self.root}; wait for it to finish "
                                  "or choose another --out folder")
        try:  # we hold the lock: what a killed run left is ours to finish or remove
            recover(self.root)
            self.staging = Path(tempfile.mkdtemp(prefix=STAGING, dir=self.root))
        except OSError as err:
            lock.close()
            raise self._unwritable(err) from None
        self._finalizer = weakref.finalize(self, _release, lock, self.staging)
        self.previous = self._previous_files()
        self.written: list[str] = []

    def _unwritable(self, err: OSError) -> OSError:
        """One line for an output folder that cannot be written (read-only, full, or a file on the way)."""
        if isinstance(err, WriteError):
            return WriteError(public_paths(str(err)))
        if err.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
            return describe_write_error(err, self.root / LOCK, folder=self.root)
        holds = " (it holds a previous run, left as it was)" if (self.root / self.record).exists() else ""
        hint = f"make it writable (chmod u+w {self.root}) or " if self.root.is_dir() else ""
        return PermissionError(f"cannot write to the output folder {self.root}{holds}: {err.strerror}; "
                               f"{hint}choose another --out folder")

    def _previous_files(self) -> set[str]:
        """The files the previous record of this owner lists; refuses a record of anyone else."""
        target = self.root / self.record
        if not target.exists():
            return set()
        text, data = "", None
        try:
            text = target.read_text(errors="replace")
            data = json.loads(text)
        except (OSError, ValueError):
            pass
        if data is None and '"lstmds_sim_version"' in text:
            self.close()
            raise FileExistsError(
                f"{target} was written by lstmds but is cut short (a full disk, or a run of an older lstmds that "
                f"was killed), so the files it listed are unknown: move the folder's files away (or delete {target} "
                "and the files it named), or choose another --out folder")
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
        self._check_staging()
        if name not in self.written:
            self.written.append(name)
        staged = self.staging / name
        try:
            staged.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise describe_write_error(err, target) from None
        return staged

    def _check_staging(self) -> None:
        if not self.staging.is_dir():
            raise WriteError(f"the output folder {self.root} was removed (or its staging folder was) while the "
                             "run was writing to it; nothing was written: run again")

    def write_file(self, name: str, data: bytes | str) -> Path:
        """Stage ``data`` as output ``name`` (written all at once; errors name the file in the folder)."""
        write_file(self.path(name), data, overwrite=True, shown_as=self.root / name)
        return self.root / name

    def savefig(self, fig, stem: str, formats: Sequence[str] = ("png", "svg")) -> list[Path]:
        """Save a matplotlib figure as ``stem.png`` and ``stem.svg`` (no creation date, fixed SVG ids:
        the same figure gives the same bytes in every process)."""
        import io

        import matplotlib

        paths = []
        for fmt in formats:
            self.path(f"{stem}.{fmt}")  # a foreign file in the way is refused before drawing
            buffer = io.BytesIO()
            with matplotlib.rc_context({"svg.hashsalt": stem}):
                fig.savefig(buffer, format=fmt, dpi=150, bbox_inches="tight",
                            metadata={"Date": None} if fmt == "svg" else {})
            paths.append(self.write_file(f"{stem}.{fmt}", buffer.getbuffer()))
        return paths

    def render(self, diagram, stem: str, *, title: str | None = None) -> list[Path]:
        """Draw a block diagram with its feedback loops as ``stem.svg`` and ``stem.png``."""
        from ..drawing.render import render

        for fmt in ("svg", "png"):
            self.path(f"{stem}.{fmt}")
        try:
            render(diagram, self.staging / stem, title=title, formats=("svg", "png"))
        except OSError as err:  # named as the folder's file, not the staging folder's
            raise WriteError(public_paths(str(err))) from None
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

        page = inspect(bd, result, **options)
        return self.write_file(f"{stem}.html", page.html)

    def write_json(self, name: str, record: dict[str, Any]) -> Path:
        """Write a JSON file (numpy values converted)."""
        return self.write_file(name, json.dumps(record, indent=2, default=to_json) + "\n")

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
        """Move the staged files into the folder, the record last.

        Ctrl-C, SIGTERM and SIGHUP wait until it is done (then act as they would have). The
        staged files are flushed to the disk and a manifest written first, so a run killed
        outright in between is finished by the next run into the folder (:func:`recover`).
        """
        self._check_staging()
        missing = [name for name in self.written if not (self.staging / name).is_file()]
        if missing:
            raise WriteError(f"{self.root / missing[0]} was never written (out.path() was called for it and "
                             "nothing was saved there); write it, or leave it out")
        for name in self.written:
            sync_path(self.staging / name)  # the writers that made it (matplotlib, say) did not flush it
        manifest = json.dumps({"record": self.record, "files": self.written})
        with _SignalsDeferred() as deferred:
            write_file(self.staging / MANIFEST, manifest, overwrite=True, shown_as=self.root / MANIFEST)
            sync_folder(self.staging)
            try:  # from here on the commit is journalled: a failure leaves it to the next run to finish
                _move_into_place(self.root, self.staging, self.record, self.written)
            except OSError as err:
                raise WriteError(
                    f"{public_paths(str(err))}; the run's files wait in {self.staging}: the next lstmds run into "
                    f"{self.root} moves them into place") from None
            COMMITTED.append(self.root / self.record)
            self.close()
        deferred.replay()

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
    if not (staging / MANIFEST).exists():  # a commit that began is finished by the next run, never dropped
        shutil.rmtree(staging, ignore_errors=True)
    lock.close()  # closing the file releases the lock


def _move_into_place(root: Path, staging: Path, record: str, names: Sequence[str]) -> None:
    """Move the staged ``names`` into ``root``, the record last (after removing the old one, so no record
    lists a half-replaced set); a name no longer in staging was moved already. Removes the staging folder."""
    if (staging / record).exists():
        (root / record).unlink(missing_ok=True)
    for name in sorted(names, key=lambda n: n == record):
        source = staging / name
        if source.exists():
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)
    sync_folder(root)
    shutil.rmtree(staging, ignore_errors=True)


def recover(root) -> list[Path]:
    """Finish or remove what killed runs left in ``root`` (call it holding the folder's lock).

    A staging folder with a manifest (or, as runs of lstmds before the manifest left it, with a
    complete record of lstmds) was killed while its files were moved into place: they are moved
    now, the record last. Any other staging folder is a run that never finished: it is removed,
    and so are the temporary files of killed writers. Returns the records whose commit was finished.
    """
    root, finished = Path(root), []
    for staging in sorted(root.glob(STAGING + "*")):
        if not staging.is_dir():
            continue
        commit = _pending_commit(staging)
        if commit is None:
            shutil.rmtree(staging, ignore_errors=True)
            continue
        record, names = commit
        _move_into_place(root, staging, record, names)
        finished.append(root / record)
        print(f"lstmds: note: finished moving the files of a run that was stopped while committing them "
              f"({root / record})", file=sys.stderr)
    return finished


def _pending_commit(staging: Path) -> tuple[str, list[str]] | None:
    """``(record, files)`` of a staging folder whose commit began, else None."""
    try:
        manifest = json.loads((staging / MANIFEST).read_text())
        return manifest["record"], list(manifest["files"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    for candidate in staging.glob("*.json"):  # a record staged by an lstmds from before the manifest
        try:
            data = json.loads(candidate.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and "lstmds_sim_version" in data and isinstance(data.get("files"), list):
            files = [str(f) for f in data["files"]]
            if all((staging / f).is_file() or (staging.parent / f).is_file() for f in files):
                return candidate.name, files + [candidate.name]
    return None


#: The signals a commit holds back: Ctrl-C, and what a scheduler, ``timeout``, a container stop or a
#: closed terminal sends.
DEFERRED_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class _SignalsDeferred:
    """Hold Ctrl-C, SIGTERM and SIGHUP back for the few milliseconds of a commit (main thread only).

    A signal that arrives meanwhile is remembered; :meth:`replay` (called after the commit)
    raises it again, so its handler, or the system's default action, acts on it then.
    """

    def __enter__(self):
        self.pending: list[int] = []
        self.previous: dict[int, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for sig in DEFERRED_SIGNALS:
                handler = signal.getsignal(sig)
                if handler not in (signal.SIG_IGN, None):
                    self.previous[sig] = signal.signal(sig, self._remember)
        return self

    def _remember(self, signum, frame) -> None:
        if signum not in self.pending:
            self.pending.append(signum)

    def __exit__(self, *exc) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)

    def replay(self) -> None:
        for sig in self.pending:
            signal.raise_signal(sig)


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
