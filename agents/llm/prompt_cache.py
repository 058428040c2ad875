"""A match's prompt cache: each decision costs its new tokens, not the whole prompt.

Within a match the prompt only grows (one history line a round), so the key/value cache
of the last prompt is kept. At the next decision the longest common token prefix is
reused (the cache is cut back there) and only the new tokens are encoded. The legal
answers are scored as branches off the prompt in the same forward pass: their tokens go
in after the new prompt tokens, with an attention mask in which each answer's tokens see
the prompt and the earlier tokens of their own answer only (a tree). The branch tokens
are never kept in the cache.

The forward itself is not run here: each decision becomes a job on the engine's queue
(:mod:`agents.llm.batcher`), and the decisions of every match in flight on that model
run together as one batch (:mod:`agents.llm.kv_batch`). This is the ``hf`` engine's only
way to run its model: :meth:`HFEngine.score <agents.llm.hf_engine.HFEngine.score>` is a
session of one call.

Pairs come split by the lm-evaluation-harness rule (:meth:`TokenizerCodec.pairs
<agents.llm.codec.TokenizerCodec.pairs>`). The pairs that share the most common context
are the decision's tree, on the cache; an answer whose encoding merged across the
boundary has a context of its own and is scored in the same batch from scratch. A model
whose attention the tree masks cannot express (``HFEngine.mask_layout`` is None) scores
every answer as a plain causal row from scratch, and caches nothing between decisions.

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
from agents.llm.codec import Pair, Prompt
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

    def __init__(self, step: Step, *, engine: Any, max_new_tokens: int,
                 stop: Sequence[str], temperature: float, generator: Any) -> None:
        super().__init__(step)
        self.engine = engine
        self.max_new_tokens = max_new_tokens
        self.stop = stop
        self.temperature = temperature
        self.generator = generator
        self.eos = engine.stop_ids()
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
                stopped = self.stop and any(s in self.engine.decode(self.tokens)
                                            for s in self.stop)
                if not stopped and len(self.tokens) < self.max_new_tokens:
                    return Step(kv=output.kv, new=[token])
        self.future.set_result((self.tokens, self.prompt))
        return None


class PromptCache:
    """The key/value cache of one match's last prompt on one :class:`HFEngine`."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.ids: list[int] = []  # the tokens the cache holds
        self.kv: RowCache | None = None  # where the last forward left this match's tokens
        self.reused = 0  # tokens of the last prompt that came from the cache
        self._thread = threading.get_ident()  # the match's thread (see Batcher.opened)
        self._open = True
        engine.batcher.opened(self._thread)

    @property
    def cached(self) -> int:
        """Tokens the cache holds (0 once closed)."""
        return len(self.ids) if self.kv is not None else 0

    def close(self) -> None:
        """Free the cache (the match is over)."""
        self.kv, self.ids = None, []
        if self._open:
            self._open = False
            self.engine.batcher.closed(self._thread)

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
    def score(self, pairs: Sequence[Pair]) -> np.ndarray:
        """Each pair's summed log-probability of its answer after its context."""
        engine = self.engine
        trees: dict[tuple[int, ...], list[int]] = {}
        for j, pair in enumerate(pairs):
            if not pair.context or not pair.answer:
                raise ValueError("cannot score an empty context or answer")
            trees.setdefault(pair.context, []).append(j)
        if engine.mask_layout is None:  # one plain row per answer, nothing cached
            groups = [(pair.context, [j]) for j, pair in enumerate(pairs)]
            steps = [Step(kv=None, new=list(c), branches=[list(pairs[j].answer[:-1])])
                     for c, [j] in groups]
            main = -1
        else:
            groups = list(trees.items())
            main = max(range(len(groups)), key=lambda g: len(groups[g][1]))
            steps = [self._step(list(c), [list(pairs[j].answer[:-1]) for j in members])
                     if g == main else
                     Step(kv=None, new=list(c), branches=[list(pairs[j].answer[:-1])
                                                          for j in members])
                     for g, (c, members) in enumerate(groups)]
        outputs = engine.batcher.submit_all([_Once(step) for step in steps])
        if main >= 0:
            self._keep(list(groups[main][0]), outputs[main])
        scores = np.zeros(len(pairs))
        for (_, members), output in zip(groups, outputs, strict=True):
            i = 0
            for j in members:
                answer = pairs[j].answer
                total = output.first[answer[0]].double()
                for k in range(1, len(answer)):
                    total = total + output.after[i][answer[k]].double()
                    i += 1
                scores[j] = float(total)
        return scores

    # -- sampling -----------------------------------------------------------------------
    def generate(self, prompt: Prompt, *, max_new_tokens: int, stop: Sequence[str] = (),
                 temperature: float = 1.0, seed: int = 0) -> str:
        """Sampled text after ``prompt`` (greedy at temperature 0), stopped at the first
        stop string (the caller cuts the text there)."""
        import torch

        engine = self.engine
        if prompt.ids is None:
            raise ValueError("the hf engine samples token ids; this prompt has none")
        ids = list(prompt.ids)
        if engine.mask_layout is None:  # nothing is cached between decisions
            self.kv, self.ids = None, []
        # sampling happens where the logits are: the last layer's device (a model spread
        # over GPUs may start elsewhere)
        head = engine.model.get_output_embeddings()
        device = head.weight.device if head is not None else engine.model.device
        generator = torch.Generator(device=device).manual_seed(int(seed))
        job = _Sample(self._step(ids, []), engine=engine, max_new_tokens=max_new_tokens,
                      stop=stop, temperature=temperature, generator=generator)
        tokens, output = engine.batcher.submit(job)
        if engine.mask_layout is not None:
            self._keep(ids, output)
        return engine.codec.decode(tokens) if engine.codec is not None else ""
