"""Place the blocks of a diagram left to right, like a Simulink model (layered graph drawing).

   :func:`layout` gives every block a column (x, left to right) and a row
   position (y, top to bottom).  It is a small version of the classic
   *layered* (Sugiyama) graph drawing method:

   * **break cycles** -- every edge into a delay that closes a cycle is a
     *feedback* edge and is set aside (it will be drawn backwards); what is
     left is acyclic;
   * **columns** -- blocks go into columns so that every remaining edge
     points right and wires are as short as possible (the longest path
     from a source is a first answer; the shortest-wire one moves sources
     such as constants, inputs and delays next to the blocks they feed);
   * **waypoints** -- an edge spanning several columns gets an invisible
     waypoint in every column it crosses, so that it is routed *between*
     the boxes rather than through them;
   * **order** -- inside each column, blocks are sorted by the mean
     position of their neighbours (barycenter heuristic), sweeping left to
     right and back a few times and keeping the order with fewest crossings;
     then the blocks of one subsystem are gathered into one run in every
     column, the subsystems in the same top-to-bottom order everywhere (so
     that a frame can be drawn around each);
   * **rows** -- each block is pulled level with its neighbours, keeping
     the order and a minimum spacing (a least-squares fit solved exactly by
     isotonic regression).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import networkx as nx

from .graph import DiagramGraph, feedback_edge_indices, to_networkx

__all__ = ["Plan", "Segment", "layout", "plan_layout"]

# --------------------------------------------------------------------------- #
# Layout, in abstract units: x = column index, y = rows from the top.
# --------------------------------------------------------------------------- #

_NODE_SIZE = 1.0  # vertical room taken by a block, in rows
_DUMMY_SIZE = 0.3  # vertical room taken by an edge passing a column
_DUMMY_WEIGHT = 0.5  # how hard a waypoint pulls in the row fit (blocks: 1)
_BOX_HEIGHT = 0.62  # box height, in rows
_ORDER_SWEEPS = 12
_ROW_SWEEPS = 12


@dataclass(frozen=True)
class Segment:
    """Part of a forward edge between two adjacent columns."""

    a: str  # item in column c
    a_port: int
    b: str  # item in column c + 1
    b_port: int


@dataclass
class Plan:
    """Everything the layout decided; ``items`` are node ids or waypoints."""

    columns: list[list[str]]  # items per column, top to bottom
    col: dict[str, int]
    y: dict[str, float]
    back: frozenset[int]  # edges drawn backwards (into delays, or breaking algebraic cycles)
    waypoints: dict[int, list[str]]  # forward edge index -> its waypoints, left to right
    n_in: dict[str, int]
    n_out: dict[str, int]
    #: item -> the subsystem it belongs to (``""``: the top level); a waypoint
    #: belongs to a subsystem when both ends of its edge do.
    group: dict[str, str] = field(default_factory=dict)
    #: item -> its place in the top-to-bottom order of "bodies" (a subsystem
    #: is one body, every top-level item its own); columns are sorted by it.
    key: dict[str, float] = field(default_factory=dict)


def _backward_edges(graph: DiagramGraph) -> frozenset[int]:
    """Edges to draw backwards.

    These are the edges into a delay that close a cycle (they come from a
    block the delay itself feeds); an edge into a delay on a feed-forward
    path (a pure time shift) stays a forward edge.  For diagrams with
    algebraic cycles, which bdsim would refuse, one more edge per leftover
    cycle is added, so that the rest is acyclic.
    """
    full = to_networkx(graph)
    back = set()
    for i in feedback_edge_indices(graph):
        e = graph.edges[i]
        if e.src == e.dst or e.src in nx.descendants(full, e.dst):
            back.add(i)
    g = full.copy()
    g.remove_edges_from((graph.edges[i].src, graph.edges[i].dst, i) for i in back)
    while True:
        try:
            cycle = nx.find_cycle(g)
        except nx.NetworkXNoCycle:
            return frozenset(back)
        u, v, key = cycle[-1]
        back.add(key)
        g.remove_edge(u, v, key)


def _port_counts(graph: DiagramGraph) -> tuple[dict[str, int], dict[str, int]]:
    """Number of input and output ports seen on each node (at least 1)."""
    n_in = {n.id: 1 for n in graph.nodes}
    n_out = {n.id: 1 for n in graph.nodes}
    for e in graph.edges:
        n_in[e.dst] = max(n_in[e.dst], e.dst_port + 1)
        n_out[e.src] = max(n_out[e.src], e.src_port + 1)
    return n_in, n_out


def _longest_path_columns(nodes: Sequence[str], edges: Sequence[tuple[str, str]]) -> dict[str, int]:
    """Column = length of the longest path from a source (a feasible start)."""
    rank = {v: k for k, v in enumerate(nodes)}
    g = nx.DiGraph()
    g.add_nodes_from(nodes)
    g.add_edges_from(edges)
    col: dict[str, int] = {}
    for v in nx.lexicographical_topological_sort(g, key=rank.__getitem__):
        col[v] = max((col[u] + 1 for u in g.predecessors(v)), default=0)
    return col


def _assign_columns(graph: DiagramGraph, back: frozenset[int]) -> dict[str, int]:
    """Columns for the nodes, given the edges drawn backwards.

    Starting from longest-path columns, the columns are chosen to make the
    wires as short as possible: minimise the total number of columns the
    forward edges span, subject to every forward edge going at least one
    column to the right; among equally short layouts, prefer blocks to the
    left.  This is the layering step of graphviz' *dot*, solved here as a
    small linear program (its constraint matrix is totally unimodular, so
    the simplex method returns whole numbers).  It moves sources -- inputs,
    constants, delays -- next to the blocks they feed, and keeps a second
    layer's recurrent gains next to that layer rather than at the far left.
    """
    from scipy.optimize import linprog  # imported here: only the layout needs it

    nodes = [n.id for n in graph.nodes]
    edges = [(e.src, e.dst) for i, e in enumerate(graph.edges) if i not in back and e.src != e.dst]
    col = _longest_path_columns(nodes, edges)
    if not edges:
        return col
    index = {v: k for k, v in enumerate(nodes)}
    n = len(nodes)
    tie_break = 1.0 / (n * (n + 1))  # small enough never to cost a whole column of wire
    cost = [tie_break] * n
    a_ub = [[0.0] * n for _ in edges]
    for row, (u, v) in zip(a_ub, edges):
        cost[index[v]] += 1.0  # the edge's span is x[v] - x[u]
        cost[index[u]] -= 1.0
        row[index[u]], row[index[v]] = 1.0, -1.0  # x[u] - x[v] <= -1
    result = linprog(cost, A_ub=a_ub, b_ub=[-1.0] * len(edges), bounds=(0, None), method="highs-ds")
    if result.status != 0:  # cannot happen for an acyclic graph; keep the longest-path columns
        return col
    x = {v: round(result.x[index[v]]) for v in nodes}
    used = sorted(set(x.values()))  # close up empty columns, if any
    return {v: used.index(c) for v, c in x.items()}


def _port_offset(port: int, n_ports: int) -> float:
    """Vertical offset of a port from the box centre, in rows (port 0 on top)."""
    return (port - (n_ports - 1) / 2) * _BOX_HEIGHT / n_ports


def _count_crossings(segments: Sequence[Segment], pos: dict[str, int]) -> int:
    """Crossings between the segments of one gap, given item positions."""
    ends = [((pos[s.a], s.a_port), (pos[s.b], s.b_port)) for s in segments]
    crossings = 0
    for i, (a1, b1) in enumerate(ends):
        for a2, b2 in ends[i + 1 :]:
            if (a1 < a2 and b1 > b2) or (a1 > a2 and b1 < b2):
                crossings += 1
    return crossings


def _total_crossings(columns: list[list[str]], gaps: list[list[Segment]]) -> int:
    pos = {item: k for column in columns for k, item in enumerate(column)}
    return sum(_count_crossings(segs, pos) for segs in gaps)


def _barycenter_sweep(
    columns: list[list[str]],
    gaps: list[list[Segment]],
    n_in: dict[str, int],
    n_out: dict[str, int],
    downstream: bool,
) -> list[list[str]]:
    """One sweep of the barycenter heuristic.

    Going downstream (left to right), each column is sorted by the mean
    position of its upstream neighbours' ports; going upstream, by its
    downstream neighbours'.  Items without such neighbours keep their place.
    """
    columns = [list(c) for c in columns]
    order = range(1, len(columns)) if downstream else range(len(columns) - 2, -1, -1)
    for c in order:
        fixed = columns[c - 1] if downstream else columns[c + 1]
        pos = {item: k for k, item in enumerate(fixed)}
        pulls: dict[str, list[float]] = defaultdict(list)
        for s in gaps[c - 1] if downstream else gaps[c]:
            if downstream:
                pulls[s.b].append(pos[s.a] + _port_offset(s.a_port, n_out.get(s.a, 1)))
            else:
                pulls[s.a].append(pos[s.b] + _port_offset(s.b_port, n_in.get(s.b, 1)))
        bary = {
            item: (sum(pulls[item]) / len(pulls[item]) if pulls[item] else float(k))
            for k, item in enumerate(columns[c])
        }
        columns[c].sort(key=bary.__getitem__)  # stable: ties keep their order
    return columns


def _order_columns(
    columns: list[list[str]], gaps: list[list[Segment]], n_in: dict[str, int], n_out: dict[str, int]
) -> list[list[str]]:
    """Reduce crossings with alternating barycenter sweeps; keep the best order."""
    best, best_crossings = columns, _total_crossings(columns, gaps)
    current = columns
    for sweep in range(_ORDER_SWEEPS):
        current = _barycenter_sweep(current, gaps, n_in, n_out, downstream=sweep % 2 == 0)
        crossings = _total_crossings(current, gaps)
        if crossings < best_crossings:
            best, best_crossings = current, crossings
    return best


def _isotonic(targets: Sequence[float], weights: Sequence[float]) -> list[float]:
    """Weighted least-squares nondecreasing fit (pool-adjacent-violators)."""
    blocks: list[list[float]] = []  # [mean, weight, count]
    for t, w in zip(targets, weights):
        blocks.append([t, w, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, w2, n2 = blocks.pop()
            m1, w1, n1 = blocks.pop()
            blocks.append([(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, n1 + n2])
    fit: list[float] = []
    for mean, _, count in blocks:
        fit.extend([mean] * int(count))
    return fit


def _fit_column(items: list[str], desired: dict[str, float], is_dummy: dict[str, bool]) -> dict[str, float]:
    """Place a column's items as close as possible to ``desired`` y, keeping
    their order and the minimum spacing between them."""
    sizes = [_DUMMY_SIZE if is_dummy[i] else _NODE_SIZE for i in items]
    offsets = [0.0]
    for s1, s2 in itertools.pairwise(sizes):
        offsets.append(offsets[-1] + (s1 + s2) / 2)
    weights = [_DUMMY_WEIGHT if is_dummy[i] else 1.0 for i in items]
    z = _isotonic([desired[i] - o for i, o in zip(items, offsets)], weights)
    return {i: zi + o for i, zi, o in zip(items, z, offsets)}


def _assign_rows(
    columns: list[list[str]],
    gaps: list[list[Segment]],
    n_in: dict[str, int],
    n_out: dict[str, int],
    is_dummy: dict[str, bool],
) -> dict[str, float]:
    """Row positions: each item is pulled level with the ports it connects to."""
    y: dict[str, float] = {}
    for column in columns:  # initial: stacked, centred on 0
        y.update(_fit_column(column, {i: 0.0 for i in column}, is_dummy))
        mid = (y[column[0]] + y[column[-1]]) / 2
        for i in column:
            y[i] -= mid

    def pulls(c: int, upstream: bool, downstream: bool) -> dict[str, float]:
        wanted: dict[str, list[float]] = defaultdict(list)
        if upstream and c > 0:
            for s in gaps[c - 1]:
                off = _port_offset(s.a_port, n_out.get(s.a, 1)) - _port_offset(s.b_port, n_in.get(s.b, 1))
                wanted[s.b].append(y[s.a] + off)
        if downstream and c < len(columns) - 1:
            for s in gaps[c]:
                off = _port_offset(s.b_port, n_in.get(s.b, 1)) - _port_offset(s.a_port, n_out.get(s.a, 1))
                wanted[s.a].append(y[s.b] + off)
        return {i: (sum(wanted[i]) / len(wanted[i]) if wanted[i] else y[i]) for i in columns[c]}

    n = len(columns)
    for sweep in range(_ROW_SWEEPS):
        if sweep % 2 == 0:
            order, up, down = range(n), True, False
        else:
            order, up, down = range(n - 1, -1, -1), False, True
        if sweep >= _ROW_SWEEPS - 4:  # settle with both neighbours
            up = down = True
        for c in order:
            y.update(_fit_column(columns[c], pulls(c, up, down), is_dummy))
    top = min(y.values())
    return {i: v - top for i, v in y.items()}


def _gather_groups(columns: list[list[str]], group: dict[str, str]) -> tuple[list[list[str]], dict[str, float]]:
    """Sort each column so that every subsystem's items form one run, the
    subsystems in one order everywhere.

    A subsystem's key is the mean relative height (0 top, 1 bottom) of its
    items; a top-level item keeps its own.  Sorting each column by key (ties
    kept in order) moves the fewest items when the order already groups them.
    """
    rel: dict[str, float] = {}
    for column in columns:
        for k, item in enumerate(column):
            rel[item] = (k + 0.5) / len(column)
    sums: dict[str, list[float]] = defaultdict(list)
    for item, g in group.items():
        if g:
            sums[g].append(rel[item])
    mean = {g: sum(v) / len(v) for g, v in sums.items()}
    key = {item: (mean[group[item]] if group[item] else rel[item]) for item in rel}
    return [sorted(column, key=key.__getitem__) for column in columns], key


def plan_layout(graph: DiagramGraph) -> Plan:
    """Run the whole layout, waypoints included."""
    back = _backward_edges(graph)
    col = _assign_columns(graph, back)
    n_in, n_out = _port_counts(graph)
    n_cols = max(col.values()) + 1
    columns: list[list[str]] = [[] for _ in range(n_cols)]
    for node in graph.nodes:
        columns[col[node.id]].append(node.id)
    is_dummy = {node.id: False for node in graph.nodes}
    gaps: list[list[Segment]] = [[] for _ in range(max(n_cols - 1, 0))]
    waypoints: dict[int, list[str]] = {}
    for i, e in enumerate(graph.edges):
        if i in back:
            continue
        chain = [f"\x00edge{i}@{c}" for c in range(col[e.src] + 1, col[e.dst])]
        waypoints[i] = chain
        for w, c in zip(chain, range(col[e.src] + 1, col[e.dst])):
            columns[c].append(w)
            col[w] = c
            is_dummy[w] = True
        items = [e.src, *chain, e.dst]
        for k, (a, b) in enumerate(itertools.pairwise(items)):
            a_port = e.src_port if k == 0 else 0
            b_port = e.dst_port if k == len(items) - 2 else 0
            gaps[col[a]].append(Segment(a, a_port, b, b_port))
    columns = _order_columns(columns, gaps, n_in, n_out)
    group = {node.id: node.group for node in graph.nodes}
    for i, chain in waypoints.items():
        e = graph.edges[i]
        inside = group[e.src] if group[e.src] == group[e.dst] else ""
        group.update({w: inside for w in chain})
    columns, key = _gather_groups(columns, group)
    y = _assign_rows(columns, gaps, n_in, n_out, is_dummy)
    return Plan(columns, col, y, back, waypoints, n_in, n_out, group, key)


def layout(graph: DiagramGraph) -> dict[str, tuple[float, float]]:
    """Place every block of a diagram, left to right.

    Parameters
    ----------
    graph : DiagramGraph
        The diagram.

    Returns
    -------
    dict
        Node id -> ``(x, y)``: ``x`` is the column (0 = leftmost, an int
        stored as float) and ``y`` the row position, increasing downwards,
        with 0 at the top.  For every edge that does not run into a delay,
        ``x(src) < x(dst)`` (unless the diagram has an algebraic cycle);
        so does an edge into a delay that closes no cycle.
    """
    if not graph.nodes:
        return {}
    plan = plan_layout(graph)
    return {n.id: (float(plan.col[n.id]), plan.y[n.id]) for n in graph.nodes}
