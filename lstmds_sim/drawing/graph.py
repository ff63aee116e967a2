"""A neutral graph of a block diagram, and the feedback loops in it.

A ``bdsim`` block diagram is a set of blocks joined by wires.  For drawing
and for analysis we only need who feeds whom, so this module turns a
diagram into three small immutable records:

* :class:`Node` -- one block (its name, a label to draw, its kind, and
  whether it holds discrete state, i.e. is a *delay*);
* :class:`Edge` -- one wire, from an output port to an input port;
* :class:`DiagramGraph` -- all nodes and edges of one diagram.

A discrete-time dynamical system such as an LSTM layer is a diagram whose
cycles are all broken by delays (``x[k+1] = f(x[k], u[k])``): a cycle
without a delay would be an *algebraic loop*, which has no well-defined
value.  :func:`find_feedback_loops` finds, for every delay, the loop that
it closes -- in an LSTM, the inner cell-state loop and the outer
hidden-state loop.  :func:`loop_role` says what a loop means (cell state,
hidden state, tank level, ...) and in which subsystem it lies, so that a
picture can colour loops by meaning.  An LSTM layer's two delays are known
by the layer's record (:func:`lstmds_sim.core.diagram.lstm_layers`), which
holds the block objects themselves, not by their names.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from typing import Any

import networkx as nx

from ..core.diagram import CELL_STATE, HIDDEN_STATE

__all__ = [
    "INNER",
    "MEANINGS",
    "OUTER",
    "DiagramGraph",
    "Edge",
    "FeedbackLoop",
    "LoopRole",
    "Node",
    "feedback_edge_indices",
    "find_feedback_loops",
    "graph_from_blockdiagram",
    "loop_role",
    "state_role",
    "to_networkx",
]


@dataclass(frozen=True)
class Node:
    """One block of a diagram.

    Attributes
    ----------
    id : str
        Unique identifier: the block's full name, e.g. ``"lstm1/cell state"``.
    label : str
        Text to draw in the block's box; a second line (after ``"\\n"``)
        is drawn smaller, e.g. ``"Wi\\ngain"``.
    kind : str
        Block type in lower case: ``"gain"``, ``"sum"``, ``"unitdelay"``, ...
    is_delay : bool
        True for blocks that hold state (unit delays, zero-order holds,
        integrators).  Their output at a time depends only on their state, not
        on their input at that time, so they are what breaks a feedback cycle.
    subsystem : str
        The path of the subsystem the block was flattened from (``"lstm1"``,
        or ``"outer/inner"`` when nested); ``""`` for a block of the top-level
        diagram.  The id then starts with ``subsystem + "/"``.
    meaning : str
        What the state the block holds stands for, where the diagram records
        it: :data:`INNER` for an LSTM layer's cell-state delay, :data:`OUTER`
        for its hidden-state delay (from the layer's record,
        :func:`lstmds_sim.core.diagram.lstm_layers`); ``""`` otherwise, and
        :func:`state_role` tells the meaning from the block's kind.
    signs : str
        A summing block's signs, one ``"+"`` or ``"-"`` per input port in port order (bdsim's
        ``SUM("+-")``: input 0 added, input 1 subtracted); ``""`` for every other block. A picture
        draws them at the ports, so that a balance can be read.
    """

    id: str
    label: str
    kind: str
    is_delay: bool = False
    subsystem: str = ""
    meaning: str = ""
    signs: str = ""

    @property
    def name(self) -> str:
        """The block's own name, without its subsystem's path (``"Wo"`` for ``"lstm1/Wo"``)."""
        return self.id[len(self.subsystem) + 1 :] if self.subsystem else self.id

    @property
    def group(self) -> str:
        """The outermost subsystem the block lies in (``"lstm1"``), ``""`` at the top level."""
        return self.subsystem.split("/", 1)[0]


@dataclass(frozen=True)
class Edge:
    """One wire, from output port ``src_port`` of ``src`` to input port
    ``dst_port`` of ``dst``.

    Attributes
    ----------
    src, dst : str
        Node ids.
    src_port, dst_port : int
        Port numbers, counted from 0.
    label : str or None
        The wire's name, if it has one.
    """

    src: str
    dst: str
    src_port: int = 0
    dst_port: int = 0
    label: str | None = None


@dataclass(frozen=True)
class DiagramGraph:
    """All blocks and wires of one diagram.

    Attributes
    ----------
    name : str
        Name of the diagram (used as default title when drawing).
    nodes : tuple of Node
        The blocks, with unique ids.
    edges : tuple of Edge
        The wires; every end must name a node in ``nodes``.

    Raises
    ------
    ValueError
        If two nodes share an id or an edge names an unknown node.
    """

    name: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]

    def __post_init__(self) -> None:
        # Accept lists for convenience but store tuples (hashable, immutable).
        object.__setattr__(self, "nodes", tuple(self.nodes))
        object.__setattr__(self, "edges", tuple(self.edges))
        seen: set[str] = set()
        for node in self.nodes:
            if node.id in seen:
                raise ValueError(f"diagram {self.name!r}: duplicate node id {node.id!r}")
            seen.add(node.id)
        for i, edge in enumerate(self.edges):
            for end in (edge.src, edge.dst):
                if end not in seen:
                    raise ValueError(
                        f"diagram {self.name!r}: edge {i} ({edge.src!r} -> {edge.dst!r}) "
                        f"refers to unknown node {end!r}"
                    )

    def node(self, node_id: str) -> Node:
        """Return the node with id ``node_id`` (``KeyError`` if absent)."""
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(f"diagram {self.name!r} has no node {node_id!r}")

    @property
    def delays(self) -> tuple[str, ...]:
        """Ids of the delay nodes, in node order."""
        return tuple(n.id for n in self.nodes if n.is_delay)


@dataclass(frozen=True)
class FeedbackLoop:
    """The feedback loop closed by one delay.

    Attributes
    ----------
    delay : str
        Id of the delay node that closes the loop.
    nodes : frozenset of str
        Ids of the nodes on the loop (the delay included).
    edges : frozenset of int
        Indices into ``graph.edges`` of the edges on the loop.
    """

    delay: str
    nodes: frozenset[str]
    edges: frozenset[int]


# --------------------------------------------------------------------------- #
# from bdsim
# --------------------------------------------------------------------------- #


def _subsystem_paths(names: list[str], kinds: list[str]) -> list[str]:
    """The path of the subsystem each flattened block came from (``""``: none).

    bdsim's compile prefixes a subsystem's blocks with the subsystem's name
    and ``"/"`` and keeps the subsystem's INPORT and OUTPORT blocks as
    pass-throughs; it keeps no other record of where a block came from.  A
    top-level block may have a ``"/"`` in its own name (``"1/u_scale"``), so
    a prefix counts as a subsystem only when an INPORT or OUTPORT block lies
    directly in it; a block's path is the longest such prefix of its name.
    """
    paths = {name.rpartition("/")[0] for name, kind in zip(names, kinds) if kind in ("inport", "outport")}
    paths.discard("")
    found = []
    for name in names:
        parts = name.split("/")
        prefixes = ("/".join(parts[:k]) for k in range(len(parts) - 1, 0, -1))
        found.append(next((p for p in prefixes if p in paths), ""))
    return found


def _wire_label(wire: Any) -> str | None:
    """The wire's name; failing that, the name of the output port it starts at.

    ``bdsim`` 1.4 drops the ``name=`` given to ``BlockDiagram.connect``
    (``add_wire`` resets it), so output-port names (``outnames=``) are the
    reliable way to label signals.
    """
    if getattr(wire, "name", None):
        return str(wire.name)
    names = getattr(wire.start.block, "_outport_names", None)
    if names and wire.start.port < len(names) and names[wire.start.port]:
        return str(names[wire.start.port])
    return None


def _signs(block: Any) -> str:
    """A summing block's signs (bdsim's ``SUM.signs``, e.g. ``"+-"``), one per input; ``""`` otherwise."""
    signs = getattr(block, "signs", None)
    if isinstance(signs, str) and signs and set(signs) <= {"+", "-"} and len(signs) == getattr(block, "nin", len(signs)):
        return signs
    return ""


def graph_from_blockdiagram(bd: Any) -> DiagramGraph:
    """Build a :class:`DiagramGraph` from a ``bdsim`` ``BlockDiagram``.

    Subsystems are only flattened by ``bd.compile()``, so an uncompiled
    diagram is compiled first (``evaluate=False``, its chatter discarded).
    Blocks inside a subsystem then have names like ``"lstm1/cell state"``;
    the subsystem's INPORT/OUTPORT blocks remain as pass-through nodes.

    The two delays of every LSTM layer drawn in it (``lstm_layers(bd)``)
    get their meaning (``Node.meaning``: :data:`INNER`, :data:`OUTER`) from
    the layer's record, whatever they are named.

    Parameters
    ----------
    bd : bdsim.BlockDiagram
        The diagram.

    Returns
    -------
    DiagramGraph
        One node per block (``is_delay`` for sampled and continuous blocks: their output depends on their state only, so they break a loop),
        one edge per wire, in the diagram's own order.

    Raises
    ------
    RuntimeError
        If ``bdsim`` cannot compile the diagram (its message is passed on).
    """
    if not getattr(bd, "compiled", False):
        chatter = io.StringIO()
        with contextlib.redirect_stdout(chatter):
            bd.compile(evaluate=False)

    from ..core.diagram import lstm_layers

    meanings = {}
    for layer in lstm_layers(bd):
        meanings[id(layer.cell)], meanings[id(layer.hidden)] = INNER, OUTER
    names = [str(block.name) for block in bd.blocklist]
    kinds = [str(block.type).lower() for block in bd.blocklist]
    nodes = []
    for block, name, kind, path in zip(bd.blocklist, names, kinds, _subsystem_paths(names, kinds)):
        nodes.append(
            Node(
                id=name,
                label=f"{name[len(path) + 1:] if path else name}\n{kind}",
                kind=kind,
                is_delay=block.blockclass in ("sampled", "continuous"),
                subsystem=path,
                meaning=meanings.get(id(block), ""),
                signs=_signs(block),
            )
        )
    edges = [
        Edge(
            src=str(w.start.block.name),
            dst=str(w.end.block.name),
            src_port=int(w.start.port),
            dst_port=int(w.end.port),
            label=_wire_label(w),
        )
        for w in bd.wirelist
    ]
    name = str(getattr(bd, "name", "") or "diagram")
    return DiagramGraph(name=name, nodes=tuple(nodes), edges=tuple(edges))


# --------------------------------------------------------------------------- #
# feedback loops
# --------------------------------------------------------------------------- #


def to_networkx(graph: DiagramGraph) -> nx.MultiDiGraph:
    """The graph as a ``networkx.MultiDiGraph`` whose edge keys are the
    indices into ``graph.edges``."""
    g = nx.MultiDiGraph()
    g.add_nodes_from(n.id for n in graph.nodes)
    for i, e in enumerate(graph.edges):
        g.add_edge(e.src, e.dst, key=i)
    return g


def feedback_edge_indices(graph: DiagramGraph) -> frozenset[int]:
    """Indices of the edges that run *into* a delay node.

    Removing them leaves a graph without delay-closed cycles; drawn left to
    right, they are the edges that point backwards.
    """
    delays = set(graph.delays)
    return frozenset(i for i, e in enumerate(graph.edges) if e.dst in delays)


def _loop_closed_by(graph: DiagramGraph, delay: str) -> FeedbackLoop | None:
    """The loop closed by ``delay``, or None if it closes none.

    An edge ``u -> v`` is on the loop when, with all *other* delays removed,
    ``u`` is reachable from the delay (or is it) and the delay is reachable
    from ``v`` (or is it).  Then ``delay -> ... -> u -> v -> ... -> delay``
    is a closed walk through the delay; in a diagram without algebraic loops
    every such edge lies on a simple cycle through the delay.
    """
    others = set(graph.delays) - {delay}
    g = to_networkx(graph)
    g.remove_nodes_from(others)
    after = nx.descendants(g, delay) | {delay}
    before = nx.ancestors(g, delay) | {delay}
    edges = frozenset(
        i
        for i, e in enumerate(graph.edges)
        if e.src not in others and e.dst not in others and e.src in after and e.dst in before
    )
    if not edges:
        return None
    nodes = frozenset(graph.edges[i].src for i in edges) | frozenset(graph.edges[i].dst for i in edges)
    return FeedbackLoop(delay=delay, nodes=nodes, edges=edges)


def find_feedback_loops(graph: DiagramGraph) -> list[FeedbackLoop]:
    """Find the feedback loop closed by each delay.

    The loop closed by delay ``D`` is made of all edges lying on a directed
    cycle that passes through ``D`` and through no other delay.  Delays that
    close no loop (e.g. a delay on a feed-forward path) yield nothing, and so
    does a cycle without any delay (an algebraic loop, which ``bdsim``
    refuses anyway).

    Parameters
    ----------
    graph : DiagramGraph
        The diagram.

    Returns
    -------
    list of FeedbackLoop
        Sorted by number of nodes, then by delay id: in an LSTM the inner
        cell-state loop comes before the outer hidden-state loop.
    """
    loops = [loop for d in graph.delays if (loop := _loop_closed_by(graph, d)) is not None]
    return sorted(loops, key=lambda loop: (len(loop.nodes), loop.delay))


# --------------------------------------------------------------------------- #
# what a loop means
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class LoopRole:
    """What the state closing a loop stands for.

    Attributes
    ----------
    meaning : str
        One of :data:`MEANINGS`: :data:`INNER` (an LSTM's inner loop, its cell state),
        :data:`OUTER` (its outer loop, the hidden state), ``"linear state"`` (a
        linear system's state, held inside one block), ``"tank level"`` and
        ``"reaction invariant"`` (the pH tank's integrators), ``"integrator"``
        (any other integrator), ``"state"`` (any other delay).
    layer : str
        The subsystem the state lies in (``Node.subsystem``), or the prefix
        of its name (``"lstm"`` for ``"lstm/cell state"``), ``""`` if none:
        two LSTM layers' cell states have the same meaning and different
        layers.
    name : str
        The state block's own name, without any prefix.
    """

    meaning: str
    layer: str
    name: str


#: What an LSTM layer's two loops mean: its cell state (the inner loop) and its hidden state (the
#: outer loop), in the words its two state blocks are named with.
INNER, OUTER = CELL_STATE, HIDDEN_STATE

#: The meanings :func:`loop_role` knows, in the order a legend lists them.
MEANINGS: tuple[str, ...] = (
    INNER,
    OUTER,
    "linear state",
    "tank level",
    "reaction invariant",
    "integrator",
    "state",
)

#: Block kinds that hold a linear system's whole state (and so its loop) inside one block.
_LINEAR_KINDS = frozenset({"dss", "lti_ss", "lti_ssd", "discretess"})


def state_role(graph: DiagramGraph, node_id: str) -> LoopRole:
    """What the state held by block ``node_id`` stands for.

    A meaning the diagram recorded comes first (``Node.meaning``: an LSTM
    layer's two delays, known by the layer's record, whatever their names).
    Otherwise the rules read the block's kind and the last part of its name
    (after any ``"/"``), as the library's builders write them: the pH tank's
    integrators ``"h"``, ``"Wa4"`` and ``"Wb4"`` (``systems/ph_tank.py``), a
    linear system is one ``DSS`` block.  Anything else is an
    ``"integrator"`` or a ``"state"``.  The layer is the node's path: its
    subsystem and any prefix of its own name (``"lstm"`` for a layer drawn
    inline with the prefix ``"lstm/"``).
    """
    node = graph.node(node_id)
    prefix, _, name = node.name.rpartition("/")
    layer = "/".join(p for p in (node.subsystem, prefix) if p)
    if node.meaning:
        meaning = node.meaning
    elif node.kind in _LINEAR_KINDS:
        meaning = "linear state"
    elif node.kind == "integrator" and name == "h":
        meaning = "tank level"
    elif node.kind == "integrator" and name in ("Wa4", "Wb4"):
        meaning = "reaction invariant"
    elif node.kind == "integrator":
        meaning = "integrator"
    else:
        meaning = "state"
    return LoopRole(meaning=meaning, layer=layer, name=name)


def loop_role(graph: DiagramGraph, loop: FeedbackLoop) -> LoopRole:
    """What the loop closed by ``loop.delay`` stands for (see :func:`state_role`)."""
    return state_role(graph, loop.delay)
