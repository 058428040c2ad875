"""The transformers backend: any causal LM on the hub or on disk, hosted through accelerate.

``HFBackend(model=..., revision=, dtype=, device_map=, gguf_file=, trust_remote_code=)``
loads the tokenizer at once and the model on first use (so ``arena prompt`` never
loads weights). ``device_map`` goes to accelerate: ``"auto"`` spreads a large model
over every GPU. torch and transformers are imported only inside this class.

A match scores and samples through its own :meth:`session`, a
:class:`~agents.llm.prompt_cache.PromptCache` that keeps the key/value cache of its last
prompt. The uncached scoring below follows lm-evaluation-harness: context and continuation are encoded together
and split at the encoded context's length; the continuation's token log-probs are
summed. All pairs go through one left-padded forward pass, keeping only the last
positions' logits. Generation is our own short sampling loop so that it draws from a
``torch.Generator`` seeded by the agent, never from torch's global generator.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from agents.llm.batcher import DEFAULT_MAX_BATCH, Batcher
from agents.llm.kv_batch import mask_layout
from agents.llm.prompt_cache import PromptCache
from arena.model_pool import POOL

_DTYPES = {"float32", "float16", "bfloat16", "float64"}
# from_pretrained is not safe in two threads at once: tied weights (SmolLM2's and Gemma's
# lm_head) came out untied and randomly initialised when two models loaded together
_LOADING = threading.Lock()


class HFBackend:
    """A transformers causal language model behind the :mod:`agents.llm.backend` interface."""

    def __init__(self, *, model: str, revision: str | None = None, dtype: str = "auto",
                 device_map: str | Mapping[str, Any] | None = None, gguf_file: str | None = None,
                 trust_remote_code: bool = False, max_batch: int = DEFAULT_MAX_BATCH) -> None:
        from transformers import AutoTokenizer

        if dtype != "auto" and dtype not in _DTYPES:
            raise ValueError(f"dtype must be 'auto' or one of {sorted(_DTYPES)}, not {dtype!r}")
        options: dict[str, Any] = {"revision": revision, "trust_remote_code": trust_remote_code}
        if gguf_file:
            options["gguf_file"] = gguf_file
        self._start(model, AutoTokenizer.from_pretrained(model, **options), max_batch)
        self.options, self.dtype, self.device_map = options, dtype, device_map

    @classmethod
    def from_model(cls, model: Any, tokenizer: Any = None, *,
                   max_batch: int = DEFAULT_MAX_BATCH) -> HFBackend:
        """A backend around a model already in memory (benchmarks, tests); without a
        tokenizer only the token-id calls work (``session().score_ids``)."""
        backend = cls.__new__(cls)
        backend._start(getattr(model.config, "name_or_path", "") or "in-memory", tokenizer,
                       max_batch)
        backend.options, backend.dtype, backend.device_map = {}, "auto", None
        backend._adopt(model)
        return backend

    def _start(self, model_id: str, tokenizer: Any, max_batch: int) -> None:
        self.model_id = model_id
        self.tokenizer = tokenizer
        self.pool_key: str | None = None  # set by get_backend: the run's pool counts it
        self._model: Any = None
        self._keep_arg = False
        self._cache_arg = "past_key_values"
        self._lock = threading.RLock()  # the model
        self._tok_lock = threading.RLock()  # the tokenizer: encoding never waits on a forward
        self._layout: tuple[Any, Any] | None = None
        self.batcher = Batcher(self, max_batch=max_batch)
        self._eot: str | None = None
        self._prefix: str | None = None

    # -- loading ----------------------------------------------------------------------
    @property
    def model(self) -> Any:
        with self._lock:
            if self._model is None:
                if self.pool_key is not None:  # the run's budget may unload another first
                    POOL.loading(self.pool_key)
                self._model = self._load()
                if self.pool_key is not None:
                    POOL.loaded(self.pool_key, self, label=self.model_id)
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

    def _load(self) -> Any:
        import torch
        from transformers import AutoModelForCausalLM

        kwargs: dict[str, Any] = dict(self.options)
        kwargs["dtype"] = "auto" if self.dtype == "auto" else getattr(torch, self.dtype)
        if self.device_map is not None:
            kwargs["device_map"] = self.device_map
        with _LOADING:
            model = AutoModelForCausalLM.from_pretrained(self.model_id, **kwargs)
        return self._adopt(model)

    def _adopt(self, model: Any) -> Any:
        """Read what the forward calls need off a loaded model, and keep it."""
        model.eval()
        params = inspect.signature(model.forward).parameters
        self._keep_arg = "logits_to_keep" in params
        # transformers 5.x renames past_key_values to cache; accept either
        self._cache_arg = "cache" if "cache" in params else "past_key_values"
        try:
            self._layout = mask_layout(model.config)
        except ValueError:  # attention we cannot mask ourselves: no prompt cache
            self._layout = None
        self._model = model
        return model

    def encode(self, text: str) -> list[int]:
        """Token ids of raw text; special tokens written in the text are honoured, none added."""
        with self._tok_lock:  # fast tokenizers are not safe to share between threads
            return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def decode(self, tokens: Sequence[int], *, skip_special: bool = True) -> str:
        """Text of token ids (special tokens dropped unless ``skip_special`` is false)."""
        with self._tok_lock:
            return self.tokenizer.decode(list(tokens), skip_special_tokens=skip_special)

    def pad_id(self) -> int:
        """The token that fills padding (never attended to, so any id would do)."""
        tok = self.tokenizer
        config = self._model.config if self._model is not None else None
        for value in (getattr(tok, "pad_token_id", None), getattr(tok, "eos_token_id", None),
                      getattr(config, "pad_token_id", None)):
            if isinstance(value, int):
                return value
        return 0

    def _left_pad(self, rows: Sequence[Sequence[int]]) -> tuple[Any, Any, Any]:
        import torch

        width = max(len(r) for r in rows)
        pad = self.pad_id()
        ids = torch.tensor([[pad] * (width - len(r)) + list(r) for r in rows], dtype=torch.long)
        mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows],
                            dtype=torch.long)
        # positions count real tokens only, so padding never shifts a row's positions
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        device = self.model.device
        return ids.to(device), mask.to(device), positions.to(device)

    @property
    def lock(self) -> threading.RLock:
        """Held around every use of the model and the tokenizer (threads share them)."""
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
        when the model has attention those masks cannot express (no prompt cache)."""
        _ = self.model
        return self._layout

    # -- the Backend interface --------------------------------------------------------
    def session(self) -> PromptCache:
        """A prompt cache for one match: each decision then costs only its new tokens."""
        return PromptCache(self)

    def score(self, contexts: Sequence[str], continuations: Sequence[str]) -> np.ndarray:
        """Every pair scored from scratch in one padded batch (no cache)."""
        import torch

        # the agent scores every action after one prompt: encode each distinct context once
        n_ctx = {c: len(self.encode(c)) for c in set(contexts)}
        rows, conts = [], []
        for context, continuation in zip(contexts, continuations, strict=True):
            n, whole = n_ctx[context], self.encode(context + continuation)
            if n == 0 or len(whole) <= n:
                raise ValueError(f"cannot score {continuation!r} after a {n}-token context")
            rows.append(whole[:-1])  # the last token is predicted, never an input
            conts.append(whole[n:])
        keep = max(len(c) for c in conts)
        with self._lock, torch.inference_mode():
            ids, mask, positions = self._left_pad(rows)
            kwargs: dict[str, Any] = {"logits_to_keep": keep} if self._keep_arg else {}
            logits = self.model(input_ids=ids, attention_mask=mask, position_ids=positions,
                                use_cache=False, **kwargs).logits[:, -keep:, :]
            logprobs = torch.log_softmax(logits.float(), dim=-1)
            # continuations left-padded to the kept width line up with the positions that
            # predict them; padded slots are filled, not multiplied, as a pad position's
            # logits may be NaN
            targets, real, _ = self._left_pad(conts)
            picked = logprobs.gather(-1, targets[..., None]).squeeze(-1).double()
            return picked.masked_fill(real == 0, 0.0).sum(-1).cpu().numpy()

    def generate(self, prompts: Sequence[str], *, max_new_tokens: int, stop: Sequence[str] = (),
                 temperature: float = 1.0, seed: int = 0) -> list[str]:
        import torch

        eos = self.stop_ids()
        with self._lock, torch.inference_mode():
            ids, mask, positions = self._left_pad([self.encode(p) for p in prompts])
            generator = torch.Generator(device=ids.device).manual_seed(int(seed))
            out = self.model(input_ids=ids, attention_mask=mask, position_ids=positions,
                             use_cache=True)
            tokens: list[list[int]] = [[] for _ in prompts]
            done = [False] * len(prompts)
            for _ in range(max_new_tokens):
                logits = out.logits[:, -1, :].float()
                if temperature <= 0:
                    chosen = logits.argmax(-1)
                else:
                    probs = torch.softmax(logits / temperature, dim=-1)
                    chosen = torch.multinomial(probs, 1, generator=generator).squeeze(-1)
                for i, token in enumerate(chosen.tolist()):
                    if done[i]:
                        continue
                    if token in eos:
                        done[i] = True
                        continue
                    tokens[i].append(token)
                    if stop and any(s in self.decode(tokens[i], skip_special=False) for s in stop):
                        done[i] = True
                if all(done):
                    break
                mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=-1)
                positions = positions[:, -1:] + 1
                past = getattr(out, "cache", None)
                if past is None:
                    past = getattr(out, "past_key_values", None)
                out = self.model(input_ids=chosen[:, None], attention_mask=mask,
                                 position_ids=positions, use_cache=True,
                                 **{self._cache_arg: past})
        texts = []
        for row in tokens:
            text = self.decode(row)
            cuts = [text.index(s) for s in stop if s and s in text]
            texts.append(text[:min(cuts)] if cuts else text)
        return texts

    def stop_ids(self) -> set[int]:
        ids = {self.tokenizer.eos_token_id}
        configured = getattr(self.model.generation_config, "eos_token_id", None)
        ids.update(configured if isinstance(configured, list) else [configured])
        eot = self.encode(self.end_of_turn()) if self.tokenizer.chat_template else []
        if len(eot) == 1:
            ids.add(eot[0])
        return {int(i) for i in ids if i is not None}

    def chat_prompt(self, messages: Sequence[Mapping[str, str]]) -> str:
        if not self.tokenizer.chat_template:
            raise ValueError(f"model {self.model_id!r} has no chat template; "
                             "use prompt_format: completion")
        with self._tok_lock:
            return self.tokenizer.apply_chat_template([dict(m) for m in messages],
                                                      tokenize=False, add_generation_prompt=True)

    def completion_prefix(self) -> str:
        """What the tokenizer adds before plain text (a BOS), written out as text."""
        if self._prefix is None:
            with self._tok_lock:
                with_special = list(self.tokenizer("x")["input_ids"])
                plain = self.encode("x")
                added = len(with_special) - len(plain)
                self._prefix = ("" if added <= 0 or with_special[added:] != plain else
                                self.tokenizer.decode(with_special[:added],
                                                      skip_special_tokens=False))
        return self._prefix

    def end_of_turn(self) -> str:
        """The special token that closes an assistant turn, read off the chat template."""
        if self._eot is None:
            with self._tok_lock:
                self._eot = self._find_end_of_turn()
        return self._eot

    def _find_end_of_turn(self) -> str:
        tok = self.tokenizer
        marker = "ARENA_MARKER_7c1e"
        try:
            text = tok.apply_chat_template(
                [{"role": "user", "content": "hi"}, {"role": "assistant", "content": marker}],
                tokenize=False)
        except Exception:  # templates may refuse this conversation; fall back to eos
            text = ""
        after = text.split(marker, 1)[1] if marker in text else ""
        specials = sorted({str(t) for t in tok.all_special_tokens}
                          | {str(t) for t in tok.get_added_vocab()}, key=len, reverse=True)
        for special in specials:
            if special and after.startswith(special):
                return special
        if tok.eos_token is None:
            raise ValueError(f"model {self.model_id!r}: cannot tell its end-of-turn token")
        return str(tok.eos_token)
