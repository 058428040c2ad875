"""``humanlike``: the stand-in for an aligned model: a favourite, and no repeats.

Two-player games: the base strategy gives ``favourite`` (an index or action name;
default 0, i.e. rock or the first room) probability ``bias`` and spreads the rest
evenly. It never plays the same move twice in a row: a drawn repeat is redrawn,
so after move ``l`` the exact distribution is the base one with ``l`` removed and
renormalised, ``p(a) / (1 - p(l))`` for ``a != l``.

Random numbers: the base strategy is ``numbers`` (default 7 with 0.3 and 3 with
0.2; numbers outside ``[low, high]`` are dropped) with the rest of the mass spread
evenly over the other numbers. It never says a number twice in one sequence
(episode): numbers already said are redrawn, so the exact distribution is the base
one restricted to the unsaid numbers. Once every number has been said it starts
afresh, avoiding only the last one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from arena.agent import BaseAgent
from arena.registry import register_agent


def without(probs: np.ndarray, banned: np.ndarray) -> np.ndarray:
    """``probs`` conditioned on not drawing a banned action (redraw until allowed)."""
    kept = np.where(banned, 0.0, probs)
    total = kept.sum()
    if total <= 0:  # all the remaining mass was banned: fall back to uniform on the rest
        kept = (~banned).astype(float)
        total = kept.sum()
    return kept / total


@register_agent("humanlike")
class Humanlike(BaseAgent):
    """Favours one action (or 7 and 3) and never repeats itself, like a person asked to be random."""

    kinds = frozenset({"matrix", "numbers"})

    def __init__(self, *, name: str | None = None, favourite: int | str = 0, bias: float = 0.5,
                 numbers: Mapping[int, float] | None = None) -> None:
        super().__init__(name=name)
        if not 0.0 <= float(bias) <= 1.0:
            raise ValueError(f"bias must be in [0, 1], not {bias}")
        numbers = {7: 0.3, 3: 0.2} if numbers is None else dict(numbers)
        if any(float(p) < 0 for p in numbers.values()) or sum(numbers.values()) > 1 + 1e-9:
            raise ValueError(f"numbers must map to probabilities summing to at most 1: {numbers}")
        self.favourite, self.bias, self.numbers = favourite, float(bias), numbers

    def reset(self, *, seed: int | None = None, **context: Any) -> None:
        super().reset(seed=seed, **context)
        self._base: np.ndarray | None = None
        self._said: np.ndarray | None = None
        self._solo = context.get("kind") == "numbers"
        names = context.get("action_names")
        if not self._solo and names is not None:  # a bad favourite fails at the config check
            try:
                self.action_index(self.favourite, len(names))
            except ValueError as exc:
                raise ValueError(f"favourite: {exc}") from None

    def _base_probs(self, n: int) -> np.ndarray:
        if self._solo:
            low = int(self.context["low"])
            favoured = {int(k) - low: float(p) for k, p in self.numbers.items()
                        if 0 <= int(k) - low < n}
        else:
            favoured = {self.action_index(self.favourite, n): self.bias}
        mass = sum(favoured.values())
        others = n - len(favoured)
        probs = np.full(n, (1.0 - mass) / others if others else 0.0)
        for index, p in favoured.items():
            probs[index] = p
        return probs / probs.sum()

    def distribution(self, observation: Any, action_space: Any) -> np.ndarray:
        n = self.n_actions(action_space)
        if self._base is None:
            self._base = self._base_probs(n)
            self._said = np.zeros(n, dtype=bool)
        last = self.newest(observation)
        if last is None or n < 2:
            return self._base
        if self._solo:
            last_index = int(last) - int(self.context["low"])
            self._said[last_index] = True
            if self._said.all():
                self._said[:] = False
                self._said[last_index] = True
            return without(self._base, self._said)
        banned = np.zeros(n, dtype=bool)
        banned[int(last[0])] = True
        return without(self._base, banned)
