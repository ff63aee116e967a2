"""Everything that touches bdsim's internals: the simulator, the block library, compiling, ports, clocks.

This is the only module that uses bdsim's private names (``_blocklibrary``,
``_clock``, ``_inport_slots``, ``_outport_slots``, ``_feedthrough``)
or knows how bdsim keeps diagrams alive; pyproject pins bdsim to the range
they were checked against (>= 1.4, < 1.5). The schedule, the interpreter and
the compiled backend reach bdsim through the functions here.

* :func:`simulator`, :func:`block_classes`, :func:`stock_blocks`: bdsim's
  ``BDSim`` created quietly, with this project's blocks in its library;
* :func:`blockdiagram`: a ``BlockDiagram`` with our blocks as factory methods
  and wire names kept;
* :func:`compile_diagram`: compile once, with one-line errors for unconnected
  inputs and algebraic loops (found from the diagram's structure);
* :func:`clock_of`, :func:`port_slots`, :func:`output_value`: a block's clock and
  its ports;
* :func:`feedthrough`, :func:`declared_events`, :func:`crossing`: what the
  schedule needs to know of a block (does its output depend on its input at
  the same instant; where does a source jump; is it a zero-crossing detector);
* :func:`release_diagram`: let bdsim's global clock list forget a diagram.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import inspect
import io
import pkgutil

import numpy as np

from .errors import DiagramError

__all__ = [
    "BLOCKS_PACKAGE", "block_classes", "blockdiagram", "call_crossing_handler", "clock_of", "compile_diagram",
    "crossing", "declared_events", "feedthrough", "graphics_state", "is_sample_and_hold", "output_value",
    "port_slots",
    "release_diagram", "simulator", "stock_blocks",
]

_SIM = None
BLOCKS_PACKAGE = "lstmds_sim.blocks"


@functools.cache
def block_classes() -> dict[str, type]:
    """This project's block library: bdsim name (``"UNITDELAY"``) -> block class.

    Every bdsim ``Block`` subclass defined in a module of ``lstmds_sim.blocks``
    (the top-level ``blocks/`` folder; modules starting with ``_`` are helpers)
    is a block, named like bdsim names its own: the class name in upper case.
    This is the one list of our blocks; bdsim's own discovery, which walks
    ``sys.path`` for ``<package>/blocks/`` and so misses an editable install,
    is not used for them.
    """
    from bdsim.components import Block

    package = importlib.import_module(BLOCKS_PACKAGE)
    found: dict[str, type] = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{BLOCKS_PACKAGE}.{info.name}")
        for cls in vars(module).values():
            if inspect.isclass(cls) and issubclass(cls, Block) and cls.__module__ == module.__name__:
                found[cls.__name__.upper()] = cls
    return found


def _library_entry(name: str, cls: type) -> dict:
    """A bdsim block-library entry for one of our classes (the keys bdsim's own loader writes)."""
    doc = inspect.getdoc(cls) or ""
    base = next(c.__name__ for c in cls.__mro__ if c.__name__.endswith("Block") and c.__module__.startswith("bdsim"))
    return {
        "path": [], "classname": cls.__name__, "blockname": name, "url": None, "class": cls,
        "module": cls.__module__, "package": "lstmds_sim", "doc": doc, "params": {}, "inputs": None,
        "outputs": None, "nin": getattr(cls, "nin", 0), "nout": getattr(cls, "nout", 0),
        "blockclass": base.lower().replace("block", ""), "deprecated": False,
    }


def simulator():
    """The shared bdsim ``BDSim`` object, created quietly, with bdsim's blocks and ours in its library."""
    global _SIM
    if _SIM is None:
        import bdsim

        with contextlib.redirect_stdout(io.StringIO()):
            _SIM = bdsim.BDSim(banner=False, toolboxes=False, sysargs=False, graphics=False, progress=False)
        library = bdsim.BDSim._blocklibrary
        for name, cls in block_classes().items():
            library.setdefault(name, _library_entry(name, cls))
    return _SIM


def stock_blocks() -> dict[str, tuple[type, str]]:
    """bdsim's own block library: name -> (class, block class: "source", "sink", "function", ...)."""
    import bdsim

    simulator()
    ours = block_classes()
    return {name: (entry["class"], entry["blockclass"]) for name, entry in bdsim.BDSim._blocklibrary.items()
            if name not in ours}


def blockdiagram(name: str = "main"):
    """A new bdsim ``BlockDiagram`` with bdsim's blocks and ours as factory methods.

    Our blocks' factories raise their own exceptions (shape errors name the
    block, port and expected shape) instead of bdsim's generic creation error.
    """
    bd = simulator().blockdiagram(name)
    for blockname, cls in block_classes().items():

        def factory(*args, _cls=cls, **kwargs):
            return _cls(*args, bd=bd, **kwargs)

        factory.__doc__ = cls.__doc__
        setattr(bd, blockname, factory)
    bd.connect = _naming_connect(bd.connect, bd)
    return bd


def _naming_connect(connect, bd):
    """bdsim 1.4's ``connect(..., name=)`` drops the name (``add_wire`` is called without it): keep it."""

    def named_connect(start, *ends, name=None):
        first = len(bd.wirelist)
        connect(start, *ends, name=name)
        for w in bd.wirelist[first:]:
            w.name = name

    named_connect.__doc__ = connect.__doc__
    return named_connect


def _check_inputs_connected(bd) -> None:
    """Every input port of every block (also inside subsystems) must have a wire."""
    fed = {(id(w.end.block), w.end.port) for w in bd.wirelist}
    missing = [
        f"{b.type.upper()} block '{b.name}' input {port}"
        for b in bd.blocklist for port in range(b.nin) if (id(b), port) not in fed
    ]
    if missing:
        raise DiagramError(f"diagram '{bd.name}': unconnected input(s): {', '.join(missing)}; connect a wire to each")
    for b in bd.blocklist:
        inner = getattr(b, "subsystem", None)  # SUBSYSTEM and LSTM blocks
        if hasattr(inner, "wirelist"):
            _check_inputs_connected(inner)


def _algebraic_loop(bd) -> list | None:
    """A loop of blocks whose outputs depend on their inputs at the same instant, or None.

    The same rule as bdsim's compiler (function blocks, and blocks with a state
    and direct feedthrough), read from the flattened wires instead of from
    what the compiler prints.
    """
    import networkx as nx

    def instantaneous(b) -> bool:
        return b.blockclass == "function" or (b.hasstate and bool(getattr(b, "_feedthrough", False)))

    graph = nx.DiGraph()
    graph.add_edges_from((w.start.block, w.end.block) for w in bd.wirelist
                         if instantaneous(w.start.block) and instantaneous(w.end.block))
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        return None
    return [edge[0] for edge in cycle] + [cycle[0][0]]


def compile_diagram(bd) -> None:
    """Compile ``bd`` once (quietly); subsystems are flattened into "name/block" blocks."""
    if getattr(bd, "compiled", False):
        if getattr(bd, "_lstmds_size", None) not in (None, (len(bd.blocklist), len(bd.wirelist))):
            raise DiagramError(
                f"diagram '{bd.name}' was changed after it was compiled (a block or a wire was added): bdsim "
                "compiles a diagram once; build a new diagram with the block in it"
            )
        return
    _check_inputs_connected(bd)
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            bd.compile(evaluate=False)
    except (RuntimeError, AssertionError) as err:
        loop = _algebraic_loop(bd)  # bdsim flattened the subsystems before it refused
        if loop:
            path = " -> ".join(f"{b.type.upper()} '{b.name}'" for b in loop)
            raise DiagramError(
                f"diagram '{bd.name}' has an algebraic loop: {path}; every loop needs a block with state "
                "(UNITDELAY, an INTEGRATOR, or a system without feedthrough) to break it"
            ) from None
        raise DiagramError(f"diagram '{bd.name}' does not compile: {err}\n{out.getvalue()}") from None
    bd._lstmds_size = (len(bd.blocklist), len(bd.wirelist))


def feedthrough(block) -> bool:
    """Whether a block's output at an instant depends on its input at that instant (it must come after its source).

    Function blocks do; a block with state does if bdsim says so (``_feedthrough``:
    an LTI system with D != 0, say); and a sample-and-hold (bdsim's ZOH) does:
    it samples its input at its tick and holds it until the next one.
    """
    if block.blockclass in ("function", "sink", "graphics"):
        return True
    if block.blockclass == "source":
        return False
    return bool(getattr(block, "_feedthrough", False)) or is_sample_and_hold(block)


def is_sample_and_hold(block) -> bool:
    """bdsim's ZOH: its output between two ticks is its input at the first (direct feedthrough at the tick)."""
    from bdsim.blocks.sampled import ZOH

    return type(block) is ZOH


def declared_events(block, tf: float) -> list[float]:
    """The instants in [0, tf] at which a bdsim source declares a discontinuity (STEP's T, WAVEFORM's edges, ...).

    bdsim's event sources declare them in ``start(simstate)`` (``simstate.declare_event(block, t)``);
    this asks the block with a stand-in that only collects the times. Other blocks declare none.
    """
    from bdsim.block import EventSource

    if not isinstance(block, EventSource):
        return []
    times: list[float] = []

    class Collector:
        t = 0.0

        def __init__(self) -> None:
            self.tf = tf

        def declare_event(self, source, t) -> None:
            times.append(float(t))

    block.start(Collector())
    return sorted(t for t in times if 0.0 <= t <= tf)


def crossing(block):
    """A zero-crossing detector's ``(metric, direction)`` for bdsim's EVENT and STOP blocks, else None.

    ``metric(value)`` turns the block's input into the function whose zero is
    sought; ``direction`` is +1 (it rises through zero), -1 (it falls) as
    ``solve_ivp``'s events take it. STOP stops where its metric
    (``func(input)``, or the input) rises through zero; EVENT calls its
    handler where its input crosses in its direction.
    """
    from bdsim.blocks.sinks import Event, Stop

    if isinstance(block, Stop):
        return block._stop_metric, 1.0
    if isinstance(block, Event):
        def metric(value):
            value = np.asarray(value, dtype=float)
            if value.size != 1:
                raise DiagramError(f"EVENT block '{block.name}': its input must be a scalar, got shape {value.shape}")
            return float(value.reshape(()))
        return metric, float(block.direction)
    return None


def call_crossing_handler(block, t: float, state_map: dict, simstate) -> None:
    """Call a crossing's handler as bdsim's runner does (``event_handler(t, y, state_map, simstate)``, or the
    shorter forms bdsim falls back to); ``state_map`` maps blocks to their (mutable) states."""
    handler = getattr(block, "event_handler", None) or getattr(block, "on_event", None) \
        or getattr(block, "handle_event", None)
    if not callable(handler):
        return
    y = None
    for args in ((t, y, state_map, simstate), (t, y, simstate), (t, y, state_map), (t, y), (t,)):
        try:
            handler(*args)
            return
        except TypeError as err:
            if "positional argument" not in str(err) and "argument" not in str(err):
                raise


def clock_of(block):
    """The clock of a sampled block (bdsim's ``_clock``) or of a clocked source (SEQUENCE's ``clock``), or None."""
    from bdsim.components import Clock

    for attr in ("_clock", "clock"):
        clock = getattr(block, attr, None)
        if isinstance(clock, Clock):
            return clock
    return None


def port_slots(block) -> tuple[list, list]:
    """A compiled block's input and output ports: ``(inputs, outputs)``, each a list of slots with a ``.value``.

    An input slot is the output slot of the block that feeds it (bdsim binds
    them when it compiles), so writing a value to an output slot is what the
    blocks downstream read.
    """
    return list(block._inport_slots), list(block._outport_slots)


def output_value(block, port: int):
    """The value last put on output ``port`` of a compiled ``block``."""
    return block._outport_slots[port].value


def graphics_state(tf: float):
    """The run state a bdsim graphics block's own ``start(state)`` reads: the simulator's options with graphics on
    and animation off (the block draws into its figure; nothing is shown or paced), and the run's end ``tf``."""
    import copy

    from bdsim.run_sim import BDSimState

    state = BDSimState()
    options = copy.copy(simulator().options)
    options.graphics, options.animation = True, False
    state.options = options
    state.tf = tf
    return state


def release_diagram(bd) -> None:
    """Let a diagram be freed: empty its clocks, which bdsim's global clock list keeps for good.

    bdsim keeps every ``Clock`` it ever made in ``bdsim.components.clocklist``,
    and a clock keeps its blocks and a name for every state, so a diagram (its
    inputs, its recordings) is never freed. A program that builds many
    diagrams (a scenario sweep builds two per chunk) calls this after each run;
    the diagram is then a web of reference cycles that the cycle collector frees.
    The diagram cannot be run again afterwards.
    """
    for clock in getattr(bd, "clocklist", ()):
        clock.blocklist.clear()
        clock.statenames.clear()  # a name per state of every scenario: 10,000s of strings per chunk
        clock.bd = None
