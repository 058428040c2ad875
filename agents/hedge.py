"""``hedge``: multiplicative weights (Shofar-style) over the exploiters' candidate strategies.

The experts are the candidates of :func:`agents._exploit.standard_bank` (frequency,
Markov and history-match predictions on three histories, with their rotations and
mirrors) plus the equilibrium. Each expert's virtual reward is accumulated with
exponential forgetting (the best response to the move counts starts with a small
head start, so early noise is not chased), and the agent plays the mixture with weights
proportional to ``exp(eta * score)``, so its ``distribution`` is exact.
"""

from __future__ import annotations

import numpy as np

from agents._exploit import Exploiter, standard_bank
from arena.registry import register_agent


@register_agent("hedge")
class Hedge(Exploiter):
    """Multiplicative weights over frequency, Markov and history-match strategies (and equilibrium)."""

    def __init__(self, *, name: str | None = None, eta: float = 1.0, decay: float = 0.99,
                 match_lengths: tuple[int, ...] = (4, 12, 32), levels: int = 3,
                 prior: float = 10.0) -> None:
        super().__init__(name=name)
        if eta <= 0:
            raise ValueError("eta must be > 0")
        if not 0.0 < decay <= 1.0:
            raise ValueError("decay must be in (0, 1]")
        self.eta, self.decay = eta, decay
        self.match_lengths, self.levels, self.prior = tuple(match_lengths), levels, prior

    def setup(self) -> None:
        self.bank = standard_bank(self.payoff, match_lengths=self.match_lengths,
                                  levels=self.levels)
        self.scores = np.zeros(self.bank.size + 1)  # last expert: the equilibrium
        # head start for the best response to the counts, which decays away
        self.scores[self.bank.baseline] = self.prior
        self.experts: np.ndarray | None = None

    def observe(self, own: int, opp: int) -> None:
        if self.experts is not None:
            self.scores = self.decay * self.scores + self.experts @ self.payoff[:, opp]
        self.bank.update(own, opp)

    def decide(self) -> np.ndarray:
        self.experts = np.vstack([self.bank.candidates(), self.eq])
        w = np.exp(self.eta * (self.scores - self.scores.max()))
        mix = (w / w.sum()) @ self.experts
        return mix / mix.sum()
