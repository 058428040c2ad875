"""A new repeated matrix game needs no edit in agents/ or arena/: matching pennies is
defined here, registered with ``envs.register_game``, and the existing exploiters and
baselines play it through the engine's own loop and through a whole config."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np
import pytest

import envs
from arena.config import parse_config
from arena.match import play_match
from arena.registry import can_play, get_agent_class, make_agent
from arena.runner import Runner
from arena.schedule import build_schedule
from arena.store import Store
from envs.repeated_game import RepeatedZeroSumGame


class MatchingPennies(RepeatedZeroSumGame):
    """The matcher wins +1 when both coins show the same face, the mismatcher otherwise."""

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi", "human"],
                                          "name": "matching_pennies_v0"}

    def __init__(self, *, rounds: int = 100, render_mode: str | None = None) -> None:
        super().__init__(agents=("matcher_0", "mismatcher_0"), action_names=("heads", "tails"),
                         payoff=np.array([[1.0, -1.0], [-1.0, 1.0]]), rounds=rounds,
                         render_mode=render_mode)


@pytest.fixture
def pennies() -> Iterator[str]:
    spec = envs.register_game(envs.GameSpec(
        "matching_pennies", "matrix", f"{__name__}:MatchingPennies", role_swap="matches"))
    yield spec.id
    del envs.GAMES[spec.id]


def play(game: str, first: Any, second: Any, *, rounds: int = 300, seed: int = 1) -> dict:
    env = envs.make_game(game, rounds=rounds)
    result = play_match(env, [first, second], game=game, seed=seed)
    assert result.status == "finished", result.error
    return {name: score / rounds for name, score in result.scores.items()}


@pytest.mark.parametrize("exploiter", ["frequency", "markov", "history_match", "iocaine",
                                       "hedge", "beat_last"])
def test_exploiters_beat_a_biased_coin_from_either_seat(pennies: str, exploiter: str) -> None:
    coin = {"type": "biased", "weights": [0.8, 0.2]}
    for seat in (0, 1):
        agents = [make_agent(exploiter, name="x"), make_agent(coin["type"], name="coin",
                                                               weights=coin["weights"])]
        if seat:
            agents.reverse()
        scores = play(pennies, *agents)
        assert scores["x"] > 0.25, (seat, scores)  # the coin's bias is worth 0.6 a round


def test_kinds_decide_who_plays_the_new_game(pennies: str) -> None:
    assert can_play(get_agent_class("iocaine"), pennies)
    assert can_play(get_agent_class("uniform_random"), pennies)
    assert not can_play(get_agent_class("fixed_text"), pennies)
    assert not can_play(get_agent_class("hf"), pennies)  # no prompt template for it


def test_a_config_plays_it_as_role_swapped_pairs(pennies: str, tmp_path) -> None:
    config = parse_config({
        "name": "pennies", "seed": 3, "game": {"id": pennies, "rounds": 50},
        "format": {"type": "round_robin", "matches": 1},
        "agents": [{"name": "ioc", "type": "iocaine"}, {"name": "rock", "type": "constant"},
                   {"name": "words", "type": "fixed_text"}]})
    schedule = build_schedule(config)
    assert [f.key for f in schedule.fixtures] == ["matching_pennies/ioc-vs-rock/0/ioc-matches",
                                                 "matching_pennies/ioc-vs-rock/0/rock-matches"]
    assert any("'words'" in n for n in schedule.notices)  # a text agent sits this one out
    store = Store.create(tmp_path / "run", config=config.snapshot())
    Runner(config, store, None, fixtures=schedule.fixtures).run()
    records = store.results(rounds=True)
    store.close()
    assert [r["roles"] for r in records] == [["matcher_0", "mismatcher_0"]] * 2
    for record in records:
        assert record["status"] == "finished" and record["scores"]["ioc"] > 30
        assert record["round_log"][0]["probabilities"]["ioc"] == pytest.approx([0.5, 0.5])
