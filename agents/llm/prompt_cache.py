"""A match's prompt cache: each decision costs its new tokens, not the whole prompt.

Within a match the prompt only grows (one history line a round), so the key/value cache
of the last prompt is kept. At the next decision the longest common token prefix is
reused (the cache is cut back there) and only the new tokens are encoded. The legal
answers are scored as branches off the prompt in the same forward pass: their tokens go
in after the new prompt tokens, with an attention mask in which each answer's tokens see
the prompt and the earlier tokens of their own answer only (a tree). The branch tokens
are never kept in the cache.

The forward itself is not run here: each decision becomes a job on the backend's queue
(:mod:`agents.llm.batcher`), and the decisions of every match in flight on that model
run together as one batch (:mod:`agents.llm.kv_batch`).

Scores follow the lm-evaluation-harness rule as :meth:`HFBackend.score` does: context
and continuation are encoded together and split at the encoded context's length. An
answer whose encoding merges across that boundary (its first tokens differ from the
context's) is scored without the cache, exactly as before; so is every answer of a
model whose attention this module cannot mask (``HFBackend.mask_layout`` is None).

Sampling (``mode: sample`` and writing) starts from the same cache, one step per token,
and the generated tokens are dropped afterwards. One :class:`PromptCache` belongs to
one match (or solo series); :meth:`close` frees it when the match ends.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from agents.llm.batcher import Job
from agents.llm.kv_batch import RowCache, Step, StepOutput, crop


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):  # the shorter one ends the prefix
        if x != y:
            break
        n += 1
    return n


class _Once(Job):
    """A single step whose output is the result (scoring)."""

    def advance(self, output: StepOutput) -> Step | None:
        self.future.set_result(output)
        return None


class _Sample(Job):
    """The prompt, then one step per sampled token until end of sequence, a stop string
    or ``max_new_tokens``; the result is ``(tokens, the prompt's cache)``."""

    def __init__(self, step: Step, *, backend: Any, max_new_tokens: int,
                 stop: Sequence[str], temperature: float, generator: Any) -> None:
        super().__init__(step)
        self.backend = backend
        self.max_new_tokens = max_new_tokens
        self.stop = stop
        self.temperature = temperature
        self.generator = generator
        self.eos = backend.stop_ids()
        self.tokens: list[int] = []
        self.prompt: StepOutput | None = None

    def advance(self, output: StepOutput) -> Step | None:
        import torch

        if self.prompt is None:
            self.prompt = output
        if self.max_new_tokens > 0:
            if self.temperature <= 0:
                token = int(output.first.argmax())
            else:
                probs = torch.softmax(output.first / self.temperature, dim=-1)
                token = int(torch.multinomial(probs, 1, generator=self.generator))
            if token not in self.eos:
                self.tokens.append(token)
                stopped = self.stop and any(s in self.backend.decode(self.tokens, skip_special=False)
                                            for s in self.stop)
                if not stopped and len(self.tokens) < self.max_new_tokens:
                    return Step(kv=output.kv, new=[token])
        self.future.set_result((self.tokens, self.prompt))
        return None


class PromptCache:
    """The key/value cache of one match's last prompt on one :class:`HFBackend`."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.ids: list[int] = []  # the tokens the cache holds
        self.kv: RowCache | None = None  # where the last forward left this match's tokens
        self.reused = 0  # tokens of the last prompt that came from the cache
        self._thread = threading.get_ident()  # the match's thread (see Batcher.opened)
        self._open = True
        backend.batcher.opened(self._thread)

    @property
    def cached(self) -> int:
        """Tokens the cache holds (0 once closed)."""
        return len(self.ids) if self.kv is not None else 0

    def close(self) -> None:
        """Free the cache (the match is over)."""
        self.kv, self.ids = None, []
        if self._open:
            self._open = False
            self.backend.batcher.closed(self._thread)

    def _step(self, ids: list[int], branches: list[list[int]]) -> Step:
        # at least the last token is run again: its logits are the first answer token's
        keep = min(_common_prefix(self.ids, ids), len(ids) - 1) if self.kv is not None else 0
        self.reused = keep
        kv = crop(self.kv, keep)
        # crop() gives None exactly when nothing is kept (keep == 0)
        return Step(kv=kv, new=ids[keep:], branches=branches)

    def _keep(self, ids: list[int], output: StepOutput) -> None:
        self.ids, self.kv = list(ids), output.kv

    # -- scoring ------------------------------------------------------------------------
    def score(self, context: str, continuations: Sequence[str]) -> np.ndarray:
        """Summed log-probabilities of each continuation after ``context``."""
        backend = self.backend
        if backend.mask_layout is None:
            return backend.score([context] * len(continuations), continuations)
        ctx = backend.encode(context)
        n = len(ctx)
        conts: list[list[int] | None] = []
        for continuation in continuations:
            whole = backend.encode(context + continuation)
            if n == 0 or len(whole) <= n:
                raise ValueError(f"cannot score {continuation!r} after a {n}-token context")
            conts.append(whole[n:] if whole[:n] == ctx else None)
        scores = self.score_ids(ctx, [c or [] for c in conts])
        for j, cont in enumerate(conts):
            if cont is None:  # merged across the boundary: the uncached way
                scores[j] = backend.score([context], [continuations[j]])[0]
        return scores

    def score_ids(self, context: list[int], continuations: Sequence[list[int]]) -> np.ndarray:
        """:meth:`score` on token ids: each continuation's summed log-probability after
        ``context`` (an empty continuation scores 0, for the caller to fill in)."""
        kept = [list(c) for c in continuations if c]
        output = self.backend.batcher.submit(_Once(self._step(list(context),
                                                              [c[:-1] for c in kept])))
        self._keep(context, output)
        scores = np.zeros(len(continuations))
        i = 0
        for j, cont in enumerate(continuations):
            if not cont:
                continue
            total = output.first[cont[0]].double()
            for k in range(1, len(cont)):
                total = total + output.after[i][cont[k]].double()
                i += 1
            scores[j] = float(total)
        return scores

    # -- sampling -----------------------------------------------------------------------
    def generate(self, prompt: str, *, max_new_tokens: int, stop: Sequence[str] = (),
                 temperature: float = 1.0, seed: int = 0) -> str:
        """Sampled text after ``prompt`` (greedy at temperature 0), cut at a stop string."""
        import torch

        backend = self.backend
        if backend.mask_layout is None:
            return backend.generate([prompt], max_new_tokens=max_new_tokens, stop=stop,
                                    temperature=temperature, seed=seed)[0]
        ids = backend.encode(prompt)
        # sampling happens where the logits are: the last layer's device (a model spread
        # over GPUs may start elsewhere)
        head = backend.model.get_output_embeddings()
        device = head.weight.device if head is not None else backend.model.device
        generator = torch.Generator(device=device).manual_seed(int(seed))
        job = _Sample(self._step(ids, []), backend=backend, max_new_tokens=max_new_tokens,
                      stop=stop, temperature=temperature, generator=generator)
        tokens, output = backend.batcher.submit(job)
        self._keep(ids, output)
        text = backend.decode(tokens)
        cuts = [text.index(s) for s in stop if s and s in text]
        return text[:min(cuts)] if cuts else text
