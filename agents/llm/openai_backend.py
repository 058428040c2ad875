"""The ``openai`` engine: a model served elsewhere, behind an OpenAI-compatible API.

``OpenAIBackend(base_url=, model=, tokenizer=, api_key_env=, ...)`` talks to
``/v1/completions`` of vLLM, SGLang, TGI, llama.cpp's server or a hosted API. The
tokenizer (``tokenizer``, default ``model``: a hub id or a local path) is loaded here
with transformers, through the ``hf`` engine's own text code, so chat prompts, the BOS
of a completion prompt, the end-of-turn token and the split of context from
continuation are exactly the ``hf`` engine's; no weights are loaded, and nothing here
contacts the server until a decision needs it (``arena prompt`` works offline).

**Scoring** (distribution mode) sends every continuation of a decision in one request,
as token ids (context ids + continuation ids, split as the ``hf`` engine splits them, so
a template's BOS is never doubled), and sums the continuation's prompt log-probs. The
first use finds what the server offers, in this order:

``prompt_logprobs``  vLLM's ``prompt_logprobs: 0`` with ``max_tokens: 1``;
``echo``             the classic ``echo: true`` with ``logprobs`` (token ids);
``echo_text``        the same with the prompt as text, for servers that take no ids: the
                     continuation is the answer's last tokens, counted with our tokenizer.

A server with none of them cannot score: :meth:`scoring_method` is ``None`` and
:meth:`score` raises :class:`ScoringUnsupported`. With ``tokenizer: none`` (a hosted
chat API, whose tokenizer is not public) nothing is scored and chat prompts are sent as
messages to ``/v1/chat/completions`` (:mod:`agents.llm.chat_api`). **Sampling** posts token ids (text
where ids are refused) with ``temperature``, ``seed``, ``stop`` and ``top_p: 1``.

Faults (retries, timeouts, the unreachable-server breaker, the in-flight bound) are
:class:`~agents.llm.http_client.ServerClient`'s.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from agents.llm import answers
from agents.llm.chat_api import chat_complete, messages_prompt, prompt_messages
from agents.llm.http_client import RequestFailed, ServerClient, UnusableAnswer
from agents.llm.identity import listed_model
from arena.agent import ServiceUnavailable

log = logging.getLogger(__name__)
SCORING_METHODS = ("prompt_logprobs", "echo", "echo_text")
#: seconds the scoring probe of ``arena run``'s start-up may take (at most
#: ``request_timeout``): a server slower than that is probed again at the first decision
IDENTITY_TIMEOUT = 60.0


class ScoringUnsupported(ServiceUnavailable):
    """The config asks for distribution mode from a server that gives no prompt
    log-probabilities: no decision can be made, so the run stops (``mode: sample``
    plays on such a server)."""


class OpenAIBackend:
    """An OpenAI-compatible server behind the :mod:`agents.llm.backend` interface."""

    engine = "openai"

    def __init__(self, *, base_url: str, model: str, tokenizer: str | None = None,
                 api_key_env: str | None = None, max_in_flight: int = 16,
                 request_timeout: float = 300.0, retries: int = 3,
                 unreachable_after: float = 60.0) -> None:
        if not model:
            raise ValueError("option 'model' is required (the served model name)")
        self.model = model
        self.tokenizer_id = tokenizer or model
        self.client = ServerClient(base_url, api_key_env=api_key_env,
                                   request_timeout=request_timeout, retries=retries,
                                   unreachable_after=unreachable_after,
                                   max_in_flight=max_in_flight)
        # the hf engine's text side (tokenizer only, never weights): prompts and splits
        # are then its own, not a copy that could drift from it
        # tokenizer "none": a chat-only API, sampled with messages (agents.llm.chat_api)
        self.text = None if self.tokenizer_id == "none" else self._make_text()
        self._lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._method: str | None = None
        self._probed = False
        self._ids_refused = False
        self._ids_accepted = False
        self._vllm: bool | None = None

    def _make_text(self) -> Any:
        from agents.llm.hf_backend import HFBackend

        return HFBackend(model=self.tokenizer_id)

    @property
    def url(self) -> str:
        """The server's base URL, without credentials."""
        return self.client.url

    def start(self) -> None:
        """Make sure the server is there (a managed server starts here); nothing to do."""

    # -- what the server offers ---------------------------------------------------------
    def scoring_method(self, *, probe: dict[str, Any] | None = None) -> str | None:
        """How this server scores (see :data:`SCORING_METHODS`), found on first use with
        a two-token probe (``probe``: its requests' ``timeout`` and ``retries``, else the
        client's own); ``None`` when it offers no prompt log-probabilities."""
        with self._lock:
            if not self._probed:
                self.start()
                self._method = None if self.text is None else self._find_method(probe or {})
                self._probed = True
            return self._method

    def _find_method(self, probe: dict[str, Any]) -> str | None:
        context = self.text.completion_prefix() + "Hello"
        for method in SCORING_METHODS:
            try:
                got = self._score_with(method, [context], [" world"], probe=probe)
            except RequestFailed as exc:
                if exc.status is None or not 400 <= exc.status < 500:
                    raise  # a server in trouble, not a refusal: ask again next time
                log.debug("model server %s: %s scoring refused: %s", self.url, method, exc)
                continue
            except UnusableAnswer as exc:
                log.debug("model server %s: %s scoring unusable: %s", self.url, method, exc)
                continue
            if got.shape == (1,) and np.isfinite(got).all() and got[0] < 0:
                if method != "echo_text":
                    self._ids_accepted = True
                return method
        log.warning("model server %s (model %r) gives no prompt log-probabilities "
                    "(neither prompt_logprobs nor echo with logprobs): distribution mode "
                    "is not available there, only sampling", self.url, self.model)
        return None

    def is_vllm(self) -> bool:
        """Whether the server says it is vLLM (``/version``): then sampling sends vLLM's
        own switches too, so the model's generation defaults do not filter it."""
        if self._vllm is None:
            try:
                answer = self.client.get("/version", root=True, timeout=5.0)
                self._vllm = isinstance(answer, dict) and "version" in answer
            except (OSError, RequestFailed):
                self._vllm = False
        return self._vllm

    # -- the Backend interface ----------------------------------------------------------
    def score(self, contexts: Sequence[str], continuations: Sequence[str]) -> np.ndarray:
        method = self.scoring_method()
        if method is None:
            raise ScoringUnsupported(
                f"model server {self.url} (model {self.model!r}) gives no prompt "
                "log-probabilities, which mode: distribution needs; use mode: sample")
        return self._score_with(method, contexts, continuations)

    def _split(self, context: str, continuation: str, n_ctx: dict[str, int]) -> tuple[list[int], int]:
        """The hf engine's rule: encode together, split at the encoded context's length."""
        if context not in n_ctx:
            n_ctx[context] = len(self.text.encode(context))
        n, whole = n_ctx[context], self.text.encode(context + continuation)
        if n == 0 or len(whole) <= n:
            raise ValueError(f"cannot score {continuation!r} after a {n}-token context")
        return whole, n

    def _score_with(self, method: str, contexts: Sequence[str], continuations: Sequence[str],
                    *, probe: dict[str, Any] | None = None) -> np.ndarray:
        """Score with ``method``; an unusable answer is asked for again, then forfeits the
        round. With ``probe`` (the start-up probe's bounds), the first answer is judged
        as it is: one without what was asked for means the server does not offer it."""
        n_ctx: dict[str, int] = {}
        pairs = [self._split(c, x, n_ctx) for c, x in zip(contexts, continuations, strict=True)]
        payload: dict[str, Any] = {"model": self.model, "max_tokens": 1, "temperature": 0.0}
        if method == "prompt_logprobs":
            payload.update(prompt=[ids for ids, _ in pairs], prompt_logprobs=0)
        elif method == "echo":
            payload.update(prompt=[ids for ids, _ in pairs], echo=True, logprobs=1)
        else:
            payload.update(prompt=[c + x for c, x in zip(contexts, continuations, strict=True)],
                           echo=True, logprobs=1)
        texts = (payload["prompt"] if method == "echo_text" else [None] * len(pairs))

        def read(answer: Any) -> np.ndarray:
            choices = answers.choices(answer, len(pairs))
            if method == "prompt_logprobs":
                got = [answers.prompt_logprobs(c, ids, n)
                       for c, (ids, n) in zip(choices, pairs, strict=True)]
            else:
                got = [answers.echoed(c, ids, n, t)
                       for c, (ids, n), t in zip(choices, pairs, texts, strict=True)]
            return np.array(got, dtype=np.float64)

        if probe is not None:
            return read(self.client.post("/completions", payload, **probe))
        return self.client.post("/completions", payload, read=read)

    def generate(self, prompts: Sequence[str], *, max_new_tokens: int,
                 stop: Sequence[str] = (), temperature: float = 1.0, seed: int = 0) -> list[str]:
        self.start()
        payload: dict[str, Any] = {"model": self.model, "max_tokens": int(max_new_tokens),
                                   "temperature": max(float(temperature), 0.0), "top_p": 1.0,
                                   "seed": int(seed) % 2**31}
        if stop:
            payload["stop"] = [s for s in stop if s][:4]  # OpenAI takes at most four
        if self.is_vllm():  # the model's generation_config would otherwise add top_k etc.
            payload.update(top_k=-1, min_p=0.0, repetition_penalty=1.0)
        texts = self._complete(payload, list(prompts))
        out = []
        for text in texts:
            cuts = [text.index(s) for s in stop if s and s in text]
            out.append(text[:min(cuts)] if cuts else text)
        return out

    def _complete(self, payload: dict[str, Any], prompts: list[str]) -> list[str]:
        if self.text is None:  # no tokenizer: messages to a chat API, text to /completions
            texts = []
            for prompt in prompts:
                messages = prompt_messages(prompt)
                if messages is not None:
                    texts.append(chat_complete(self.client, payload, messages))
                else:
                    texts += self.client.post("/completions", {**payload, "prompt": prompt},
                                              read=_texts(1))
            return texts
        if not self._ids_refused:
            try:
                ids = [self.text.encode(p) for p in prompts]
                texts = self.client.post("/completions", {**payload, "prompt": ids},
                                         read=_texts(len(prompts)))
                self._ids_accepted = True
                return texts
            except RequestFailed as exc:
                # a server that took ids before refuses something else (a prompt too long):
                # text would get a second BOS from it, so only a server that never took
                # ids is sent text
                if exc.status != 400 or self._ids_accepted:
                    raise
                log.info("model server %s refused token ids (%s); sending text", self.url, exc)
                self._ids_refused = True
        return self.client.post("/completions", {**payload, "prompt": prompts},
                                read=_texts(len(prompts)))

    def chat_prompt(self, messages: Sequence[Mapping[str, str]]) -> str:
        if self.text is None:
            return messages_prompt(messages)
        return self.text.chat_prompt(messages)

    def completion_prefix(self) -> str:
        return "" if self.text is None else self.text.completion_prefix()

    def end_of_turn(self) -> str:
        return "" if self.text is None else self.text.end_of_turn()

    # -- identity -----------------------------------------------------------------------
    def server_identity(self) -> dict[str, Any]:
        """What the server says it serves (``/v1/models``' entry for this model, and
        ``/version`` where it has one) and how it scores; never raises, and never waits
        long (the whole answer of each request is bounded, the scoring probe by
        :data:`IDENTITY_TIMEOUT`): a server that does not answer now is recorded as such,
        and the run's first decision waits for it."""
        found: dict[str, Any] = {"url": self.url, "model": self.model}
        try:
            listed = self.client.get("/models")
        except (OSError, RequestFailed) as exc:
            found["error"] = " ".join(str(exc).split())[:300]
            return found
        entry, problem = listed_model(listed, self.model)
        if entry is not None:
            found["served"] = entry
        if problem is not None:
            found["error"] = problem
        try:
            version = self.client.get("/version", root=True, timeout=5.0)
            if isinstance(version, dict) and isinstance(version.get("version"), str):
                found["version"] = version["version"]
        except (OSError, RequestFailed):
            pass
        found["scoring"] = None
        if entry is not None:
            try:
                found["scoring"] = self.scoring_method(
                    probe={"timeout": min(self.client.request_timeout, IDENTITY_TIMEOUT),
                           "retries": 0})
            except (RequestFailed, ServiceUnavailable) as exc:
                found["scoring_error"] = " ".join(str(exc).split())[:300]
        return found


def _texts(count: int) -> Any:
    """The ``read`` of a sampling request: each choice's text, in prompt order."""
    return lambda answer: [answers.text(c) for c in answers.choices(answer, count)]
