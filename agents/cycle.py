"""``cycle``: walks through the actions in order, ``start, start + step, ...`` modulo n.

With the default ``step=1`` in rock-paper-scissors it plays rock, paper, scissors,
rock, ... A frequency counter cannot beat it (its counts stay even); any predictor
that looks at the last move can.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from arena.agent import BaseAgent, one_hot
from arena.registry import register_agent


@register_agent("cycle")
class Cycle(BaseAgent):
    """Cycles through the actions in order (options ``start`` and ``step``)."""

    kinds = frozenset({"matrix"})

    def __init__(self, *, name: str | None = None, start: int = 0, step: int = 1) -> None:
        super().__init__(name=name)
        self.start = int(start)
        self.step = int(step)

    def reset(self, *, seed: int | None = None, **context: Any) -> None:
        super().reset(seed=seed, **context)
        if context.get("action_names") is not None:  # a bad step fails at the config check
            self._check_step(len(context["action_names"]))

    def _check_step(self, n: int) -> None:
        if self.step % n == 0:
            raise ValueError(f"{self.name}: step {self.step} never moves with {n} actions")

    def distribution(self, observation: Any, action_space: Any) -> np.ndarray:
        n = self.n_actions(action_space)
        self._check_step(n)
        return one_hot((self.start + self.step * self.decisions_made) % n, n)
