"""How the engine calls agents: reset with the context each agent can take, the action check."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest
from gymnasium.spaces import Discrete

from arena.calls import Forfeit, MatchState, checker, reset_agent


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
    asyncio.run(reset_agent(agent, "x", None, MatchState(), seed=5, game="rps", rounds=3))


def test_reset_passes_only_the_arguments_an_agent_takes() -> None:
    bare, full = SeedOnly(), Everything()
    reset(bare)
    reset(full)
    assert bare.seeds == [5]
    assert full.context == {"seed": 5, "game": "rps", "rounds": 3}
    with pytest.raises(Forfeit, match="x: reset failed: RuntimeError"):
        reset(Broken())


@pytest.mark.parametrize("action", [2, np.int64(2), np.int32(0), np.array(1)])
def test_integers_of_every_kind_are_legal(action: Any) -> None:
    assert checker(Discrete(3), "x")(action) == int(action)


@pytest.mark.parametrize("action", [3, -1, 1.0, "rock", None, True, np.array([1]), float("nan")])
def test_anything_else_forfeits(action: Any) -> None:
    with pytest.raises(Forfeit, match="x: returned"):
        checker(Discrete(3), "x")(action)
