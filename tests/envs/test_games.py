"""PettingZoo's own checkers, run on every two-player game in the registry."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import networkx as nx
import pytest
from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test
from pettingzoo.utils.conversions import parallel_to_aec

from envs import GAMES, make_game

TWO_PLAYER = [game_id for game_id, spec in GAMES.items() if spec.kind == "matrix"]

# (game id, keyword arguments): every registered game with its defaults, plus variants
CASES: list[tuple[str, dict[str, Any]]] = [(game_id, {}) for game_id in TWO_PLAYER] + [
    ("rps", {"n_actions": 5, "rounds": 30}),
    ("hide_and_seek", {"graph": "grid-3x4", "search_radius": 1, "rounds": 30}),
    ("hide_and_seek", {"graph": "complete-2", "rounds": 30}),
    ("hide_and_seek", {"graph": "cycle-6", "search_radius": 2, "rounds": 30}),
    ("hide_and_seek", {"graph": nx.star_graph(4), "search_radius": 1, "rounds": 30}),
]
IDS = [f"{game_id}-{'-'.join(f'{k}={v}' for k, v in kwargs.items()) or 'defaults'}"
       for game_id, kwargs in CASES]

# The history observation is 2-D and uses -1 for unplayed rounds by contract, which
# PettingZoo's heuristic mistakes for an image; every other warning fails the test.
pytestmark = [
    pytest.mark.filterwarnings("error"),
    pytest.mark.filterwarnings("ignore:The observation contains negative numbers"),
]


def _maker(game_id: str, kwargs: dict[str, Any]) -> Callable[[], Any]:
    return lambda: make_game(game_id, **kwargs)


def test_registry_has_both_games() -> None:
    assert {"rps", "hide_and_seek"} <= set(TWO_PLAYER)


@pytest.mark.parametrize(("game_id", "kwargs"), CASES, ids=IDS)
def test_parallel_api(game_id: str, kwargs: dict[str, Any]) -> None:
    parallel_api_test(make_game(game_id, **kwargs), num_cycles=1000)


@pytest.mark.parametrize(("game_id", "kwargs"), CASES, ids=IDS)
def test_aec_api(game_id: str, kwargs: dict[str, Any]) -> None:
    api_test(parallel_to_aec(make_game(game_id, **kwargs)), num_cycles=1000)


@pytest.mark.parametrize("game_id", TWO_PLAYER)
def test_aec_env_function(game_id: str) -> None:
    module = importlib.import_module(GAMES[game_id].load().__module__)
    env = module.env(rounds=20)
    api_test(env, num_cycles=100)
    assert env.unwrapped.metadata["name"] == f"{game_id}_v0"


@pytest.mark.parametrize(("game_id", "kwargs"), CASES, ids=IDS)
def test_seeding(game_id: str, kwargs: dict[str, Any]) -> None:
    parallel_seed_test(_maker(game_id, kwargs))


@pytest.mark.parametrize(("game_id", "kwargs"), CASES, ids=IDS)
def test_contract(game_id: str, kwargs: dict[str, Any]) -> None:
    """The raw env offers what the engine builds agent contexts from (contract 1)."""
    env = make_game(game_id, **kwargs)
    assert env.unwrapped is env
    n = len(env.unwrapped.action_names)
    for agent in env.possible_agents:
        assert env.action_space(agent).n == n
        context = env.unwrapped.context(agent)
        assert context["action_names"] == env.unwrapped.action_names
        assert context["payoff"].shape == (n, n)
    first, second = (env.unwrapped.context(a)["payoff"] for a in env.possible_agents)
    assert (first == -second.T).all()  # zero-sum, seen from either seat
