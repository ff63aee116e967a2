"""Progress of long work: a labelled tqdm bar on a terminal, one updating line in a notebook, plain lines otherwise.

Every long step of a lab (a training run, an optimisation, a long diagram run) reports through a
:class:`Reporter`. On a terminal it is a tqdm bar that shows its label from the start. In a Jupyter
kernel (a notebook, nbclient) it is one output of the cell, tqdm's text bar redrawn in place, so a
step of a thousand iterations leaves one line in the notebook, not a thousand. Elsewhere (a pipe, a
log file, CI) it prints plain lines, and with ``heartbeat_s`` it also prints a "still working" line
whenever nothing was printed for that long, so that no step is ever silent.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable

from .errors import ArgumentError

__all__ = ["HEARTBEAT_S", "ProgressCallback", "Reporter", "in_ci", "in_notebook", "run_with_progress", "task"]

ProgressCallback = Callable[[int, float, float], None]

#: After this many seconds without a line, a long step says it is still working (checked every second,
#: so the output is never silent for 10 s when it is not a terminal).
HEARTBEAT_S = 8.0


def in_ci() -> bool:
    """Whether the ``CI`` environment variable says this is a CI run (read, never written)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel (a notebook, JupyterLab, VS Code, nbclient): what it prints
    becomes outputs of a cell. Never imports IPython itself."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


class _CellLine:
    """One output of the running notebook cell, redrawn in place (IPython's display handle): tqdm's
    text bar with the label, the count, the time and what the work says about its point.

    Redrawn at most every :attr:`EVERY_S` seconds while the work goes on (a front end gets a few
    messages a second, not one per iteration), and always when it is closed; the notebook file keeps
    the last drawing.
    """

    EVERY_S = 0.25

    def __init__(self, label: str, total: int, unit: str):
        from IPython.display import display

        self.label, self.total, self.unit = label, total, unit
        self.n, self.text = 0, ""
        self.start = self._drawn = time.monotonic()
        self.handle = display({"text/plain": self.render()}, raw=True, display_id=True)

    def render(self, ending: str = "") -> str:
        from tqdm import tqdm

        line = tqdm.format_meter(self.n, self.total, time.monotonic() - self.start, prefix=self.label,
                                 unit=self.unit, postfix=self.text or None)
        return f"{line}  {ending}" if ending else line

    def show(self, n: int, text: str) -> None:
        self.n, self.text = n, text
        if time.monotonic() - self._drawn >= self.EVERY_S or n >= self.total:
            self.draw()

    def draw(self, ending: str = "") -> None:
        self.handle.update({"text/plain": self.render(ending)}, raw=True)
        self._drawn = time.monotonic()


class Reporter:
    """Progress between chunks of work: a tqdm bar on a terminal, one updating line in a notebook,
    plain lines otherwise.

    ``progress``: None/True (auto: a bar when stderr is a terminal and this is
    not CI; in a Jupyter kernel the notebook's line; else lines), False (silent),
    ``"bar"``, ``"notebook"``, ``"lines"``, or a callable ``progress(done, loss, lr)``
    (for :meth:`update`). ``label`` names the work on
    the bar and on every line, so that a lab running several trainings says which
    one is running.

    Options for work other than training (all off by default):

    ``every_s``
        In lines mode, print at most one line per ``every_s`` seconds (the last one,
        ``done == total``, is always printed): for work with many short steps.
    ``heartbeat_s``
        In lines mode, print ``LABEL: still working (N s, done/total UNIT)`` whenever
        nothing was printed for ``heartbeat_s`` seconds (from a background thread); on a
        bar or the notebook's line, redraw it every second, so that its elapsed time keeps
        counting.
    ``announce``
        In lines mode, print ``LABEL: TOTAL UNITs ...`` when the work starts and
        ``LABEL: done in N s`` when it is closed; in a notebook, end its line with
        ``done in N s``.

    Use it as a context manager, or call :meth:`close` at the end.
    """

    def __init__(self, progress, total: int, *, label: str = "training", unit: str = "epoch",
                 every_s: float = 0.0, heartbeat_s: float | None = None, announce: bool = False):
        self.total = total
        self.label = label
        self.unit = unit
        self.every_s = every_s
        self.announce = announce
        self.callback: ProgressCallback | None = None
        self.bar = None
        self.cell: _CellLine | None = None  # the notebook's line
        self.lines = False
        self.done = 0
        self._start = self._last_line = time.monotonic()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None
        self._pending: str | None = None  # the last line held back by every_s
        if callable(progress):
            self.callback = progress
            return
        if progress is False:
            return
        if progress in (None, True):
            progress = ("bar" if sys.stderr.isatty() and not in_ci() else
                        "notebook" if in_notebook() else "lines")
        if progress == "bar":
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc=label, unit=unit, file=sys.stderr, dynamic_ncols=True)
            self.bar.refresh()  # the label is on screen from the start, before the first chunk ends
        elif progress == "notebook":
            self.cell = _CellLine(label, total, unit)
        elif progress == "lines":
            self.lines = True
            if announce:
                self._print(f"{label}: {total} {unit}{'s' if total != 1 else ''} ...")
        else:
            raise ArgumentError("progress must be None, True, False, 'bar', 'notebook', 'lines' or a callable, "
                                f"got {progress!r}")
        if heartbeat_s:
            self._heartbeat = threading.Thread(target=self._beat, args=(heartbeat_s,), daemon=True)
            self._heartbeat.start()

    def update(self, done_total: int, done: int, loss: float, lr: float) -> None:
        """``done`` more epochs finished, ``done_total`` in all; the loss and rate at that point."""
        if self.callback is not None:
            self.callback(done_total, loss, lr)
        self.show(done_total, done, f"loss {loss:.3e}  lr {lr:.1e}")

    def show(self, done_total: int, done: int | None = None, text: str = "") -> None:
        """``done`` more units finished (default: up to ``done_total``), ``done_total`` in all; ``text``
        is what to say about that point (on the bar after the count, on a line after the count)."""
        done = done_total - self.done if done is None else done
        self.done = done_total
        if self.bar is not None:
            self.bar.set_postfix_str(text, refresh=False)
            self.bar.update(done)  # redraws, postfix included
        if self.cell is not None:
            with self._lock:
                self.cell.show(done_total, text)
        if self.lines:
            width = len(str(self.total))
            count = f"{self.label}: {self.unit} {done_total:>{width}}/{self.total}"
            self._pending = f"{count}  {text}" if text else count
            if not self.every_s or time.monotonic() - self._last_line >= self.every_s or done_total >= self.total:
                self._print(self._pending)
                self._pending = None

    def close(self) -> None:
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join()
            self._heartbeat = None
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        if self.cell is not None:
            self.cell.draw(f"done in {time.monotonic() - self._start:.1f} s" if self.announce else "")
            self.cell = None
        if self.lines and self._pending:  # the work ended between two lines: say where
            self._print(self._pending)
            self._pending = None
        if self.lines and self.announce:
            self.announce = False
            self._print(f"{self.label}: done in {time.monotonic() - self._start:.1f} s")

    def __enter__(self) -> Reporter:
        return self

    def __exit__(self, kind, *exc) -> None:
        if kind is not None:  # stopped (an error, Ctrl-C): no "done" line
            self.announce = False
        self.close()

    def _print(self, line: str) -> None:
        with self._lock:
            print(line, flush=True)
            self._last_line = time.monotonic()

    def _beat(self, every: float) -> None:
        while not self._stop.wait(min(1.0, every)):
            if self.bar is not None:
                self.bar.refresh()  # the elapsed time on the bar keeps counting during a long step
                continue
            if self.cell is not None:
                with self._lock:
                    self.cell.draw()
                continue
            now = time.monotonic()
            if now - self._last_line >= every:
                self._print(f"{self.label}: still working ({now - self._start:.0f} s, "
                            f"{self.done}/{self.total} {self.unit}{'s' if self.total != 1 else ''})")


def run_with_progress(bd, *, label: str, steps: int, progress=None, **options):
    """Run a diagram (:func:`lstmds_sim.core.engine.run`, ``options`` passed on) showing its steps:
    a bar labelled ``label`` on a terminal; elsewhere a line when it starts, at most one per 5 s
    while it runs (a "still working" line after 8 s of silence) and one when it is done."""
    from .engine import run

    with Reporter(progress, steps, label=label, unit="sample", every_s=5.0, heartbeat_s=HEARTBEAT_S,
                  announce=True) as reporter:
        return run(bd, progress=lambda k: reporter.show(k + 1), **options)


def task(label: str, total: int = 1, *, unit: str = "step", progress=None) -> Reporter:
    """A :class:`Reporter` for a few long steps of one job (writing a lab's figures, say): a bar on a
    terminal; elsewhere a line at the start, a "still working" line after 8 s of silence, one at the
    end. Call ``.show(done)`` after each step; use it as a context manager."""
    return Reporter(progress, total, label=label, unit=unit, heartbeat_s=HEARTBEAT_S, announce=True)
