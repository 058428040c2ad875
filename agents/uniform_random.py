"""``uniform_random``: every action equally likely, independently each round.

The Nash equilibrium of rock-paper-scissors; no exploiter can beat it in expectation.
In the random-number task it says each number in ``[low, high]`` with probability
``1 / (high - low + 1)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from arena.agent import BaseAgent
from arena.registry import register_agent


@register_agent("uniform_random")
class UniformRandom(BaseAgent):
    """Plays every action with equal probability, independently each round."""

    kinds = frozenset({"matrix", "numbers"})

    def distribution(self, observation: Any, action_space: Any) -> np.ndarray:
        n = self.n_actions(action_space)
        return np.full(n, 1.0 / n)
