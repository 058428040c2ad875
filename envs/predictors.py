"""Online sequence predictors over the symbols ``0..n-1``.

Every predictor is fed one symbol at a time and answers with a probability
distribution over the next symbol::

    p = Markov(3, max_order=2)
    for s in [0, 1, 2, 0, 1, 2, 0, 1]:
        p.update(s)
    p.predict()          # numpy array of shape (3,), sums to 1, mass on 2

Interface (shared by every class here)
--------------------------------------
``update(symbol, context=None)``
    Append ``symbol`` (an int in ``0..n-1``) to the sequence. Predictors that
    condition on the past (``Markov``, ``HistoryMatch``) may condition on a
    *second* stream instead of the predicted one: pass ``context`` (an int in
    ``0..n_context-1``) observed at the same step. The exploiters use this to predict
    the joint (own, opponent) move from the opponent's history alone, say.
    ``context=None`` conditions on the symbol itself.
``predict() -> np.ndarray``
    The distribution (length ``n``, non-negative, sums to 1) of the next symbol.
    Before any data it is uniform.

Cost: every update and prediction does work bounded by the options (window,
order, ``max_length``, ``n``), never by the length of the history. History
matching keeps an incremental index of every context up to ``max_length``
symbols, so finding the longest earlier occurrence of the current suffix is a
handful of dictionary lookups; ``HistoryMatch.shorter(k)`` gives a view that
predicts as a matcher capped at ``k`` symbols would, from the same index.

This module is at the lowest layer: it imports nothing from the project, so the
agents and the random-number task share it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import numpy as np

__all__ = ["Frequency", "HistoryMatch", "Markov", "Mixture", "MixtureWeights", "ShorterMatch",
           "uniform"]


def uniform(n: int) -> np.ndarray:
    """The uniform distribution over ``n`` symbols."""
    return np.full(n, 1.0 / n)


class _ContextKeys:
    """Integer keys for the last 1..k context symbols, updated in O(k) per step.

    Key of length ``j`` ending now is ``c_t + B * key_{j-1}`` of the previous step,
    with ``B = n_context + 1`` and symbols shifted by one, so that different
    lengths and different contents never collide (Python ints are exact).
    """

    def __init__(self, n_context: int, k: int) -> None:
        self.base = n_context + 1
        self.k = k
        self.keys: list[int] = []  # keys[j-1] = key of the last j context symbols

    def push(self, c: int) -> None:
        prev = self.keys
        new = [c + 1]
        for j in range(1, min(self.k, len(prev) + 1)):
            new.append(c + 1 + self.base * prev[j - 1])
        self.keys = new


def _check(symbol: int, n: int, what: str = "symbol") -> int:
    s = int(symbol)
    if not 0 <= s < n:
        raise ValueError(f"{what} {s} is outside 0..{n - 1}")
    return s


class Frequency:
    """Counts of past symbols: all of them, the last ``window``, or decayed by ``decay``.

    ``prior`` pseudo-counts are spread evenly, so early predictions stay near uniform.
    """

    def __init__(self, n: int, *, window: int | None = None, decay: float | None = None,
                 prior: float = 1.0) -> None:
        if window is not None and decay is not None:
            raise ValueError("give window or decay, not both")
        if window is not None and window < 1:
            raise ValueError("window must be >= 1")
        if decay is not None and not 0.0 < decay <= 1.0:
            raise ValueError("decay must be in (0, 1]")
        self.n, self.window, self.decay, self.prior = n, window, decay, prior
        self.counts = np.zeros(n)
        self._recent: deque[int] = deque()

    def update(self, symbol: int, context: int | None = None) -> None:
        s = _check(symbol, self.n)
        if self.decay is not None:
            self.counts *= self.decay
        self.counts[s] += 1.0
        if self.window is not None:
            self._recent.append(s)
            if len(self._recent) > self.window:
                self.counts[self._recent.popleft()] -= 1.0

    def predict(self) -> np.ndarray:
        c = np.maximum(self.counts, 0.0) + self.prior / self.n
        total = c.sum()
        return c / total if total > 0 else uniform(self.n)


class Markov:
    """Order-``1..max_order`` context counts with back-off to shorter contexts.

    The longest context seen at least ``min_count`` times decides; with none, the
    overall frequency does. Counts may decay (``decay`` per step, applied lazily
    when a context is touched) so that a changing source is followed.
    """

    def __init__(self, n: int, *, max_order: int = 3, min_count: float = 2.0,
                 n_context: int | None = None, decay: float | None = None,
                 prior: float = 0.5) -> None:
        if max_order < 1:
            raise ValueError("max_order must be >= 1")
        self.n, self.max_order, self.min_count = n, max_order, min_count
        self.n_context = n if n_context is None else n_context
        self.decay, self.prior = decay, prior
        self._keys = _ContextKeys(self.n_context, max_order)
        # per order: key -> [counts, step of last decay]
        self._tables: list[dict[int, list]] = [{} for _ in range(max_order)]
        self._base = Frequency(n, decay=decay, prior=prior)
        self._t = 0

    def _counts(self, table: dict[int, list], key: int, create: bool) -> np.ndarray | None:
        entry = table.get(key)
        if entry is None:
            if not create:
                return None
            entry = table[key] = [np.zeros(self.n), self._t]
        if self.decay is not None and entry[1] != self._t:
            entry[0] *= self.decay ** (self._t - entry[1])
            entry[1] = self._t
        return entry[0]

    def update(self, symbol: int, context: int | None = None) -> None:
        s = _check(symbol, self.n)
        c = s if context is None else _check(context, self.n_context, "context")
        for j, key in enumerate(self._keys.keys):
            self._counts(self._tables[j], key, create=True)[s] += 1.0
        self._base.update(s)
        self._keys.push(c)
        self._t += 1

    def predict(self) -> np.ndarray:
        for j in range(len(self._keys.keys) - 1, -1, -1):
            counts = self._counts(self._tables[j], self._keys.keys[j], create=False)
            if counts is not None and counts.sum() >= self.min_count:
                c = counts + self.prior / self.n
                return c / c.sum()
        return self._base.predict()


class HistoryMatch:
    """Longest earlier occurrence of the current suffix; predicts what followed it.

    Matches are at most ``max_length`` long, and the index stores, for every
    context of 1..``max_length`` symbols, the step that followed its latest
    occurrence, so a lookup is a binary search over lengths. ``match_length``
    and ``match_step`` (index into the update stream of the predicted step, or -1)
    describe the current match, which lets callers read parallel streams at that
    step. The prediction puts ``1 - smoothing`` on the followed symbol.
    """

    def __init__(self, n: int, *, max_length: int = 32, min_length: int = 1,
                 n_context: int | None = None, smoothing: float = 0.0) -> None:
        if not 1 <= min_length <= max_length:
            raise ValueError("need 1 <= min_length <= max_length")
        self.n, self.max_length, self.min_length = n, max_length, min_length
        self.n_context = n if n_context is None else n_context
        self.smoothing = smoothing
        self._keys = _ContextKeys(self.n_context, max_length)
        self._follow: list[dict[int, int]] = [{} for _ in range(max_length)]
        self.symbols: list[int] = []
        self.match_length = 0
        self.match_step = -1

    def update(self, symbol: int, context: int | None = None) -> None:
        s = _check(symbol, self.n)
        c = s if context is None else _check(context, self.n_context, "context")
        step = len(self.symbols)
        for j, key in enumerate(self._keys.keys):
            self._follow[j][key] = step
        self.symbols.append(s)
        self._keys.push(c)
        self._find()

    def _find(self) -> None:
        keys = self._keys.keys
        # context j+1 long seen before => every shorter one was too: binary search
        lo, hi = 0, len(keys)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if keys[mid - 1] in self._follow[mid - 1]:
                lo = mid
            else:
                hi = mid - 1
        if lo >= self.min_length:
            self.match_length = lo
            self.match_step = self._follow[lo - 1][keys[lo - 1]]
        else:
            self.match_length, self.match_step = 0, -1

    def predict(self) -> np.ndarray:
        return self._predict_step(self.match_step)

    def _predict_step(self, step: int) -> np.ndarray:
        if step < 0:
            return uniform(self.n)
        p = np.full(self.n, self.smoothing / self.n)
        p[self.symbols[step]] += 1.0 - self.smoothing
        return p

    def shorter(self, max_length: int) -> ShorterMatch:
        """A view predicting as ``HistoryMatch(max_length=...)`` would, from this index."""
        return ShorterMatch(self, max_length)


class ShorterMatch:
    """History matching capped at a shorter length, sharing a longer matcher's index.

    Its predictions equal those of a separate ``HistoryMatch`` with the smaller
    ``max_length`` fed the same stream (every suffix of a matched context occurred
    too, so the capped match is the shorter of the two lengths), for the cost of one
    lookup. ``update`` does nothing: feed the parent matcher instead.
    """

    def __init__(self, parent: HistoryMatch, max_length: int) -> None:
        if not parent.min_length <= max_length <= parent.max_length:
            raise ValueError("need parent.min_length <= max_length <= parent.max_length")
        self.parent, self.max_length, self.n = parent, max_length, parent.n

    def update(self, symbol: int, context: int | None = None) -> None:
        """No-op: the parent matcher is fed by its owner."""

    def predict(self) -> np.ndarray:
        par = self.parent
        length = min(par.match_length, self.max_length)
        if length < par.min_length or par.match_step < 0:
            return uniform(self.n)
        return par._predict_step(par._follow[length - 1][par._keys.keys[length - 1]])


class MixtureWeights:
    """The weights of a Bayesian mixture: each expert's decayed log-likelihood, floored.

    After every symbol ``L_i <- decay * L_i + ln P_i(symbol)``; the weights are
    ``exp(L_i)`` normalised, each floored at ``floor`` and renormalised. ``decay`` < 1
    forgets old evidence so the mixture can switch experts, and the floor keeps
    switching cheap. Probabilities below ``min_probability`` count as that much, so one
    confident miss cannot sink an expert for good. Kept apart from the experts so that
    experts that are not online predictors (``envs.random_number``) share the arithmetic.
    """

    def __init__(self, size: int, *, decay: float = 0.98, floor: float = 1e-3,
                 min_probability: float = 1e-12) -> None:
        if size < 1:
            raise ValueError("need at least one expert")
        self.decay, self.floor, self.min_probability = decay, floor, min_probability
        self.log_w = np.zeros(size)

    def weights(self) -> np.ndarray:
        w = np.exp(self.log_w - self.log_w.max())
        w /= w.sum()
        w = np.maximum(w, self.floor)
        return w / w.sum()

    def mix(self, preds: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """The mixture of the experts' distributions ``preds`` (one row per expert).

        ``weights`` defaults to :meth:`weights`; pass them when already computed.
        """
        p = (self.weights() if weights is None else weights) @ preds
        return p / p.sum()

    def update(self, likelihoods: np.ndarray) -> None:
        """Learn from the probability each expert gave the symbol that came."""
        self.log_w = self.decay * self.log_w + np.log(
            np.maximum(likelihoods, self.min_probability))


class Mixture:
    """Bayesian mixture of predictors, weighted by their (decayed) log-likelihood.

    ``decay`` < 1 forgets old evidence so the mixture can switch experts; each
    expert's weight is floored at ``floor`` of the total to keep switching cheap
    (see :class:`MixtureWeights`).
    """

    def __init__(self, experts: Sequence, *, decay: float = 0.98, floor: float = 1e-3) -> None:
        if not experts:
            raise ValueError("need at least one expert")
        self.experts = list(experts)
        self.n = self.experts[0].n
        self._weights = MixtureWeights(len(self.experts), decay=decay, floor=floor)
        self._preds = np.stack([e.predict() for e in self.experts])

    def weights(self) -> np.ndarray:
        return self._weights.weights()

    def update(self, symbol: int, context: int | None = None) -> None:
        s = _check(symbol, self.n)
        self._weights.update(self._preds[:, s])
        for e in self.experts:
            e.update(s, context)
        self._preds = np.stack([e.predict() for e in self.experts])

    def predict(self) -> np.ndarray:
        return self._weights.mix(self._preds)
