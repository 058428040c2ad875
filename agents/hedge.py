"""``hedge``: multiplicative weights (Shofar-style) over the exploiters' candidate strategies.

The experts are the candidates of :func:`agents._exploit.standard_bank` (frequency,
Markov and history-match predictions on three histories, with their rotations and
mirrors) plus the equilibrium. Each expert's virtual reward is accumulated with
exponential forgetting (the best response to the move counts starts with a small
head start, so early noise is not chased), and the agent plays the mixture with weights
proportional to ``exp(eta * score)``, so its ``distribution`` is exact. Like the
classic programs it falls back to the equilibrium while the mixture itself (scored by
its expected reward, whether played or not) trails the equilibrium by more than
``margin`` points of decayed score, so a stronger meta player cannot milk it.
"""

from __future__ import annotations

import numpy as np

from agents._exploit import Exploiter, standard_bank
from arena.registry import register_agent


@register_agent("hedge")
class Hedge(Exploiter):
    """Multiplicative weights over frequency, Markov and history-match strategies (and equilibrium).

    Options: ``eta`` (learning rate), ``decay`` (forgetting per round), ``match_lengths``
    and ``levels`` (the candidate bank), ``prior`` (head start of the best response to the
    counts), ``fallback`` and ``margin`` (play the equilibrium while losing).
    """

    def __init__(self, *, name: str | None = None, eta: float = 1.0, decay: float = 0.99,
                 match_lengths: tuple[int, ...] = (4, 12, 32), levels: int = 3,
                 prior: float = 10.0, fallback: bool = True, margin: float = 0.5) -> None:
        super().__init__(name=name)
        if eta <= 0:
            raise ValueError("eta must be > 0")
        if not 0.0 < decay <= 1.0:
            raise ValueError("decay must be in (0, 1]")
        self.eta, self.decay = eta, decay
        self.match_lengths, self.levels, self.prior = tuple(match_lengths), levels, prior
        self.fallback, self.margin = fallback, margin

    def setup(self) -> None:
        self.bank = standard_bank(self.payoff, match_lengths=self.match_lengths,
                                  levels=self.levels)
        self.scores = np.zeros(self.bank.size + 1)  # last expert: the equilibrium
        # head start for the best response to the counts, which decays away
        self.scores[self.bank.baseline] = self.prior
        self.experts: np.ndarray | None = None
        self.mix: np.ndarray | None = None
        self.mix_score = 0.0  # decayed expected reward of the mixture, played or not
        self.eq_score = 0.0  # the same for the equilibrium (its value each round)

    def observe(self, own: int, opp: int) -> None:
        if self.experts is not None:
            self.scores = self.decay * self.scores + self.experts @ self.payoff[:, opp]
            self.mix_score = self.decay * self.mix_score + self.mix @ self.payoff[:, opp]
            self.eq_score = self.decay * self.eq_score + self.value
        self.bank.update(own, opp)

    def strategy(self) -> np.ndarray:
        self.experts = np.vstack([self.bank.candidates(), self.eq])
        w = np.exp(self.eta * (self.scores - self.scores.max()))
        mix = (w / w.sum()) @ self.experts
        self.mix = mix / mix.sum()
        # like the classic programs: when the mixture has been losing, play safe
        if self.fallback and self.mix_score < self.eq_score - self.margin:
            return self.eq
        return self.mix
