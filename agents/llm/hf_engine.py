"""The ``hf`` engine: any causal LM on the hub or on disk, run by transformers in this process.

``HFEngine(model=..., revision=, dtype=, device_map=, gguf_file=, trust_remote_code=,
threads=)`` loads the weights on first use (so ``arena prompt`` never loads them);
``device_map`` goes to accelerate: ``"auto"`` spreads a large model over every GPU.
torch and transformers are imported only inside this class.

There is one way to run the model: every score and every sample is a job on the
engine's request queue (:mod:`agents.llm.batcher`), which runs whatever is waiting as one
batched forward (:mod:`agents.llm.kv_batch`). A match scores and samples through its
:meth:`session`, a :class:`~agents.llm.prompt_cache.PromptCache` that keeps the key/value
cache of its last prompt; :meth:`score` and :meth:`generate` are the same with a
session of one call. Sampling draws from a ``torch.Generator`` seeded by the agent,
never from torch's global generator.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from agents.llm import grouped_attention, hub
from agents.llm.batcher import DEFAULT_MAX_BATCH, Batcher
from agents.llm.codec import Pair, Prompt, TokenizerCodec, get_codec
from agents.llm.engine import Capabilities
from agents.llm.identity import model_identity
from agents.llm.kv_batch import mask_layout
from agents.llm.prompt_cache import PromptCache

_DTYPES = {"float32", "float16", "bfloat16", "float64"}
# from_pretrained is not safe in two threads at once: tied weights (SmolLM2's and Gemma's
# lm_head) came out untied and randomly initialised when two models loaded together
_LOADING = threading.Lock()


class HFEngine:
    """A transformers causal language model behind the :mod:`agents.llm.engine` interface."""

    name = "hf"

    def __init__(self, *, model: str, revision: str | None = None, dtype: str = "auto",
                 device_map: str | Mapping[str, Any] | None = None, gguf_file: str | None = None,
                 trust_remote_code: bool = False, threads: int | None = None,
                 max_batch: int = DEFAULT_MAX_BATCH) -> None:
        if dtype != "auto" and dtype not in _DTYPES:
            raise ValueError(f"dtype must be 'auto' or one of {sorted(_DTYPES)}, not {dtype!r}")
        self.options: dict[str, Any] = {
            "model": model, "revision": revision, "dtype": dtype, "device_map": device_map,
            "gguf_file": gguf_file, "trust_remote_code": trust_remote_code}
        # the tokenizer now (a wrong model id or path is a config error, not a mid-run one)
        codec = get_codec(tokenizer=model, revision=revision,
                          trust_remote_code=trust_remote_code, gguf_file=gguf_file)
        assert isinstance(codec, TokenizerCodec)
        self._start(model, codec, max_batch, threads)

    @classmethod
    def from_model(cls, model: Any, tokenizer: Any = None, *,
                   max_batch: int = DEFAULT_MAX_BATCH) -> HFEngine:
        """An engine around a model already in memory (benchmarks, tests); without a
        tokenizer only token ids can be scored and sampled."""
        engine = cls.__new__(cls)
        model_id = getattr(model.config, "name_or_path", "") or "in-memory"
        engine.options = {"model": model_id, "dtype": "auto"}
        codec = TokenizerCodec(tokenizer=model_id, loaded=tokenizer) if tokenizer else None
        engine._start(model_id, codec, max_batch, None)
        engine._adopt(model)
        return engine

    def _start(self, model_id: str, codec: TokenizerCodec | None, max_batch: int,
               threads: int | None) -> None:
        self.model_id = model_id
        self.codec = codec
        # set by get_engine: the run's model pool (arena.model_pool) counts this engine's
        # weights under that key, and may unload another model before they load
        self.pool: Any = None
        self.pool_key: str | None = None
        self._model: Any = None
        self._keep_arg = False
        self._cache_arg = "past_key_values"
        self._lock = threading.RLock()  # the model
        self._layout: tuple[Any, Any] | None = None
        self._stop_ids: set[int] | None = None
        self.batcher = Batcher(self, max_batch=max_batch, threads=threads)

    # -- loading ----------------------------------------------------------------------
    @property
    def model(self) -> Any:
        with self._lock:
            if self._model is None:
                if self.pool is not None:  # the run's budget may unload another first
                    self.pool.loading(self.pool_key)
                self._model = self._load()
                if self.pool is not None:
                    self.pool.loaded(self.pool_key, self, label=self.model_id)
            return self._model

    @property
    def nbytes(self) -> int:
        """Bytes of the loaded weights and buffers (0 when not loaded)."""
        model = self._model
        if model is None:
            return 0
        tensors = [*model.parameters(), *model.buffers()]
        return sum(t.numel() * t.element_size() for t in tensors)

    def unload(self) -> None:
        """Let the weights go (the model pool's budget); the next use loads them again."""
        import gc

        with self._lock:
            self._model = None
        gc.collect()
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except Exception:  # noqa: BLE001, S110 -- freeing cached GPU memory is best effort
            pass

    close = unload

    def _load(self) -> Any:
        from agents.llm.threads import quiet_waiting

        quiet_waiting()  # before torch starts its thread pool
        import torch
        from transformers import AutoModelForCausalLM

        opts = self.options
        kwargs: dict[str, Any] = {"revision": opts["revision"],
                                  "trust_remote_code": opts["trust_remote_code"]}
        if opts["gguf_file"]:
            kwargs["gguf_file"] = opts["gguf_file"]
        kwargs["dtype"] = "auto" if opts["dtype"] == "auto" else getattr(torch, opts["dtype"])
        if opts["device_map"] is not None:
            kwargs["device_map"] = opts["device_map"]
        why = hub.unreachable(self.model_id)
        if why is not None:
            kwargs["local_files_only"] = True
        with _LOADING:
            try:
                model = AutoModelForCausalLM.from_pretrained(self.model_id, **kwargs)
            except OSError:
                if why is None:
                    raise
                raise hub.not_cached(self.model_id, why) from None
        return self._adopt(model)

    def _adopt(self, model: Any) -> Any:
        """Read what the forward calls need off a loaded model, and keep it."""
        model.eval()
        # masked attention without repeating the keys and values per query head
        grouped_attention.install(model)
        params = inspect.signature(model.forward).parameters
        self._keep_arg = "logits_to_keep" in params
        # transformers 5.x renames past_key_values to cache; accept either
        self._cache_arg = "cache" if "cache" in params else "past_key_values"
        try:
            self._layout = mask_layout(model.config)
        except ValueError:  # attention we cannot mask ourselves: plain causal rows, no cache
            self._layout = None
        self._model = model
        return model

    # -- what the batcher and the sessions read ----------------------------------------------
    def pad_id(self) -> int:
        """The token that fills padding (never attended to, so any id would do)."""
        found = self.codec.pad_id() if self.codec is not None else None
        if found is not None:
            return found
        config = self._model.config if self._model is not None else None
        value = getattr(config, "pad_token_id", None)
        return value if isinstance(value, int) else 0

    def stop_ids(self) -> set[int]:
        """Tokens that end a sample: the codec's and the model's generation config's."""
        if self._stop_ids is None:
            ids = set(self.codec.stop_ids()) if self.codec is not None else set()
            configured = getattr(self.model.generation_config, "eos_token_id", None)
            ids.update(configured if isinstance(configured, list) else [configured])
            self._stop_ids = {int(i) for i in ids if i is not None}
        return self._stop_ids

    def decode(self, tokens: Sequence[int]) -> str:
        """Text of sampled tokens, special tokens kept (stop strings are looked for in it)."""
        if self.codec is None:
            return ""
        return self.codec.decode(tokens, skip_special=False)

    @property
    def lock(self) -> threading.RLock:
        """Held around every use of the model (threads share it)."""
        return self._lock

    @property
    def cache_arg(self) -> str:
        """The forward's name for the key/value cache in this transformers version."""
        _ = self.model  # loading reads the forward's signature
        return self._cache_arg

    @property
    def keeps_logits(self) -> bool:
        """Whether the forward takes ``logits_to_keep`` (computes only the last positions)."""
        _ = self.model
        return self._keep_arg

    @property
    def mask_layout(self) -> tuple[Any, Any] | None:
        """Layer types and sliding window for :mod:`agents.llm.kv_batch`'s masks; None
        when the model has attention those masks cannot express (then every answer is a
        plain causal row and no prompt is cached between decisions)."""
        _ = self.model
        return self._layout

    # -- the Engine interface -------------------------------------------------------------
    def session(self) -> PromptCache:
        """A prompt cache for one match: each decision then costs only its new tokens."""
        return PromptCache(self)

    def score(self, pairs: Sequence[Pair]) -> np.ndarray:
        """Every pair scored from scratch (a session of one call)."""
        session = self.session()
        try:
            return session.score(pairs)
        finally:
            session.close()

    def generate(self, prompt: Prompt, *, max_new_tokens: int, stop: Sequence[str] = (),
                 temperature: float = 1.0, seed: int = 0) -> str:
        """Sampled text after ``prompt``, from scratch (a session of one call)."""
        session = self.session()
        try:
            return session.generate(prompt, max_new_tokens=max_new_tokens, stop=stop,
                                    temperature=temperature, seed=seed)
        finally:
            session.close()

    def capabilities(self) -> Capabilities:
        return Capabilities(scoring="exact", resident=True)

    def identity(self) -> dict[str, Any]:
        """Which model this is, as the run records it (:func:`model_identity`)."""
        return model_identity(self.options)
