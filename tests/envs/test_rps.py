"""Rules, observations, rendering and argument checks of repeated rock-paper-scissors."""

from __future__ import annotations

import numpy as np
import pytest

from envs import rps
from tests.helpers import play


def _beats(n: int) -> set[tuple[str, str]]:
    names = rps.ACTION_NAMES[:n]
    matrix = rps.payoff_matrix(n)
    return {(names[i], names[j]) for i in range(n) for j in range(n) if matrix[i, j] == 1}


def test_classic_rules() -> None:
    assert _beats(3) == {("paper", "rock"), ("scissors", "paper"), ("rock", "scissors")}


def test_lizard_spock_rules() -> None:
    expected = {
        ("scissors", "paper"), ("paper", "rock"), ("rock", "lizard"), ("lizard", "spock"),
        ("spock", "scissors"), ("scissors", "lizard"), ("lizard", "paper"),
        ("paper", "spock"), ("spock", "rock"), ("rock", "scissors"),
    }
    assert _beats(5) == expected


@pytest.mark.parametrize("n", [3, 5])
def test_payoff_is_zero_sum_and_balanced(n: int) -> None:
    matrix = rps.payoff_matrix(n)
    assert matrix.shape == (n, n)
    np.testing.assert_array_equal(matrix, -matrix.T)
    np.testing.assert_array_equal(matrix.sum(axis=1), np.zeros(n))
    np.testing.assert_array_equal(np.diag(matrix), np.zeros(n))


def test_rewards_observations_and_truncation() -> None:
    env = rps.parallel_env(rounds=3)
    obs, infos = env.reset(seed=1)
    assert env.agents == ["player_0", "player_1"]
    assert set(infos) == set(env.agents)
    for agent in env.agents:
        assert obs[agent].dtype == np.int64 and obs[agent].shape == (3, 2)
        assert (obs[agent] == -1).all()
        assert env.observation_space(agent).contains(obs[agent])

    plays = [(1, 0, 1.0), (2, 2, 0.0), (2, 0, -1.0)]  # paper>rock, draw, rock>scissors
    for t, (a, b, reward) in enumerate(plays):
        obs, rewards, terms, truncs, _ = env.step({"player_0": a, "player_1": b})
        assert rewards == {"player_0": reward, "player_1": -reward}
        assert obs["player_0"][t].tolist() == [a, b]
        assert obs["player_1"][t].tolist() == [b, a]
        assert (obs["player_0"][t + 1:] == -1).all()
        assert not any(terms.values())
        assert all(truncs.values()) == (t == 2)
    assert env.agents == []
    with pytest.raises(RuntimeError):
        env.step({"player_0": 0, "player_1": 0})


def test_reset_starts_a_fresh_history_and_keeps_the_old_one() -> None:
    env = rps.parallel_env(rounds=2)
    env.reset()
    old, *_ = env.step({"player_0": 0, "player_1": 1})
    new, _ = env.reset()
    assert (new["player_0"] == -1).all()
    assert old["player_0"][0].tolist() == [0, 1]


def test_observation_is_read_only() -> None:
    obs, _ = rps.parallel_env(rounds=2).reset()
    with pytest.raises(ValueError):
        obs["player_0"][0, 0] = 1


def test_numpy_actions_and_bad_actions() -> None:
    env = rps.parallel_env(rounds=2, n_actions=5)
    env.reset()
    _, rewards, *_ = env.step({"player_0": np.int64(3), "player_1": np.int64(0)})
    assert rewards["player_0"] == 1.0  # spock vaporizes rock
    with pytest.raises(ValueError, match="0..4"):
        env.step({"player_0": 5, "player_1": 0})
    with pytest.raises(ValueError, match="player_1"):
        env.step({"player_0": 0})


def test_action_names_and_context() -> None:
    env = rps.parallel_env(n_actions=5)
    assert env.action_names == ["rock", "paper", "scissors", "spock", "lizard"]
    assert env.metadata["name"] == "rps_v0"
    context = env.unwrapped.context("player_1")
    assert context["action_names"] == env.action_names
    np.testing.assert_array_equal(context["payoff"], rps.payoff_matrix(5))
    assert rps.parallel_env().action_names == ["rock", "paper", "scissors"]


def test_render_modes(capsys: pytest.CaptureFixture[str]) -> None:
    env = rps.parallel_env(rounds=2, render_mode="ansi")
    env.reset()
    env.step({"player_0": 0, "player_1": 2})
    frame = env.render()
    assert "rock" in frame and "scissors" in frame and "player_0 wins" in frame
    assert capsys.readouterr().out == ""

    env = rps.parallel_env(rounds=2, render_mode="human")
    env.reset()
    env.step({"player_0": 1, "player_1": 1})
    assert env.render() is None
    assert "nobody wins" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [({"rounds": 0}, "rounds"), ({"rounds": -3}, "rounds"), ({"rounds": 2.5}, "rounds"),
     ({"n_actions": 4}, "n_actions"), ({"n_actions": 7}, "n_actions"),
     ({"n_actions": 3.0}, "n_actions"), ({"n_actions": "3"}, "n_actions"),
     ({"render_mode": "rgb_array"}, "render_mode")],
)
def test_bad_arguments_name_the_argument(kwargs: dict, argument: str) -> None:
    with pytest.raises(ValueError, match=argument):
        rps.parallel_env(**kwargs)
    with pytest.raises(ValueError, match=argument):
        rps.env(**kwargs)


class _Constant:
    """Always plays one named action."""

    def __init__(self, name: str, move: str) -> None:
        self.name, self.move = name, move

    def reset(self, *, seed: int | None = None, **context) -> None:
        self.index = context["action_names"].index(self.move)
        assert context["kind"] == "matrix"
        assert context["payoff"].shape == (len(context["action_names"]),) * 2

    def act(self, observation: np.ndarray, action_space) -> int:
        return self.index


class _BeatLast:
    """Plays what beats the opponent's previous move (reads only the newest row)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def reset(self, *, seed: int | None = None, **context) -> None:
        self.payoff, self.turn = context["payoff"], 0

    def act(self, observation: np.ndarray, action_space) -> int:
        self.turn += 1
        if self.turn == 1:
            return 0
        return int(np.argmax(self.payoff[:, observation[self.turn - 2, 1]]))


def test_play_a_match_end_to_end() -> None:
    means = play(_Constant("rocky", "rock"), _BeatLast("beater"), game="rps", rounds=50)
    # round 1 is a draw (rock vs rock); every later round paper covers rock
    assert means == {"rocky": -49 / 50, "beater": 49 / 50}
