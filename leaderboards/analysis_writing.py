"""What makes an agent's writing original or not: the originality components per agent.

Works on scored answers, plain mappings with ``agent``, ``prompt``, ``text``,
``originality``, ``quality``, ``penalty`` and ``components`` (component name -> value
or ``None``), as the creative-writing env scores them (``envs.text_scoring``); the
caller replays the stored answers to get them. Imports nothing from ``arena``.
The definitions (the report prints :data:`DEFINITIONS`):

* **originality** = weighted mean of the quality components × product of the penalty
  components, in [0, 1]; it is the task's reward. Each answer is scored against the
  agent's own earlier answers to the same prompt, so saying the same thing twice costs.
* **quality components**: ``lexical_novelty`` (share of word 2- and 3-grams not in the
  earlier answers), ``distinct_n`` (distinct / total word 1- and 2-grams inside the
  answer) and, when the embedding model is installed, ``semantic_distance``.
* **penalty components** (1 = no penalty): ``too_short``, ``repetition``,
  ``prompt_echo``, ``gibberish``.
* Per agent: the mean of each over its answers (components that were not available are
  left out of their mean), a 95% t-interval for the mean originality, the mean length in
  words, the share of answers that repeat one of its earlier answers word for word, and
  the distinct 1- and 2-grams over all its answers pooled (its vocabulary across answers).
* **Examples**: the agent's most and least original answers, with their prompts.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from leaderboards.analysis_numbers import doc_bullets

DEFINITIONS = doc_bullets(__doc__, "The definitions")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)*")


def words(text: str) -> list[str]:
    """Lowercase word tokens (letters, digits, inner apostrophes)."""
    return _WORD.findall(text.lower())


def distinct_share(tokens: list[str], n: int) -> float | None:
    """Distinct n-grams / all n-grams of ``tokens`` (``None`` when there are none)."""
    grams = [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]
    return len(set(grams)) / len(grams) if grams else None


def mean_ci(values: list[float]) -> tuple[float | None, float | None, float | None]:
    """Mean and a 95% t-interval (no interval below two values)."""
    if not values:
        return None, None, None
    mean = float(np.mean(values))
    if len(values) < 2:
        return mean, None, None
    from scipy import stats

    half = float(stats.t.ppf(0.975, len(values) - 1) * np.std(values, ddof=1)
                 / math.sqrt(len(values)))
    return mean, mean - half, mean + half


def writing_summary(answers: Iterable[Mapping[str, Any]], *, examples: int = 2
                    ) -> dict[str, dict[str, Any]]:
    """Agent -> component means, originality with its interval, length, duplicates,
    pooled diversity and examples (``examples`` best and worst)."""
    by_agent: dict[str, list[Mapping[str, Any]]] = {}
    for answer in answers:
        by_agent.setdefault(answer["agent"], []).append(answer)
    out = {}
    for agent, rows in by_agent.items():
        mean, low, high = mean_ci([float(r["originality"]) for r in rows])
        names = list(dict.fromkeys(k for r in rows for k in r["components"]))
        components = {}
        for name in names:
            values = [float(r["components"][name]) for r in rows
                      if r["components"].get(name) is not None]
            components[name] = float(np.mean(values)) if values else None
        seen: set[str] = set()
        duplicates = 0
        for r in rows:
            duplicates += r["text"] in seen
            seen.add(r["text"])
        pooled = [w for r in rows for w in words(r["text"])]
        ranked = sorted(range(len(rows)), key=lambda i: (-float(rows[i]["originality"]), i))
        pick = ranked[:examples] + [i for i in ranked[::-1][:examples] if i not in ranked[:examples]]
        out[agent] = {
            "answers": len(rows), "originality": mean, "ci_low": low, "ci_high": high,
            "quality": float(np.mean([float(r["quality"]) for r in rows])),
            "penalty": float(np.mean([float(r["penalty"]) for r in rows])),
            "components": components,
            "mean_words": float(np.mean([len(words(r["text"])) for r in rows])),
            "duplicate_share": duplicates / len(rows),
            "pooled_distinct_1": distinct_share(pooled, 1),
            "pooled_distinct_2": distinct_share(pooled, 2),
            "examples": [{"rank": "most original" if i in ranked[:examples] else "least original",
                          "prompt": rows[i]["prompt"], "text": rows[i]["text"],
                          "originality": float(rows[i]["originality"]),
                          "components": dict(rows[i]["components"])} for i in pick],
        }
    return out
