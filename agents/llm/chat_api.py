"""Sampling from a chat-only API (``/v1/chat/completions``), for ``tokenizer: none``.

Most hosted APIs take messages, not text: the server applies the model's chat template,
and no tokenizer of the model is at hand. The agent's prompt is then the messages
themselves, written as JSON: what ``arena prompt`` prints is exactly what is sent.
Such an API gives no prompt log-probabilities, so only ``mode: sample`` plays there.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from agents.llm import answers

_ROLES = {"system", "user", "assistant", "developer"}


def messages_prompt(messages: Sequence[Mapping[str, str]]) -> str:
    """The prompt of a chat API: its messages as JSON (one role and content each)."""
    return json.dumps([{"role": m["role"], "content": m["content"]} for m in messages],
                      ensure_ascii=False, indent=1)


def prompt_messages(prompt: str) -> list[dict[str, str]] | None:
    """The messages written by :func:`messages_prompt`, or ``None`` for a plain text
    prompt (a completion prompt goes to ``/v1/completions`` as text)."""
    if not prompt.startswith("["):
        return None
    try:
        messages = json.loads(prompt)
    except ValueError:
        return None
    if isinstance(messages, list) and all(isinstance(m, dict) and m.get("role") in _ROLES
                                          and isinstance(m.get("content"), str)
                                          for m in messages):
        return messages
    return None


def chat_complete(client: Any, payload: dict[str, Any], messages: list[dict[str, str]]) -> str:
    """One sampled reply from ``/chat/completions`` (``payload``: model and sampling); an
    answer of the wrong shape is asked for again, then forfeits the round."""
    def read(answer: Any) -> str:
        message = answers.choices(answer, 1)[0].get("message")
        return answers.text(message, key="content") if isinstance(message, dict) else ""

    return client.post("/chat/completions", {**payload, "messages": messages}, read=read)
