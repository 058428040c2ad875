"""``frequency``: best response to the opponent's move counts."""

from __future__ import annotations

import numpy as np

from agents._exploit import Exploiter, best_response
from arena.registry import register_agent
from envs.predictors import Frequency


@register_agent("frequency")
class FrequencyExploiter(Exploiter):
    """Best response to the opponent's move frequencies (all, windowed or decayed)."""

    def __init__(self, *, name: str | None = None, window: int | None = None,
                 decay: float | None = None) -> None:
        super().__init__(name=name)
        Frequency(2, window=window, decay=decay)  # validate options at construction
        self.window, self.decay = window, decay

    def setup(self) -> None:
        self.predictor = Frequency(self.n_opp, window=self.window, decay=self.decay)

    def observe(self, own: int, opp: int) -> None:
        self.predictor.update(opp)

    def strategy(self) -> np.ndarray:
        if self.decisions_made == 0:
            return self.eq
        return best_response(self.payoff, self.predictor.predict())
