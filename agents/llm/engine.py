"""The engine interface: what runs a language model, apart from its text.

A language-model agent has two collaborators. Its prompt codec
(:mod:`agents.llm.codec`) turns templates into prompts and answers into token ids; its
engine runs the model. An engine does five things, and the agent needs nothing else:

``score(pairs) -> np.ndarray``
    The summed log-probability of each :class:`~agents.llm.codec.Pair`'s answer ids after
    its context ids, all pairs of a call in one batch.
``generate(prompt, *, max_new_tokens, stop, temperature, seed) -> str``
    Sampled (at temperature 0 greedy) text after a :class:`~agents.llm.codec.Prompt`,
    stopped at the end of a turn, at a stop string or after ``max_new_tokens``; the
    caller cuts the text at the first stop string (:func:`~agents.llm.codec.cut_at_stop`).
    ``seed`` seeds the engine's own generator, never a global one.
``session() -> Session``
    One match's view of the engine: the same ``score`` and ``generate``, free to keep
    what the match's next decision can reuse (the ``hf`` engine's prompt cache), and
    ``close``.
``capabilities() -> Capabilities``
    Whether and how it scores (a server is asked on first use), and whether it holds
    weights in this process (the run's model budget counts those).
``identity() -> dict`` and ``close()``
    What exactly plays, as the run records it; and let go of what it holds (a managed
    server stops).

Engines are built by name from plain, picklable options (:func:`make_engine`), so one
can live in another process (a Ray actor) and be built there from the same options.
:func:`get_engine` shares one engine per name and options within a process, so every
agent and every concurrent match naming the same model uses one loaded copy. Building
an ``hf`` engine is the only place torch and transformers are imported.
"""

from __future__ import annotations

import importlib
import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from agents.llm.codec import Pair, Prompt
from arena.agent import model_host

#: engine name -> "module:Class", imported on first use
ENGINES = {
    "hf": "agents.llm.hf_engine:HFEngine",
    "openai": "agents.llm.openai_engine:OpenAIEngine",
    "vllm": "agents.llm.vllm_engine:VLLMEngine",
}

_CACHE: dict[str, Engine] = {}
_REMOTE: dict[str, Any] = {}  # key -> the engine of a model that lives in the model host
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Capabilities:
    """What an engine can do: ``scoring`` names how it scores (``None``: it cannot, so only
    sampling plays), ``resident`` whether it holds the model's weights in this process."""

    scoring: str | None
    resident: bool = False


class Session(Protocol):
    """One match's view of an engine; it may keep state (a prompt cache) between decisions."""

    def score(self, pairs: Sequence[Pair]) -> np.ndarray: ...

    def generate(self, prompt: Prompt, *, max_new_tokens: int, stop: Sequence[str],
                 temperature: float, seed: int) -> str: ...

    def close(self) -> None: ...


class Engine(Session, Protocol):
    """What runs a model (see the module's docstring)."""

    name: str

    def session(self) -> Session: ...

    def capabilities(self) -> Capabilities: ...

    def identity(self) -> dict[str, Any]: ...


class Uncached:
    """An engine's session that keeps nothing: every call goes to the engine itself."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def score(self, pairs: Sequence[Pair]) -> np.ndarray:
        return self.engine.score(pairs)

    def generate(self, prompt: Prompt, **options: Any) -> str:
        return self.engine.generate(prompt, **options)

    def close(self) -> None:
        pass


def engine_key(name: str, options: Mapping[str, Any]) -> str:
    """The string that names one engine (a model and its loading options): agents share an
    engine by it, and the run's model pool (:mod:`arena.model_pool`) counts it."""
    return json.dumps({"engine": name, **options}, sort_keys=True, default=str)


def make_engine(name: str, options: Mapping[str, Any]) -> Engine:
    """A new engine ``name`` built from ``options`` (plain data: it may be built in another
    process from the same dict)."""
    if name not in ENGINES:
        raise ValueError(f"engine must be one of {sorted(ENGINES)}, not {name!r}")
    from agents.llm.threads import quiet_waiting

    quiet_waiting()  # before any engine imports torch: OpenMP reads it when torch loads
    module, _, cls = ENGINES[name].partition(":")
    return getattr(importlib.import_module(module), cls)(**options)


def get_engine(name: str, options: Mapping[str, Any], *,
               placement: Mapping[str, Any] | None = None) -> Engine:
    """This process's shared engine for ``name`` and ``options``, built on first use. On
    a run whose models live elsewhere (a Ray cluster, :func:`arena.agent.model_host`), an
    ``hf`` engine is the model's actor, reached through
    :class:`~agents.llm.remote_engine.RemoteEngine`; ``placement`` (``gpus``,
    ``replicas``) says how it is placed there."""
    key = engine_key(name, options)
    host = model_host()
    if host is not None and name == "hf":
        from agents.llm.remote_engine import RemoteEngine

        with _LOCK:
            remote = _REMOTE.get(key)
            if remote is None or remote.model.host is not host:
                remote = _REMOTE[key] = RemoteEngine(host, name, options, key=key,
                                                     **dict(placement or {}))
            return remote
    with _LOCK:
        engine = _CACHE.get(key)
        if engine is None:
            engine = _CACHE[key] = make_engine(name, options)
            if hasattr(engine, "pool_key"):  # holds weights here: the run's pool counts it
                from arena.model_pool import POOL

                engine.pool, engine.pool_key = POOL, key
        return engine
