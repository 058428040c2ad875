"""``markov``: back-off Markov models of the opponent's next move given recent play."""

from __future__ import annotations

import numpy as np

from agents._exploit import Exploiter, best_response
from arena.registry import register_agent
from envs.predictors import Markov

HISTORIES = ("opponent", "own", "joint")


@register_agent("markov")
class MarkovExploiter(Exploiter):
    """Orders 1..3 on opponent, own and joint histories with back-off; follows the best model."""

    def __init__(self, *, name: str | None = None, max_order: int = 3, min_count: float = 2.0,
                 decay: float | None = None, score_decay: float = 0.95,
                 histories: tuple[str, ...] = HISTORIES) -> None:
        super().__init__(name=name)
        unknown = set(histories) - set(HISTORIES)
        if unknown or not histories:
            raise ValueError(f"histories must be a non-empty subset of {HISTORIES}")
        if max_order < 1:
            raise ValueError("max_order must be >= 1")
        self.max_order, self.min_count, self.decay = max_order, min_count, decay
        self.score_decay, self.histories = score_decay, tuple(histories)

    def setup(self) -> None:
        sizes = {"opponent": self.n_opp, "own": self.n, "joint": self.n * self.n_opp}
        self.models = [Markov(self.n_opp, max_order=self.max_order, min_count=self.min_count,
                              n_context=sizes[h], decay=self.decay) for h in self.histories]
        self.scores = np.zeros(len(self.models))
        self.last: np.ndarray | None = None  # each model's strategy last round

    def observe(self, own: int, opp: int) -> None:
        if self.last is not None:
            self.scores = self.score_decay * self.scores + self.last @ self.payoff[:, opp]
        contexts = {"opponent": opp, "own": own, "joint": own * self.n_opp + opp}
        for h, model in zip(self.histories, self.models, strict=True):
            model.update(opp, contexts[h])

    def strategy(self) -> np.ndarray:
        if self.decisions_made == 0:
            return self.eq
        preds = np.stack([m.predict() for m in self.models])
        self.last = best_response(self.payoff, preds)
        return self.last[int(np.argmax(self.scores))]
