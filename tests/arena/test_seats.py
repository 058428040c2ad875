"""How the engine calls agents: reset with the context each agent can take, one decision
call per round (``decide``, or an outside class's ``policy`` then ``act``), the action check."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from gymnasium.spaces import Discrete

from arena.agent import BaseAgent, Decision
from arena.seats import FORFEITED, Forfeit, MatchState, Seat, checker, reset_agent


class SeedOnly:
    """A bare agent whose reset ignores the context: ``reset(self, seed=None)``."""

    def __init__(self) -> None:
        self.seeds: list[int | None] = []

    def reset(self, seed: int | None = None) -> None:
        self.seeds.append(seed)


class Everything:
    def reset(self, *, seed: int | None = None, **context: Any) -> None:
        self.context = {"seed": seed, **context}


class Broken:
    def reset(self, *, seed: int | None = None, **context: Any) -> None:
        raise RuntimeError("no")


def reset(agent: Any) -> None:
    reset_agent(agent, "x", MatchState(), seed=5, game="rps", rounds=3)


def test_reset_passes_only_the_arguments_an_agent_takes() -> None:
    bare, full = SeedOnly(), Everything()
    reset(bare)
    reset(full)
    assert bare.seeds == [5]
    assert full.context == {"seed": 5, "game": "rps", "rounds": 3}
    with pytest.raises(Forfeit, match="x: reset failed: RuntimeError"):
        reset(Broken())


class OutsidePolicy:
    """A bare outside class: ``policy`` is called once before ``act`` and stored."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def policy(self, observation: Any, action_space: Any) -> list[float]:
        self.calls.append("policy")
        return [0.0, 1.0, 0.0]

    def act(self, observation: Any, action_space: Any) -> int:
        self.calls.append("act")
        return 1


class OnlyAct:
    def act(self, observation: Any, action_space: Any) -> int:
        return 2


class Drawn(BaseAgent):
    def __init__(self) -> None:
        super().__init__(name="drawn")
        self.computed = 0

    def distribution(self, observation: Any, action_space: Any) -> np.ndarray:
        self.computed += 1
        return np.array([2.0, 0.0, 2.0])  # unnormalised: the policy comes back normalised


def test_an_outside_class_gets_policy_then_act_once_per_decision() -> None:
    agent = OutsidePolicy()
    seat = Seat(agent, "out", "player_0", Discrete(3))
    assert seat.decision(None, MatchState()) == (1, [0.0, 1.0, 0.0])
    assert agent.calls == ["policy", "act"]
    assert Seat(OnlyAct(), "bare", "player_0", Discrete(3)).decision(None, MatchState()) == (2, None)


def test_a_base_agent_is_asked_once_and_counts_its_decisions() -> None:
    agent = Drawn()
    agent.reset(seed=3)
    seat = Seat(agent, "drawn", "player_0", Discrete(3))
    for n in range(1, 6):
        action, policy = seat.decision(None, MatchState())
        assert action in (0, 2) and policy == [0.5, 0.0, 0.5]
        assert agent.computed == agent.decisions_made == n


def test_decide_draws_from_the_policy_with_the_agents_seeded_rng() -> None:
    first, second = Drawn(), Drawn()
    first.reset(seed=11)
    second.reset(seed=11)
    decisions = [first.decide(None, Discrete(3)) for _ in range(50)]
    assert all(isinstance(d, Decision) for d in decisions)
    assert [d.action for d in decisions] == [second.act(None, Discrete(3)) for _ in range(50)]
    assert {d.action for d in decisions} == {0, 2}


class Quitter(BaseAgent):
    def distribution(self, observation: Any, action_space: Any) -> np.ndarray:
        from arena.agent import RoundForfeit

        raise RoundForfeit("no idea")


def test_a_round_given_up_is_still_counted_as_a_decision() -> None:
    agent = Quitter()
    agent.reset(seed=0)
    seat = Seat(agent, "q", "player_0", Discrete(3))
    assert seat.decision(None, MatchState()) == (FORFEITED, None)
    assert agent.decisions_made == 1  # the observation still has that round


@pytest.mark.parametrize("action", [2, np.int64(2), np.int32(0), np.array(1)])
def test_integers_of_every_kind_are_legal(action: Any) -> None:
    assert checker(Discrete(3), "x")(action) == int(action)


@pytest.mark.parametrize("action", [3, -1, 1.0, "rock", None, True, np.array([1]), float("nan")])
def test_anything_else_forfeits(action: Any) -> None:
    with pytest.raises(Forfeit, match="x: returned"):
        checker(Discrete(3), "x")(action)


class AsyncBot:
    def reset(self, *, seed: int | None = None, **context: Any) -> None: ...

    async def act(self, observation: Any, action_space: Any) -> int:
        return 0


def test_an_async_agent_is_refused_with_a_reason() -> None:
    from arena.registry import RegistryError, get_agent_class

    with pytest.raises(RegistryError, match=r"act\(\) is 'async def'; agents are called "
                                            "synchronously"):
        get_agent_class(f"{__name__}:AsyncBot")
