"""Win-stay, lose-shift: keep a move that just won, otherwise switch to another one."""

from __future__ import annotations

import numpy as np

from arena.agent import BaseAgent
from arena.registry import register_agent


@register_agent("win_stay_lose_shift")
class WinStayLoseShift(BaseAgent):
    """Repeats a winning move; after a loss (or a draw) plays a random other move."""

    kinds = frozenset({"matrix"})  # repeated matrix games: rps, hide_and_seek, ...

    def __init__(self, *, name: str | None = None, stay_on_draw: bool = False) -> None:
        super().__init__(name=name)
        self.stay_on_draw = stay_on_draw

    def distribution(self, observation, action_space) -> np.ndarray:
        n = self.n_actions(action_space)
        last = self.last_moves(observation)  # (own, opponent) last round; None in round 1
        if last is None:
            return np.full(n, 1 / n)
        own, opponent = last
        reward = self.context["payoff"][own, opponent]
        if reward > 0 or (reward == 0 and self.stay_on_draw):
            return np.eye(n)[own]
        probs = np.full(n, 1 / (n - 1))
        probs[own] = 0.0
        return probs
