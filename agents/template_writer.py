"""``template_writer``: fills a few slots of a fixed template with random words.

A template is chosen, then each ``{slot}`` is filled with a word drawn from that
slot's list, all with the agent's seeded RNG. The result is grammatical and varied
on the surface, yet every answer shares most of its words with the others: a
yardstick between a fixed text and real writing. ``{topic}`` is filled from the
prompt's last long word, so the text nods at the prompt. Custom ``templates`` may
use the built-in slots below.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from arena.agent import BaseAgent
from arena.registry import register_agent

SLOTS: dict[str, tuple[str, ...]] = {
    "adjective": ("quiet", "silver", "broken", "patient", "restless", "golden", "hollow",
                  "crooked", "distant", "gentle", "bitter", "wild"),
    "noun": ("river", "lantern", "harbour", "orchard", "letter", "stairway", "fox",
             "clock", "garden", "bridge", "kettle", "mirror"),
    "verb": ("waits", "remembers", "wanders", "listens", "hums", "settles", "burns",
             "drifts", "returns", "breaks", "sings", "sleeps"),
    "place": ("under the hill", "beside the road", "behind the mill", "across the bay",
              "past the station", "inside the old house", "beyond the fence"),
    "time": ("at dawn", "before the rain", "all winter", "after midnight", "every Sunday",
             "when the tide turns", "in late October"),
}

TEMPLATES: tuple[str, ...] = (
    "A {adjective} {noun} {verb} {place} {time}. Nobody speaks of {topic}, "
    "yet the {noun} {verb} as if it knew.",
    "{time}, the {noun} {verb}. I think of {topic} and of a {adjective} {noun} "
    "{place}, and the day goes on without me.",
    "There is a {adjective} {noun} {place}. It {verb} {time}, and {topic} "
    "is the only word it keeps.",
)

_SLOT = re.compile(r"\{(\w+)\}")


@register_agent("template_writer")
class TemplateWriter(BaseAgent):
    """Fills the slots of a template with random words (option ``templates``)."""

    kinds = frozenset({"text"})

    def __init__(self, *, name: str | None = None,
                 templates: Sequence[str] = TEMPLATES) -> None:
        super().__init__(name=name)
        if isinstance(templates, str) or not templates or \
                not all(isinstance(t, str) and t.strip() for t in templates):
            raise ValueError("templates must be a non-empty list of non-empty strings")
        for template in templates:
            unknown = set(_SLOT.findall(template)) - set(SLOTS) - {"topic"}
            if unknown:
                raise ValueError(f"template uses unknown slot(s) {sorted(unknown)}; "
                                 f"slots: {', '.join([*SLOTS, 'topic'])}")
        self.templates = tuple(templates)

    def _topic(self, prompt: str) -> str:
        words = re.findall(r"[A-Za-z]{4,}", prompt)
        return words[-1].lower() if words else "the sea"

    def act(self, observation: Any, action_space: Any) -> str:
        prompt = str(self.context.get("prompt", observation or ""))
        template = self.templates[int(self.rng.integers(len(self.templates)))]

        def fill(match: re.Match[str]) -> str:
            slot = match.group(1)
            if slot == "topic":
                return self._topic(prompt)
            words = SLOTS[slot]
            return words[int(self.rng.integers(len(words)))]

        text = _SLOT.sub(fill, template)
        text = text[0].upper() + text[1:]
        limit = self.context.get("max_chars")
        return text if limit is None else text[: int(limit)]
