"""``iocaine``: the Iocaine Powder meta strategy, rebuilt from its published description.

Layers, bottom up:

1. Predictors of the joint next move (history matches at several depths, back-off
   Markov, fast-forgetting Markov, frequency) on the opponent's, our own and the joint
   history; frequencies and history matches of each move's shift from the previous
   moves (drifting and "beat the last move" players); and "anti" predictors that expect
   the move a decayed model finds least likely (players that balance their counts or
   walk a De Bruijn sequence) (:class:`agents._exploit.CandidateBank`).
2. Each prediction becomes candidates: best response to it and its second- and
   third-guessing rotations, plus the same for the mirror prediction of our own
   move "from the opponent's seat".
3. Every candidate keeps a virtual score (what it would have won) over several
   horizons; each horizon nominates its best candidate.
4. The nominees themselves are scored (exponentially decayed); the best one is
   played, unless even the best does worse than the equilibrium would: then the
   equilibrium (uniform in RPS) is played, so a stronger opponent cannot milk us.
"""

from __future__ import annotations

import numpy as np

from agents._exploit import CandidateBank, Exploiter, standard_bank
from arena.registry import register_agent


class MultiHorizonScores:
    """Windowed sums of per-candidate rewards over several horizons, plus the whole match."""

    def __init__(self, size: int, horizons: tuple[int, ...]) -> None:
        self.horizons = tuple(horizons)
        self.span = max(self.horizons, default=1)
        self.ring = np.zeros((self.span, size))
        self.sums = np.zeros((len(self.horizons) + 1, size))  # last row: whole match
        self.t = 0

    def add(self, reward: np.ndarray) -> None:
        for i, h in enumerate(self.horizons):
            self.sums[i] += reward
            if self.t >= h:
                self.sums[i] -= self.ring[(self.t - h) % self.span]
        self.sums[-1] += reward
        self.ring[self.t % self.span] = reward
        self.t += 1

    def best(self) -> np.ndarray:
        """Index of the best candidate per horizon (first on ties)."""
        return np.argmax(self.sums, axis=1)


@register_agent("iocaine")
class Iocaine(Exploiter):
    """Iocaine Powder-style meta strategy: predictors x rotations x mirrors, best horizon wins.

    Options: ``horizons`` (score windows, besides the whole match), ``match_lengths``
    (history-match depths), ``levels`` (rotations per prediction), ``decays``,
    ``frame_decays``, ``frame_lengths``, ``anti_decays``, ``anti_orders`` and
    ``markov_decays`` (the extra predictors, see :func:`agents._exploit.standard_bank`;
    an empty tuple drops a kind), ``meta_decay``
    (memory of the nominees' scores), ``margin`` (how far the best nominee must beat
    the equilibrium to be played), ``switch_margin`` (hysteresis between horizons),
    ``prior`` (head start, in points, of the best response to the counts and of the
    whole-match horizon), ``prior_rate`` (that response's bonus per round) and
    ``fallback`` (play the equilibrium when losing).
    """

    def __init__(self, *, name: str | None = None,
                 horizons: tuple[int, ...] = (100, 20, 10, 5, 2, 1),
                 match_lengths: tuple[int, ...] = (4, 12, 32), levels: int = 3,
                 decays: tuple[float, ...] = (0.9,), frame_decays: tuple[float, ...] = (0.9, 0.97),
                 frame_lengths: tuple[int, ...] = (8,), anti_decays: tuple[float, ...] = (0.8,),
                 anti_orders: tuple[int, ...] = (3,), markov_decays: tuple[float, ...] = (0.9, 0.97),
                 meta_decay: float = 0.99, margin: float = 0.0, switch_margin: float = 0.0,
                 prior: float = 10.0, prior_rate: float = 0.0, fallback: bool = True) -> None:
        super().__init__(name=name)
        if any(h < 1 for h in horizons):
            raise ValueError("horizons must be >= 1")
        if not match_lengths or min(match_lengths) < 1:
            raise ValueError("match_lengths must be non-empty and >= 1")
        if not 0.0 < meta_decay <= 1.0:
            raise ValueError("meta_decay must be in (0, 1]")
        self.horizons, self.match_lengths = tuple(horizons), tuple(match_lengths)
        self.levels, self.meta_decay, self.margin = levels, meta_decay, margin
        self.fallback, self.switch_margin = fallback, switch_margin
        self.prior, self.prior_rate = prior, prior_rate
        self.decays, self.frame_decays = tuple(decays), tuple(frame_decays)
        self.frame_lengths = tuple(frame_lengths)
        self.anti_decays, self.anti_orders = tuple(anti_decays), tuple(anti_orders)
        self.markov_decays = tuple(markov_decays)

    def setup(self) -> None:
        self.bank: CandidateBank = standard_bank(
            self.payoff, match_lengths=self.match_lengths, levels=self.levels,
            decays=self.decays, frame_decays=self.frame_decays, frame_lengths=self.frame_lengths,
            anti_decays=self.anti_decays, anti_orders=self.anti_orders,
            markov_decays=self.markov_decays)
        self.scores = MultiHorizonScores(self.bank.size, self.horizons)
        # a head start for the plainest hypothesis (best response to the counts) and for
        # the whole-match horizon, so that early noise among many candidates is not chased
        self.bonus = np.zeros(self.bank.size)
        self.bonus[self.bank.baseline] = self.prior_rate
        self.scores.sums[-1, self.bank.baseline] = self.prior
        self.meta = np.zeros(len(self.horizons) + 1)
        self.meta[-1] = self.prior
        self.eq_meta = 0.0
        self.cands: np.ndarray | None = None
        self.nominees: np.ndarray | None = None
        self.current = len(self.horizons)  # start with the whole-match horizon

    def observe(self, own: int, opp: int) -> None:
        if self.cands is not None:
            reward = self.cands @ self.payoff[:, opp]
            self.scores.add(reward + self.bonus)
            self.meta = self.meta_decay * self.meta + reward[self.nominees]
            self.eq_meta = self.meta_decay * self.eq_meta + self.value
        self.bank.update(own, opp)

    def strategy(self) -> np.ndarray:
        if self.decisions_made == 0:
            return self.eq
        self.cands = self.bank.candidates()
        self.nominees = self.scores.best()
        best = int(np.argmax(self.meta))
        # hysteresis: a challenger must beat the horizon in charge by switch_margin
        if self.meta[best] < self.meta[self.current] + self.switch_margin:
            best = self.current
        self.current = best
        if self.fallback and self.meta[best] < self.eq_meta + self.margin:
            return self.eq
        return self.cands[self.nominees[best]]
