"""bdsim as the diagram engine, with exact discrete-time semantics.

:func:`blockdiagram` gives a bdsim ``BlockDiagram`` whose factory methods include
this project's blocks (``bd.HADAMARD``, ``bd.UNITDELAY``, ...), created quietly.
:func:`run` executes a discrete-time diagram step by step over bdsim's compiled
schedule: at step k (t = k Ts) every block's output is evaluated in dataflow
order, sinks record, and then every delay takes its input as its next state.
So the input at step 0 takes effect, and ``y(k) = x(k-1)``, ``y(0) = x0``
(bdsim's own clocked runner first ticks at t = Ts and drops the input at t = 0).
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import inspect
import io
import pkgutil
from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

from .validation import NonFiniteError, ShapeError, add_note

# bdsim's private names (``_blocklibrary``, ``_clock``, ``_output_values``,
# ``_publish_output_values``) are used in this module and nowhere else;
# pyproject pins bdsim to the range they were tested with (>= 1.4, < 1.5).

_SIM = None
BLOCKS_PACKAGE = "lstmds_sim.blocks"


class DiagramError(RuntimeError):
    """A diagram could not be compiled or run; the message names the block."""


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


def compile_diagram(bd) -> None:
    """Compile ``bd`` once (quietly); subsystems are flattened into "name/block" blocks."""
    if getattr(bd, "compiled", False):
        return
    _check_inputs_connected(bd)
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            bd.compile(evaluate=False)
    except (RuntimeError, AssertionError) as err:
        raise DiagramError(f"diagram '{bd.name}' does not compile: {err}\n{out.getvalue()}") from None
    unconnected = [line.strip() for line in out.getvalue().splitlines() if "ERROR" in line]
    if unconnected:
        raise DiagramError("\n".join(unconnected))


@dataclass
class RunResult:
    """What :func:`run` returns: step times, probed signals and recorder contents.

    Signals are (T, ...) or, batched, (B, T, n) (batch first).
    """

    t: np.ndarray
    signals: dict[str, np.ndarray] = field(default_factory=dict)
    recorders: dict[str, np.ndarray] = field(default_factory=dict)
    final_states: dict[str, np.ndarray] = field(default_factory=dict)

    def __getitem__(self, name: str) -> np.ndarray:
        if name in self.signals:
            return self.signals[name]
        if name in self.recorders:
            return self.recorders[name]
        raise KeyError(f"no probe or recorder named {name!r}; have {sorted(self.signals) + sorted(self.recorders)}")


def signal_names(bd) -> dict[str, tuple]:
    """Every probe-able signal of a compiled diagram: name -> (block, port).

    A signal is named by its source block's name (``"lstm1/Wi"``, or
    ``"name[1]"`` for output port 1) and by its wire name, prefixed with the
    subsystem path (or layer prefix) of the blocks it connects, e.g.
    ``"lstm1/z_i"``. A wire that crosses from one prefix to another is named as
    its destination sees it (layer 1's output entering layer 2 as ``u`` is
    ``"lstm2/u"``), and also with its source's prefix when no wire inside that
    prefix has the name already.
    """
    compile_diagram(bd)
    names: dict[str, tuple] = {}
    for b in bd.blocklist:
        for port in range(b.nout):
            names[b.name if port == 0 else f"{b.name}[{port}]"] = (b, port)

    def prefixed(block, name):
        prefix = block.name.rpartition("/")[0]
        return f"{prefix}/{name}" if prefix else name

    wires = [w for w in bd.wirelist if w.name]
    claimed = set()
    for w in wires:
        name = prefixed(w.end.block, w.name)
        names[name] = (w.start.block, w.start.port)
        claimed.add(name)
    for w in wires:
        name = prefixed(w.start.block, w.name)
        if name not in claimed:
            names[name] = (w.start.block, w.start.port)
    return names


def stack_steps(values: list[np.ndarray]) -> np.ndarray:
    """Stack one signal's per-step values into (T, ...), or (B, T, n) when batched.

    A value that is not batched yet (a delay's unbatched initial state at step 0,
    before a batched input reaches it) stands for every batch row: it is
    broadcast to the batched shape of the other steps.
    """
    if not values:
        return np.empty((0,))
    shape = max((np.shape(v) for v in values), key=len)
    unbatched = shape[1:] if len(shape) == 2 else shape  # only a missing batch axis is filled in
    odd = [np.shape(v) for v in values if np.shape(v) not in (shape, unbatched)]
    if odd:
        raise ShapeError(f"a recorded signal changes shape between steps: {odd[0]} and {shape}")
    out = np.stack([np.broadcast_to(v, shape) for v in values], axis=0)
    return np.moveaxis(out, 0, 1) if out.ndim == 3 else out


def _check_period(T, name: str) -> None:
    """A clock period must be a finite number of seconds > 0 (bdsim's ``bd.clock(Ts)`` takes anything)."""
    try:
        ok = bool(np.isfinite(T) and T > 0)
    except TypeError:
        ok = False
    if not ok:
        raise ValueError(
            f"diagram '{name}': a clock has the sample time Ts = {T!r}; "
            "give bd.clock(Ts) a finite Ts > 0 (the sampling period in seconds, e.g. bd.clock(10.0))"
        )


def run(bd, steps: int | None = None, *, probes: Iterable[str] = (), progress=None) -> RunResult:
    """Run a discrete-time diagram for ``steps`` steps with exact unit-delay semantics.

    Parameters
    ----------
    bd : bdsim BlockDiagram (from :func:`blockdiagram`)
    steps : number of steps; default: the length of the shortest SEQUENCE source.
    probes : signal names to keep every step (see :func:`signal_names`);
        ``"*"`` keeps all named wires.
    progress : optional callable ``progress(k)`` called after each step.
    """
    from bdsim.components import SinkBlock

    compile_diagram(bd)
    blocks = bd.blocklist
    continuous = [b.name for b in blocks if b.blockclass == "continuous"]
    if continuous:
        raise DiagramError(
            f"blocks {continuous} have continuous states; lstmds runs discrete-time diagrams: "
            "use sampled blocks (a plant subsystem that integrates over each sample period)"
        )
    stateful = [b for b in blocks if b.hasstate]
    periods = {b._clock.T for b in stateful} | {b.clock.T for b in blocks if b.type == "sequence"}
    for period in periods:
        _check_period(period, bd.name)
    if len(periods) > 1:
        raise DiagramError(f"diagram '{bd.name}' mixes sample times {sorted(periods)}; use one clock")
    Ts = periods.pop() if periods else 1.0
    if steps is None:
        lengths = [b.n_samples for b in blocks if b.type == "sequence"]
        if not lengths:
            raise ValueError("give the number of steps: the diagram has no SEQUENCE source to take it from")
        steps = min(lengths)
    steps = int(steps)
    if steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps}")

    available = signal_names(bd)
    probes = list(probes)
    if "*" in probes:
        probes = [n for n in available if any(w.name and n.endswith(w.name) for w in bd.wirelist)]
    unknown = [p for p in probes if p not in available]
    if unknown:
        raise KeyError(f"unknown signal(s) {unknown}; named signals are: {sorted(available)}")
    probe_slots = [(name, *available[name]) for name in probes]

    plan = [b for group in bd.plan for b in group]
    sinks = [b for b in blocks if isinstance(b, SinkBlock)]
    state = {b: b.getstate0() for b in stateful}
    for b in sinks:
        if hasattr(b, "clear"):
            b.clear()
    kept: dict[str, list] = {name: [] for name in probes}

    block = None
    k = 0
    try:
        for k in range(steps):
            t = k * Ts
            for block in plan:
                block._publish_output_values(block.output(t, block.inport_values, state.get(block)))
            for block in sinks:
                block.step(t, block.inport_values)
            for name, b, port in probe_slots:
                kept[name].append(np.array(b._output_values[port], dtype=float))
            for block in stateful:
                state[block] = block.next(t, block.inport_values, state[block])
            if progress is not None:
                progress(k)
    except Exception as err:
        if isinstance(err, (ShapeError, NonFiniteError, IndexError)) or (block is not None and f"'{block.name}'" in str(err)):
            # our blocks' errors already name the block and say how to fix it: keep their type
            add_note(err, f"(at step {k}, t = {k * Ts:g}, in diagram '{bd.name}')")
            raise
        where = f"{block.type.upper()} block '{block.name}'" if block is not None else "the diagram"
        raise DiagramError(f"{where} failed at step {k} (t = {k * Ts:g}): {type(err).__name__}: {err}") from err

    result = RunResult(t=np.arange(steps) * Ts)
    result.signals = {name: stack_steps(v) for name, v in kept.items()}
    result.recorders = {b.name: b.data for b in sinks if b.type == "recorder"}
    result.final_states = {b.name: state[b] for b in stateful}
    return result
