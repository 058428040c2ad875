"""``biased``: a fixed mixed strategy with the given weights, independently each round.

``weights`` is a list (action ``i`` gets ``weights[i]``; actions past the end of the
list get 0) or a mapping from action names to weights (unnamed actions get 0). The
weights are normalised. The default ``(0.5, 0.3, 0.2)`` is rock 0.5, paper 0.3,
scissors 0.2; its best response (always paper) earns +0.3 per round.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from arena.agent import BaseAgent
from arena.registry import register_agent


@register_agent("biased")
class Biased(BaseAgent):
    """Plays a fixed mixed strategy (option ``weights``: a list or {action name: weight})."""

    kinds = frozenset({"matrix"})

    def __init__(self, *, name: str | None = None,
                 weights: Sequence[float] | Mapping[str, float] = (0.5, 0.3, 0.2)) -> None:
        super().__init__(name=name)
        values = list(weights.values()) if isinstance(weights, Mapping) else list(weights)
        numbers = [float(w) for w in values]
        if not numbers or not all(math.isfinite(w) and w >= 0 for w in numbers) \
                or not sum(numbers) > 0:
            raise ValueError(f"weights must be finite, non-negative and have a positive sum, "
                             f"not {weights!r}")
        self.weights = weights

    def reset(self, *, seed: int | None = None, **context: Any) -> None:
        super().reset(seed=seed, **context)
        self._probs: np.ndarray | None = None
        if context.get("action_names") is not None:  # bad weights fail at the config check
            try:
                self._probs = self._resolve(len(context["action_names"]))
            except ValueError as exc:
                raise ValueError(f"weights: {exc}") from None

    def _resolve(self, n: int) -> np.ndarray:
        probs = np.zeros(n)
        if isinstance(self.weights, Mapping):
            for action, weight in self.weights.items():
                probs[self.action_index(action, n)] += float(weight)
        else:
            if len(self.weights) > n:
                raise ValueError(f"{self.name}: {len(self.weights)} weights for {n} actions")
            probs[: len(self.weights)] = [float(w) for w in self.weights]
        if probs.sum() <= 0:
            raise ValueError(f"{self.name}: weights put no mass on any action")
        return probs / probs.sum()

    def distribution(self, observation: Any, action_space: Any) -> np.ndarray:
        if self._probs is None:
            self._probs = self._resolve(self.n_actions(action_space))
        return self._probs
