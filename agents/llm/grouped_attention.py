"""Masked attention for grouped-query models without copying the keys and values.

transformers' ``sdpa`` attention, given a mask and more than one query token, first
repeats every key/value head once per query head that shares it (``repeat_kv``): with
SmolLM2's 3 query heads per key/value head, or Llama-3.1-8B's 4, each layer copies the
whole cache 3 or 4 times over before attending. The ``hf`` engine always passes a mask
(its tree of answer branches) and many query tokens (the new prompt and the branches),
so that copy grows with every match's history.

This implementation folds the query heads that share a key/value head into the query
length instead: ``[rows, heads, q, dim]`` becomes ``[rows, kv_heads, groups * q, dim]``,
the mask is repeated along the query length (``groups * q`` by the keys: small), and one
``scaled_dot_product_attention`` call runs against the keys and values as they are.
Every query row still meets the same keys, mask and values, so the numbers are those of
the ``sdpa`` path up to float rounding (on the CPU, SmolLM2's came out bit for bit
equal; ``benchmarks/kv_forward.py`` checks 1e-6). Anything
else (one query token, no mask, per-head masks, soft-capping, dropout, position biases)
goes to transformers' own ``sdpa`` function unchanged.

:func:`install` registers it under :data:`NAME` and switches a model from ``sdpa`` to
it; a model set to another implementation (``eager``, flash, ``flex_attention``) is left
alone. Importing this module imports neither torch nor transformers.
"""

from __future__ import annotations

import functools
from typing import Any

NAME = "arena_grouped_sdpa"


def attention(module: Any, query: Any, key: Any, value: Any, attention_mask: Any,
              dropout: float = 0.0, scaling: float | None = None, is_causal: bool | None = None,
              **kwargs: Any) -> tuple[Any, None]:
    """The attention interface's signature: ``query`` ``[rows, heads, q, dim]``, ``key``
    and ``value`` ``[rows, kv_heads, k, dim]``; returns ``[rows, q, heads, dim]``."""
    import torch
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    groups = getattr(module, "num_key_value_groups", 1)
    rows, heads, length, dim = query.shape
    if (groups == 1 or length == 1 or attention_mask is None or attention_mask.ndim != 4
            or attention_mask.shape[1] != 1 or dropout
            or kwargs.get("position_bias") is not None or kwargs.get("softcap") is not None):
        return sdpa_attention_forward(module, query, key, value, attention_mask,
                                      dropout=dropout, scaling=scaling, is_causal=is_causal,
                                      **kwargs)
    # query head h * groups + g reads key/value head h (repeat_kv's order): row
    # g * length + t of the folded query is query head h * groups + g at token t
    folded = query.reshape(rows, key.shape[1], groups * length, dim)
    mask = attention_mask.repeat(1, 1, groups, 1)
    out = torch.nn.functional.scaled_dot_product_attention(folded, key, value, attn_mask=mask,
                                                           scale=scaling)
    return out.reshape(rows, heads, length, value.shape[-1]).transpose(1, 2).contiguous(), None


@functools.cache
def _register() -> None:
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(NAME, attention)
    # masks the model builds itself (no tree masks) are sdpa's
    AttentionMaskInterface.register(NAME, sdpa_mask)


def install(model: Any) -> bool:
    """Switch ``model`` from ``sdpa`` to this implementation; whether it did."""
    config = model.config
    if getattr(config, "_attn_implementation", None) != "sdpa":
        return False
    _register()
    model.set_attn_implementation(NAME)
    return True
