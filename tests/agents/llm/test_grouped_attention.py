"""Grouped-query attention with the tree masks, without repeating keys and values: the
numbers of transformers' own ``sdpa`` path, and no ``repeat_kv`` copy of the cache."""

from __future__ import annotations

import types
from pathlib import Path

import pytest

from agents.llm import grouped_attention
from agents.llm.hf_engine import HFEngine


def _inputs(groups: int, length: int, seed: int = 0):
    import torch

    g = torch.Generator().manual_seed(seed)
    rows, kv_heads, keys, dim = 3, 2, 11, 8
    query = torch.randn(rows, kv_heads * groups, length, dim, generator=g)
    key = torch.randn(rows, kv_heads, keys, dim, generator=g)
    value = torch.randn(rows, kv_heads, keys, dim, generator=g)
    # a float mask like the engine's: random visibility, every query sees its first key,
    # and row 2's first query is padding that sees nothing
    keep = torch.rand(rows, 1, length, keys, generator=g) > 0.4
    keep[..., 0] = True
    keep[2, :, 0] = False
    mask = torch.zeros(keep.shape).masked_fill(~keep, torch.finfo(torch.float32).min)
    return types.SimpleNamespace(num_key_value_groups=groups), query, key, value, mask


@pytest.mark.parametrize(("groups", "length"), [(3, 5), (4, 7), (1, 5), (3, 1)])
def test_grouped_attention_gives_the_sdpa_numbers(groups: int, length: int) -> None:
    import torch
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    module, query, key, value, mask = _inputs(groups, length)
    got, _ = grouped_attention.attention(module, query, key, value, mask, scaling=0.3)
    want, _ = sdpa_attention_forward(module, query, key, value, mask, scaling=0.3)
    assert got.shape == want.shape == (3, length, key.shape[1] * groups, 8)
    assert torch.allclose(got, want, atol=1e-6, rtol=0), (got - want).abs().max()


def test_the_engine_attends_without_repeating_the_cache(tiny_model_dir: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The tiny Llama has 2 query heads per key/value head: a cached, masked decision
    runs on grouped attention and never calls repeat_kv; its scores are sdpa's."""
    import numpy as np
    from transformers.integrations import sdpa_attention

    from agents.llm.codec import get_codec

    repeats: list[int] = []
    original = sdpa_attention.repeat_kv
    monkeypatch.setattr(sdpa_attention, "repeat_kv",
                        lambda x, n: repeats.append(n) or original(x, n))
    codec = get_codec(tokenizer=str(tiny_model_dir))
    text = "Round 1\nMe: rock\nOpponent: paper\nRound 2\nMe:"
    answers = [" rock\n", " paper\n", " scissors\n"]
    scores = {}
    for name in (grouped_attention.NAME, "sdpa"):
        engine = HFEngine(model=str(tiny_model_dir), dtype="float32")
        assert engine.model.config._attn_implementation == grouped_attention.NAME
        engine.model.set_attn_implementation(name)
        session = engine.session()
        session.score(codec.pairs(text[:20], answers))  # a cache for the next decision
        repeats.clear()
        scores[name] = session.score(codec.pairs(text, answers))
        assert (repeats == []) == (name == grouped_attention.NAME), (name, repeats)
        session.close()
    assert np.abs(scores[grouped_attention.NAME] - scores["sdpa"]).max() < 1e-6


def test_a_model_on_another_attention_keeps_it(tiny_model_dir: Path) -> None:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, attn_implementation="eager")
    assert not grouped_attention.install(model)
    assert HFEngine.from_model(model).model.config._attn_implementation == "eager"
