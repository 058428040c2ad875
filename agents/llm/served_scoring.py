"""How an OpenAI-compatible server scores answers: one function per method, each taking
the :class:`~agents.llm.codec.Pair` list of a decision and returning its summed
log-probabilities.

``cached``           one ``max_tokens: 1`` request per answer token, on the context plus
                     the answer's earlier tokens, asking for the raw log-probability of
                     exactly that token (vLLM's ``allowed_token_ids`` and
                     ``logprobs``). Plain completion requests hit the server's prefix
                     cache (``--enable-prefix-caching``), so a decision costs its new
                     tokens, not the whole history. The best where offered.
``prompt_logprobs``  vLLM's ``prompt_logprobs: 0``, all answers in one request; such
                     requests skip vLLM's prefix cache, so each one prefills the whole
                     prompt again.
``echo``             the classic ``echo: true`` with ``logprobs`` (token ids);
``echo_text``        the same with the prompt as text, for servers that take no ids: the
                     answer is the prompt's last tokens, counted with our tokenizer.

:data:`METHODS` lists them best first; the engine's probe takes the first that a server
answers correctly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from agents.llm.codec import Pair

METHODS = ("cached", "prompt_logprobs", "echo", "echo_text")
# requests of one decision sent at once (the client's max_in_flight still bounds them)
_PARALLEL = 8


class Unusable(Exception):
    """An answer without what was asked for (the server ignored the option)."""


def score(method: str, post: Callable[[dict[str, Any]], Any], model: str,
          pairs: Sequence[Pair]) -> np.ndarray:
    """The summed log-probabilities of ``pairs`` by ``method``; ``post`` sends one
    ``/completions`` payload and returns the decoded answer."""
    payload: dict[str, Any] = {"model": model, "max_tokens": 1, "temperature": 0.0}
    if method == "cached":
        return _cached(post, payload, pairs)
    if method == "prompt_logprobs":
        payload.update(prompt=[list(p.context + p.answer) for p in pairs], prompt_logprobs=0)
    elif method == "echo":
        payload.update(prompt=[list(p.context + p.answer) for p in pairs], echo=True,
                       logprobs=1)
    else:
        payload.update(prompt=[p.text for p in pairs], echo=True, logprobs=1)
    choices = _choices(post(payload), len(pairs))
    if method == "prompt_logprobs":
        got = [_prompt_logprobs(c, p) for c, p in zip(choices, pairs, strict=True)]
    else:
        texts = [p.text if method == "echo_text" else None for p in pairs]
        got = [_echoed(c, p, t) for c, p, t in zip(choices, pairs, texts, strict=True)]
    return np.array(got, dtype=np.float64)


def _cached(post: Callable[[dict[str, Any]], Any], payload: dict[str, Any],
            pairs: Sequence[Pair]) -> np.ndarray:
    """One request per answer token: the prompt so far, that token the only one allowed,
    its raw log-probability read back. The first token of every answer shares the same
    prompt, so the server computes that prefix once and every later request reuses it."""
    asks = [(j, list(p.context + p.answer[:k]), int(p.answer[k]))
            for j, p in enumerate(pairs) for k in range(len(p.answer))]

    def ask(item: tuple[int, list[int], int]) -> float:
        _, prompt, token = item
        answer = post({**payload, "prompt": prompt, "logprobs": 1,
                       "allowed_token_ids": [token], "return_tokens_as_token_ids": True})
        return _token_logprob(_choices(answer, 1)[0], token)

    if len(asks) > 1:
        # the first request fills the prefix cache; the rest reuse it, several at a time
        first = ask(asks[0])
        with ThreadPoolExecutor(max_workers=min(_PARALLEL, len(asks) - 1)) as pool:
            rest = list(pool.map(ask, asks[1:]))
        values = [first, *rest]
    else:
        values = [ask(asks[0])]
    totals = np.zeros(len(pairs), dtype=np.float64)
    for (j, _, _), value in zip(asks, values, strict=True):
        totals[j] += value
    return totals


def _token_logprob(choice: dict[str, Any], token: int) -> float:
    """The raw log-probability of the one generated ``token`` (given as ``token_id:N``)."""
    logprobs = choice.get("logprobs")
    tokens = logprobs.get("tokens") if isinstance(logprobs, dict) else None
    values = logprobs.get("token_logprobs") if isinstance(logprobs, dict) else None
    if not (isinstance(tokens, list) and isinstance(values, list) and tokens and values):
        raise Unusable("no logprobs for the generated token")
    if str(tokens[0]) != f"token_id:{token}":
        raise Unusable(f"generated {tokens[0]!r}, not the allowed token {token}")
    value = values[0]
    if not isinstance(value, (int, float)) or not np.isfinite(value) or value > 0:
        raise Unusable(f"not a log-probability: {value!r}")
    return float(value)


def _choices(answer: Any, count: int) -> list[dict[str, Any]]:
    choices = answer.get("choices") if isinstance(answer, dict) else None
    if not isinstance(choices, list) or len(choices) != count:
        raise Unusable(f"expected {count} choices, got "
                       f"{len(choices) if isinstance(choices, list) else 'none'}")
    return sorted(choices, key=lambda c: int(c.get("index", 0)))


def _prompt_logprobs(choice: dict[str, Any], pair: Pair) -> float:
    ids = pair.context + pair.answer
    entries = choice.get("prompt_logprobs")
    if not isinstance(entries, list) or len(entries) != len(ids):
        raise Unusable("no prompt_logprobs for every prompt token")
    total = 0.0
    n = len(pair.context)
    for token, entry in zip(ids[n:], entries[n:], strict=True):
        item = entry.get(str(token)) if isinstance(entry, dict) else None
        if not isinstance(item, dict) or "logprob" not in item:
            raise Unusable(f"prompt_logprobs lack the prompt token {token}")
        total += float(item["logprob"])
    return total


def _echoed(choice: dict[str, Any], pair: Pair, text: str | None) -> float:
    """The answer's summed log-probs from an echo of the prompt (``text`` when the prompt
    went as text, else ``None``) and the one generated token."""
    ids = pair.context + pair.answer
    logprobs = choice.get("logprobs")
    values = logprobs.get("token_logprobs") if isinstance(logprobs, dict) else None
    if not isinstance(values, list):
        raise Unusable("no echoed token_logprobs")
    if text is None:  # token ids go through as they are: the first len(ids) are the prompt
        prompt = values[:len(ids)] if len(values) >= len(ids) else []
    else:  # the server tokenised (and may have put its BOS first): cut where text ends
        offsets = logprobs.get("text_offset")
        if isinstance(offsets, list) and len(offsets) == len(values):
            prompt = [v for v, at in zip(values, offsets, strict=True) if at < len(text)]
        else:
            prompt = values[:-1]
    k = len(pair.answer)
    if len(prompt) < k + 1 or any(v is None for v in prompt[-k:]):
        raise Unusable("the echo is shorter than the prompt")
    return float(sum(prompt[-k:]))


def generated_text(answer: Any) -> str:
    """The text of the one choice of a ``/completions`` answer."""
    return _choices(answer, 1)[0].get("text") or ""


def chat_text(answer: Any) -> str:
    """The text of the one choice of a ``/chat/completions`` answer."""
    choices = answer.get("choices") if isinstance(answer, dict) else None
    message = choices[0].get("message") if isinstance(choices, list) and choices else None
    content = message.get("content") if isinstance(message, dict) else None
    return content if isinstance(content, str) else ""
