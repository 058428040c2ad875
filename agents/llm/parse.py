"""A tolerant parser that maps a model's free-text answer to one of the legal action names.

Models answer "Rock.", "**paper**", "I choose scissors!", "7", "seven" or
"My number is 10". :func:`parse_choice` accepts all of these and returns the
action's index, or ``None`` when the text names no legal action, or names several
without saying which one it plays.

Rules, in order (names match case-insensitively as whole words, runs of spaces, ``_``
and ``-`` alike, the longest name first, so "10" is never read as "1"):

1. the whole answer, stripped of quotes, markdown and punctuation, is a name;
2. the answer starts with a name ("Rock, then paper");
3. the first name right after a choice word: "I choose", "pick", "play", "select",
   "say", "go with", "guess", or "my move/choice/answer/number is" (also with ``:``);
4. the text names exactly one legal action, however often ("I think scissors");
5. otherwise ``None``: an answer that muses about several options has not chosen, and
   must not count as the first one it mentions.

Before rules 2-4, an answer that names *every* legal action is ``None`` whatever its
wording ("You can play rock, paper or scissors."): it lists the options back. When the
names are numbers, numbers written as words (zero to twenty) count as their digits, and
a restated range ("between 0 and 10", "from 1 to 6") is not a mention.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_NUMBER_WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty").split()
_STRIP = " \t\r\n.,;:!?\"'`*_()[]{}<>"
_CUE = re.compile(
    r"(?:\b(?:choose|choosing|chose|pick|picking|play|playing|select|selecting|say|"
    r"go with|going with|guess)\b|\b(?:move|choice|answer|number|pick|guess)\s*(?:is\b|:|=))"
    r"[\s\"'`*_:]*(?:the\s+)?", re.IGNORECASE)
_RANGE = re.compile(r"\b(?:between\s+-?\d+\s+and|from\s+-?\d+\s+to)\s+-?\d+\b", re.IGNORECASE)


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
    if all(re.fullmatch(r"-?\d+", n.strip()) for n in names):
        # "a number between 0 and 10 is 7": the range restated is not a choice
        text = _RANGE.sub(" ", _words_to_digits(text))
    whole = _normalise(text)
    if whole in wanted:
        return wanted[whole]
    # every mention: (start, -length, index), so sorting puts the longest name first
    found = sorted((m.start(), m.start() - m.end(), i) for i, name in enumerate(names)
                   for m in _name_pattern(name).finditer(text))
    if not found:
        return None
    chosen, end = set(), -1
    for start, neg_length, index in found:  # a name inside a longer one is no mention
        if start >= end:
            chosen.add(index)
            end = start - neg_length
    if len(names) > 1 and len(chosen) == len(names):
        return None  # the options listed back, whatever the wording around them
    at = {start: index for start, _, index in reversed(found)}  # longest name per position
    lead = len(text) - len(text.lstrip(_STRIP))
    if lead in at:
        return at[lead]
    for cue in _CUE.finditer(text):
        if cue.end() in at:
            return at[cue.end()]
    return chosen.pop() if len(chosen) == 1 else None


def _words_to_digits(text: str) -> str:
    def swap(match: re.Match[str]) -> str:
        return str(_NUMBER_WORDS.index(match.group(0).lower()))

    pattern = r"\b(" + "|".join(_NUMBER_WORDS) + r")\b"
    return re.sub(pattern, swap, text, flags=re.IGNORECASE)
