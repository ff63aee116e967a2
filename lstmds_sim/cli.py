"""The ``lstmds`` command: run a lab, list the labs, render a diagram.

    lstmds list
    lstmds run lstm_layer --out out/lstm_layer
    lstmds render lstm_layer --out out/render
    lstmds scenario --eps 0.01 --beta 1e-6 --rho-u 0.5 1.0 --model out/ph_identification/lstm_iss_model.npz
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys

#: Mistakes in what the user gave (files and folders; shapes, values and parameters, which
#: lstmds reports as ValueError subclasses): one line on stderr and exit status 2.
USER_ERRORS = (OSError, ValueError)


def lab_names() -> list[str]:
    """Names of the diagram scripts (labs) that ``lstmds run`` knows."""
    from . import diagrams

    return sorted(m.name for m in pkgutil.iter_modules(diagrams.__path__) if not m.name.startswith("_"))


def load_lab(name: str):
    names = lab_names()
    if name not in names:
        raise SystemExit(f"lstmds: no lab named {name!r}; labs: {', '.join(names)}")
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
    from .graph import find_feedback_loops, graph_from_blockdiagram
    from .lab import OutputDir, use_headless_backend

    use_headless_backend()
    module = load_lab(args.name)
    if not hasattr(module, "build_diagram"):
        raise SystemExit(f"lstmds: lab {args.name!r} has no diagram to render")
    bd = module.build_diagram()
    out = OutputDir(args.out, owner=f"render {args.name}")
    graph = graph_from_blockdiagram(bd)
    loops = find_feedback_loops(graph)
    paths = out.render(graph, args.name, title=args.title or f"{args.name}: feedback loops")
    for loop in loops:
        print(f"loop closed by '{loop.delay}': {len(loop.nodes)} blocks")
    paths.append(out.write_json(f"{args.name}.loops.json", {
        "diagram": args.name,
        "blocks": len(graph.nodes),
        "loops": [{"delay": loop.delay, "blocks": sorted(loop.nodes)} for loop in loops],
    }))
    print("written: " + ", ".join(str(p) for p in paths))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="lstmds", description="LSTM as a dynamical system: block-diagram labs")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the labs").set_defaults(func=cmd_list)
    p_run = sub.add_parser("run", help="run a lab (diagram script); options after the name go to the lab")
    p_run.add_argument("name")
    p_run.add_argument("lab_args", nargs=argparse.REMAINDER)
    p_run.set_defaults(func=cmd_run)
    p_scenario = sub.add_parser(
        "scenario", help="the scenario-approach safety sweep (lab scenario_safety); options: --eps --beta --rho-u --model ...",
        add_help=False)
    p_scenario.set_defaults(func=cmd_run, name="scenario_safety", lab_args=[])
    p_render = sub.add_parser("render", help="draw a lab's diagram with its feedback loops (SVG and PNG)")
    p_render.add_argument("name")
    p_render.add_argument("--out", default="out/render", help="folder (default: %(default)s)")
    p_render.add_argument("--title", default=None)
    p_render.set_defaults(func=cmd_render)
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "scenario":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "scenario":
        args.lab_args = extra  # everything after "scenario" goes to the lab
    try:
        return args.func(args)
    except USER_ERRORS as err:
        if os.environ.get("LSTMDS_TRACEBACK"):
            raise
        notes = " ".join(getattr(err, "__notes__", []))  # e.g. the step at which a diagram failed
        print(f"lstmds: error: {err}{' ' + notes if notes else ''}", file=sys.stderr)
        print("(set LSTMDS_TRACEBACK=1 for the traceback)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
