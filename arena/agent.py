"""The agent protocol: as small as OpenSpiel's Bot.

An agent needs a ``name``, ``reset`` and ``act``. Everything else is optional:

``policy(observation, action_space)``
    The exact mixed strategy the agent will sample from for this decision (a numpy
    array of probabilities summing to 1), or ``None`` when no exact distribution
    exists. The engine calls it at most once per decision, *before* ``act``, and
    stores it with the round; ``act`` must then reuse it rather than recompute it.
``games``
    The game ids the agent can play; ``None`` means all.
``white_box``
    When true the engine passes ``opponent_policy`` in the reset context: a
    zero-argument function returning the opponent's distribution for the current
    round (or ``None``).

``act`` and ``policy`` may be ``async def``: the engine awaits them, which is how
language-model agents batch decisions across matches.

``reset(seed=..., **context)`` is called before every match (or every episode of a
solo task) on a fresh instance. ``context`` carries ``game``, ``role``, ``rounds``,
``action_names`` and ``payoff`` (the stage game's payoff matrix from this agent's
seat, rows = own action, columns = opponent action) and, for hide-and-seek,
``graph`` and ``search_radius``. Solo tasks carry ``episode`` plus task keys.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Agent(Protocol):
    """What the engine needs from a player."""

    name: str

    def reset(self, *, seed: int | None = None, **context: Any) -> None: ...

    def act(self, observation: Any, action_space: Any) -> Any: ...


class BaseAgent:
    """Convenience base: stores the name, builds the seeded RNG and the context.

    Subclasses override :meth:`act`, or implement :meth:`distribution` for a mixed
    strategy and inherit ``policy``/``act`` that sample from it exactly once.
    """

    games: ClassVar[tuple[str, ...] | None] = None
    white_box: ClassVar[bool] = False

    def __init__(self, *, name: str | None = None) -> None:
        self.name = name or type(self).__name__
        self.rng = np.random.default_rng()
        self.context: dict[str, Any] = {}

    def reset(self, *, seed: int | None = None, **context: Any) -> None:
        self.rng = np.random.default_rng(seed)
        self.context = context
        self._pending: np.ndarray | None = None

    def act(self, observation: Any, action_space: Any) -> Any:
        probs = self._pending if getattr(self, "_pending", None) is not None else None
        if probs is None:
            probs = self.policy(observation, action_space)
        self._pending = None
        if probs is None:
            raise NotImplementedError(f"{type(self).__name__} must implement act() or distribution()")
        return int(self.rng.choice(len(probs), p=probs))

    def policy(self, observation: Any, action_space: Any) -> np.ndarray | None:
        probs = self.distribution(observation, action_space)
        if probs is None:
            return None
        probs = np.asarray(probs, dtype=float)
        probs = probs / probs.sum()
        self._pending = probs
        return probs

    def distribution(self, observation: Any, action_space: Any) -> np.ndarray | None:
        """The mixed strategy for this decision; ``None`` if the agent has none."""
        return None
