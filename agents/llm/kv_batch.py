"""One forward pass for many matches at once, each with its own key/value cache.

A :class:`Step` is one match's piece of work: the key/value cache of the prompt it has
already encoded (``kv``, ``cached`` tokens), the prompt tokens that are new since then
(``new``), and the answers to score as branches off the prompt (``branches``: each
answer's tokens but its last). :func:`forward` runs any number of steps as one padded
batch and hands each step its log-probabilities and its grown cache.

Layout of a row, in key slots::

    [pad .. | cached prompt ]  [pad .. | new prompt tokens | branch tokens ]
     <----- longest cache --->  <-------- longest query (new + branches) -------->

Both parts are right-aligned, so the slots whose logits are needed (the last prompt
token and every branch token) are the last ones of every row and ``logits_to_keep``
keeps only those. Positions are passed explicitly (padding never shifts them) and the
attention mask is built here, as a float 4D mask: a prompt token sees the cache and the
prompt tokens before it; a branch token sees the whole prompt and the earlier tokens of
its own answer only (a tree); nothing sees padding. Models with sliding-window layers
(Gemma 3) get a second mask that also hides keys more than ``sliding_window`` positions
back, so their caches are kept whole and the window is applied exactly as the model's
own masks would apply it.

The arithmetic of one row does not depend on the others: the batched and the one-row
distributions agree within float rounding (1e-5 in float32; see
``tests/agents/llm/test_batching.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

#: layer types whose masks this module can build (others: the model's own masks only)
SUPPORTED_LAYERS = {"full_attention", "sliding_attention"}

_PAD, _CACHE, _PROMPT, _BRANCH = -1, 0, 1, 2


@dataclass(frozen=True)
class RowCache:
    """One match's cached tokens, where a batch's forward left them: row ``row`` of that
    batch's key/value tensors (``layers``), at ``slots`` in token order. Nothing is
    copied out after a forward; the next batch gathers each layer's rows in one indexed
    copy per source batch, not one copy per match and layer. A batch's tensors live as
    long as any of its rows is referenced, so a slow match can keep a whole padded batch
    alive: memory peaks at a few batches' caches, not one per match."""

    layers: list[tuple[Any, Any]]  # per layer: keys, values [rows, heads, slots, dim]
    row: int
    slots: Any  # a 1-D long tensor, on the CPU

    def __len__(self) -> int:
        return int(self.slots.shape[0])


@dataclass
class Step:
    """One match's forward: its cache, its new prompt tokens and its answer branches."""

    kv: RowCache | None
    new: list[int]  # at least one: the last one's logits score every answer's first token
    branches: list[list[int]] = field(default_factory=list)

    @property
    def cached(self) -> int:
        """Tokens in ``kv``."""
        return len(self.kv) if self.kv is not None else 0


@dataclass
class StepOutput:
    """What one step gives back: log-probabilities after its last prompt token
    (``first``), after each branch token in order (``after``), and its cache grown by
    the new prompt tokens (branch tokens are not kept)."""

    first: Any
    after: list[Any]
    kv: RowCache

    @property
    def cached(self) -> int:
        return len(self.kv)


def mask_layout(config: Any) -> tuple[list[str] | None, int | None]:
    """The model's layer types and sliding window, as far as the masks need them.

    Raises ``ValueError`` for attention this module cannot mask (chunked, linear...),
    so the caller falls back to scoring without a cache.
    """
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    types = getattr(text, "layer_types", None)
    window = getattr(text, "sliding_window", None)
    if types is not None:
        unknown = set(types) - SUPPORTED_LAYERS
        if unknown:
            raise ValueError(f"cannot build masks for {sorted(unknown)} layers")
        if "sliding_attention" not in types:
            return None, None
        return list(types), int(window)
    if window and getattr(text, "use_sliding_window", True):
        return None, int(window)  # every layer slides
    return None, None


def forward(model: Any, steps: Sequence[Step], *, pad_id: int, cache_arg: str,
            keep_arg: bool, layout: tuple[list[str] | None, int | None] | None
            ) -> list[StepOutput]:
    """Run ``steps`` as one batch; one :class:`StepOutput` per step, in order. ``layout``
    None: the model's own causal masks over a padding mask (each step at most one branch,
    which is then just the row's last tokens)."""
    import torch
    from transformers import DynamicCache

    from agents.llm import filled_cache

    device = model.device
    longest_cache = max(s.cached for s in steps)
    queries = [s.new + [t for b in s.branches for t in b] for s in steps]
    width = max(len(q) for q in queries)
    slots = longest_cache + width

    ids, positions, k_pos, k_kind, k_group, k_off = layout_rows(
        steps, queries, longest_cache=longest_cache, width=width, pad_id=pad_id)

    # queries are the last ``width`` key slots
    q_pos, q_kind = k_pos[:, longest_cache:, None], k_kind[:, longest_cache:, None]
    q_group, q_off = k_group[:, longest_cache:, None], k_off[:, longest_cache:, None]
    kp, kk, kg, ko = k_pos[:, None], k_kind[:, None], k_group[:, None], k_off[:, None]
    sees_prompt = (q_kind == _BRANCH) | ((q_kind == _PROMPT) & (ko <= q_off))
    allowed = ((kk == _CACHE) & (q_kind != _PAD)) \
        | ((kk == _PROMPT) & sees_prompt) \
        | ((kk == _BRANCH) & (q_kind == _BRANCH) & (kg == q_group) & (ko <= q_off))
    dtype = next(model.parameters()).dtype
    lowest = torch.finfo(dtype).min

    def as_mask(keep: Any) -> Any:
        mask = torch.zeros(keep.shape, dtype=dtype).masked_fill(~keep, lowest)
        return mask[:, None].to(device)

    mask: Any
    if layout is None:  # attention the tree masks cannot express: causal rows, padding hidden
        if any(len(s.branches) > 1 for s in steps):
            raise ValueError("a model without tree masks scores one answer per row")
        mask = (k_kind != _PAD).long().to(device)
    elif layout[1] is None:
        mask = as_mask(allowed)
    else:
        types, window = layout
        sliding = as_mask(allowed & (kp > q_pos - window))
        mask = sliding if types is None else {"full_attention": as_mask(allowed),
                                              "sliding_attention": sliding}

    cache = DynamicCache()
    if longest_cache:
        # each layer's rows are gathered into a buffer as wide as all the batch's slots,
        # and the forward writes the queries' keys behind them: DynamicCache would copy
        # the gathered cache once on the way in and again to concatenate the queries
        cache.layers = [filled_cache.filled_layer(keys, values, filled=longest_cache)
                        for keys, values in _gather(steps, longest_cache, slots)]
    keep = max(sum(len(b) for b in s.branches) + 1 for s in steps)
    extra = {"logits_to_keep": keep} if keep_arg else {}
    out = model(input_ids=ids.to(device), position_ids=positions.to(device),
                attention_mask=mask, use_cache=True, **{cache_arg: cache}, **extra)
    # one log-softmax for the batch (each row's is the same as alone: it runs over the
    # vocabulary only); a row's own places are its last 1 + branch tokens
    logprobs = torch.log_softmax(out.logits[:, -keep:].float(), dim=-1)
    grown = [(layer.keys, layer.values) for layer in cache.layers]
    where = _kept_slots(steps, queries, longest_cache=longest_cache, slots=slots)
    results = []
    for i, (step, query) in enumerate(zip(steps, queries, strict=True)):
        mine = logprobs[i, keep - (len(query) - len(step.new)) - 1:]
        results.append(StepOutput(first=mine[0], after=list(mine[1:]),
                                  kv=RowCache(grown, i, where[i])))
    return results


def _kept_slots(steps: Sequence[Step], queries: Sequence[list[int]], *, longest_cache: int,
                slots: int) -> tuple[Any, ...]:
    """Where each row's tokens now lie in the grown cache, in token order: its cache
    (right-aligned before the queries), then its new prompt tokens (branch tokens are
    left behind). Index arithmetic for the whole batch; the indices stay on the CPU (a
    model spread over GPUs keeps each layer's cache on that layer's GPU, and the gather
    moves the indices to each one)."""
    import torch

    cached = torch.tensor([s.cached for s in steps], dtype=torch.long)
    n_new = torch.tensor([len(s.new) for s in steps], dtype=torch.long)
    q_len = torch.tensor([len(q) for q in queries], dtype=torch.long)
    lengths = cached + n_new
    row = torch.repeat_interleave(torch.arange(len(steps)), lengths)
    j = torch.arange(int(lengths.sum())) \
        - torch.repeat_interleave(lengths.cumsum(0) - lengths, lengths)
    c = cached[row]
    slot = torch.where(j < c, longest_cache - c + j, slots - q_len[row] + (j - c))
    return torch.split(slot, lengths.tolist())


def layout_rows(steps: Sequence[Step], queries: Sequence[list[int]], *, longest_cache: int,
                width: int, pad_id: int) -> tuple[Any, ...]:
    """The batch's token ids and positions ``[rows, width]``, and per key slot
    ``[rows, longest_cache + width]`` its position, kind (cache, prompt, branch or
    padding), answer (branch tokens; else -1) and offset in its prompt part or answer.

    A fixed number of tensor operations for the whole batch: the rows' lengths and the
    flattened query tokens go in once, and every slot's values come from index arithmetic
    on them, so the work in Python does not grow with the rows beyond flattening them.
    """
    import torch

    rows, slots = len(steps), longest_cache + width
    arange = torch.arange
    cached = torch.tensor([s.cached for s in steps], dtype=torch.long)
    n_new = torch.tensor([len(s.new) for s in steps], dtype=torch.long)
    q_len = torch.tensor([len(q) for q in queries], dtype=torch.long)
    flat = torch.tensor([t for q in queries for t in q], dtype=torch.long)
    row = torch.repeat_interleave(arange(rows), q_len)  # each query token's row
    j = arange(flat.shape[0]) - torch.repeat_interleave(q_len.cumsum(0) - q_len, q_len)
    branch = j >= n_new[row]
    # branch tokens, in the flat order: answer index within the row, offset in the answer
    b_len = torch.tensor([len(b) for s in steps for b in s.branches], dtype=torch.long)
    b_group = torch.tensor([g for s in steps for g in range(len(s.branches))],
                           dtype=torch.long)
    b_off = arange(int(b_len.sum())) - torch.repeat_interleave(b_len.cumsum(0) - b_len, b_len)
    kind = torch.where(branch, _BRANCH, _PROMPT)
    group = torch.full_like(flat, -1)
    group[branch] = torch.repeat_interleave(b_group, b_len)
    off = j.clone()
    off[branch] = b_off
    pos = cached[row] + torch.where(branch, n_new[row] + off, j)
    col = width - q_len[row] + j  # right-aligned in the query part

    ids = torch.full((rows, width), pad_id, dtype=torch.long)
    positions = torch.zeros((rows, width), dtype=torch.long)
    ids[row, col] = flat
    positions[row, col] = pos
    # the cache part: each row's cache right-aligned before the queries, positions 0..c-1
    cache_pos = arange(longest_cache)[None, :] - (longest_cache - cached)[:, None]
    k_pos = torch.full((rows, slots), -1, dtype=torch.long)
    k_kind = torch.full((rows, slots), _PAD, dtype=torch.long)
    k_group = torch.full((rows, slots), -1, dtype=torch.long)
    k_off = torch.zeros((rows, slots), dtype=torch.long)
    in_cache = cache_pos >= 0
    k_pos[:, :longest_cache] = torch.where(in_cache, cache_pos, -1)
    k_kind[:, :longest_cache] = torch.where(in_cache, _CACHE, _PAD)
    key = longest_cache + col
    k_pos[row, key] = pos
    k_kind[row, key] = kind
    k_group[row, key] = group
    k_off[row, key] = off
    return ids, positions, k_pos, k_kind, k_group, k_off


def _gather(steps: Sequence[Step], width: int, slots: int) -> list[tuple[Any, Any]]:
    """Every row's cache right-aligned in the first ``width`` slots of one zero-padded
    ``[rows, heads, slots, dim]`` tensor per layer (rows without a cache are all
    padding; the slots after ``width`` are the queries'): one indexed copy per layer for
    all the rows that came from the same earlier batch."""
    import torch

    sources: dict[int, list[int]] = {}
    for i, step in enumerate(steps):
        if step.kv is not None and step.cached:
            sources.setdefault(id(step.kv.layers), []).append(i)
    first = steps[next(iter(sources.values()))[0]].kv
    assert first is not None
    stacked = [(k.new_zeros((len(steps), k.shape[1], slots, k.shape[3])),
                v.new_zeros((len(steps), v.shape[1], slots, v.shape[3])))
               for k, v in first.layers]
    for rows in sources.values():
        caches = [steps[i].kv for i in rows]
        lengths = torch.tensor([len(c) for c in caches])
        src_rows = torch.repeat_interleave(torch.tensor([c.row for c in caches]), lengths)
        dst_rows = torch.repeat_interleave(torch.tensor(rows), lengths)
        # each cache right-aligned: its i-th token at width - length + i
        starts = torch.repeat_interleave(lengths.cumsum(0) - lengths, lengths)
        dst_slots = torch.arange(int(lengths.sum())) - starts \
            + torch.repeat_interleave(width - lengths, lengths)
        src_slots = torch.cat([c.slots for c in caches])
        on: dict[Any, tuple[Any, ...]] = {}  # the indices on each layer's device
        for (keys, values), (k, v) in zip(stacked, caches[0].layers, strict=True):
            if k.device not in on:
                on[k.device] = tuple(t.to(k.device) for t in
                                     (src_rows, src_slots, dst_rows, dst_slots))
            sr, ss, dr, ds = on[k.device]
            keys[dr, :, ds] = k[sr, :, ss]
            values[dr, :, ds] = v[sr, :, ss]
    return stacked


def crop(kv: RowCache | None, length: int) -> RowCache | None:
    """The cache of the first ``length`` tokens (no copy); None when empty."""
    if kv is None or length <= 0:
        return None
    return RowCache(kv.layers, kv.row, kv.slots[:length])
