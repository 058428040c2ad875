"""``fixed_text``: writes the same text for every creative-writing prompt.

The floor for originality: the archive of earlier answers learns it after one
episode. The text is cut to the task's ``max_chars``.
"""

from __future__ import annotations

from typing import Any

from arena.agent import BaseAgent
from arena.registry import register_agent

DEFAULT_TEXT = ("The lamp by the window kept burning long after the house went quiet, "
                "and nobody could say who had lit it or why it never ran out of oil.")


@register_agent("fixed_text")
class FixedText(BaseAgent):
    """Always writes the same text (option ``text``), whatever the prompt."""

    kinds = frozenset({"text"})

    def __init__(self, *, name: str | None = None, text: str = DEFAULT_TEXT) -> None:
        super().__init__(name=name)
        if not isinstance(text, str):
            raise ValueError(f"text must be a string, not {type(text).__name__}")
        self.text = text

    def act(self, observation: Any, action_space: Any) -> str:
        limit = self.context.get("max_chars")
        return self.text if limit is None else self.text[: int(limit)]
