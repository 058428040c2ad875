"""A transformers cache layer over a buffer already as wide as the whole forward.

:func:`agents.llm.kv_batch.forward` gathers every row's cache into the first slots of
one buffer per layer, sized for the cache and the batch's queries together. During the
forward each attention layer hands its new keys and values to this layer, which writes
them into the remaining slots. ``DynamicLayer`` would concatenate them onto the cache
instead, allocating and copying the whole cache once more per layer and per forward
(and ``DynamicCache(ddp_cache_data=...)`` copies it once before that). What the update
returns is, element for element, what that concatenation returns.

The class is made on first use: the agent registry imports every module of ``agents``,
and importing one must not import torch or transformers.
"""

from __future__ import annotations

import functools
from typing import Any


@functools.cache
def layer_class() -> type:
    """The cache layer class (a ``DynamicLayer``, so transformers treats it as one)."""
    from transformers.cache_utils import DynamicLayer

    class FilledLayer(DynamicLayer):  # type: ignore[misc,valid-type]
        """Keys and values ``[rows, heads, slots, dim]`` whose first ``filled`` slots
        hold the cache; each update writes behind them."""

        def __init__(self, keys: Any, values: Any, *, filled: int) -> None:
            super().__init__()
            self.keys, self.values, self.filled = keys, values, filled
            self.dtype, self.device = keys.dtype, keys.device
            self.is_initialized = True  # transformers 5 reads it; 4.x looks at keys

        def lazy_initialization(self, *args: Any, **kwargs: Any) -> None:
            """Nothing to do: the buffers exist before the forward."""

        def update(self, key_states: Any, value_states: Any, *args: Any,
                   **kwargs: Any) -> tuple[Any, Any]:
            end = self.filled + key_states.shape[-2]
            if end > self.keys.shape[-2]:
                raise ValueError(f"{end} slots do not fit a buffer of {self.keys.shape[-2]}")
            self.keys[:, :, self.filled:end] = key_states
            self.values[:, :, self.filled:end] = value_states
            self.filled = end
            return self.keys[:, :, :end], self.values[:, :, :end]

        def get_seq_length(self, *args: Any) -> int:
            return self.filled

    return FilledLayer


def filled_layer(keys: Any, values: Any, *, filled: int) -> Any:
    """One layer's cache over ``keys`` and ``values``, of which ``filled`` slots hold
    the cache so far."""
    return layer_class()(keys, values, filled=filled)
