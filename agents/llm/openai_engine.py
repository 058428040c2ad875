"""The ``openai`` engine: a model served elsewhere, behind an OpenAI-compatible API.

``OpenAIEngine(base_url=, model=, tokenizer=, api_key_env=, scoring=, ...)`` talks to
``/v1/completions`` of vLLM, SGLang, TGI, llama.cpp's server or a hosted API. Prompts
and token ids come from the agent's prompt codec (:mod:`agents.llm.codec`, the model's
tokenizer loaded with transformers, never weights), so chat prompts, the BOS of a
completion prompt, the end-of-turn token and the split of context from answer are
exactly the ``hf`` engine's. The engine keeps a codec of its own only for its probe.
Nothing here contacts the server until a decision needs it (``arena prompt`` works
offline).

**Scoring** (distribution mode) sends token ids by one of the methods of
:mod:`agents.llm.served_scoring`. ``scoring: auto`` (the default) probes the server on
first use and takes the best it answers correctly (``cached``, which reuses the
server's prefix cache, then ``prompt_logprobs``, ``echo``, ``echo_text``); the run
records the method in the model's identity. A server with none of them cannot score:
:meth:`capabilities` says so and :meth:`score` raises :class:`ScoringUnsupported`.

**Sampling** posts token ids (text where ids are refused) with ``temperature``,
``seed``, ``stop`` and ``top_p: 1``. With ``tokenizer: none`` (a hosted chat API, whose
tokenizer is not public) nothing is scored and prompts are their messages, sent to
``/v1/chat/completions`` as they are.

Faults (retries, timeouts, the unreachable-server breaker, the in-flight bound) are
:class:`~agents.llm.http_client.ServerClient`'s.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from agents.llm import served_scoring
from agents.llm.codec import Pair, Prompt, TokenizerCodec, get_codec
from agents.llm.engine import Capabilities, Uncached
from agents.llm.http_client import RequestFailed, ServerClient, UnusableAnswer
from agents.llm.identity import listed_model, served_identity
from arena.agent import ServiceUnavailable

log = logging.getLogger(__name__)
SCORING_METHODS = served_scoring.METHODS
#: seconds the scoring probe of ``arena run``'s start-up may take (at most
#: ``request_timeout``): a server slower than that is probed again at the first decision
IDENTITY_TIMEOUT = 60.0


class ScoringUnsupported(ServiceUnavailable):
    """The config asks for distribution mode from a server that gives no prompt
    log-probabilities: no decision can be made, so the run stops (``mode: sample``
    plays on such a server)."""


class OpenAIEngine:
    """An OpenAI-compatible server behind the :mod:`agents.llm.engine` interface."""

    name = "openai"

    def __init__(self, *, base_url: str, model: str, tokenizer: str | None = None,
                 api_key_env: str | None = None, max_in_flight: int = 16,
                 request_timeout: float = 300.0, retries: int = 3,
                 unreachable_after: float = 60.0, scoring: str | None = None) -> None:
        if not model:
            raise ValueError("option 'model' is required (the served model name)")
        if scoring not in (None, "auto", *SCORING_METHODS):
            raise ValueError(f"scoring must be auto or one of {', '.join(SCORING_METHODS)}, "
                             f"not {scoring!r}")
        self.model = model
        self.options: dict[str, Any] = {
            "model": model, "base_url": base_url, "tokenizer": tokenizer,
            "api_key_env": api_key_env, "scoring": scoring}
        self.tokenizer_id = tokenizer or model
        self.client = ServerClient(base_url, api_key_env=api_key_env,
                                   request_timeout=request_timeout, retries=retries,
                                   unreachable_after=unreachable_after,
                                   max_in_flight=max_in_flight)
        self.scoring = scoring if scoring not in (None, "auto") else None
        self._lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._method: str | None = None
        self._probed = False
        self._ids_refused = False
        self._ids_accepted = False
        self._vllm: bool | None = None

    def codec(self) -> Any:
        """The tokenizer's codec (``tokenizer: none``: a chat API's)."""
        return get_codec(tokenizer=self.tokenizer_id)

    @property
    def url(self) -> str:
        """The server's base URL, without credentials."""
        return self.client.url

    def start(self) -> None:
        """Make sure the server is there (a managed server starts here); nothing to do."""

    # -- what the server offers ---------------------------------------------------------
    def scoring_method(self, *, probe: dict[str, Any] | None = None) -> str | None:
        """How this server scores (see :data:`SCORING_METHODS`), found on first use with a
        probe (``probe``: its requests' ``timeout`` and ``retries``, else the client's
        own); ``None`` when it offers no log-probabilities of given tokens."""
        with self._lock:
            if not self._probed:
                self.start()
                codec = self.codec()
                self._method = (self._find_method(codec, probe or {})
                                if isinstance(codec, TokenizerCodec) else None)
                self._probed = True
            return self._method

    def _find_method(self, codec: TokenizerCodec, probe: dict[str, Any]) -> str | None:
        # answers of several tokens, so that every place a method reads is tried
        pairs = codec.pairs(codec.completion_prefix() + "Hello",
                            [" world", " there, my friend"])
        methods = (self.scoring,) if self.scoring else SCORING_METHODS
        for method in methods:
            if method in ("branches", "cached") and not self.is_vllm():  # vLLM's switches
                continue
            try:
                got = self._score_with(method, pairs, probe=probe)
                if method == "branches" and not self.scoring:
                    # a server that reads the tokens but applies what it was asked in
                    # another way (processed log-probabilities) must agree with one token
                    # at a time, else its answers are not the raw ones
                    one_by_one = self._score_with("cached", pairs, probe=probe)
                    if not np.allclose(got, one_by_one, atol=1e-3, rtol=0):
                        log.debug("model server %s: branches scoring disagrees with "
                                  "cached (%s against %s)", self.url, got, one_by_one)
                        continue
            except RequestFailed as exc:
                if exc.status is None or not 400 <= exc.status < 500:
                    raise  # a server in trouble, not a refusal: ask again next time
                log.debug("model server %s: %s scoring refused: %s", self.url, method, exc)
                continue
            except UnusableAnswer as exc:
                log.debug("model server %s: %s scoring unusable: %s", self.url, method, exc)
                continue
            if got.shape == (len(pairs),) and np.isfinite(got).all() and (got < 0).all():
                if method != "echo_text":
                    self._ids_accepted = True
                return method
        log.warning("model server %s (model %r) gives no prompt log-probabilities "
                    "(%s): distribution mode is not available there, only sampling",
                    self.url, self.model, " nor ".join(methods))
        return None

    def is_vllm(self) -> bool:
        """Whether the server says it is vLLM (``/version``): then sampling sends vLLM's
        own switches too, so the model's generation defaults do not filter it."""
        if self._vllm is None:
            try:
                answer = self.client.get("/version", root=True, timeout=5.0)
                self._vllm = isinstance(answer, dict) and isinstance(answer.get("version"), str)
            except (OSError, RequestFailed):
                self._vllm = False
        return self._vllm

    def capabilities(self) -> Capabilities:
        return Capabilities(scoring=self.scoring_method())

    # -- the Engine interface -----------------------------------------------------------
    def session(self) -> Uncached:
        """The server keeps its own caches: a match's session holds nothing."""
        return Uncached(self)

    def score(self, pairs: Sequence[Pair]) -> np.ndarray:
        method = self.scoring_method()
        if method is None:
            raise ScoringUnsupported(
                f"model server {self.url} (model {self.model!r}) gives no prompt "
                "log-probabilities, which mode: distribution needs; use mode: sample")
        return self._score_with(method, pairs)

    def _score_with(self, method: str, pairs: Sequence[Pair], *,
                    probe: dict[str, Any] | None = None) -> np.ndarray:
        """Score with ``method``; an unusable answer is asked for again, then forfeits the
        round. With ``probe`` (the probe's bounds), each answer is judged as it is: one
        without what was asked for means the server does not offer it."""
        def post(payload: dict[str, Any], read: Any) -> Any:
            if probe is not None:
                return read(self.client.post("/completions", payload, **probe))
            return self.client.post("/completions", payload, read=read)

        return served_scoring.score(method, post, self.model, pairs)

    def generate(self, prompt: Prompt, *, max_new_tokens: int, stop: Sequence[str] = (),
                 temperature: float = 1.0, seed: int = 0) -> str:
        self.start()
        payload: dict[str, Any] = {"model": self.model, "max_tokens": int(max_new_tokens),
                                   "temperature": max(float(temperature), 0.0), "top_p": 1.0,
                                   "seed": int(seed) % 2**31}
        if stop:
            payload["stop"] = [s for s in stop if s][:4]  # OpenAI takes at most four
        if self.is_vllm():  # the model's generation_config would otherwise add top_k etc.
            payload.update(top_k=-1, min_p=0.0, repetition_penalty=1.0)
        if prompt.messages is not None:  # a chat API: the server applies the template
            messages = [dict(m) for m in prompt.messages]
            return self.client.post("/chat/completions", {**payload, "messages": messages},
                                    read=served_scoring.chat_text)
        if prompt.ids is not None and not self._ids_refused:
            try:
                texts = self.client.post("/completions",
                                         {**payload, "prompt": [list(prompt.ids)]},
                                         read=served_scoring.generated_texts(1))
                self._ids_accepted = True
                return texts[0]
            except RequestFailed as exc:
                # a server that took ids before refuses something else (a prompt too long):
                # text would get a second BOS from it, so only a server that never took
                # ids is sent text
                if exc.status != 400 or self._ids_accepted:
                    raise
                log.info("model server %s refused token ids (%s); sending text", self.url, exc)
                self._ids_refused = True
        return self.client.post("/completions", {**payload, "prompt": [prompt.text]},
                                read=served_scoring.generated_texts(1))[0]

    # -- identity -----------------------------------------------------------------------
    def identity(self) -> dict[str, Any]:
        """The served model's identity as the run records it (:func:`served_identity`)."""
        return served_identity(self.name, self.options, self)

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

    def close(self) -> None:
        """Nothing is held here (the server is someone else's)."""
