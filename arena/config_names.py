"""Agent and run names a person can tell apart: the checks a config's names pass.

Names are NFC-normalised; control, format (zero-width, bidi), separator, invisible and
unassigned characters are refused, a name may not mix Latin, Greek and Cyrillic letters,
and no two agents may share a confusable skeleton (after Unicode TS #39).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any

from arena.config_model import Gauntlet, ParsedConfig
from arena.errors import ConfigError

Err = Callable[[str, str], ConfigError]


#: Unicode general categories a name may not use: control (C0, DEL, C1), format (zero-width
#: space/joiners, bidi embeddings, overrides and isolates, soft hyphen, BOM), lone
#: surrogates, private use, unassigned, and line/paragraph separators
_REFUSED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
#: default-ignorable code points outside those categories (UAX #44): combining grapheme
#: joiner, Hangul fillers, Khmer inherent vowels, Mongolian variation selectors, variation
#: selectors; they show as nothing
_INVISIBLE = (
    (0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F), (0x3164, 0x3164),
    (0xFE00, 0xFE0F), (0xFFA0, 0xFFA0), (0x1D173, 0x1D17A), (0xE0100, 0xE01EF),
)

#: A small built-in table in the spirit of Unicode TS #39's confusables.txt: letters of
#: other scripts that look like Latin ones, mapped to their Latin prototype, and Latin
#: lookalikes mapped as confusables.txt maps them (I, 1 and | to l; 0 to O; m to rn, w to
#: vv, d to cl). NFKC covers fullwidth, mathematical and other compatibility forms first.
_PROTOTYPES = {
    # Cyrillic
    "а": "a", "в": "B", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x",
    "і": "l", "ј": "j", "ѕ": "s", "ԁ": "cl", "ԛ": "q", "ԝ": "vv", "һ": "h", "ӏ": "l",
    "ո": "n", "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O",
    "Р": "P", "С": "C", "Т": "T", "Х": "X", "У": "Y", "І": "l", "Ј": "J", "Ѕ": "S",
    "Ԛ": "Q", "Ԝ": "W", "Һ": "h", "Ӏ": "l", "ԛ̈": "q", "ь": "b", "г": "r", "п": "n",
    "т": "T", "к": "K", "м": "M", "н": "H", "Ь": "b", "З": "3", "з": "3", "Б": "6",
    # Greek
    "α": "a", "ο": "o", "ν": "v", "ρ": "p", "υ": "u", "ι": "l", "ϲ": "c", "ϳ": "j",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "l", "Κ": "K", "Μ": "M",
    "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "Ϲ": "C", "Ϳ": "J",
    # Armenian
    "օ": "o", "ս": "u", "ց": "g", "հ": "h", "զ": "q", "ա": "w", "Օ": "O", "Տ": "S",
    # Latin and common lookalikes
    "I": "l", "1": "l", "|": "l", "ǀ": "l", "0": "O", "m": "rn", "w": "vv", "d": "cl",
    "ı": "i", "ɡ": "g", "ɑ": "a", "ʏ": "Y", "ꓲ": "l",
}


def _refused_character(name: str) -> str | None:
    """The first character a name may not hold, described, or ``None``."""
    for char in name:
        code = ord(char)
        category = unicodedata.category(char)
        if char == "\0":
            return "NUL"
        if category in _REFUSED_CATEGORIES or any(lo <= code <= hi for lo, hi in _INVISIBLE):
            what = unicodedata.name(char, "").lower() or f"category {category}"
            return f"U+{code:04X} ({what})"
    return None


#: scripts whose letters look like each other's (TS #39 refuses mixing them at its
#: "moderately restrictive" level); a name uses at most one of them
_LOOKALIKE_SCRIPTS = ("LATIN", "GREEK", "CYRILLIC")


def _mixed_scripts(name: str) -> list[str]:
    """The look-alike scripts whose letters ``name`` mixes (empty when at most one)."""
    found: list[str] = []
    for char in unicodedata.normalize("NFKC", name):
        if unicodedata.category(char).startswith("L"):
            script = unicodedata.name(char, "").split(" ", 1)[0]
            if script in _LOOKALIKE_SCRIPTS and script not in found:
                found.append(script)
    return found if len(found) > 1 else []


def skeleton(name: str) -> str:
    """The confusable skeleton of ``name`` (after Unicode TS #39): two names with the same
    skeleton look alike. NFKC, then every character through the prototype table above,
    then NFD; marks stay, so "café" and "cafe" differ."""
    text = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", name))
    text = "".join(_PROTOTYPES.get(char, char) for char in text)
    return unicodedata.normalize("NFD", text)


def name_problem(name: str, *, what: str = "names") -> str | None:
    """Why ``name`` (already NFC) cannot be a name, or ``None``."""
    refused = _refused_character(name)
    if refused is not None:
        return (f"{ascii(name)}: {what} may not contain {refused}: control, invisible and "
                "text-direction characters are refused")
    mixed = _mixed_scripts(name)
    if mixed:
        scripts = " and ".join(m.capitalize() for m in mixed)
        return (f"{ascii(name)}: {what} may not mix {scripts} letters (they look alike: "
                "write it in one script)")
    return None


def _nfc(name: str) -> str:
    return unicodedata.normalize("NFC", name)


def normalised(parsed: ParsedConfig) -> ParsedConfig:
    """``parsed`` with every name in NFC (agents, the run, gauntlet opponents)."""
    def fmt(value: Any) -> Any:
        if isinstance(value, Gauntlet):
            return value.model_copy(update={"opponents": [_nfc(o) for o in value.opponents]})
        return value

    agents = [a.model_copy(update={"name": _nfc(a.name)}) for a in parsed.agents]
    games = [g.model_copy(update={"format": fmt(g.format)}) for g in parsed.games]
    game = parsed.game.model_copy(update={"format": fmt(parsed.game.format)}) \
        if parsed.game is not None else None
    return parsed.model_copy(update={"name": _nfc(parsed.name), "agents": agents,
                                     "games": games, "game": game,
                                     "format": fmt(parsed.format)})


def check_names(parsed: ParsedConfig, err: Err) -> None:
    """Agent names: allowed characters, distinct, and no two alike (same skeleton)."""
    seen: set[str] = set()
    skeletons: dict[str, tuple[int, str]] = {}
    for i, agent in enumerate(parsed.agents):
        name = agent.name
        if name in seen:
            raise err(f"agents[{i}].name", f"duplicate agent name {name!r} (names are "
                      "compared in Unicode NFC)")
        problem = name_problem(name, what="names")
        if problem is None and ("/" in name or name != name.strip()):
            problem = f"{name!r}: names may not contain '/' or start or end with spaces"
        if problem is not None:
            raise err(f"agents[{i}].name", problem)
        seen.add(name)
        key = skeleton(name)
        if key in skeletons:
            j, other = skeletons[key]
            raise err(f"agents[{i}].name", f"{ascii(name)} looks the same as {ascii(other)} "
                      f"(agents[{j}].name): rename one of them")
        skeletons[key] = (i, name)
        family = getattr(agent, "family", None)
        if isinstance(family, str) and (problem := name_problem(family, what="tags")):
            raise err(f"agents[{i}].family", problem)
