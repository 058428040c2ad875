"""How an OpenAI-compatible server scores answers: one function per method, each taking
the :class:`~agents.llm.codec.Pair` list of a decision and returning its summed
log-probabilities.

``branches``         plain ``max_tokens: 1`` completion requests, which hit the server's
                     prefix cache (``--enable-prefix-caching``), so a decision costs its
                     new tokens, not the whole history. vLLM's ``logprob_token_ids``
                     returns the raw log-probabilities of chosen tokens at the generated
                     place, so one request on the context reads every answer's first
                     token, and one request per longer prefix reads every token that
                     follows it (rock-paper-scissors with SmolLM2: 5 requests, the
                     context's first, then the rest at once, which the server runs as
                     one step). The best where offered (vLLM 0.32 on).
``cached``           one ``max_tokens: 1`` request per answer token, on the context plus
                     the answer's earlier tokens, asking for the raw log-probability of
                     exactly that token (``allowed_token_ids`` and ``logprobs``): seven
                     requests for rock-paper-scissors, each computing again the part of
                     the prompt past the server's last whole cache block.
``prompt_logprobs``  vLLM's ``prompt_logprobs: 0``, all answers in one request; such
                     requests skip vLLM's prefix cache, so each one prefills the whole
                     prompt again.
``echo``             the classic ``echo: true`` with ``logprobs`` (token ids);
``echo_text``        the same with the prompt as text, for servers that take no ids: the
                     answer is the prompt's last tokens, counted with our tokenizer.

:data:`METHODS` lists them best first; the engine's probe takes the first that a server
answers correctly.

Every answer is read through :mod:`agents.llm.answers` inside the request's ``read``
(see :meth:`~agents.llm.http_client.ServerClient.post`): an unusable one (a choice
missing, a log-probability that is not finite and ``<= 0``) is asked for again, then
forfeits the round.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np

from agents.llm import answers
from agents.llm.codec import Pair

METHODS = ("branches", "cached", "prompt_logprobs", "echo", "echo_text")
# the most token ids one request may ask about (vLLM's MAX_LOGPROB_TOKEN_IDS)
_MOST_IDS = 128
# requests of one decision sent at once (the client's max_in_flight still bounds them)
_PARALLEL = 8

#: ``post(payload, read)``: sends one ``/completions`` payload and returns what ``read``
#: makes of the decoded answer (``read`` raises UnusableAnswer for one to ask again for)
Post = Callable[[dict[str, Any], Callable[[Any], Any]], Any]


def score(method: str, post: Post, model: str, pairs: Sequence[Pair]) -> np.ndarray:
    """The summed log-probabilities of ``pairs`` by ``method``."""
    payload: dict[str, Any] = {"model": model, "max_tokens": 1, "temperature": 0.0}
    if method == "branches":
        return _branches(post, payload, pairs)
    if method == "cached":
        return _cached(post, payload, pairs)
    if method == "prompt_logprobs":
        payload.update(prompt=[list(p.context + p.answer) for p in pairs], prompt_logprobs=0)
    elif method == "echo":
        payload.update(prompt=[list(p.context + p.answer) for p in pairs], echo=True,
                       logprobs=1)
    else:
        payload.update(prompt=[p.text for p in pairs], echo=True, logprobs=1)
    texts = [p.text if method == "echo_text" else None for p in pairs]

    def read(answer: Any) -> np.ndarray:
        choices = answers.choices(answer, len(pairs))
        if method == "prompt_logprobs":
            got = [answers.prompt_logprobs(c, list(p.context + p.answer), len(p.context))
                   for c, p in zip(choices, pairs, strict=True)]
        else:
            got = [answers.echoed(c, list(p.context + p.answer), len(p.context), t)
                   for c, p, t in zip(choices, pairs, texts, strict=True)]
        return np.array(got, dtype=np.float64)

    return post(payload, read)


def _cached(post: Post, payload: dict[str, Any], pairs: Sequence[Pair]) -> np.ndarray:
    """One request per answer token: the prompt so far, that token the only one allowed,
    its raw log-probability read back. The first token of every answer shares the same
    prompt, so the server computes that prefix once and every later request reuses it."""
    asks = [(j, list(p.context + p.answer[:k]), int(p.answer[k]))
            for j, p in enumerate(pairs) for k in range(len(p.answer))]

    def ask(item: tuple[int, list[int], int]) -> float:
        _, prompt, token = item
        return post({**payload, "prompt": prompt, "logprobs": 1,
                     "allowed_token_ids": [token], "return_tokens_as_token_ids": True},
                    lambda answer: _token_logprob(answers.choices(answer, 1)[0], token))

    values = _first_then_together(ask, asks)
    totals = np.zeros(len(pairs), dtype=np.float64)
    for (j, _, _), value in zip(asks, values, strict=True):
        totals[j] += value
    return totals


Prefix = tuple[int, ...]
T, R = TypeVar("T"), TypeVar("R")


def _branches(post: Post, payload: dict[str, Any], pairs: Sequence[Pair]) -> np.ndarray:
    """The summed log-probabilities of ``pairs``: one request per prefix that answers
    continue, reading all the tokens that follow it there through ``logprob_token_ids``
    (see the module's doc)."""
    wanted: dict[Prefix, set[int]] = {}  # every prefix that answers continue: their tokens
    for p in pairs:
        whole = tuple(p.context) + tuple(p.answer)
        for k in range(len(p.context), len(whole)):
            wanted.setdefault(whole[:k], set()).add(int(whole[k]))
    # shortest first: the context's request goes alone (see _first_then_together)
    asks = [(prefix, ids) for prefix in sorted(wanted, key=len)
            for ids in _chunks(sorted(wanted[prefix]))]

    def ask(item: tuple[Prefix, list[int]]) -> dict[tuple[Prefix, int], float]:
        prefix, ids = item
        return post({**payload, "prompt": list(prefix), "logprobs": 1,
                     "logprob_token_ids": ids, "return_tokens_as_token_ids": True},
                    lambda answer: _read_place(answers.choices(answer, 1)[0], prefix, ids))

    known: dict[tuple[Prefix, int], float] = {}
    for got in _first_then_together(ask, asks):
        known.update(got)
    totals = np.zeros(len(pairs), dtype=np.float64)
    for j, p in enumerate(pairs):
        whole = tuple(p.context) + tuple(p.answer)
        totals[j] = sum(known[(whole[:k], int(whole[k]))]
                        for k in range(len(p.context), len(whole)))
    return totals


def _first_then_together(ask: Callable[[T], R], asks: Sequence[T]) -> list[R]:
    """``ask`` of every item, in order: the first alone, so that the server's prefix cache
    holds its prompt, then the rest at once, reusing it."""
    results = [ask(asks[0])]
    if len(asks) > 1:
        with ThreadPoolExecutor(max_workers=min(_PARALLEL, len(asks) - 1)) as pool:
            results += pool.map(ask, asks[1:])
    return results


def _chunks(ids: list[int]) -> list[list[int]]:
    return [ids[i:i + _MOST_IDS] for i in range(0, len(ids), _MOST_IDS)]


def _read_place(choice: dict[str, Any], prefix: Prefix,
                ids: list[int]) -> dict[tuple[Prefix, int], float]:
    """The raw log-probabilities of ``ids`` after ``prefix``, from the one generated
    place's ``top_logprobs`` (keys ``token_id:N``)."""
    logprobs = choice.get("logprobs")
    places = logprobs.get("top_logprobs") if isinstance(logprobs, dict) else None
    if not (isinstance(places, list) and places and isinstance(places[0], dict)):
        raise answers.Unsupported("no log-probabilities of the tokens asked for")
    got = {}
    for token in ids:
        value = places[0].get(f"token_id:{token}")
        if value is None:
            raise answers.Unsupported(f"no log-probability of token {token} "
                                      "(logprob_token_ids not honoured)")
        got[(prefix, token)] = answers.logprob(value)
    return got


def _token_logprob(choice: dict[str, Any], token: int) -> float:
    """The raw log-probability of the one generated ``token`` (given as ``token_id:N``)."""
    logprobs = choice.get("logprobs")
    tokens = logprobs.get("tokens") if isinstance(logprobs, dict) else None
    values = logprobs.get("token_logprobs") if isinstance(logprobs, dict) else None
    if not (isinstance(tokens, list) and isinstance(values, list) and tokens and values):
        raise answers.Unsupported("no logprobs for the generated token")
    if str(tokens[0]) != f"token_id:{token}":
        raise answers.Unsupported(f"generated {str(tokens[0])[:60]!r}, not the allowed "
                                  f"token {token}")
    return answers.logprob(values[0])


def generated_texts(count: int) -> Callable[[Any], list[str]]:
    """The ``read`` of a ``/completions`` sampling request: each choice's text, in prompt
    order."""
    return lambda answer: [answers.text(c) for c in answers.choices(answer, count)]


def chat_text(answer: Any) -> str:
    """The ``read`` of a ``/chat/completions`` request: the one choice's message text."""
    message = answers.choices(answer, 1)[0].get("message")
    return answers.text(message, key="content") if isinstance(message, dict) else ""
