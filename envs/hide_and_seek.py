"""# Repeated Hide-and-Seek on a graph (``hide_and_seek_v0``)

Every round a hider picks a hiding spot and, at the same time, a seeker picks a spot
to search. The spots are the nodes of a graph; a search finds the hider when the
hider is within ``search_radius`` hops of the searched node.

| Property           | Value                                                       |
|--------------------|-------------------------------------------------------------|
| Import             | `from envs import hide_and_seek; hide_and_seek.parallel_env()` |
| Parallel API       | Yes (native `ParallelEnv`); `hide_and_seek.env()` gives AEC |
| Agents             | `hider_0`, `seeker_0`                                       |
| Action space       | `Discrete(n_nodes)`: the node to hide in / to search        |
| Observation shape  | `(rounds, 2)`, int64                                        |
| Observation values | `-1` (not yet played) to `n_nodes - 1`                      |

## The board

``graph`` is a networkx ``Graph`` or one of these names:

| Name         | Board                                                              |
|--------------|--------------------------------------------------------------------|
| `house`      | (default) hallway, bedroom, kitchen, living room, cellar: the      |
|              | hallway opens to bedroom, kitchen and living room; the kitchen to  |
|              | the cellar                                                         |
| `line-N`     | a path of N nodes, `node 0` .. `node N-1`                          |
| `cycle-N`    | a ring of N nodes                                                  |
| `grid-RxC`   | an R by C grid, nodes named `r<row>c<column>`                      |
| `complete-N` | N nodes, all joined                                                |

Nodes are relabelled ``0..n-1`` (kept if they already are) and each carries a
human-readable ``name`` attribute: the node's own ``name``, else its label when that
is a string, else ``"node i"``. The raw env's ``action_names`` lists them by index.

## Observation

As in ``rps_v0``: row ``t`` is (own move, opponent's move) in round ``t``; ``-1`` marks
rounds not yet played. The array is a read-only view that fills in as the match goes
on; copy it to keep a snapshot.

## Arguments

``parallel_env(*, graph="house", search_radius=0, rounds=100, render_mode=None)``

- ``graph``: the board, as above.
- ``search_radius``: hops a search reaches; 0 means only the searched node.
- ``rounds``: rounds per match; both agents are truncated after the last one.
- ``render_mode``: ``None``, ``"ansi"`` (``render()`` returns the last round as text)
  or ``"human"`` (that text is printed after every step).

## Rewards

Zero-sum, every round: the seeker gets +1 when it finds the hider and -1 otherwise;
the hider gets the opposite.

## Equilibrium

``raw_env.nash()`` solves the stage game's linear program and returns (hider
strategy, seeker strategy, seeker value). Each strategy is the one the exploiting
agents compute from that seat (``envs.zero_sum.equilibrium``) and the value is what
the pair earns the seeker. Where one search covers more hiding spots than another
(a line, a star, the house with radius 1) the equilibrium is not uniform, and
equilibria need not be unique. The seeker's equilibrium find rate is
``(value + 1) / 2``: the yardstick for measuring agents.

## Context for agents

``raw_env.context(agent)`` gives ``action_names``, ``payoff`` (rows own action,
columns opponent's, entries own reward), ``graph`` (frozen) and ``search_radius``.

## Version history

- v0: first version: named boards, ``search_radius``, full-history observation.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import networkx as nx
import numpy as np

from envs.repeated_game import RepeatedZeroSumGame, aec_env
from envs.zero_sum import solve_zero_sum

GRAPH_FORMS = ("house", "line-N", "cycle-N", "grid-RxC", "complete-N")
"""The names ``graph`` accepts besides a networkx Graph."""

_HOUSE_ROOMS = ("hallway", "bedroom", "kitchen", "living room", "cellar")
_HOUSE_DOORS = (("hallway", "bedroom"), ("hallway", "kitchen"),
                ("hallway", "living room"), ("kitchen", "cellar"))
_SIZED = {"line": nx.path_graph, "cycle": nx.cycle_graph, "complete": nx.complete_graph}


def _graph_error(spec: Any) -> ValueError:
    return ValueError(f"graph must be a networkx Graph or one of {', '.join(GRAPH_FORMS)} "
                      f"(N, R, C positive integers), got {spec!r}")


def _named_graph(spec: str) -> nx.Graph:
    if spec == "house":
        house = nx.Graph()
        house.add_nodes_from(_HOUSE_ROOMS)
        house.add_edges_from(_HOUSE_DOORS)
        return house
    if match := re.fullmatch(r"(line|cycle|complete)-(\d+)", spec):
        return _SIZED[match[1]](int(match[2]))
    if match := re.fullmatch(r"grid-(\d+)x(\d+)", spec):
        grid = nx.grid_2d_graph(int(match[1]), int(match[2]))
        return nx.relabel_nodes(grid, {(r, c): f"r{r}c{c}" for r, c in grid.nodes})
    raise _graph_error(spec)


def build_graph(spec: nx.Graph | str) -> nx.Graph:
    """The board as a new undirected graph with nodes ``0..n-1``, each with a ``name``.

    >>> [name for _, name in build_graph("house").nodes(data="name")][:2]
    ['hallway', 'bedroom']
    """
    if isinstance(spec, str):
        source = _named_graph(spec)
    elif isinstance(spec, nx.Graph):
        if spec.is_directed():
            raise ValueError("graph must be undirected (a search reaches both ways)")
        source = spec
    else:
        raise _graph_error(spec)
    n = source.number_of_nodes()
    if n == 0:
        raise ValueError(f"graph must have at least one node, got an empty graph from {spec!r}")
    labels = list(source.nodes)
    if set(labels) == set(range(n)):
        labels.sort()  # already 0..n-1: keep each node's index
    graph = nx.Graph()
    for index, label in enumerate(labels):
        name = source.nodes[label].get("name")
        if name is None:
            name = label if isinstance(label, str) else f"node {index}"
        graph.add_node(index, name=str(name))
    index_of = {label: index for index, label in enumerate(labels)}
    graph.add_edges_from((index_of[u], index_of[v]) for u, v in source.edges)
    names = [name for _, name in graph.nodes(data="name")]
    if len(set(names)) != n:
        duplicates = sorted({name for name in names if names.count(name) > 1})
        raise ValueError(f"graph node names must be unique, repeated: {duplicates}")
    return graph


def _check_radius(search_radius: int) -> int:
    if (isinstance(search_radius, bool) or not isinstance(search_radius, (int, np.integer))
            or search_radius < 0):
        raise ValueError(f"search_radius must be a non-negative integer, got {search_radius!r}")
    return int(search_radius)


def coverage_matrix(graph: nx.Graph, search_radius: int) -> np.ndarray:
    """Boolean ``[searched, hiding]``: True where a search of one node finds the other."""
    n = graph.number_of_nodes()
    covered = np.zeros((n, n), dtype=bool)
    for searched, reach in nx.all_pairs_shortest_path_length(graph, cutoff=search_radius):
        covered[searched, list(reach)] = True
    return covered


def payoff_matrix(graph: nx.Graph | str, search_radius: int = 0,
                  role: str = "seeker") -> np.ndarray:
    """The stage game from ``role``'s seat: rows own node, columns the opponent's."""
    if role not in ("hider", "seeker"):
        raise ValueError(f"role must be 'hider' or 'seeker', got {role!r}")
    covered = coverage_matrix(build_graph(graph), _check_radius(search_radius))
    seeker = np.where(covered, 1.0, -1.0)
    return seeker if role == "seeker" else -seeker.T


def env(**kwargs: Any) -> Any:
    """The AEC version, wrapped in PettingZoo's bounds and order checks."""
    return aec_env(raw_env(**kwargs))


class raw_env(RepeatedZeroSumGame):  # noqa: N801 (PettingZoo's module convention)
    """Repeated hide-and-seek as a native PettingZoo ``ParallelEnv``."""

    metadata: ClassVar[dict[str, Any]] = {
        "render_modes": ["ansi", "human"],
        "name": "hide_and_seek_v0",
        "is_parallelizable": True,
    }

    def __init__(self, *, graph: nx.Graph | str = "house", search_radius: int = 0,
                 rounds: int = 100, render_mode: str | None = None) -> None:
        self.search_radius = _check_radius(search_radius)
        self.graph = nx.freeze(build_graph(graph))
        # computed once here so that rounds only look rewards up
        self.coverage = coverage_matrix(self.graph, self.search_radius)
        self.coverage.flags.writeable = False
        hider_payoff = np.where(self.coverage.T, -1.0, 1.0)
        super().__init__(agents=("hider_0", "seeker_0"),
                         action_names=[name for _, name in self.graph.nodes(data="name")],
                         payoff=hider_payoff, rounds=rounds, render_mode=render_mode)
        self._equilibrium: tuple[np.ndarray, np.ndarray, float] | None = None

    def context(self, agent: str) -> dict[str, Any]:
        return {**super().context(agent), "graph": self.graph,
                "search_radius": self.search_radius}

    def nash(self) -> tuple[np.ndarray, np.ndarray, float]:
        """(hider strategy, seeker strategy, seeker value) at an equilibrium of one round."""
        if self._equilibrium is None:
            seeker, hider, value = solve_zero_sum(self.payoff_for("seeker_0"))
            self._equilibrium = (hider, seeker, value)
        hider, seeker, value = self._equilibrium
        return hider.copy(), seeker.copy(), value


parallel_env = raw_env
