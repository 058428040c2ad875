"""The dominance graph: who beats whom, and the cycles that make a game non-transitive.

An edge ``a -> b`` means *a*'s mean net reward per round against *b* (see
:mod:`leaderboards.matrix`) is above zero *and its 95% interval excludes 0*: a pair
whose difference is within noise (a few thousandths per round against a uniform
player, say) gets no edge, so it makes no cycle. The edge's ``weight`` is that value,
``low`` and ``high`` its interval; ``graph.graph["noise"]`` counts the pairs left out
that way. In a transitive world the graph is acyclic and sorts into a ranking.
Rock-paper-scissors is the classic counterexample: predictors that beat one strategy
are beaten by another, and :func:`cycles` lists those loops.

>>> rps = [{"agents": [a, b], "status": "finished", "rounds": 10,
...         "scores": {a: 9.0, b: -9.0}} for a, b in [("p", "r"), ("s", "p"), ("r", "s")]]
>>> cycles(dominance_graph(rps))
[['p', 'r', 's']]
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import islice
from typing import TYPE_CHECKING

from leaderboards.contests import RPS_ROUND_VARIANCE, Record
from leaderboards.matrix import pairwise_matrix
from leaderboards.table import visible

if TYPE_CHECKING:
    import networkx as nx


def dominance_graph(records: Iterable[Record], *,
                    round_variance: float = RPS_ROUND_VARIANCE) -> nx.DiGraph:
    """A DiGraph over every agent of the records, edges weighted by margin, only where
    the margin's 95% interval excludes 0 (``round_variance``: as for
    :func:`leaderboards.pairwise_matrix`)."""
    import networkx as nx  # imported on use: it costs the live view's start-up otherwise

    matrix = pairwise_matrix(records, round_variance=round_variance)
    graph = nx.DiGraph(noise=0)
    graph.add_nodes_from(matrix.agents)
    position = {a: i for i, a in enumerate(matrix.agents)}
    for a, b, value in matrix.pairs():
        if value <= 0:
            continue
        low, high = matrix.interval(a, b)
        if matrix.significant(position[a], position[b]):
            graph.add_edge(a, b, weight=value, low=low, high=high)
        else:
            graph.graph["noise"] += 1
    return graph


def _canonical(cycle: list[str]) -> list[str]:
    start = cycle.index(min(cycle))
    return cycle[start:] + cycle[:start]


def cycles(graph: nx.DiGraph, *, max_length: int = 4, limit: int = 50) -> list[list[str]]:
    """Simple cycles of at most ``max_length`` agents, at most ``limit`` of them.

    Each cycle starts at its alphabetically first agent and follows the edges; the list
    is sorted by length, then by names. Enumeration is bounded because a dense
    tournament graph has exponentially many cycles.
    """
    import networkx as nx

    found = islice(nx.simple_cycles(graph, length_bound=max_length), limit)
    return sorted((_canonical(list(c)) for c in found), key=lambda c: (len(c), c))


def graph_text(graph: nx.DiGraph, found: list[list[str]], *, title: str) -> str:
    """Edges strongest first, then the cycles ``found``, as plain text."""
    lines = [f"{visible(title)}: who beats whom (a -> b: a's mean net per round against b, "
             "[95% interval] above 0)"]
    edges = sorted(graph.edges(data=True), key=lambda e: (-e[2]["weight"], e[0], e[1]))
    # names shown as written
    shown = [(visible(a), visible(b), d["weight"], d.get("low"), d.get("high"))
             for a, b, d in edges]
    width = max((len(a) for a, *_ in shown), default=0)
    lines += [f"  {a:<{width}} -> {b}  {w:+.3f}" + _bracket(low, high)
              for a, b, w, low, high in shown] or ["  (no edges)"]
    noise = int(graph.graph.get("noise", 0))
    if noise:
        lines.append(f"  ({noise} pair{'s' if noise != 1 else ''} within noise: "
                     "interval includes 0, no edge)")
    if found:
        lines.append(f"cycles ({len(found)}, non-transitive):")
        lines += ["  " + " -> ".join(visible(a) for a in [*cycle, cycle[0]]) for cycle in found]
    else:
        lines.append("no cycles: the results are transitive")
    return "\n".join(lines) + "\n"


def _bracket(low: float | None, high: float | None) -> str:
    return "" if low is None or high is None else f"  [{low:+.3f}, {high:+.3f}]"
