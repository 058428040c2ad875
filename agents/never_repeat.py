"""``never_repeat``: uniformly random among the actions other than its own last one.

Round 1 is uniform over all actions. A predictor that learns "not the last move"
gains a little against it; with n actions each remaining one has probability 1/(n-1).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from arena.agent import BaseAgent
from arena.registry import register_agent


@register_agent("never_repeat")
class NeverRepeat(BaseAgent):
    """Uniformly random, but never the same action twice in a row."""

    kinds = frozenset({"matrix"})

    def distribution(self, observation: Any, action_space: Any) -> np.ndarray:
        n = self.n_actions(action_space)
        last = self.last_moves(observation)
        if last is None or n < 2:
            return np.full(n, 1.0 / n)
        probs = np.full(n, 1.0 / (n - 1))
        probs[last[0]] = 0.0
        return probs
