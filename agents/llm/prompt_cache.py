"""A match's prompt cache: each decision costs its new tokens, not the whole prompt.

Within a match the prompt only grows (one history line a round), so the key/value cache
of the last prompt is kept. At the next decision the longest common token prefix is
reused (the cache is cut back there) and only the new tokens are encoded. The legal
answers are then scored as branches off the cached prompt in one forward pass: their
tokens go in side by side, with an attention mask in which each answer's tokens see the
prompt and the earlier tokens of their own answer only (a tree), and positions that
continue the prompt. The branch tokens are cut from the cache again afterwards.

Scores follow the lm-evaluation-harness rule as :meth:`HFBackend.score` does: context
and continuation are encoded together and split at the encoded context's length. An
answer whose encoding merges across that boundary (its first tokens differ from the
context's) is scored without the cache, exactly as before.

Sampling (``mode: sample`` and writing) starts from the same cache, and the generated
tokens are cut off afterwards. One :class:`PromptCache` belongs to one match (or solo
series); :meth:`close` frees it when the match ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):  # the shorter one ends the prefix
        if x != y:
            break
        n += 1
    return n


class PromptCache:
    """The key/value cache of one match's last prompt on one :class:`HFBackend`."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.ids: list[int] = []  # the tokens the cache holds
        self.cache: Any = None
        self.reused = 0  # tokens of the last prompt that came from the cache

    def close(self) -> None:
        """Free the cache (the match is over)."""
        self.cache, self.ids = None, []

    # -- the prompt ---------------------------------------------------------------------
    def _advance(self, ids: list[int]) -> Any:
        """Bring the cache to ``ids``; the log-probabilities of the token after them."""
        import torch
        from transformers import DynamicCache

        model = self.backend.model
        if self.cache is None:
            self.cache = DynamicCache(config=model.config)
        # at least the last token is run again: its logits are the first answer token's
        keep = min(_common_prefix(self.ids, ids), len(ids) - 1)
        self._cut(keep)
        self.reused = keep
        out = model(input_ids=torch.tensor([ids[keep:]], device=model.device),
                    use_cache=True, **self.backend.cache_kwargs(self.cache),
                    **self.backend.keep_last_logits(1))
        self.ids = list(ids)
        return torch.log_softmax(out.logits[0, -1].float(), dim=-1)

    def _cut(self, length: int) -> None:
        extra = self.cache.get_seq_length() - length
        if extra > 0:
            self.cache.crop(-extra)  # a negative count removes that many tokens

    # -- scoring ------------------------------------------------------------------------
    def score(self, context: str, continuations: Sequence[str]) -> np.ndarray:
        """Summed log-probabilities of each continuation after ``context``."""
        import torch

        backend = self.backend
        ctx = backend.encode(context)
        n = len(ctx)
        conts: list[list[int] | None] = []
        for continuation in continuations:
            whole = backend.encode(context + continuation)
            if n == 0 or len(whole) <= n:
                raise ValueError(f"cannot score {continuation!r} after a {n}-token context")
            conts.append(whole[n:] if whole[:n] == ctx else None)
        scores = np.zeros(len(continuations))
        with backend.lock, torch.inference_mode():
            first = self._advance(ctx)
            branches = self._branches(n, [c for c in conts if c is not None])
            i = 0
            for j, cont in enumerate(conts):
                if cont is None:  # merged across the boundary: the uncached way
                    scores[j] = backend.score([context], [continuations[j]])[0]
                    continue
                total = first[cont[0]].double()
                for k in range(1, len(cont)):
                    total = total + branches[i][cont[k]].double()
                    i += 1
                scores[j] = float(total)
        return scores

    def _branches(self, n: int, conts: list[list[int]]) -> list[Any]:
        """Log-probabilities after each answer token but the last, in one forward pass."""
        import torch

        flat = [t for c in conts for t in c[:-1]]
        if not flat:
            return []
        model = self.backend.model
        owner = [j for j, c in enumerate(conts) for _ in c[:-1]]
        offset = [k for c in conts for k in range(len(c) - 1)]
        q = len(flat)
        own = torch.tensor(owner)
        off = torch.tensor(offset)
        seen = (own[:, None] == own[None, :]) & (off[None, :] <= off[:, None])
        allowed = torch.cat([torch.ones(q, n, dtype=torch.bool), seen], dim=1)
        dtype = next(model.parameters()).dtype
        mask = torch.zeros(q, n + q, dtype=dtype).masked_fill(~allowed, torch.finfo(dtype).min)
        device = model.device
        try:
            out = model(input_ids=torch.tensor([flat], device=device),
                        position_ids=(off + n)[None].to(device),
                        attention_mask=mask[None, None].to(device),
                        use_cache=True, **self.backend.cache_kwargs(self.cache))
        finally:
            self._cut(n)
        return list(torch.log_softmax(out.logits[0].float(), dim=-1))

    # -- sampling -----------------------------------------------------------------------
    def generate(self, prompt: str, *, max_new_tokens: int, stop: Sequence[str] = (),
                 temperature: float = 1.0, seed: int = 0) -> str:
        """Sampled text after ``prompt`` (greedy at temperature 0), cut at a stop string."""
        import torch

        backend = self.backend
        ids = backend.encode(prompt)
        eos = backend.stop_ids()
        with backend.lock, torch.inference_mode():
            model = backend.model
            logprobs = self._advance(ids)
            generator = torch.Generator(device=model.device).manual_seed(int(seed))
            tokens: list[int] = []
            try:
                for _ in range(max_new_tokens):
                    if temperature <= 0:
                        token = int(logprobs.argmax())
                    else:
                        probs = torch.softmax(logprobs / temperature, dim=-1)
                        token = int(torch.multinomial(probs, 1, generator=generator))
                    if token in eos:
                        break
                    tokens.append(token)
                    if stop and any(s in backend.tokenizer.decode(tokens) for s in stop):
                        break
                    out = model(input_ids=torch.tensor([[token]], device=model.device),
                                use_cache=True, **backend.cache_kwargs(self.cache))
                    logprobs = torch.log_softmax(out.logits[0, -1].float(), dim=-1)
            finally:
                self._cut(len(ids))
        text = backend.tokenizer.decode(tokens, skip_special_tokens=True)
        cuts = [text.index(s) for s in stop if s and s in text]
        return text[:min(cuts)] if cuts else text
