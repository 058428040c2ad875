"""The dominance graph: who beats whom, and the cycles that make a game non-transitive.

An edge ``a -> b`` means *a*'s mean net reward per round against *b* (see
:mod:`leaderboards.matrix`) is above zero; its ``weight`` is that value. In a
transitive world the graph is acyclic and sorts into a ranking. Rock-paper-scissors
is the classic counterexample: predictors that beat one strategy are beaten by
another, and :func:`cycles` lists those loops.

>>> rps = [{"agents": [a, b], "status": "finished", "rounds": 10,
...         "scores": {a: 5.0, b: -5.0}} for a, b in [("p", "r"), ("s", "p"), ("r", "s")]]
>>> cycles(dominance_graph(rps))
[['p', 'r', 's']]
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import islice
from typing import TYPE_CHECKING

from leaderboards.contests import Record
from leaderboards.matrix import pairwise_matrix
from leaderboards.table import visible

if TYPE_CHECKING:
    import networkx as nx


def dominance_graph(records: Iterable[Record]) -> nx.DiGraph:
    """A DiGraph over every agent of the records, edges weighted by margin."""
    import networkx as nx  # imported on use: it costs the live view's start-up otherwise

    matrix = pairwise_matrix(records)
    graph = nx.DiGraph()
    graph.add_nodes_from(matrix.agents)
    for a, b, value in matrix.pairs():
        if value > 0:
            graph.add_edge(a, b, weight=value)
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
    lines = [f"{visible(title)}: who beats whom (a -> b: a's mean net per round against b > 0)"]
    edges = sorted(graph.edges(data="weight"), key=lambda e: (-e[2], e[0], e[1]))
    edges = [(visible(a), visible(b), w) for a, b, w in edges]  # names shown as written
    width = max((len(a) for a, _, _ in edges), default=0)
    lines += [f"  {a:<{width}} -> {b}  {w:+.3f}" for a, b, w in edges] or ["  (no edges)"]
    if found:
        lines.append(f"cycles ({len(found)}, non-transitive):")
        lines += ["  " + " -> ".join(visible(a) for a in [*cycle, cycle[0]]) for cycle in found]
    else:
        lines.append("no cycles: the results are transitive")
    return "\n".join(lines) + "\n"
