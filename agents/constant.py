"""``constant``: the same action every round.

``action`` is an index into the game's ``action_names`` (``0`` = rock, the first room,
or the lowest number) or a name from them (``"paper"``, ``"kitchen"``, ``"7"``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from arena.agent import BaseAgent, one_hot
from arena.registry import register_agent


@register_agent("constant")
class Constant(BaseAgent):
    """Always plays the same action (option ``action``: index or name, default the first)."""

    kinds = frozenset({"matrix", "numbers"})

    def __init__(self, *, name: str | None = None, action: int | str = 0) -> None:
        super().__init__(name=name)
        if not isinstance(action, str) and (isinstance(action, bool) or int(action) != action
                                            or int(action) < 0):
            raise ValueError(f"action must be a name or an index >= 0, not {action!r}")
        self.action = action

    def reset(self, *, seed: int | None = None, **context: Any) -> None:
        super().reset(seed=seed, **context)
        self._index: int | None = None
        # resolved now when the context says how many actions there are, so a bad
        # `action` fails when the config is checked (each agent is reset once per game)
        names, low, high = context.get("action_names"), context.get("low"), context.get("high")
        if names is not None:
            self._index = self.action_index(self.action, len(names))
        elif low is not None and high is not None:
            self._index = self.action_index(self.action, int(high) - int(low) + 1)

    def distribution(self, observation: Any, action_space: Any) -> np.ndarray:
        n = self.n_actions(action_space)
        if self._index is None:
            self._index = self.action_index(self.action, n)
        return one_hot(self._index, n)
