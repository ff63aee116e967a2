"""The ``lstmds`` command: list the labs, run one, render a lab's diagram.

    lstmds list
    lstmds run lstm_layer --out out/lstm_layer
    lstmds render lstm_layer --out out/render
    lstmds scenario --eps 0.01 --beta 1e-6 --rho-u 0.5 1.0 --model out/ph_identification/lstm_iss_model.npz

A mistake in what the user gave (an option, a file, a folder, a shape or a
value) ends the command with one line on stderr and exit status 2
(``-v`` adds how to see the traceback; ``LSTMDS_TRACEBACK=1`` shows it).
Ctrl-C ends it with one line and exit status 130; the output folder keeps the
previous run's files. A reader that closes the pipe early (``lstmds list | head -1``)
ends it silently with status 141, as it would a Unix filter.
"""

from __future__ import annotations

import argparse
import atexit
import gc
import importlib
import os
import pkgutil
import signal
import sys

from ..core.errors import LSTMDSError
from .lab import LabParser

#: Mistakes in what the user gave (files and folders; shapes, values and parameters, which
#: lstmds reports as ValueError/TypeError subclasses): one line on stderr and exit status 2.
USER_ERRORS = (OSError, ValueError, TypeError)


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
    load_lab(args.name).main(args.lab_args)
    return 0


def cmd_render(args) -> int:
    from ..drawing.graph import find_feedback_loops, graph_from_blockdiagram
    from .lab import use_headless_backend
    from .outdir import OutputDir

    use_headless_backend()
    module = load_lab(args.name)
    if not hasattr(module, "build_diagram"):
        raise UsageError(f"lab {args.name!r} has no diagram to render")
    with OutputDir(args.out, record=f"{args.name}.loops.json", owner=f"render {args.name}") as out:
        graph = graph_from_blockdiagram(module.build_diagram())
        loops = find_feedback_loops(graph)
        paths = out.render(graph, args.name, title=args.title or f"{args.name}: feedback loops")
        for loop in loops:
            print(f"loop closed by '{loop.delay}': {len(loop.nodes)} blocks")
        paths.append(out.write_results({
            "diagram": args.name,
            "blocks": len(graph.nodes),
            "loops": [{"delay": loop.delay, "blocks": sorted(loop.nodes)} for loop in loops],
        }))
    print("written: " + ", ".join(str(p) for p in paths))
    return 0


#: Modules that add a subcommand: each has ``register(sub)``, which adds its parser to the
#: subparsers ``sub`` (``parser_class=LabParser``) and sets ``func(args) -> int`` as its default.
COMMAND_MODULES = (
    "lstmds_sim.io.notebook",   # lstmds notebook NAME --out DIR
    "lstmds_sim.io.inspector",  # lstmds inspect NAME --out DIR
    "lstmds_sim.io.convert",    # lstmds convert IN OUT
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
        "run", help="run a lab (diagram script); options after the name go to the lab",
        description="Run a lab. Options after its name go to the lab: lstmds run NAME --help lists them.",
        epilog=f"labs: {labs}")
    p_run.add_argument("name", help="the lab")
    p_run.add_argument("lab_args", nargs=argparse.REMAINDER)
    p_run.set_defaults(func=cmd_run)
    p_scenario = sub.add_parser(
        "scenario", add_help=False,
        help="the scenario-approach safety sweep (lab scenario_safety); options: --eps --beta --rho-u --model ...")
    p_scenario.set_defaults(func=cmd_run, name="scenario_safety", lab_args=[])
    p_render = sub.add_parser("render", help="draw a lab's diagram with its feedback loops (SVG and PNG)",
                              epilog=f"labs: {labs}")
    p_render.add_argument("name", help="the lab whose diagram to draw")
    p_render.add_argument("--out", default="out/render", help="folder (default: %(default)s)")
    p_render.add_argument("--title", default=None)
    p_render.set_defaults(func=cmd_render)
    _register_commands(sub)
    return parser


class _InterruptWatch:
    """SIGINT raises KeyboardInterrupt as Python's own handler does, and is remembered.

    A Ctrl-C that lands while a compiled extension initialises reaches the command
    as that extension's ``ImportError`` ("initialization failed"), not as a
    KeyboardInterrupt; remembering the signal lets the command still say that it
    was interrupted.
    """

    def __init__(self):
        self.seen = False

    def __call__(self, signum, frame):
        self.seen = True
        raise KeyboardInterrupt

    def __enter__(self):
        self.previous = signal.getsignal(signal.SIGINT)
        if self.previous is signal.default_int_handler:  # leave a handler someone else set alone
            signal.signal(signal.SIGINT, self)
        return self

    def __exit__(self, *exc):
        if signal.getsignal(signal.SIGINT) is self:
            signal.signal(signal.SIGINT, self.previous)


INTERRUPTED = 130  # the shell's status for a command ended by Ctrl-C (128 + SIGINT)
PIPE_CLOSED = 141  # ... and for one whose reader closed the pipe (128 + SIGPIPE), as `head` leaves `yes`


def main(argv=None) -> int:
    from ..core.allocator import tune_allocator

    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "scenario":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "scenario":
        args.lab_args = extra  # everything after "scenario" goes to the lab
    tune_allocator()  # batched steps run several times faster (see lstmds_sim.core.allocator)
    with _InterruptWatch() as interrupt:
        try:
            return args.func(args)
        except BaseException as err:
            if isinstance(err, KeyboardInterrupt) or (interrupt.seen and isinstance(err, Exception)):
                print("lstmds: interrupted; the output folder keeps the files of the previous run", file=sys.stderr)
                return INTERRUPTED
            if isinstance(err, BrokenPipeError) and argv is None:  # `lstmds list | head -3`: the reader left
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
                return PIPE_CLOSED
            if not isinstance(err, USER_ERRORS) or os.environ.get("LSTMDS_TRACEBACK"):
                raise
            notes = " ".join(getattr(err, "__notes__", []))  # e.g. the step at which a diagram failed
            message = " ".join(f"{err}{' ' + notes if notes else ''}".split())  # one line
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
    if status == INTERRUPTED:
        # what a normal exit would do first: the interrupted run's objects are collected, so their
        # finalizers run (an output folder's staging files are removed and its lock released), then
        # the exit handlers (atexit, and weakref.finalize's) that os._exit would skip
        gc.collect()
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(INTERRUPTED)
    sys.exit(status)


if __name__ == "__main__":
    entry()
