"""``beat_last``: best response to the opponent repeating its previous move.

It reads the payoff matrix from the reset context (rows = own action, columns =
opponent action), so the same rule plays rock-paper-scissors (paper after rock) and
both hide-and-seek roles (a seeker searches a node whose reach covers where the
hider was; a hider hides out of reach of the last search). Ties between best
responses are broken uniformly at random; round 1 is uniformly random.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from arena.agent import BaseAgent
from arena.registry import register_agent
from envs.zero_sum import best_response


@register_agent("beat_last")
class BeatLast(BaseAgent):
    """Best-responds to the opponent repeating its last move (ties broken at random)."""

    kinds = frozenset({"matrix"})

    def reset(self, *, seed: int | None = None, **context: Any) -> None:
        super().reset(seed=seed, **context)
        payoff = np.asarray(context["payoff"], dtype=float)
        # One best-response distribution per opponent move, computed once per match.
        self._responses = best_response(payoff, np.eye(payoff.shape[1]))

    def distribution(self, observation: Any, action_space: Any) -> np.ndarray:
        n = self.n_actions(action_space)
        last = self.last_moves(observation)
        if last is None:
            return np.full(n, 1.0 / n)
        return self._responses[last[1]]
