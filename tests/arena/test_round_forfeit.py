"""RoundForfeit gives up one decision: the round is played with the forfeiter's worst move."""

from __future__ import annotations

import numpy as np
import pytest

from arena.records import FINISHED
from envs import make_game
from tests.arena.test_runner import FAULTS, cfg, play, timeless

QUITTER = {"name": "quit", "type": FAULTS + "RoundForfeiter", "every": 3}


def run(tmp_path, config, **kwargs):
    """The stored records, and the same by key (matches are played and saved in workers)."""
    records, _, _ = play(tmp_path, config, **kwargs)
    return records, {r["key"]: r for r in records}


@pytest.mark.parametrize("in_policy", [False, True])
def test_rps_forfeited_rounds_are_losses_and_the_match_finishes(tmp_path, in_policy):
    config = cfg([{**QUITTER, "in_policy": in_policy},
                  {"name": "rock", "type": "constant", "action": "rock"}])
    records, results = run(tmp_path, config, concurrency=1, name="serial")
    wide, _ = run(tmp_path, config, concurrency=4, name="wide")
    assert timeless(records) == timeless(wide)
    assert len(records) == 2 and all(r["status"] == FINISHED for r in records)
    for record in records:
        log = results[record["key"]]["round_log"]
        assert record["rounds"] == len(log) == 12
        forfeited = [i for i, e in enumerate(log) if "forfeited" in e]
        assert forfeited == [2, 5, 8, 11]  # every third decision
        for i, entry in enumerate(log):
            if i in forfeited:
                assert entry["forfeited"] == ["quit"]
                assert entry["actions"]["quit"] == 2  # scissors: the only loss to rock
                assert entry["rewards"] == {"quit": -1.0, "rock": 1.0}
                assert "quit" not in entry["probabilities"]  # its policy was not played
            else:
                assert entry["probabilities"]["quit"] == pytest.approx([1 / 3] * 3)
        assert record["round_log"] == log  # the store keeps the marks, moves and policies
        assert record["stats"] == {"quit": {"round_forfeits": 4.0}}


def test_both_forfeiting_one_round_play_action_zero(tmp_path):
    config = cfg([QUITTER, {**QUITTER, "name": "also"}])
    records, results = run(tmp_path, config)
    for record in records:
        log = results[record["key"]]["round_log"]
        for entry in log[2::3]:
            assert entry["forfeited"] == record["agents"]
            assert entry["actions"] == {"quit": 0, "also": 0}
            assert entry["rewards"] == {"quit": 0.0, "also": 0.0}
        assert record["stats"] == {"quit": {"round_forfeits": 4.0},
                                   "also": {"round_forfeits": 4.0}}


def test_hide_and_seek_forfeits_lose_in_either_role(tmp_path):
    config = cfg([QUITTER, {"name": "kit", "type": "constant", "action": "kitchen"}],
                 game={"id": "hide_and_seek", "graph": "house", "search_radius": 1,
                       "rounds": 9})
    records, results = run(tmp_path, config)
    roles = {}
    for record in records:
        assert record["status"] == FINISHED
        role = record["roles"][record["agents"].index("quit")]
        log = results[record["key"]]["round_log"]
        forfeited = [e for e in log if "forfeited" in e]
        assert len(forfeited) == 3 and all(e["forfeited"] == ["quit"] for e in forfeited)
        assert all(e["rewards"]["quit"] == -1.0 for e in forfeited)
        # the lowest losing room: a hider is found in the hallway, next to the kitchen; a
        # seeker misses in the bedroom, two doors away
        roles[role] = {e["actions"]["quit"] for e in forfeited}
        assert record["stats"]["quit"] == {"round_forfeits": 3.0}
    assert roles == {"hider_0": {0}, "seeker_0": {1}}


def test_random_number_forfeit_says_the_most_expected_number(tmp_path):
    config = cfg([QUITTER], game={"id": "random_number", "length": 7},
                 fmt={"type": "solo", "episodes": 2})
    records, results = run(tmp_path, config)
    (record,) = records
    log = results[record["key"]]["round_log"]
    # the agent is reset for every episode, so it counts its decisions again from one
    assert [(e["episode"], e["step"]) for e in log if "forfeited" in e] == [
        (0, 2), (0, 5), (1, 2), (1, 5)]
    assert record["status"] == FINISHED and record["stats"] == {"quit": {"round_forfeits": 4.0}}
    # replay the series: each step's info holds the forecast the number was scored against
    env = make_game("random_number", length=7)
    for entry in log:
        if entry["step"] == 0:
            env.reset(seed=0)
        number = entry["actions"]["quit"]
        _, reward, _, _, info = env.step(number)
        assert reward == pytest.approx(entry["rewards"]["quit"])
        if "forfeited" in entry:
            assert number == int(np.argmax(info["distribution"]))  # low = 0
            assert info["probability"] == pytest.approx(info["distribution"].max())
            assert "quit" not in entry["probabilities"]


def test_creative_writing_forfeit_submits_nothing(tmp_path):
    config = cfg([{**QUITTER, "every": 1, "in_policy": True}],
                 game={"id": "creative_writing", "semantic": False},
                 fmt={"type": "solo", "episodes": 2})
    records, results = run(tmp_path, config)
    (record,) = records
    assert record["status"] == FINISHED and record["scores"] == {"quit": 0.0}
    log = results[record["key"]]["round_log"]
    assert [e["actions"]["quit"] for e in log] == ["", ""]
    assert all(e["forfeited"] == ["quit"] for e in log)
    assert record["stats"] == {"quit": {"round_forfeits": 2.0}}
