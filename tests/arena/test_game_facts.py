"""Game facts without building games: ``Config.game(id)`` and one cached description per
game (moves, roles, payoff from each seat, kind) that every reader uses."""

from __future__ import annotations

import numpy as np
import pytest

import envs
from arena.cli_views import round_variance_of
from arena.config import parse_config
from arena.export_tidy import GameActions
from arena.game_facts import facts_of, game_facts
from arena.report_data import matrix_info


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict]]:
    """Every env built from here on, with a fresh cache."""
    from arena import game_facts as module

    module._facts.cache_clear()
    made: list[tuple[str, dict]] = []
    real = envs.GameSpec.make

    def make(spec: envs.GameSpec, **kwargs):
        made.append((spec.id, kwargs))
        return real(spec, **kwargs)

    monkeypatch.setattr(envs.GameSpec, "make", make)
    yield made
    module._facts.cache_clear()


@pytest.mark.parametrize("game", ["rps", "hide_and_seek"])
def test_a_matrix_games_facts_are_what_its_env_says(game: str) -> None:
    env = envs.make_game(game)
    raw = env.unwrapped
    facts = facts_of(game)
    assert facts.kind == "matrix" and not facts.solo
    assert facts.roles == tuple(raw.possible_agents)
    assert facts.action_names == tuple(raw.action_names)
    for role in raw.possible_agents:
        assert np.array_equal(facts.payoff(role), raw.payoff_for(role))
    with pytest.raises(ValueError):
        facts.payoff(facts.roles[0])[0, 0] = 9  # shared by every reader: read-only
    assert (facts.nash is not None) == (game == "hide_and_seek")


def test_solo_tasks_facts() -> None:
    numbers = facts_of("random_number", {"low": 3, "high": 7, "length": 4})
    assert (numbers.kind, numbers.roles, numbers.low, numbers.high, numbers.length) == (
        "numbers", ("solo",), 3, 7, 4)
    assert numbers.action_names == ("3", "4", "5", "6", "7")
    writing = facts_of("creative_writing")
    assert writing.kind == "text" and writing.action_names == () and writing.solo


def test_readers_build_each_game_once(builds: list) -> None:
    for _ in range(3):
        assert round_variance_of("rps", {}) == pytest.approx(2 / 3)
        assert GameActions("rps", {}).labels == ["rock", "paper", "scissors"]
        assert matrix_info("rps", {})["action_names"] == ["rock", "paper", "scissors"]
        assert GameActions("random_number", {"high": 5}).labels[-1] == "5"
    assert builds == [("rps", {}), ("random_number", {"high": 5})]


def test_config_game_finds_a_game_by_id() -> None:
    config = parse_config({"name": "t", "seed": 1,
                           "games": [{"id": "rps", "rounds": 4},
                                     {"id": "hide_and_seek", "rounds": 4}],
                           "agents": [{"name": "a", "type": "uniform_random"},
                                      {"name": "b", "type": "cycle"}]})
    assert config.game("hide_and_seek") is config.games[1]
    with pytest.raises(KeyError):
        config.game("chess")
    assert game_facts(config.game("rps")) is facts_of("rps", config.games[0].args)
    assert game_facts({"id": "rps", "args": dict(config.games[0].args)}) is \
        game_facts(config.game("rps"))
