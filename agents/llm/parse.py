"""A tolerant parser that maps a model's free-text answer to one of the legal action names.

Models answer "Rock.", "**paper**", "I choose scissors!", "7", "seven" or
"My number is 10". :func:`parse_choice` accepts all of these and returns the
action's index, or ``None`` when the text names no legal action.

Rules, in order:

1. the whole answer, stripped of quotes, markdown and punctuation, equals a name
   (case-insensitive, runs of spaces, ``_`` and ``-`` treated alike);
2. otherwise the earliest whole-word occurrence of any name wins, the longest name
   at that position first, so "10" is never read as "1";
3. numbers written as words (zero to twenty) count as their digits when the
   names are numbers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_NUMBER_WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty").split()
_STRIP = " \t\r\n.,;:!?\"'`*_()[]{}<>"


def _normalise(text: str) -> str:
    return re.sub(r"[\s_\-]+", " ", text.strip().strip(_STRIP)).lower()


def _name_pattern(name: str) -> re.Pattern[str]:
    parts = [re.escape(p) for p in re.split(r"[\s_\-]+", name.strip()) if p]
    body = r"[\s_\-]+".join(parts)
    # word boundaries that also hold for names made of digits or symbols
    return re.compile(rf"(?<![\w]){body}(?![\w])", re.IGNORECASE)


def parse_choice(text: str, names: Sequence[str]) -> int | None:
    """Index of the legal action named in ``text``, or ``None``."""
    if not text or not names:
        return None
    wanted = {_normalise(n): i for i, n in enumerate(names)}
    whole = _normalise(text)
    if whole in wanted:
        return wanted[whole]
    if all(re.fullmatch(r"-?\d+", n.strip()) for n in names):
        text = _words_to_digits(text)
        whole = _normalise(text)
        if whole in wanted:
            return wanted[whole]
    best: tuple[int, int, int] | None = None  # (position, -length, index)
    for i, name in enumerate(names):
        match = _name_pattern(name).search(text)
        if match is not None:
            key = (match.start(), -(match.end() - match.start()), i)
            best = key if best is None or key < best else best
    return None if best is None else best[2]


def _words_to_digits(text: str) -> str:
    def swap(match: re.Match[str]) -> str:
        return str(_NUMBER_WORDS.index(match.group(0).lower()))

    pattern = r"\b(" + "|".join(_NUMBER_WORDS) + r")\b"
    return re.sub(pattern, swap, text, flags=re.IGNORECASE)
