"""The agent protocol: as small as OpenSpiel's Bot.

An agent needs a ``name``, ``reset`` and ``act``. Everything else is optional:

``policy(observation, action_space)``
    The exact mixed strategy the agent will sample from for this decision (a numpy
    array of probabilities summing to 1), or ``None`` when no exact distribution
    exists. The engine calls it at most once per decision, *before* ``act``, and
    stores it with the round; ``act`` must then reuse it rather than recompute it.
``games``
    The game ids the agent can play; ``None`` means all.
``match_timeout``
    Seconds a match with this agent may take before it is forfeited, when the config
    leaves ``timeout: auto`` (the default): 60 when absent; ``None`` for no limit
    (language models on a CPU).
``white_box``
    When true the engine passes ``opponent_policy`` in the reset context: a
    zero-argument function returning the opponent's distribution for the current
    round (or ``None``).

Giving up one decision: ``act`` (or ``policy``) may raise :class:`RoundForfeit`
(a language model with no readable answer after its retries does). The round is still
played: in a two-player game the engine plays the move that does worst against the
opponent's move, in a solo task the move worth the least reward; the round log marks it
``forfeited`` and the agent's match stats count ``round_forfeits``. Any other exception
forfeits the whole match.

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


def one_hot(index: int, n: int) -> np.ndarray:
    """The pure strategy ``index`` among ``n`` actions, as a policy vector."""
    probs = np.zeros(n)
    probs[index] = 1.0
    return probs


class RoundForfeit(Exception):
    """Raised from ``act()`` (or ``policy()``) to give up this decision only; the message
    says why."""


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
    match_timeout: ClassVar[float | None] = 60.0

    def __init__(self, *, name: str | None = None) -> None:
        self.name = name or type(self).__name__
        self.rng = np.random.default_rng()
        self.context: dict[str, Any] = {}
        self.decisions_made = 0
        self._pending: np.ndarray | None = None

    def reset(self, *, seed: int | None = None, **context: Any) -> None:
        self.rng = np.random.default_rng(seed)
        self.context = context
        self.decisions_made = 0
        self._pending = None

    def act(self, observation: Any, action_space: Any) -> Any:
        """Sample once from the policy (the one ``policy`` cached, if it was called).

        The sampled index is shifted by ``action_space.start``, so in the random-number
        task (``Discrete(K, start=low)``) index ``i`` of the policy is the number ``low + i``.
        Subclasses that override ``act`` must count ``decisions_made`` themselves.
        """
        probs = self._pending
        if probs is None:
            probs = self.policy(observation, action_space)
        self._pending = None
        if probs is None:
            raise NotImplementedError(f"{type(self).__name__} must implement act() or distribution()")
        self.decisions_made += 1
        start = int(getattr(action_space, "start", 0))
        return start + int(self.rng.choice(len(probs), p=probs))

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

    # Helpers for the common case: read only the newest observation entry (O(1) per round).

    def n_actions(self, action_space: Any = None) -> int:
        """Number of actions: ``len(context["action_names"])``, else ``action_space.n``."""
        names = self.context.get("action_names")
        if names is not None:
            return len(names)
        if action_space is None:
            raise ValueError(f"{self.name}: no action_names in context and no action space")
        return int(action_space.n)

    def newest(self, observation: Any) -> Any:
        """The observation entry of this agent's previous decision, or ``None`` before it.

        Two-player games: the row ``(own move, opponent move)``; random numbers: the
        number this agent said last. Relies on ``decisions_made``, counted by ``act``.
        """
        if self.decisions_made == 0:
            return None
        return observation[self.decisions_made - 1]

    def last_moves(self, observation: Any) -> tuple[int, int] | None:
        """``(own, opponent)`` action indices of the previous round, or ``None`` in round 1."""
        row = self.newest(observation)
        if row is None:
            return None
        return int(row[0]), int(row[1])

    def action_index(self, action: int | str, n: int) -> int:
        """Resolve an option naming an action: an index, or a name from ``action_names``."""
        if isinstance(action, str):
            names = [str(a) for a in self.context.get("action_names", ())]
            lowered = [a.lower() for a in names]
            if action.lower() in lowered:
                return lowered.index(action.lower())
            if action.lstrip("-").isdigit() and not names:
                action = int(action)
            else:
                raise ValueError(f"{self.name}: unknown action {action!r} (actions: {', '.join(names)})")
        if not 0 <= int(action) < n:
            raise ValueError(f"{self.name}: action index {action} out of range for {n} actions")
        return int(action)
