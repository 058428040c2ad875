"""What a served model's answers must hold before the arena uses them.

A server's JSON is read here, and anything unusable raises
:class:`~agents.llm.http_client.UnusableAnswer`: the request is asked again, then the
round is forfeited (:class:`~agents.llm.http_client.ServerClient` does both), never a
traceback that forfeits the whole match and never a wrong policy stored. Unusable means:

* ``choices`` not a list of objects, not one per prompt, or ``index`` values that are not
  the whole numbers ``0 .. n-1`` (a choice may not stand in for another);
* a log-probability that is not a finite number ``<= 0`` (NaN, ``inf``, ``-inf``, a
  string, a boolean, ``0.5``): a probability is at most 1;
* generated text that is not a string.

:class:`Unsupported` is narrower: the answer lacks what was asked for (the server ignored
``prompt_logprobs`` or ``echo``), which the start-up probe takes as "this server does not
score that way", not as a fault.
"""

from __future__ import annotations

import math
from typing import Any

from agents.llm.http_client import UnusableAnswer


class Unsupported(UnusableAnswer):
    """An answer without what was asked for (the server ignored the option)."""


def choices(answer: Any, count: int) -> list[dict[str, Any]]:
    """The answer's ``count`` choices in prompt order."""
    found = answer.get("choices") if isinstance(answer, dict) else None
    if not isinstance(found, list) or len(found) != count:
        raise UnusableAnswer(f"expected {count} choices, got "
                             f"{len(found) if isinstance(found, list) else 'none'}")
    if not all(isinstance(c, dict) for c in found):
        raise UnusableAnswer("a choice that is not an object")
    if not any("index" in c for c in found):
        return found
    indices = [c.get("index") for c in found]
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in indices) \
            or sorted(indices) != list(range(count)):
        raise UnusableAnswer(f"choice indices {_short(indices)} are not 0 to {count - 1}")
    return sorted(found, key=lambda c: c["index"])


def logprob(value: Any) -> float:
    """One log-probability: a finite number <= 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value > 0:
        raise UnusableAnswer(f"a log-probability of {_short(value)} (it must be a finite "
                             "number <= 0)")
    return float(value)


def prompt_logprobs(choice: dict[str, Any], ids: list[int], n: int) -> float:
    """The continuation's summed log-probability from vLLM's ``prompt_logprobs`` (``ids``
    the prompt's tokens, the continuation from position ``n``)."""
    entries = choice.get("prompt_logprobs")
    if not isinstance(entries, list):
        raise Unsupported("no prompt_logprobs")
    if len(entries) != len(ids):
        raise UnusableAnswer(f"{len(entries)} prompt_logprobs for {len(ids)} prompt tokens")
    total = 0.0
    for token, entry in zip(ids[n:], entries[n:], strict=True):
        item = entry.get(str(token)) if isinstance(entry, dict) else None
        if not isinstance(item, dict) or "logprob" not in item:
            raise UnusableAnswer(f"prompt_logprobs lack the prompt token {token}")
        total += logprob(item["logprob"])
    return total


def echoed(choice: dict[str, Any], ids: list[int], n: int, text: str | None) -> float:
    """The continuation's summed log-probs from an echo of the prompt (``text`` when the
    prompt went as text, else ``None``) and the one generated token."""
    logprobs = choice.get("logprobs")
    values = logprobs.get("token_logprobs") if isinstance(logprobs, dict) else None
    if not isinstance(values, list):
        raise Unsupported("no echoed token_logprobs")
    if text is None:  # token ids go through as they are: the first len(ids) are the prompt
        prompt = values[:len(ids)] if len(values) >= len(ids) else []
    else:  # the server tokenised (and may have put its BOS first): cut where text ends
        offsets = logprobs.get("text_offset")
        if isinstance(offsets, list) and len(offsets) == len(values) and all(
                isinstance(at, int) and not isinstance(at, bool) for at in offsets):
            prompt = [v for v, at in zip(values, offsets, strict=True) if at < len(text)]
        else:
            prompt = values[:-1]
    k = len(ids) - n
    if len(prompt) < k + 1 or any(v is None for v in prompt[-k:]):
        raise Unsupported("the echo is shorter than the prompt")
    return sum(logprob(v) for v in prompt[-k:])


def text(choice: dict[str, Any], *, key: str = "text") -> str:
    """A choice's generated text (``""`` when the server gives none)."""
    value = choice.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise UnusableAnswer(f"generated text that is not a string ({type(value).__name__})")
    return value


def _short(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."
