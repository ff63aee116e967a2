"""``lstmds live NAME [--port N] [--no-browser]``: a lab's diagram served on localhost with live parameters.

The lab's diagram is compiled once (the compiled backend, JAX) with the
blocks its sliders move as arguments of the program, and served as a Bokeh
server application on ``localhost`` (:mod:`lstmds_sim.drawing.live`): the
diagram with its loops and their Theorem 4 gains, a slider per parameter
(the lab's ``live_params(bd)``), the traces of its recorders, play, pause and a
scrub of the step. A slider move re-runs the whole run and redraws it. A lab
whose network is trained (``ph_identification``) serves its trained model
(the lab's ``live_diagram(model)``; ``--model FILE``, by default the model
``lstmds run NAME`` saved in ``out/NAME/``), never an untrained stand-in.
Ctrl-C stops the server (exit status 0). Needs the ``inspect`` extra (Bokeh).
"""

from __future__ import annotations

__all__ = ["DEFAULT_PORT", "cmd_live", "live_labs", "register"]

#: Bokeh's own default port.
DEFAULT_PORT = 5006


def register(sub) -> None:
    """Add ``lstmds live`` to the subcommands ``sub`` (imports nothing heavy)."""
    p = sub.add_parser(
        "live", help="serve a lab's diagram on localhost with sliders: move a parameter, watch the run follow",
        description="Serve a lab's diagram with sliders for the parameters that teach something (gate biases, "
                    "weights, flows, the input's amplitude): a slider move simulates the whole run again and "
                    "redraws the traces and the Theorem 4 gains on the loops. Local only; Ctrl-C stops it.")
    p.add_argument("name", help="the lab (lstmds list): lstm_layer, lstm_vs_linear, ph_plant, ph_identification")
    p.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help="local port (default: %(default)s; 0: a free one)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser; print the address only")
    p.add_argument("--model", default=None, metavar="FILE",
                   help="(ph_identification) the trained model, an IdentifiedModel .npz (default: "
                        "out/ph_identification/lstm_iss_model.npz, saved by lstmds run ph_identification)")
    p.set_defaults(func=cmd_live)


def live_labs() -> list[str]:
    """The labs that have a live page (a ``live_params(bd)``), in teaching order."""
    from .cli import lab_names, load_lab

    return [name for name in lab_names() if hasattr(load_lab(name), "live_params")]


def cmd_live(args) -> int:
    from .cli import UsageError, load_lab

    module = load_lab(args.name)
    if not hasattr(module, "live_params"):
        raise UsageError(f"lab {args.name!r} has no live page (no live_params()); the labs with one: "
                         f"{', '.join(live_labs())}")
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be a port number from 0 (a free one) to 65535, got {args.port}")
    if args.model is not None and not hasattr(module, "live_diagram"):
        raise UsageError(f"--model: lab {args.name!r} draws its own network; --model is for a lab whose network "
                         "is trained (ph_identification)")
    try:
        import bokeh  # noqa: F401  (checked before any work: the page needs it)
    except ImportError:
        raise UsageError("lstmds live needs Bokeh, the 'inspect' extra: pip install 'lstmds-sim[inspect]'") from None

    from ..drawing.live import LiveModel, start_server
    from .lab import use_headless_backend

    use_headless_backend()
    bd = module.live_diagram(args.model) if hasattr(module, "live_diagram") else module.build_diagram()
    # the RK4 steps per sample the lab's own runs use, where it says (ph_plant, ph_identification)
    substeps = getattr(module, "SUBSTEPS", getattr(module, "DEFAULT_SUBSTEPS", 10))
    sliders = module.live_params(bd)
    print(f"lstmds live {args.name}: compiling the diagram once with its sliders' blocks as arguments "
          f"({', '.join(s.name for s in sliders)}) ...", flush=True)
    model = LiveModel(bd, sliders, substeps=substeps)
    try:
        server = start_server(model, port=args.port, title=args.name)
    except OSError as err:
        raise OSError(f"cannot serve on port {args.port} ({err.strerror or err}): give another with --port N, "
                      "or --port 0 for a free one") from None
    url = f"http://localhost:{server.port}/"
    gains = "; ".join(f"{loop['label']}: {loop['iss']['short']}" for loop in model.first.loops if loop["iss"])
    print(f"compiled in {model.compile_s:.1f} s; a slider move re-runs it ({model.first.run_s * 1e3:.0f} ms the first "
          f"time){'; ' + gains if gains else ''}")
    print(f"serving {url} (local only); Ctrl-C stops it", flush=True)
    if not args.no_browser:
        import webbrowser

        server.io_loop.add_callback(webbrowser.open, url)
    try:
        server.io_loop.start()
    except KeyboardInterrupt:  # Ctrl-C (or SIGTERM) is how a server ends
        print("lstmds live: stopped", flush=True)
    finally:
        server.stop()
    return 0
