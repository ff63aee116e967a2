"""``lstmds inspect NAME --out DIR``: a lab's diagram, run, as one interactive offline HTML page.

The lab's ``build_diagram()`` is run with every named wire probed
(``lstmds_sim.run(bd, probes=["*"])``) and written by
:func:`lstmds_sim.drawing.inspector.inspect` to ``DIR/NAME.html``, with
``DIR/NAME.inspect.json`` as the run's record (the loops and their Theorem 4
gains, the page's size). Like ``lstmds render``, several labs can share one
folder (``out/inspect`` by default). The page needs the ``inspect`` extra
(Bokeh), imported only when the command runs.

``lstmds inspect FILE.bd`` does the same for a diagram drawn in bdsim's editor
(bdedit; docs/bdfiles.md): every block's output is probed (the file's wires
have no names), the run lasts the file's ``simulation_time`` (else 10 s) in
steps of the clocks' base period or ``--dt``, and ``--unsafe`` evaluates the
file's expressions with Python (trusted files only).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["cmd_inspect", "register"]


def register(sub) -> None:
    """Add ``lstmds inspect`` to the subcommands ``sub`` (imports nothing heavy)."""
    from .cli import UNSAFE_HELP, positive_seconds

    p = sub.add_parser(
        "inspect", help="write a lab's interactive signal inspector: one offline HTML page (needs Bokeh)",
        description="Run a lab's diagram with every wire probed and write DIR/NAME.html: click a wire to plot "
                    "its signal, scrub the step k, see each loop's Theorem 4 gain. Works offline.")
    p.add_argument("name", help="the lab whose diagram to inspect (lstmds list), or FILE.bd drawn in bdedit")
    p.add_argument("--out", default="out/inspect", help="folder (default: %(default)s)")
    p.add_argument("--steps", type=int, default=None,
                   help="steps to run (default: the length of the diagram's input sequence)")
    p.add_argument("--max-values", type=int, default=None, metavar="N",
                   help="budget of stored values; a longer run is decimated (default: 1,000,000)")
    p.add_argument("--max-sequences", type=int, default=None, metavar="N",
                   help="sequences of a batched run kept in the page (default: 16)")
    p.add_argument("--title", default=None)
    p.add_argument("--dt", type=positive_seconds, default=None, metavar="STEP",
                   help="(FILE.bd) output time step in seconds; required for continuous states without a clock")
    p.add_argument("--unsafe", action="store_true", help=UNSAFE_HELP)
    p.set_defaults(func=cmd_inspect)


def cmd_inspect(args) -> int:
    from .cli import UsageError, bd_timing, is_bd_file, load_bd_file, load_lab

    bdfile = is_bd_file(args.name)
    if bdfile:  # a diagram drawn in bdedit: FILE.bd -> FILE.html, FILE.inspect.json
        name, owner = Path(args.name).stem, Path(args.name).name
    else:
        name = owner = args.name
        module = load_lab(args.name)
        if not hasattr(module, "build_diagram"):
            raise UsageError(f"lab {args.name!r} has no diagram to inspect (it has no build_diagram()); "
                             "lstmds list shows the labs")
    for value, option in ((args.steps, "--steps"), (args.max_values, "--max-values"),
                          (args.max_sequences, "--max-sequences")):
        if value is not None and value < 1:
            raise UsageError(f"{option} must be a positive whole number, got {value}")
    try:
        import bokeh  # noqa: F401  (checked before any work: the page needs it)
    except ImportError:
        raise UsageError("lstmds inspect needs Bokeh, the 'inspect' extra: pip install 'lstmds-sim[inspect]'") from None

    from ..core.engine import run
    from ..drawing.inspector import inspect
    from .lab import use_headless_backend
    from .outdir import OutputDir

    use_headless_backend()
    options = {k: v for k, v in (("max_values", args.max_values), ("max_sequences", args.max_sequences),
                                 ("title", args.title)) if v is not None}
    if bdfile:  # a bad file or a missing --dt is refused before the folder is touched
        bd = load_bd_file(args.name, args.unsafe)
        timing = bd_timing(bd, args.name, dt=args.dt)
    with OutputDir(args.out, record=f"{name}.inspect.json", owner=f"inspect {owner}") as out:
        if bdfile:  # its wires have no names: every block's output is probed, the steps are the file's time
            from ..core.engine import signal_names

            result = run(bd, args.steps or timing["steps"], probes=list(signal_names(bd)), dt=timing["dt"])
        else:
            bd = module.build_diagram()
            if args.steps is None and not any(b.type == "sequence" for b in bd.blocklist):
                raise UsageError(f"lab {args.name!r}: its diagram has no input sequence to take the number of "
                                 "steps from; give --steps N")
            from ..core.errors import SequenceEndError

            try:
                result = run(bd, args.steps, probes=["*"])
            except SequenceEndError as err:  # --steps past the input: name the option, not only the block
                samples = min((b.n_samples for b in bd.blocklist if b.type == "sequence"), default=None)
                raise UsageError(f"--steps {args.steps} runs past the end of the input of lab {args.name!r} "
                                 f"({samples} samples): give fewer --steps, or leave --steps out ({err.args[0]})"
                                 ) from None
        page = inspect(bd, result, **options)
        path = page.save(out.path(f"{name}.html"), overwrite=True)
        for loop in page.loops:
            iss = loop["iss"]
            gain = (f": Theorem 4 {iss['quantity']} = {iss['value']:.4g} "
                    f"({'holds' if iss['holds'] else 'does not hold'}, margin {iss['margin']:.4g})") if iss else ""
            print(f"{loop['label']} (closed by '{loop['delay']}'){gain}")
        s = page.summary
        decimated = f" (decimated: every {s['stride']} steps)" if s["stride"] > 1 else ""
        print(f"{s['steps']} steps, {s['signals']} signals, page {s['bytes'] / 1e6:.1f} MB{decimated}")
        written = [out.root / path.name, out.write_results({"diagram": name, "page": path.name, **s,
                                                            "loops": page.loops})]
    print("written: " + ", ".join(str(p) for p in written))
    return 0
