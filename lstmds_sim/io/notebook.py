"""``lstmds notebook NAME --out DIR``: a lab as a Jupyter notebook, executed, with its outputs.

Every lab file (``diagrams/NAME.py``) is a notebook in jupytext's percent format (see
docs/labs.md). This command reads it with jupytext, leaves out the cells meant for the script
only, runs the rest in a fresh ``python3`` kernel with nbclient (in a temporary working folder)
and writes ``DIR/NAME.ipynb`` with every output, through :class:`~lstmds_sim.io.outdir.OutputDir`
(record ``DIR/NAME.notebook.json``, so several notebooks can share a folder). A cell that raises
stops it: nothing is written, and the error is one line naming the cell.

That notebook is the teacher's edition: its exercise cells carry nbgrader's metadata and its
solutions are there, collapsed. ``--student`` writes the student's edition instead
(:mod:`~lstmds_sim.io.editions`, with nbgrader's own preprocessors): no solution, no output; the
teacher's edition is run first, so a lab whose checks fail on its own answers is never handed out,
and the numbers the lab's text quotes from the run (``{{name}}`` places outside the solutions) are
filled from that run (:func:`~lstmds_sim.io.exercise.kept_values`). With ``--no-execute`` nothing ran:
those places are left as they are, and a line on stderr says so.

jupytext, nbclient, nbformat and ipykernel are the ``notebook`` extra; they are imported only
when the command runs.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["EXTRA_HINT", "cmd_notebook", "hide_predictions", "lab_edition", "lab_notebook", "lab_path", "register", "run_notebook"]

EXTRA_HINT = "pip install 'lstmds-sim[notebook]'"
KERNEL = "python3"


def register(sub) -> None:
    """Add ``lstmds notebook`` to the CLI's subparsers ``sub`` (imports nothing heavy)."""
    from .lab import positive_int

    parser = sub.add_parser(
        "notebook", help="write a lab as a Jupyter notebook, executed with its outputs (NAME.ipynb)",
        description="Write the lab NAME as DIR/NAME.ipynb, executed in a fresh python3 kernel, with its text, "
                    "figures, exercises and (collapsed) solutions: the teacher's edition; --student writes the "
                    "student's. LSTMDS_QUICK=1 runs it with small settings.")
    parser.add_argument("name", help="the lab (lstmds list shows them)")
    parser.add_argument("--out", default=None,
                        help="folder (default: out/notebooks, or out/student with --student)")
    parser.add_argument("--timeout", type=positive_int, default=3600,
                        help="seconds a cell may run before the notebook is stopped (default: %(default)s)")
    parser.add_argument("--no-execute", action="store_true",
                        help="write the notebook without running it (the numbers its text quotes from the run "
                             "are left as {{name}} places)")
    parser.add_argument("--student", action="store_true",
                        help="write the student's edition: no solutions, unexecuted, made with nbgrader (the "
                             "teacher's edition is run first to check every answer, unless --no-execute)")
    parser.set_defaults(func=cmd_notebook)


def lab_path(name: str) -> Path:
    """The file of lab ``name`` (an unknown name is a one-line error listing the labs)."""
    import importlib.util

    from .cli import lab_names

    if name not in lab_names():
        from .cli import UsageError

        raise UsageError(f"no lab named {name!r}; the labs are: {', '.join(lab_names())} (lstmds list)")
    return Path(importlib.util.find_spec(f"lstmds_sim.diagrams.{name}").origin)


def lab_notebook(name: str):
    """Lab ``name`` as an ``nbformat`` notebook: its cells for notebooks, a python3 kernel, no outputs."""
    import jupytext

    nb = jupytext.read(lab_path(name), fmt="py:percent")
    nb.cells = [cell for cell in nb.cells if cell.metadata.get("active", "ipynb") != "py"]  # the script's own
    for cell in nb.cells:
        cell.metadata.pop("active", None)
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": "Python 3", "language": "python"}
    return nb


def run_notebook(nb, *, label: str, timeout: int = 3600, progress=None) -> float:
    """Execute ``nb`` in place in a fresh python3 kernel; the seconds it took.

    The kernel starts in a temporary folder and inherits the environment (``LSTMDS_QUICK``
    included); figures are drawn inline. Progress: a bar over the code cells on a terminal,
    else a line per cell and a "still working" line after 8 s of silence while a cell runs.
    Raises nbclient's ``CellExecutionError`` when a cell raises.
    """
    from nbclient import NotebookClient

    from ..core.progress import HEARTBEAT_S, Reporter

    code = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"]
    reporter = Reporter(progress, len(code), label=label, unit="cell", heartbeat_s=HEARTBEAT_S, announce=True)

    def starting(cell, cell_index, **_):
        if cell_index not in code:
            return
        first = next((line for line in cell.source.splitlines() if line.strip() and not line.startswith("#")), "")
        reporter.show(code.index(cell_index), text=f"running: {first[:60]}")

    env = dict(os.environ, MPLBACKEND="module://matplotlib_inline.backend_inline", PYDEVD_DISABLE_FILE_VALIDATION="1")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="lstmds-notebook-") as folder:
        client = NotebookClient(nb, timeout=timeout, kernel_name=KERNEL, allow_errors=False, record_timing=False,
                                on_cell_start=starting, resources={"metadata": {"path": folder}})
        log = Path(folder) / "kernel.log"  # the kernel's own stderr (its start-up chatter; why it died)
        finished = False
        try:
            with open(log, "w") as stderr:
                _execute_stoppably(client, cwd=folder, env=env, stderr=stderr)
            reporter.show(len(code))
            finished = True
        except Exception as err:
            last = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
            if type(err).__name__ == "DeadKernelError" and last:
                err.args = (f"{err} (the kernel said: {last[-1].strip()})",)
            raise
        finally:
            reporter.announce = reporter.announce and finished  # stopped: no "done" line
            reporter.close()
    return time.perf_counter() - start


def _execute_stoppably(client, **kwargs) -> None:
    """``client.execute(**kwargs)`` on a thread of its own, so that Ctrl-C, SIGTERM and SIGHUP stay this program's.

    On the main thread nbclient puts its own SIGINT and SIGTERM handlers in place (and afterwards
    Python's defaults, not the ones it found): a Ctrl-C then shuts the kernel down under the running
    cell and ends in a traceback. Off the main thread it cannot, so the signal reaches the ``lstmds``
    command as a KeyboardInterrupt here: the kernel is stopped, the thread waited for, and the
    interrupt goes on (one line, exit 130, 143 or 129, nothing written).
    """
    import threading

    outcome: dict = {}

    def work() -> None:
        try:
            client.execute(**kwargs)
        except BaseException as err:  # noqa: BLE001  (handed to the main thread, raised there)
            outcome["error"] = err

    thread = threading.Thread(target=work, name="lstmds-notebook", daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(0.25)
    except BaseException:
        _stop_kernel(client)
        thread.join(10)
        import atexit

        cleanup = getattr(client, "_cleanup_kernel", None)  # nbclient's, left registered when its clean-up failed
        if cleanup is not None:
            atexit.unregister(cleanup)
        raise
    if "error" in outcome:
        raise outcome["error"]


def _stop_kernel(client) -> None:
    """Kill the kernel of ``client`` (and so end its ``execute``); quietly, whatever state it is in."""
    import signal

    process = getattr(getattr(getattr(client, "km", None), "provisioner", None), "process", None)
    try:
        if process is not None:
            process.kill()
        else:
            pid = getattr(getattr(getattr(client, "km", None), "provisioner", None), "pid", None)
            if pid:
                os.kill(pid, signal.SIGKILL)
    except (OSError, ValueError):
        pass


def lab_edition(name: str, *, execute: bool = True, timeout: int = 3600, progress=None, kept: dict | None = None):
    """Lab ``name`` as the notebook ``lstmds notebook`` writes: ``(nb, seconds)``.

    The teacher's edition: its exercise cells carry nbgrader's metadata
    (:func:`~lstmds_sim.io.editions.mark_cells`); executed (unless ``execute`` is false; ``seconds`` is
    then None), its solutions' numbers filled in from the run (:func:`~lstmds_sim.io.exercise.fill`)
    and its ``predict`` cells shown empty. Raises nbclient's errors when a cell raises (the notebook is
    on the error as ``err.nb``), :class:`~lstmds_sim.io.exercise.SolutionTextError` for a solution
    asking for a number nothing kept, and :class:`~lstmds_sim.io.editions.EditionError` for exercise
    cells that break the convention (before anything runs). ``kept``, a dict, receives the values the
    cells outside the solutions kept (:func:`~lstmds_sim.io.exercise.kept_values`: what the text quotes).
    """
    from .editions import mark_cells
    from .exercise import fill, kept_values

    nb = lab_notebook(name)
    mark_cells(nb)  # the teacher's edition is an nbgrader source notebook; a broken convention stops here
    if not execute:
        return nb, None
    try:
        seconds = run_notebook(nb, label=f"notebook {name}", timeout=timeout, progress=progress)
    except Exception as err:
        err.nb = nb
        raise
    if kept is not None:
        kept.update(kept_values(nb))
    fill(nb)
    hide_predictions(nb)
    return nb, seconds


def hide_predictions(nb) -> int:
    """Clear the outputs of cells tagged ``predict`` (run, so they are checked, but the student predicts
    before seeing what they print); how many were cleared."""
    cleared = 0
    for cell in nb.cells:
        if cell.cell_type == "code" and "predict" in cell.metadata.get("tags", []):
            cell["outputs"], cell["execution_count"] = [], None
            cleared += 1
    return cleared


def _error_line(err, nb) -> str:
    """One line for a failed cell: which cell, and the exception's last line."""
    index = next((i for i, cell in enumerate(nb.cells) if any(o.get("output_type") == "error"
                                                               for o in cell.get("outputs", []))), None)
    where = f"cell {index + 1} of {len(nb.cells)}" if index is not None else "a cell"
    what = f"{getattr(err, 'ename', type(err).__name__)}: {getattr(err, 'evalue', err)}"
    return " ".join(f"{where} raised {what}".split())


def cmd_notebook(args) -> int:
    lab_path(args.name)  # an unknown lab: one line before anything starts
    edition = "student's" if getattr(args, "student", False) else "teacher's"
    # the first line at once: the imports below and the kernel's start take seconds, more on a busy machine
    starting = "" if args.no_execute else ", starting a python3 kernel"
    print(f"notebook {args.name}: the {edition} edition; reading the lab{starting}", flush=True)
    try:
        import jupytext  # noqa: F401
        import nbclient  # noqa: F401
        import nbformat
    except ModuleNotFoundError as err:
        print(f"lstmds: error: lstmds notebook needs {err.name}: {EXTRA_HINT}", file=sys.stderr)
        return 2
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    from ..diagrams import quick
    from .editions import COURSE_HINT, EditionError, student_edition
    from .exercise import SolutionTextError, fill, prose_places
    from .outdir import OutputDir

    name = args.name
    student = getattr(args, "student", False)
    if student:
        try:
            import nbgrader.converters.generate_assignment  # noqa: F401  (nbgrader and what it needs)
        except ModuleNotFoundError as err:
            print(f"lstmds: error: lstmds notebook --student needs {(err.name or 'nbgrader').split('.')[0]} "
                  f"(nbgrader's preprocessors): "
                  f"{COURSE_HINT}", file=sys.stderr)
            return 2
    folder = args.out or ("out/student" if student else "out/notebooks")
    with OutputDir(folder, record=f"{name}.notebook.json", owner=f"notebook {name}") as out:
        try:
            kept: dict = {}
            nb, seconds = lab_edition(name, execute=not args.no_execute, timeout=args.timeout, kept=kept)
            if student:  # made from the unexecuted notebook; the run above checked that every answer is right
                nb = student_edition(lab_edition(name, execute=False)[0])
                if seconds is not None:
                    fill(nb, values=kept)  # the text's numbers, from the teacher's run
        except (CellExecutionError, CellTimeoutError, DeadKernelError) as err:
            print(f"lstmds: error: notebook {name}: {_error_line(err, err.nb)}; nothing written "
                  f"(lstmds run {name} shows the traceback with LSTMDS_TRACEBACK=1)", file=sys.stderr)
            return 1
        except (SolutionTextError, EditionError) as err:
            print(f"lstmds: error: notebook {name}: {err}; nothing written", file=sys.stderr)
            return 1
        unfilled = prose_places(nb)
        if unfilled:  # --no-execute: nothing ran to fill them
            print(f"lstmds: note: notebook {name}: not executed, so the {len(unfilled)} numbers its text quotes from "
                  f"the run are left as {{{{name}}}} places (run without --no-execute to fill them)", file=sys.stderr)
        text = nbformat.writes(nb)
        out.write_file(f"{name}.ipynb", text if text.endswith("\n") else text + "\n")  # as nbformat.write
        code = [c for c in nb.cells if c.cell_type == "code"]
        out.write_results({
            "notebook": f"{name}.ipynb", "edition": "student" if student else "teacher",
            "executed": seconds is not None and not student, "checked": seconds is not None,
            "execution_s": seconds, "quick": quick(), "kernel": KERNEL,
            "cells": len(nb.cells), "code_cells": len(code),
            "markdown_cells": sum(c.cell_type == "markdown" for c in nb.cells),
            "solution_cells": sum("solution" in c.metadata.get("tags", []) for c in nb.cells),
            "error_outputs": sum(o.get("output_type") == "error" for c in code for o in c.get("outputs", [])),
        })
    took = f" (executed in {seconds:.0f} s)" if seconds is not None else " (not executed)"
    if student:
        took = (f" (student's edition, unexecuted; the teacher's passed every check in {seconds:.0f} s)"
                if seconds is not None else " (student's edition, unexecuted; not checked: --no-execute)")
    print(f"files in {out.root}: {name}.ipynb, {name}.notebook.json{took}")
    return 0
