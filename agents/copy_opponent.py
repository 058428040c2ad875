"""``copy_opponent``: plays the opponent's previous move (uniformly random in round 1).

In hide-and-seek both roles choose among the same nodes, so a seeker searches where
the hider hid last and a hider hides where the seeker searched last.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from arena.agent import BaseAgent, one_hot
from arena.registry import register_agent


@register_agent("copy_opponent")
class CopyOpponent(BaseAgent):
    """Plays the opponent's last move; uniformly random in the first round."""

    kinds = frozenset({"matrix"})

    def distribution(self, observation: Any, action_space: Any) -> np.ndarray:
        n = self.n_actions(action_space)
        last = self.last_moves(observation)
        if last is None:
            return np.full(n, 1.0 / n)
        return one_hot(last[1], n)
