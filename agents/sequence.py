"""``sequence``: a fixed deterministic sequence of actions, generic over n actions.

``source`` chooses it:

``"pi"`` (default)
    The decimal digits of pi, ``3, 1, 4, 1, 5, ...``, each taken modulo n. They look
    random to a predictor, apart from the bias that ``mod n`` gives (0.4/0.3/0.3 for
    n = 3). The digits are computed here with Machin's formula in integer arithmetic,
    cached, and extended on demand for longer matches.
``"de_bruijn"``
    A De Bruijn sequence over n symbols, repeated: every block of ``order`` moves
    appears exactly once per period, so no context of ``order - 1`` moves predicts
    the next one. By default ``order`` is the smallest whose period ``n ** order``
    covers the match's ``rounds``.
``"string"`` (implied when ``string`` is given)
    ``string`` repeated. It is a run of digits (``"0120211"``), a run of letters that
    are unique action-name initials (``"rpsspr"``), or action names or indices
    separated by spaces or commas (``"rock paper paper"``).

``offset`` skips that many symbols at the start.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import numpy as np

from arena.agent import BaseAgent, one_hot
from arena.registry import register_agent

SOURCES = ("pi", "de_bruijn", "string")
_MAX_PERIOD = 1 << 16


@lru_cache(maxsize=8)
def pi_digits(count: int) -> str:
    """The first ``count`` decimal digits of pi, ``"31415..."``, exact."""
    guard = 10
    scale = 10 ** (count + guard)

    def arccot(x: int) -> int:
        # arctan(1/x) * scale from its alternating Taylor series, truncating each term
        term = scale // x
        total, k, sign = term, 1, 1
        while term:
            term //= x * x
            k += 2
            sign = -sign
            total += sign * (term // k)
        return total

    pi = 4 * (4 * arccot(5) - arccot(239))  # Machin: pi/4 = 4 arctan(1/5) - arctan(1/239)
    return str(pi)[:count]


def de_bruijn(n: int, order: int) -> list[int]:
    """A cyclic De Bruijn sequence B(n, order) by the prefer-largest greedy rule.

    Starting from ``order`` zeros, append the largest symbol whose new window of
    ``order`` symbols has not been seen; the first ``n ** order`` symbols of the
    result are a cyclic De Bruijn sequence.
    """
    if n == 1:
        return [0]
    seq = [0] * order
    seen = {tuple(seq)}
    while True:
        window = seq[len(seq) - order + 1:] if order > 1 else []
        for symbol in range(n - 1, -1, -1):
            candidate = (*window, symbol)
            if candidate not in seen:
                seen.add(candidate)
                seq.append(symbol)
                break
        else:
            return seq[: n**order]


def parse_string(text: str, names: list[str]) -> list[int]:
    """Turn a user string into action indices (see the module docstring)."""
    lowered = [name.lower() for name in names]
    tokens = [t for t in re.split(r"[\s,;]+", text.strip()) if t]
    if len(tokens) == 1 and tokens[0].lower() not in lowered:
        tokens = list(tokens[0])  # one run of digits or initials
    initials = [name[:1] for name in lowered]
    out = []
    for token in tokens:
        low = token.lower()
        if low in lowered:
            out.append(lowered.index(low))
        elif token.isdigit():
            out.append(int(token))
        elif len(low) == 1 and initials.count(low) == 1:
            out.append(initials.index(low))
        else:
            raise ValueError(f"cannot read {token!r} as an action (actions: {', '.join(names)})")
        if out[-1] >= len(names):
            raise ValueError(f"action {out[-1]} out of range for {len(names)} actions")
    if not out:
        raise ValueError("string is empty")
    return out


@register_agent("sequence")
class FixedSequence(BaseAgent):
    """Plays a fixed sequence: digits of pi, a De Bruijn sequence, or a given string."""

    kinds = frozenset({"matrix"})

    def __init__(self, *, name: str | None = None, source: str | None = None,
                 string: str | None = None, order: int | None = None, offset: int = 0) -> None:
        super().__init__(name=name)
        source = source or ("string" if string is not None else "pi")
        if source not in SOURCES:
            raise ValueError(f"source must be one of {', '.join(SOURCES)}, not {source!r}")
        if source == "string" and not string:
            raise ValueError("source 'string' needs a non-empty option 'string'")
        if string is not None and source != "string":
            raise ValueError(f"option 'string' is only used with source 'string', not {source!r}")
        if order is not None and int(order) < 1:
            raise ValueError(f"order must be >= 1, not {order}")
        if int(offset) < 0:
            raise ValueError(f"offset must be >= 0, not {offset}")
        self.source, self.string, self.order, self.offset = source, string, order, int(offset)

    def reset(self, *, seed: int | None = None, **context: Any) -> None:
        super().reset(seed=seed, **context)
        self._symbols: list[int] = []
        self._cyclic = self.source != "pi"

    def _build(self, n: int, needed: int) -> list[int]:
        if self.source == "pi":
            count = max(1024, 1 << (needed - 1).bit_length())
            return [int(d) % n for d in pi_digits(count)]
        if self.source == "de_bruijn":
            order = self.order
            if order is None:
                order = 1
                while n ** order < min(needed, _MAX_PERIOD) and n > 1:
                    order += 1
            if n ** order > _MAX_PERIOD:
                raise ValueError(f"{self.name}: De Bruijn period {n}**{order} is too long")
            return de_bruijn(n, order)
        names = [str(a) for a in self.context.get("action_names", range(n))]
        return parse_string(self.string or "", names)

    def distribution(self, observation: Any, action_space: Any) -> np.ndarray:
        n = self.n_actions(action_space)
        index = self.offset + self.decisions_made
        if not self._symbols or (not self._cyclic and index >= len(self._symbols)):
            rounds = int(self.context.get("rounds", 1000))
            self._symbols = self._build(n, max(index + 1, self.offset + rounds))
        return one_hot(self._symbols[index % len(self._symbols)], n)
