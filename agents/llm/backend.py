"""The small interface between the language-model agent and a model engine, and a shared cache.

A backend does four things; the agent needs nothing else, so another engine (vLLM,
an HTTP server) is one new class:

``score(contexts, continuations)``
    The log-probability of each continuation given its context, all pairs in one
    batched forward pass. Context and continuation are encoded together and split
    at the encoded context's length (the lm-evaluation-harness rule).
``generate(prompts, *, max_new_tokens, stop, temperature, seed)``
    Sampled (or, at temperature 0, greedy) text for each prompt, cut at the first
    stop string or end-of-sequence token. ``seed`` seeds the engine's own generator.
``chat_prompt(messages)``
    The raw text of the tokenizer's chat template with the generation prompt.
``session()`` (optional)
    A :class:`Session` for one match: the same scoring and sampling for one prompt at a
    time, free to keep what the match's next decision can reuse (a prompt cache).
``completion_prefix()`` / ``end_of_turn()``
    The special tokens the tokenizer puts before plain text (a BOS), written out, and
    the token that ends an assistant turn in the chat template.

Prompts are always raw text with special tokens written out, and are encoded without
adding special tokens, so the text ``arena prompt`` prints is exactly what the model sees.

:func:`get_backend` returns one shared instance per distinct model and loading options,
so every agent (and every concurrent match) naming the same model uses one loaded copy.
Building a backend is the only place torch and transformers are imported.
"""

from __future__ import annotations

import importlib
import json
import threading
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np

_CACHE: dict[str, Backend] = {}
_LOCK = threading.Lock()


class Session(Protocol):
    """One match's view of a backend, which may keep state (a prompt cache) between its
    decisions: the same ``score`` and ``generate`` for one prompt, and ``close``."""

    def score(self, context: str, continuations: Sequence[str]) -> np.ndarray: ...

    def generate(self, prompt: str, *, max_new_tokens: int, stop: Sequence[str],
                 temperature: float, seed: int) -> str: ...

    def close(self) -> None: ...


class Backend(Protocol):
    """What the language-model agent needs from a model engine (``session()`` is
    optional: without it every call goes to the backend itself)."""

    def score(self, contexts: Sequence[str], continuations: Sequence[str]) -> np.ndarray: ...

    def generate(self, prompts: Sequence[str], *, max_new_tokens: int, stop: Sequence[str],
                 temperature: float, seed: int) -> list[str]: ...

    def chat_prompt(self, messages: Sequence[Mapping[str, str]]) -> str: ...

    def completion_prefix(self) -> str: ...

    def end_of_turn(self) -> str: ...


#: engine name -> "module:Class" of its backend, imported on first use
ENGINES = {
    "hf": "agents.llm.hf_backend:HFBackend",
    "openai": "agents.llm.openai_backend:OpenAIBackend",
    "vllm": "agents.llm.vllm_backend:VLLMBackend",
}


def backend_key(*, engine: str = "hf", **options: Any) -> str:
    """The string that names one backend (a model and its loading options): agents share
    a backend by it, and the run's model pool (:mod:`arena.model_pool`) counts it."""
    return json.dumps({"engine": engine, **options}, sort_keys=True, default=str)


def get_backend(*, engine: str = "hf", **options: Any) -> Backend:
    """The shared backend for an engine, a model and its loading options, built on first
    use (the only place torch and transformers are imported)."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {sorted(ENGINES)}, not {engine!r}")
    key = backend_key(engine=engine, **options)
    with _LOCK:
        backend = _CACHE.get(key)
        if backend is None:
            module, _, name = ENGINES[engine].partition(":")
            cls = getattr(importlib.import_module(module), name)
            backend = _CACHE[key] = cls(**options)
            if hasattr(backend, "pool_key"):  # holds weights in this process
                backend.pool_key = key
        return backend
