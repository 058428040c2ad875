"""``history_match``: find the longest earlier repeat of recent play, answer what followed."""

from __future__ import annotations

from typing import Literal

import numpy as np

from agents._exploit import Exploiter, best_response
from arena.registry import register_agent
from envs.predictors import HistoryMatch


@register_agent("history_match")
class HistoryMatchExploiter(Exploiter):
    """Longest matching suffix of the history (RFind); best response to what followed it."""

    def __init__(self, *, name: str | None = None,
                 history: Literal["opponent", "own", "joint"] = "opponent",
                 max_length: int = 24) -> None:
        super().__init__(name=name)
        if history not in ("opponent", "own", "joint"):
            raise ValueError(f"history must be opponent, own or joint, not {history!r}")
        if max_length < 1:
            raise ValueError("max_length must be >= 1")
        self.history, self.max_length = history, max_length

    def setup(self) -> None:
        n_context = {"opponent": self.n_opp, "own": self.n,
                     "joint": self.n * self.n_opp}[self.history]
        self.matcher = HistoryMatch(self.n_opp, max_length=self.max_length, n_context=n_context)

    def observe(self, own: int, opp: int) -> None:
        context = {"opponent": opp, "own": own, "joint": own * self.n_opp + opp}[self.history]
        self.matcher.update(opp, context)

    def strategy(self) -> np.ndarray:
        if self.matcher.match_step < 0:
            return self.eq
        return best_response(self.payoff, self.matcher.predict())
