"""Originality components per agent, by hand and against scipy's t interval."""

from __future__ import annotations

import pytest
from scipy import stats

from leaderboards.analysis_writing import DEFINITIONS, distinct_share, words, writing_summary


def answer(agent: str, text: str, originality: float, **components) -> dict:
    comps = {"lexical_novelty": 1.0, "distinct_n": 1.0, "semantic_distance": None,
             "too_short": 1.0, **components}
    return {"agent": agent, "prompt": "Write about the sea.", "text": text,
            "originality": originality, "quality": originality, "penalty": 1.0,
            "components": comps}


def test_words_and_distinct_share():
    assert words("The sea, the SEA! Don't") == ["the", "sea", "the", "sea", "don't"]
    assert distinct_share(["a", "b", "a"], 1) == pytest.approx(2 / 3)
    assert distinct_share(["a", "b", "a", "b"], 2) == pytest.approx(2 / 3)  # ab, ba, ab
    assert distinct_share(["a"], 2) is None


def test_summary_per_agent():
    answers = [answer("w", "one two three", 0.9, lexical_novelty=1.0),
               answer("w", "one two three", 0.3, lexical_novelty=0.0),
               answer("w", "four five", 0.6, lexical_novelty=0.5),
               answer("x", "alone", 0.2)]
    out = writing_summary(answers, examples=1)
    w = out["w"]
    assert w["answers"] == 3
    assert w["originality"] == pytest.approx(0.6)
    ci = stats.t.interval(0.95, 2, loc=0.6, scale=stats.sem([0.9, 0.3, 0.6]))
    assert (w["ci_low"], w["ci_high"]) == pytest.approx(ci)
    assert w["components"]["lexical_novelty"] == pytest.approx(0.5)
    assert w["components"]["semantic_distance"] is None  # never available: no mean
    assert w["mean_words"] == pytest.approx(8 / 3)
    assert w["duplicate_share"] == pytest.approx(1 / 3)
    # pooled words: one two three one two three four five -> 5 distinct of 8
    assert w["pooled_distinct_1"] == pytest.approx(5 / 8)
    assert [e["originality"] for e in w["examples"]] == [0.9, 0.3]
    assert [e["rank"] for e in w["examples"]] == ["most original", "least original"]
    x = out["x"]
    assert x["ci_low"] is None and len(x["examples"]) == 1  # one answer: no interval


def test_definitions_are_written_out():
    text = " ".join(DEFINITIONS)
    for word in ("originality", "lexical_novelty", "too_short", "Examples"):
        assert word in text
