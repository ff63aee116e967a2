"""The ``lstmds`` command: list the labs, run one, render a lab's diagram.

    lstmds list
    lstmds run lstm_layer --out out/lstm_layer
    lstmds render lstm_layer --out out/render
    lstmds run diagram.bd --out out/diagram --T 5     (a diagram drawn in bdsim's editor, bdedit)
    lstmds scenario --eps 0.01 --beta 1e-6 --rho-u 0.5 1.0 --model out/ph_identification/lstm_iss_model.npz

A mistake in what the user gave (an option, a file, a folder, a shape or a
value) ends the command with one line on stderr and exit status 2
(``-v`` adds how to see the traceback; ``LSTMDS_TRACEBACK=1`` shows it).
Ctrl-C ends it with one line and exit status 130, SIGTERM with 143, SIGHUP with 129
(the same path: every clean-up runs); the output folder keeps the previous run's
files, or the line says that the run was complete (docs/durability.md). A reader that closes the pipe early (``lstmds list | head -1``)
ends it silently with status 141, as it would a Unix filter.
"""

from __future__ import annotations

import argparse
import atexit
import gc
import importlib
import math
import os
import pkgutil
import re
import signal
import sys
from pathlib import Path

from ..core.errors import LSTMDSError
from .lab import LabParser

#: Mistakes in what the user gave (files and folders; shapes, values and parameters, which
#: lstmds reports as ValueError/TypeError subclasses): one line on stderr and exit status 2.
USER_ERRORS = (OSError, ValueError, TypeError, LSTMDSError)  # LSTMDSError: every error raised on purpose


class UsageError(LSTMDSError, ValueError):
    """A command-line mistake (an unknown lab, say)."""


def lab_names() -> list[str]:
    """The labs ``lstmds run`` knows, in teaching order (``diagrams.LABS``), then any others by name."""
    from .. import diagrams

    found = {m.name for m in pkgutil.iter_modules(diagrams.__path__) if not m.name.startswith("_")}
    ordered = [name for name in getattr(diagrams, "LABS", ()) if name in found]
    return ordered + sorted(found - set(ordered))


def load_lab(name: str):
    names = lab_names()
    if name not in names and ("/" in name or os.sep in name or "." in name):
        raise UsageError(f"{name!r} is neither a lab nor a diagram file: give a lab name (lstmds list) or a FILE.bd "
                         "drawn in bdsim's editor, bdedit")
    if name not in names:
        raise UsageError(f"no lab named {name!r}; the labs are: {', '.join(names)} (lstmds list)")
    return importlib.import_module(f"lstmds_sim.diagrams.{name}")


def _summary(module) -> str:
    doc = (module.__doc__ or "").strip()
    return doc.splitlines()[0] if doc else ""


def cmd_list(args) -> int:
    for name in lab_names():
        print(f"{name:<20} {_summary(load_lab(name))}")
    return 0


def cmd_run(args) -> int:
    if is_bd_file(args.name):
        return run_bd_file(args.name, args.lab_args)
    load_lab(args.name).main(args.lab_args)
    return 0


def cmd_render(args) -> int:
    from ..drawing.graph import find_feedback_loops, graph_from_blockdiagram
    from .lab import use_headless_backend
    from .outdir import OutputDir

    use_headless_backend()
    name, owner, diagram = args.name, args.name, None
    if is_bd_file(args.name):  # a diagram drawn in bdedit: FILE.bd -> FILE.svg, FILE.png, FILE.loops.json
        name, owner = Path(args.name).stem, Path(args.name).name
        diagram = load_bd_file(args.name, args.unsafe)  # a bad file is refused before the folder is touched
    else:
        module = load_lab(args.name)
        if not hasattr(module, "build_diagram"):
            raise UsageError(f"lab {args.name!r} has no diagram to render")
    with OutputDir(args.out, record=f"{name}.loops.json", owner=f"render {owner}") as out:
        graph = graph_from_blockdiagram(diagram if diagram is not None else module.build_diagram())
        loops = find_feedback_loops(graph)
        paths = out.render(graph, name, title=args.title or f"{name}: feedback loops")
        for loop in loops:
            print(f"loop closed by '{loop.delay}': {len(loop.nodes)} blocks")
        paths.append(out.write_results({
            "diagram": name,
            "blocks": len(graph.nodes),
            "loops": [{"delay": loop.delay, "blocks": sorted(loop.nodes)} for loop in loops],
        }))
    print("written: " + ", ".join(str(p) for p in paths))
    return 0


# --------------------------------------------------------------------------- #
# Diagrams drawn in bdsim's editor (bdedit): lstmds run / render / inspect FILE.bd
# --------------------------------------------------------------------------- #

UNSAFE_HELP = ("(FILE.bd) evaluate the file's expressions with Python's eval, as bdsim does: this runs any code the "
               "file holds, so use it only for files you trust (default: safe mode, docs/bdfiles.md)")
DEFAULT_T = 10.0  # seconds simulated when neither --T nor the file says


def is_bd_file(name: str) -> bool:
    """Whether a command's NAME is a diagram drawn in bdsim's editor (FILE.bd) rather than a lab."""
    return name.lower().endswith(".bd")


def load_bd_file(path: str, unsafe: bool = False):
    """The diagram in FILE.bd (:func:`lstmds_sim.load`), in safe mode unless ``unsafe``."""
    from ..core.bdfile import load

    return load(path, safe=not unsafe)


def positive_seconds(text: str) -> float:
    """argparse type: a finite number of seconds > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds > 0, got {text}")
    return value


def bd_timing(bd, path: str, T: float | None = None, dt: float | None = None) -> dict:
    """How long and in what steps to run a loaded FILE.bd: ``{"T", "T_from", "dt", "steps"}``.

    ``T``: the option, else the file's ``simulation_time``, else 10 s; the step ``dt``: the option, else
    the clocks' base period (1 s for a diagram with neither clocks nor continuous states); steps = round(T/dt).
    """
    from ..core.bdsim_adapter import clock_of, compile_diagram
    from ..core.engine import analyse

    compile_diagram(bd)
    continuous = [b.name for b in bd.blocklist if b.blockclass == "continuous"]
    if dt is None and continuous and not any(clock_of(b) is not None for b in bd.blocklist):
        names = ", ".join(f"'{n}'" for n in continuous[:3]) + (", ..." if len(continuous) > 3 else "")
        raise UsageError(f"{path}: the diagram has continuous states (block {names}) and no clock: "
                         "give the output time step, e.g. --dt 0.01")
    h = analyse(bd, 1, dt=dt).h
    T_from = "--T" if T is not None else "the file" if bd.bdfile.simulation_time is not None else "default"
    T = T if T is not None else bd.bdfile.simulation_time or DEFAULT_T
    steps = round(T / h)
    if steps < 1:
        raise UsageError(f"{path}: T = {T:g} s is shorter than one step ({h:g} s); give a longer --T or a shorter --dt")
    return {"T": T, "T_from": T_from, "dt": h, "steps": steps}


def _file_stem(name: str, taken: set) -> str:
    """A file name made of a block's name (letters, digits, - _ .), unique among ``taken``."""
    stem = re.sub(r"[^\w.-]+", "_", name).strip("._") or "scope"
    unique, n = stem, 2
    while unique.lower() in taken:
        unique, n = f"{stem}_{n}", n + 1
    taken.add(unique.lower())
    return unique


def run_bd_file(path: str, argv) -> int:
    """``lstmds run FILE.bd``: run the diagram, write results.json (the recorded signals) and each SCOPE's PNG."""
    import numpy as np

    from ..core.progress import HEARTBEAT_S, Reporter
    from .lab import LabParser, use_headless_backend
    from .outdir import OutputDir

    stem = Path(path).stem
    parser = LabParser(prog=f"lstmds run {path}",
                       description="Run a diagram drawn in bdsim's editor (bdedit): results.json holds t, every "
                                   "RECORDER and WATCH, every SCOPE's inputs and the events; each SCOPE's figure "
                                   "is written as a PNG.")
    parser.add_argument("--out", default=f"out/{stem}", help="folder for the figures and results.json "
                                                            "(default: %(default)s)")
    parser.add_argument("--T", type=positive_seconds, default=None, metavar="SECONDS",
                        help=f"time to simulate (default: the file's simulation_time, else {DEFAULT_T:g} s)")
    parser.add_argument("--dt", type=positive_seconds, default=None, metavar="STEP",
                        help="output time step in seconds (default: the clocks' base period; required for a "
                             "diagram with continuous states and no clock)")
    parser.add_argument("--unsafe", action="store_true", help=UNSAFE_HELP)
    args = parser.parse_args(argv)

    use_headless_backend()
    bd = load_bd_file(path, args.unsafe)  # a bad file is refused before the folder is touched
    timing = bd_timing(bd, path, args.T, args.dt)
    with OutputDir(args.out, lab=Path(path).name) as out:
        from ..core.engine import run

        sources = {}  # SCOPE name -> the signals on its inputs (named as signal_names names them)
        for w in sorted(bd.wirelist, key=lambda w: w.end.port):
            if w.end.block.type in ("scope", "scopexy", "scopexy1"):
                src = w.start.block
                sources.setdefault(w.end.block.name, []).append(src.name if w.start.port == 0
                                                                else f"{src.name}[{w.start.port}]")
        probes = sorted({name for names in sources.values() for name in names})
        steps = timing["steps"]
        label = Path(path).name
        with Reporter(None, steps, label=label, unit="step", every_s=5.0, heartbeat_s=HEARTBEAT_S,
                      announce=True) as reporter:
            result = run(bd, steps, dt=timing["dt"], probes=probes, progress=lambda k: reporter.show(k + 1))

        import matplotlib.pyplot as plt

        taken, scopes, written = {"results.json"}, {}, []
        for name, fig in result.figures.items():
            file_stem = _file_stem(name, taken)
            written += out.savefig(fig, file_stem, formats=("png",))
            plt.close(fig)
            scopes[name] = {"inputs": sources.get(name, []), "figure": f"{file_stem}.png"}
        source = "the default: no --T, none in the file" if timing["T_from"] == "default" else f"from {timing['T_from']}"
        print(f"{path}: T = {timing['T']:g} s ({source}), {steps} steps of {timing['dt']:g} s, "
              f"{'unsafe' if args.unsafe else 'safe'} mode")
        for name, scope in scopes.items():
            print(f"  SCOPE '{name}': {', '.join(scope['inputs'])} -> {scope['figure']}")
        for name, values in result.recorders.items():
            print(f"  '{name}': {values.shape[0]} values, last {np.array2string(np.asarray(values[-1]), precision=6)}")
        for t, block in result.events:
            print(f"  event at t = {t:.6g} s: '{block}'")
        written.append(out.write_results({
            "diagram": stem, "file": str(path), "safe": not args.unsafe,
            "T": timing["T"], "T_from": timing["T_from"], "dt": timing["dt"], "steps": steps,
            "t": result.t,
            "signals": {name: result.signals[name] for name in probes},
            "recorders": dict(result.recorders),
            "scopes": scopes,
            "events": [{"t": t, "block": block} for t, block in result.events],
            "t_stop": result.t_stop,
        }))
    print("written: " + ", ".join(str(p) for p in written))
    return 0


#: Modules that add a subcommand: each has ``register(sub)``, which adds its parser to the
#: subparsers ``sub`` (``parser_class=LabParser``) and sets ``func(args) -> int`` as its default.
COMMAND_MODULES = (
    "lstmds_sim.io.notebook",   # lstmds notebook NAME --out DIR
    "lstmds_sim.io.inspector",  # lstmds inspect NAME --out DIR
    "lstmds_sim.io.live",       # lstmds live NAME [--port N] [--no-browser]
    "lstmds_sim.io.convert",    # lstmds convert IN OUT
    "lstmds_sim.io.book",       # lstmds book --out DIR
    "lstmds_sim.io.results_page",  # lstmds results --run | --from DIR --out docs/results.md
)


def _register_commands(sub) -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name != name:  # a dependency of the module is missing: that is an error
                raise
            continue  # not written yet
        module.register(sub)


def _parser() -> argparse.ArgumentParser:
    parser = LabParser(prog="lstmds", description="LSTM as a dynamical system: block-diagram labs")
    parser.add_argument("-v", "--verbose", action="store_true", help="on an error, say how to see the traceback")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=LabParser)
    sub.add_parser("list", help="list the labs, in teaching order").set_defaults(func=cmd_list)
    labs = ", ".join(lab_names())
    p_run = sub.add_parser(
        "run", help="run a lab (diagram script) or a FILE.bd; options after the name go to the lab",
        description="Run a lab. Options after its name go to the lab: lstmds run NAME --help lists them.",
        epilog=f"labs: {labs}; or FILE.bd, a diagram drawn in bdsim's editor (lstmds run FILE.bd --help)")
    p_run.add_argument("name", help="the lab, or FILE.bd")
    p_run.add_argument("lab_args", nargs=argparse.REMAINDER)
    p_run.set_defaults(func=cmd_run)
    p_scenario = sub.add_parser(
        "scenario", add_help=False,
        help="the scenario-approach safety sweep (lab scenario_safety); options: --eps --beta --rho-u --model ...")
    p_scenario.set_defaults(func=cmd_run, name="scenario_safety", lab_args=[])
    p_render = sub.add_parser("render", help="draw a lab's diagram with its feedback loops (SVG and PNG)",
                              epilog=f"labs: {labs}; or FILE.bd, a diagram drawn in bdsim's editor (bdedit)")
    p_render.add_argument("name", help="the lab whose diagram to draw, or FILE.bd")
    p_render.add_argument("--out", default="out/render", help="folder (default: %(default)s)")
    p_render.add_argument("--title", default=None)
    p_render.add_argument("--unsafe", action="store_true", help=UNSAFE_HELP)
    p_render.set_defaults(func=cmd_render)
    _register_commands(sub)
    return parser


#: The signals that stop a command as Ctrl-C does: what a scheduler, ``timeout``, a container stop
#: (SIGTERM) or a closed terminal (SIGHUP) sends. Each ends it with one line and status 128 + its number.
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class _InterruptWatch:
    """SIGINT raises KeyboardInterrupt as Python's own handler does; SIGTERM and SIGHUP raise
    :class:`~lstmds_sim.core.errors.Terminated`, a KeyboardInterrupt, so every clean-up a Ctrl-C
    runs (a run's staging folder removed, a file half-written dropped, workers stopped) runs for
    them too. The first signal is remembered (``seen``: its number).

    A Ctrl-C that lands while a compiled extension initialises reaches the command
    as that extension's ``ImportError`` ("initialization failed"), not as a
    KeyboardInterrupt; remembering the signal lets the command still say that it
    was interrupted. A handler someone else set (``nohup``'s SIGHUP ignored, say) is left alone.
    """

    def __init__(self):
        self.seen = None
        outdir = sys.modules.get("lstmds_sim.io.outdir")
        self.commits_before = len(outdir.COMMITTED) if outdir is not None else 0  # this command's come after

    def __call__(self, signum, frame):
        from ..core.errors import Terminated

        if self.seen is None:
            self.seen = signum
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise Terminated(signum)

    def unraisable(self, info) -> None:
        """A signal's KeyboardInterrupt raised inside a finalizer or a weakref callback, where Python can only
        ignore it (and print a traceback): ignored quietly, the signal remembered; anything else as before."""
        if isinstance(info.exc_value, KeyboardInterrupt) and self.seen is not None:
            return
        self.previous_hook(info)

    def __enter__(self):
        self.previous_hook = sys.unraisablehook
        sys.unraisablehook = self.unraisable
        self.previous = {}
        for sig in STOP_SIGNALS:
            current = signal.getsignal(sig)
            if current is (signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL):
                self.previous[sig] = current
                signal.signal(sig, self)
        return self

    def __exit__(self, *exc):
        for sig, previous in self.previous.items():
            if signal.getsignal(sig) is self:
                signal.signal(sig, previous)
        if sys.unraisablehook == self.unraisable:
            sys.unraisablehook = self.previous_hook


INTERRUPTED = 130  # the shell's status for a command ended by Ctrl-C (128 + SIGINT)
TERMINATED = 143   # ... by SIGTERM (128 + 15)
HUNG_UP = 129      # ... by SIGHUP (128 + 1), a closed terminal
PIPE_CLOSED = 141  # ... and for one whose reader closed the pipe (128 + SIGPIPE), as `head` leaves `yes`
STOPPED = (INTERRUPTED, TERMINATED, HUNG_UP)


def _stopped(err: BaseException | None, args, watch: _InterruptWatch) -> int:
    """Say in one line that a signal stopped the command, and what stands on the disk; its exit status."""
    signum = getattr(err, "signum", None) or watch.seen or signal.SIGINT
    what = {signal.SIGINT: "interrupted"}.get(signum) or f"stopped by {signal.Signals(signum).name}"
    outdir = sys.modules.get("lstmds_sim.io.outdir")
    done = outdir.COMMITTED[watch.commits_before:] if outdir is not None else []
    if done:
        line = f"lstmds: {what} after the run was complete: its files are in {done[-1].parent}"
    elif getattr(args, "command", None) == "convert":
        line = (f"lstmds: {what}; {args.output} was not written"
                + (" (the file there is as it was)" if os.path.lexists(args.output) else ""))
    else:
        line = f"lstmds: {what}; the output folder keeps the files of the previous run"
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError):  # SIGHUP: the terminal may be gone
        pass
    return 128 + int(signum)


def main(argv=None) -> int:
    from ..core.allocator import tune_allocator

    watch, args = _InterruptWatch(), None
    try:
        with watch:
            parser = _parser()
            args, extra = parser.parse_known_args(argv)
            if extra and args.command == "run":
                parser.error(_options_before_name(argv if argv is not None else sys.argv[1:], extra))
            if extra and args.command != "scenario":
                parser.error(f"unrecognized arguments: {' '.join(extra)}")
            if args.command == "scenario":
                args.lab_args = extra  # everything after "scenario" goes to the lab
            tune_allocator()  # batched steps run several times faster (see lstmds_sim.core.allocator)
            try:
                return args.func(args)
            except BaseException as err:  # noqa: BLE001  (_ended re-raises what is no mistake of the user's)
                return _ended(err, args, watch, argv)
    except KeyboardInterrupt as err:  # one that landed outside the command: parsing, the guard's exit
        return _stopped(err, args, watch)


def _options_before_name(argv, extra) -> str:
    """``lstmds run --out DIR NAME``: say that a lab's options follow its name, with the command in order."""
    words = list(argv)
    rest = words[words.index("run") + 1:] if "run" in words else words
    name = next((w for w in rest if not w.startswith("-") and (w in lab_names() or is_bd_file(w))), None)
    if name is None:
        return f"unrecognized arguments: {' '.join(extra)} (a lab's options go after its name: lstmds run NAME --out DIR)"
    rest.remove(name)
    return (f"{' '.join(extra)} before the lab's name: a lab's options go after it: "
            f"lstmds run {name} {' '.join(rest)}".rstrip())


def _ended(err: BaseException, args, watch: _InterruptWatch, argv) -> int:
    """The exit status of a command that raised ``err``, after one line on stderr (or re-raise it)."""
    if isinstance(err, KeyboardInterrupt) or (watch.seen and isinstance(err, Exception)):
        return _stopped(err, args, watch)
    if isinstance(err, BrokenPipeError) and argv is None:  # `lstmds list | head -3`: the reader left
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return PIPE_CLOSED
    if not isinstance(err, USER_ERRORS) or os.environ.get("LSTMDS_TRACEBACK"):
        raise err
    from .outdir import public_paths

    notes = " ".join(getattr(err, "__notes__", []))  # e.g. the step at which a diagram failed
    message = public_paths(" ".join(f"{err}{' ' + notes if notes else ''}".split()))  # one line
    print(f"lstmds: error: {message}", file=sys.stderr)
    if args.verbose:
        print("(set LSTMDS_TRACEBACK=1 for the traceback)", file=sys.stderr)
    return 2


def entry() -> None:
    """The ``lstmds`` program: :func:`main`, then exit with its status.

    After a Ctrl-C the process leaves with ``os._exit``: CPython remembers a
    KeyboardInterrupt raised inside code it ran for an extension module even when
    the command handled it, and would otherwise end the process by SIGINT instead
    of with status 130 (seen about once in ten interrupts during start-up).
    """
    status = main()
    for sig in STOP_SIGNALS:  # the command is over: a signal now changes nothing on the disk, and says nothing
        if signal.getsignal(sig) in (signal.default_int_handler, signal.SIG_DFL):
            signal.signal(sig, _quiet_exit(status))
    # Leave with os._exit after the exit handlers, finished or stopped: Python's own shutdown puts the default
    # signal handlers back before it tears down the native libraries (XLA's threads take a while), and a
    # signal then would end the process by that signal, not with the command's status
    _flush()
    if status in STOPPED:
        # what a normal exit would do first: the interrupted run's objects are collected, so their
        # finalizers run (an output folder's staging files are removed and its lock released). The one line
        # is said: what a library's exit handler might print now (a worker's, a kernel's) is silenced
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stderr.fileno())
        except (OSError, ValueError):
            pass
        gc.collect()
    _bounded(atexit._run_exitfuncs, EXIT_HANDLERS_S)  # a library's clean-up that hangs cannot keep it alive
    _flush()
    os._exit(status)


def _flush() -> None:
    """Flush stdout and stderr (quietly, if the terminal or the pipe is gone)."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


EXIT_HANDLERS_S = 10.0  # seconds the exit handlers of a command may take


def _bounded(function, seconds: float) -> None:
    """Call ``function`` on a daemon thread and wait at most ``seconds`` for it."""
    import threading

    thread = threading.Thread(target=function, name="lstmds-exit", daemon=True)
    thread.start()
    thread.join(seconds)


def _quiet_exit(status: int):
    """The handler for a signal after the command ended: leave at once, with the command's own ``status``
    (the work is done, or was stopped already), without a traceback or a second line."""

    def leave(signum, frame) -> None:
        os._exit(status)

    return leave


if __name__ == "__main__":
    entry()
