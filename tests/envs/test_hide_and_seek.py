"""Boards, rules, equilibria and argument checks of repeated hide-and-seek."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from envs import hide_and_seek as hs
from tests.helpers import play

UNIFORM5 = np.full(5, 0.2)


def _assert_equilibrium(env: hs.raw_env, value: float) -> tuple[np.ndarray, np.ndarray]:
    """Each strategy guarantees ``value`` against every pure reply (within 1e-9)."""
    hider, seeker, found = env.nash()
    assert found == pytest.approx(value, abs=1e-9)
    payoff = env.context("seeker_0")["payoff"]  # rows seeker's node, columns hider's
    for strategy in (hider, seeker):
        assert strategy.shape == (payoff.shape[0],)
        assert (strategy >= 0).all() and strategy.sum() == pytest.approx(1.0, abs=1e-12)
    assert (seeker @ payoff).min() == pytest.approx(value, abs=1e-9)  # seeker's worst case
    assert (payoff @ hider).max() == pytest.approx(value, abs=1e-9)  # hider's worst case
    return hider, seeker


@pytest.mark.parametrize(
    ("graph", "radius", "value"),
    [("complete-5", 0, -0.6), ("line-3", 1, 1.0), ("line-5", 1, 0.0), ("cycle-4", 1, 0.5),
     ("house", 0, -0.6), ("house", 1, 0.0), ("line-12", 1, -0.5), ("line-1", 0, 1.0)],
)
def test_nash_hand_derived_values(graph: str, radius: int, value: float) -> None:
    _assert_equilibrium(hs.parallel_env(graph=graph, search_radius=radius), value)


def test_nash_complete_graph_is_uniform() -> None:
    hider, seeker = _assert_equilibrium(hs.parallel_env(graph="complete-5"), -0.6)
    np.testing.assert_allclose(hider, UNIFORM5, atol=1e-9)
    np.testing.assert_allclose(seeker, UNIFORM5, atol=1e-9)


def test_nash_line3_seeker_searches_the_middle() -> None:
    _, seeker = _assert_equilibrium(hs.parallel_env(graph="line-3", search_radius=1), 1.0)
    np.testing.assert_allclose(seeker, [0, 1, 0], atol=1e-9)


def test_nash_house_with_radius_one_is_not_uniform() -> None:
    hider, seeker = _assert_equilibrium(hs.parallel_env(search_radius=1), 0.0)
    assert not np.allclose(hider, UNIFORM5) and not np.allclose(seeker, UNIFORM5)
    assert seeker[0] > 0  # the hallway is the widest search


@pytest.mark.parametrize("graph", [nx.star_graph(5), nx.petersen_graph(), "grid-4x5"])
def test_nash_strategies_are_unexploitable(graph: nx.Graph | str) -> None:
    env = hs.parallel_env(graph=graph, search_radius=1)
    _assert_equilibrium(env, env.nash()[2])


def test_house_board() -> None:
    house = hs.build_graph("house")
    names = dict(house.nodes(data="name"))
    assert sorted(names.values()) == ["bedroom", "cellar", "hallway", "kitchen", "living room"]
    doors = {frozenset((names[u], names[v])) for u, v in house.edges}
    assert doors == {frozenset(d) for d in [("hallway", "bedroom"), ("hallway", "kitchen"),
                                            ("hallway", "living room"), ("kitchen", "cellar")]}
    assert hs.parallel_env().action_names == [names[i] for i in range(5)]


@pytest.mark.parametrize(
    ("spec", "nodes", "edges"),
    [("line-4", 4, 3), ("cycle-5", 5, 5), ("complete-4", 4, 6), ("grid-2x3", 6, 7)],
)
def test_named_boards(spec: str, nodes: int, edges: int) -> None:
    graph = hs.build_graph(spec)
    assert sorted(graph.nodes) == list(range(nodes)) and graph.number_of_edges() == edges
    assert all(isinstance(name, str) for _, name in graph.nodes(data="name"))


def test_grid_names_are_row_and_column() -> None:
    names = [name for _, name in hs.build_graph("grid-2x3").nodes(data="name")]
    assert names == ["r0c0", "r0c1", "r0c2", "r1c0", "r1c1", "r1c2"]


def test_user_graphs_are_relabelled_and_named() -> None:
    named = nx.Graph([("attic", "stairs"), ("stairs", "garden")])
    graph = hs.build_graph(named)
    assert sorted(graph.nodes) == [0, 1, 2]
    assert [name for _, name in graph.nodes(data="name")] == ["attic", "stairs", "garden"]
    assert list(named.nodes) == ["attic", "stairs", "garden"]  # the user's graph is untouched

    numbered = nx.Graph([(10, 20), (20, 30)])
    numbered.nodes[30]["name"] = "top"
    names = [name for _, name in hs.build_graph(numbered).nodes(data="name")]
    assert names == ["node 0", "node 1", "top"]

    shuffled = nx.Graph()
    shuffled.add_nodes_from([2, 0, 1])
    shuffled.add_edge(0, 2)
    kept = hs.build_graph(shuffled)
    assert kept.has_edge(0, 2) and not kept.has_edge(0, 1)  # 0..n-1 labels stay put


def test_context_and_payoff_helper() -> None:
    env = hs.parallel_env(graph="line-3", search_radius=1)
    context = env.context("seeker_0")
    assert context["search_radius"] == 1 and context["graph"].number_of_nodes() == 3
    assert context["action_names"] == ["node 0", "node 1", "node 2"]
    np.testing.assert_array_equal(context["payoff"], hs.payoff_matrix("line-3", 1, "seeker"))
    np.testing.assert_array_equal(env.context("hider_0")["payoff"],
                                  hs.payoff_matrix(env.graph, 1, "hider"))
    assert hs.payoff_matrix("line-3", 0, "seeker")[0].tolist() == [1, -1, -1]
    with pytest.raises(nx.NetworkXError):
        context["graph"].add_node(99)  # agents cannot change the board


def test_rounds_find_within_radius_and_truncate() -> None:
    env = hs.parallel_env(graph="line-5", search_radius=1, rounds=3)
    obs, _ = env.reset(seed=0)
    assert env.agents == ["hider_0", "seeker_0"]
    # (hider's node, seeker's node, seeker's reward): one hop away, two hops, same node
    for t, (hide, seek, reward) in enumerate([(0, 1, 1.0), (0, 2, -1.0), (4, 4, 1.0)]):
        obs, rewards, terms, truncs, _ = env.step({"hider_0": hide, "seeker_0": seek})
        assert rewards == {"seeker_0": reward, "hider_0": -reward}
        assert obs["hider_0"][t].tolist() == [hide, seek]
        assert obs["seeker_0"][t].tolist() == [seek, hide]
        assert all(truncs.values()) == (t == 2) and not any(terms.values())
    assert env.agents == []


def test_render_names_the_rooms() -> None:
    env = hs.parallel_env(render_mode="ansi", rounds=2)
    env.reset()
    env.step({"hider_0": 4, "seeker_0": 2})
    assert "cellar" in env.render() and "kitchen" in env.render()


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [({"rounds": 0}, "rounds"), ({"search_radius": -1}, "search_radius"),
     ({"search_radius": 1.5}, "search_radius"), ({"graph": "mansion"}, "graph"),
     ({"graph": "line-x"}, "graph"), ({"graph": "grid-3"}, "graph"),
     ({"graph": "line-0"}, "graph"), ({"graph": nx.Graph()}, "graph"),
     ({"graph": nx.DiGraph([(0, 1)])}, "graph"), ({"graph": 7}, "graph")],
)
def test_bad_arguments_name_the_argument(kwargs: dict, argument: str) -> None:
    with pytest.raises(ValueError, match=argument):
        hs.parallel_env(**kwargs)


def test_unknown_graph_lists_the_valid_forms() -> None:
    with pytest.raises(ValueError) as error:
        hs.build_graph("mansion")
    for form in hs.GRAPH_FORMS:
        assert form in str(error.value)


def test_duplicate_names_are_rejected() -> None:
    graph = nx.Graph([(0, 1)])
    nx.set_node_attributes(graph, {0: "den", 1: "den"}, "name")
    with pytest.raises(ValueError, match="den"):
        hs.build_graph(graph)


class _Fixed:
    """Always picks one named node."""

    def __init__(self, name: str, node: str) -> None:
        self.name, self.node = name, node

    def reset(self, *, seed: int | None = None, **context) -> None:
        self.index = context["action_names"].index(self.node)

    def act(self, observation: np.ndarray, action_space) -> int:
        return self.index


def test_play_a_match_end_to_end() -> None:
    means = play(_Fixed("hides_in_cellar", "cellar"), _Fixed("searches_kitchen", "kitchen"),
                 game="hide_and_seek", rounds=20, search_radius=1)
    assert means == {"hides_in_cellar": -1.0, "searches_kitchen": 1.0}
    means = play(_Fixed("hides_in_cellar", "cellar"), _Fixed("searches_kitchen", "kitchen"),
                 game="hide_and_seek", rounds=20)
    assert means == {"hides_in_cellar": 1.0, "searches_kitchen": -1.0}
