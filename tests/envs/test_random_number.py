"""RandomNumberEnv: API checks, reward behaviour on sources of known statistics, errors."""

from __future__ import annotations

from collections.abc import Callable

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import envs  # noqa: F401  (registers arena/RandomNumber-v0)
from envs.random_number import RandomNumberEnv

Source = Callable[[np.random.Generator, list[int]], int]


def uniform_source(rng: np.random.Generator, said: list[int]) -> int:
    return int(rng.integers(0, 11))


def humanlike_source(rng: np.random.Generator, said: list[int]) -> int:
    """7 w.p. 0.3, 3 w.p. 0.2, the rest evenly; never a number twice in one sequence."""
    p = np.full(11, 0.5 / 9)
    p[7], p[3] = 0.3, 0.2
    p[said] = 0.0
    return int(rng.choice(11, p=p / p.sum()))


def play(env: RandomNumberEnv, source: Source, n: int, *, seed: int = 0) -> np.ndarray:
    rng, rewards = np.random.default_rng(seed), []
    while len(rewards) < n:
        env.reset()
        said: list[int] = []
        terminated = False
        while not terminated:
            said.append(source(rng, said))
            _, reward, terminated, truncated, _ = env.step(said[-1])
            assert not truncated and 0.0 <= reward <= 1.0
            rewards.append(reward)
    return np.array(rewards[:n])


@pytest.mark.parametrize("kwargs", [{}, {"length": 1}, {"low": 1, "high": 6, "length": 4}])
def test_check_env(kwargs: dict) -> None:
    check_env(RandomNumberEnv(**kwargs))


def test_check_env_through_gymnasium_make() -> None:
    env = gymnasium.make("arena/RandomNumber-v0")
    check_env(env.unwrapped)
    assert env.unwrapped.spec.nondeterministic  # learns across episodes, declared honestly
    env.close()


def test_uniform_source_scores_near_one() -> None:
    rewards = play(RandomNumberEnv(), uniform_source, 2000)
    assert rewards.mean() >= 0.95


@pytest.mark.parametrize("length", [10, 1])
def test_humanlike_source_scores_lower(length: int) -> None:
    rewards = play(RandomNumberEnv(length=length), humanlike_source, 2000)
    assert rewards.mean() <= 0.85


def test_always_seven_reward_falls_towards_zero() -> None:
    rewards = play(RandomNumberEnv(), lambda rng, said: 7, 60)
    assert rewards[0] == pytest.approx(1.0)  # a fresh predictor is uniform
    assert rewards[20:40].mean() < 0.1
    assert rewards[-10:].max() < 0.1
    assert np.all(np.diff(rewards[1:10]) < 0)  # falls within the first episode already


def test_counting_up_is_learned() -> None:
    def count_up(rng: np.random.Generator, said: list[int]) -> int:
        return (said[-1] + 1) % 11 if said else int(rng.integers(0, 11))

    rewards = play(RandomNumberEnv(), count_up, 500)
    assert rewards[-200:].mean() < 0.25


def test_single_number_task_catches_patterns_across_episodes() -> None:
    """With length 1 every number opens an episode: a counter or a sticky Markov chain running
    from one episode to the next is predictable and must not score like a uniform source."""
    state = {"count": -1, "last": 0}

    def count_up(rng: np.random.Generator, said: list[int]) -> int:
        state["count"] = (state["count"] + 1) % 11
        return state["count"]

    def sticky(rng: np.random.Generator, said: list[int]) -> int:
        if rng.random() >= 0.6:  # otherwise say the previous episode's number again
            state["last"] = int(rng.integers(0, 11))
        return state["last"]

    assert play(RandomNumberEnv(length=1), count_up, 300)[-100:].mean() < 0.2
    assert play(RandomNumberEnv(length=1), sticky, 1000).mean() < 0.7
    assert play(RandomNumberEnv(length=1), uniform_source, 1000).mean() >= 0.95


def test_state_persists_across_reset_and_forget_clears_it() -> None:
    env = RandomNumberEnv(length=5)
    play(env, lambda rng, said: 7, 50)
    env.reset()
    assert env.step(7)[1] < 0.2
    _, info = env.reset(options={"forget": True})
    np.testing.assert_allclose(info["distribution"], np.full(11, 1 / 11))
    assert env.step(7)[1] == pytest.approx(1.0)


def test_observation_and_info() -> None:
    env = RandomNumberEnv(low=1, high=6, length=3)
    obs, info = env.reset(seed=0)
    assert obs.dtype == np.int64 and obs.tolist() == [0, 0, 0]  # sentinel low - 1
    assert info["distribution"].shape == (6,)
    obs, reward, terminated, _, info = env.step(4)
    assert obs.tolist() == [4, 0, 0] and not terminated
    assert info["distribution"].sum() == pytest.approx(1.0)
    assert info["probability"] == pytest.approx(info["distribution"][4 - 1])
    assert reward == pytest.approx(min(1.0, info["surprisal_bits"] / np.log2(6)))
    assert sum(info["weights"].values()) == pytest.approx(1.0)
    assert set(info["expert_probability"]) == set(info["weights"])
    env.step(np.int64(6))
    obs, _, terminated, _, _ = env.step(1)
    assert obs.tolist() == [4, 6, 1] and terminated
    with pytest.raises(RuntimeError, match="reset"):
        env.step(2)


def test_same_numbers_give_same_rewards() -> None:
    a = play(RandomNumberEnv(), humanlike_source, 300, seed=5)
    b = play(RandomNumberEnv(), humanlike_source, 300, seed=5)
    np.testing.assert_array_equal(a, b)


def test_context() -> None:
    assert RandomNumberEnv(low=2, high=4, length=3).context() == {
        "low": 2, "high": 4, "length": 3, "action_names": ["2", "3", "4"]}


@pytest.mark.parametrize(("action", "error", "match"), [
    (11, ValueError, "action 11 is outside"),
    (-1, ValueError, "action -1 is outside"),
    ("7", TypeError, "got str '7'"),
    (7.0, TypeError, "got float 7.0"),
    (True, TypeError, "got bool"),
    (None, TypeError, "got NoneType"),
])
def test_bad_actions(action: object, error: type[Exception], match: str) -> None:
    env = RandomNumberEnv()
    env.reset(seed=0)
    with pytest.raises(error, match=match):
        env.step(action)


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"low": 5, "high": 5}, ValueError, "high > low"),
    ({"length": 0}, ValueError, "length must be >= 1"),
    ({"high": 10.5}, TypeError, "high must be an int"),
    ({"render_mode": "rgb_array"}, ValueError, "render_mode"),
])
def test_bad_arguments(kwargs: dict, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        RandomNumberEnv(**kwargs)


def test_unknown_reset_option() -> None:
    with pytest.raises(ValueError, match="unknown reset options"):
        RandomNumberEnv().reset(options={"forgot": True})


def test_render_ansi() -> None:
    env = RandomNumberEnv(length=3, render_mode="ansi")
    env.reset(seed=0)
    env.step(5)
    assert env.render().startswith("[5 _ _]")
