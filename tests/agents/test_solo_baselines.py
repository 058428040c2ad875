"""The baseline bots in the solo tasks: random numbers and creative writing."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from gymnasium.spaces import Discrete

from agents.template_writer import SLOTS
from arena.registry import RegistryError, make_agent


def number_context(low: int, high: int, length: int, episode: int = 0) -> dict[str, Any]:
    return {"game": "random_number", "kind": "numbers", "episode": episode, "role": "solo",
            "low": low,
            "high": high, "length": length, "action_names": [str(v) for v in range(low, high + 1)]}


def say_numbers(agent: Any, *, low: int = 0, high: int = 10, length: int = 10,
                episodes: int = 1, seed: int = 0) -> tuple[list[list[int]], list[np.ndarray]]:
    """Episodes of the random-number task with hand-made observations (sentinel low - 1)."""
    space = Discrete(high - low + 1, start=low)
    sequences, policies = [], []
    for episode in range(episodes):
        agent.reset(seed=seed + episode, **number_context(low, high, length, episode))
        obs = np.full(length, low - 1, dtype=np.int64)
        for step in range(length):
            number, probs = agent.decide(obs, space)
            assert low <= number <= high and probs.sum() == pytest.approx(1.0)
            assert probs[number - low] > 0
            obs[step] = number
            policies.append(probs)
        sequences.append(obs.tolist())
    return sequences, policies


def test_uniform_random_numbers() -> None:
    sequences, policies = say_numbers(make_agent("uniform_random", name="u"), low=3, high=7,
                                      episodes=400)
    assert all(np.allclose(p, 0.2) for p in policies)
    counts = np.bincount(np.ravel(sequences) - 3, minlength=5)
    assert np.all(np.abs(counts - 800) < 5 * np.sqrt(4000 * 0.2 * 0.8))


def test_constant_numbers() -> None:
    sequences, _ = say_numbers(make_agent("constant", name="c", action="7"), episodes=2)
    assert sequences == [[7] * 10, [7] * 10]
    sequences, _ = say_numbers(make_agent("constant", name="c"), low=1, high=6, length=3)
    assert sequences == [[1, 1, 1]]  # index 0 is the lowest number


def test_humanlike_numbers_exact_and_never_repeated() -> None:
    sequences, policies = say_numbers(make_agent("humanlike", name="h"), episodes=300)
    first = policies[0]
    assert first[7] == pytest.approx(0.3) and first[3] == pytest.approx(0.2)
    assert np.allclose(np.delete(first, [3, 7]), 0.5 / 9)
    for sequence in sequences:
        assert len(set(sequence)) == len(sequence)
    steps = np.array(policies).reshape(300, 10, 11)
    for episode, sequence in enumerate(sequences):
        for step in range(1, 10):
            probs, said = steps[episode, step], sequence[:step]
            assert np.all(probs[said] == 0)
            base = first.copy()
            base[said] = 0
            assert np.allclose(probs, base / base.sum())
    counts = np.bincount(np.ravel(sequences), minlength=11)
    expected = np.sum(policies, axis=0)
    sd = np.sqrt(np.sum([p * (1 - p) for p in policies], axis=0))
    assert np.all(np.abs(counts - expected) <= 5 * sd)
    assert counts.argmax() == 7


def test_humanlike_numbers_longer_than_the_range_and_off_range_favourites() -> None:
    sequences, _ = say_numbers(make_agent("humanlike", name="h"), low=0, high=4, length=12)
    sequence = sequences[0]
    assert sorted(sequence[:5]) == [0, 1, 2, 3, 4]  # all five before any repeat
    assert all(a != b for a, b in zip(sequence[:-1], sequence[1:], strict=True))
    _, policies = say_numbers(make_agent("humanlike", name="h"), low=0, high=5, length=1)
    assert np.allclose(policies[0], [0.16, 0.16, 0.16, 0.2, 0.16, 0.16])  # 7 is out of range
    _, policies = say_numbers(make_agent("humanlike", name="h", numbers={1: 0.9}), high=2,
                              length=1)
    assert np.allclose(policies[0], [0.05, 0.9, 0.05])
    with pytest.raises(RegistryError, match="numbers"):
        make_agent("humanlike", name="h", numbers={1: 0.9, 2: 0.2})


def test_numbers_seeded() -> None:
    def run(seed: int) -> list[list[int]]:
        return say_numbers(make_agent("humanlike", name="h"), episodes=5, seed=seed)[0]

    assert run(1) == run(1) and run(1) != run(2)


def write(agent: Any, prompt: str, *, seed: int = 0, max_chars: int = 2000) -> str:
    agent.reset(seed=seed, game="creative_writing", kind="text", episode=0, role="solo",
                prompt=prompt, max_chars=max_chars)
    text, policy = agent.decide(prompt, None)
    assert policy is None  # text has no exact distribution
    assert agent.decisions_made == 1
    return text


def test_fixed_text_writes_its_text_cut_to_max_chars() -> None:
    agent = make_agent("fixed_text", name="f", text="Salt on the window.")
    assert write(agent, "A poem about rain") == "Salt on the window."
    assert write(agent, "A story about a fox", max_chars=4) == "Salt"
    with pytest.raises(RegistryError, match="text must be a string"):
        make_agent("fixed_text", name="f", text=3)


def test_template_writer_fills_slots_from_its_seed() -> None:
    agent = make_agent("template_writer", name="t")
    texts = [write(agent, "Write a poem about the harvest moon", seed=s) for s in range(20)]
    assert texts[3] == write(make_agent("template_writer", name="t"),
                             "Write a poem about the harvest moon", seed=3)
    assert len(set(texts)) >= 15
    for text in texts:
        assert "{" not in text and "moon" in text and text[0].isupper()
    nouns = {word for text in texts for word in SLOTS["noun"] if word in text}
    assert len(nouns) >= 6
    assert len(write(agent, "Anything", max_chars=30)) <= 30
    custom = make_agent("template_writer", name="t", templates=["The {noun} of {topic}."])
    assert write(custom, "tell of giants").startswith("The ")
    with pytest.raises(RegistryError, match="unknown slot"):
        make_agent("template_writer", name="t", templates=["A {colour} door"])
    for bad in ([""], ["A {noun}.", 3]):  # an empty template failed only when written
        with pytest.raises(RegistryError, match="non-empty strings"):
            make_agent("template_writer", name="t", templates=bad)


def test_writers_through_the_env() -> None:
    from envs.creative_writing import CreativeWritingEnv

    def mean_reward(kind: str) -> float:
        env, agent, rewards = CreativeWritingEnv(semantic=False), make_agent(kind, name=kind), []
        for episode in range(6):
            prompt, _ = env.reset(seed=episode, options={"prompt_index": 0})
            agent.reset(seed=episode, game="creative_writing", kind="text", episode=episode,
                        role="solo", **env.context())
            _, reward, terminated, _, _ = env.step(agent.decide(prompt, env.action_space).action)
            assert terminated and 0.0 <= reward <= 1.0
            rewards.append(reward)
        return float(np.mean(rewards))

    assert mean_reward("template_writer") > mean_reward("fixed_text") + 0.1


def test_number_bots_through_the_env() -> None:
    from envs.random_number import RandomNumberEnv

    def mean_reward(kind: str, **options: Any) -> float:
        env, agent, rewards = RandomNumberEnv(), make_agent(kind, name=kind, **options), []
        for episode in range(200):  # 2,000 numbers
            obs, _ = env.reset(seed=episode)
            agent.reset(seed=episode, game="random_number", kind="numbers", episode=episode,
                        role="solo", **env.context())
            for _ in range(10):
                obs, reward, terminated, _, _ = env.step(agent.decide(obs, env.action_space).action)
                rewards.append(reward)
            assert terminated
            if kind == "humanlike":
                assert len(set(obs.tolist())) == 10  # never a number twice in a sequence
        return float(np.mean(rewards))

    assert mean_reward("uniform_random") >= 0.95
    assert mean_reward("humanlike") <= 0.85
    assert mean_reward("constant", action="7") < 0.1
