"""Turn two-player match records into rated contests.

A *contest* is what a rating system sees as one game: a single match, or, for
hide-and-seek, a role-swapped pair of matches sharing a ``group``. A single
hide-and-seek match mostly says which role an agent drew, so the pair is judged as
a whole, on its combined net over both halves.

Rules, applied identically by every rating system in this package (TrueSkill in
schedule order, the live view's TrueSkill in finish order, Bradley-Terry):

* a group is a contest once :data:`GROUP_SIZE` records with that ``group`` are in;
  until then it is pending (an interrupted run leaves it out rather than rating half);
* an agent that forfeits any match of the contest loses it (if both forfeit, it is a
  draw); a forfeit without ``forfeited_by`` (no culprit known) voids the contest;
* otherwise the **margin** decides (:class:`OutcomeRule`): the contest is won only when
  its net is beyond what chance gives over that many rounds, else it is a draw.

The margin rule
---------------

The null model is two independent players who pick uniformly at random every round.
One round's net of the first player then has variance ``v``, the variance of the
stage game's payoff matrix over all its cells (:func:`round_variance`): in
rock-paper-scissors the net is +1, 0 or -1 with probability 1/3 each, so ``v = 2/3``
(:data:`RPS_ROUND_VARIANCE`); in hide-and-seek a round is +1 or -1 and ``v = 4p(1-p)``
for ``p`` the share of (search, hide) pairs that find. Over ``n`` rounds the net has
standard deviation ``sqrt(v n)`` (about 11.5 for 200 rounds of rock-paper-scissors),
and a contest is a win only when ``|net| > margin_sd * sqrt(v n)`` (``margin_sd``
defaults to 2: about 23 at 200 rounds). ``net`` is half the difference of the two
totals, which in a zero-sum game is the first agent's total; a hide-and-seek pair
adds both halves' totals and rounds (the uniform seeker's and hider's expected
payoffs cancel over the pair). ``margin_sd = 0`` gives the plain rule "the higher
total wins". Records do not carry the payoff matrix: the caller hands in ``v`` per
game (``arena`` computes it from the game's own payoff matrix); the default is
rock-paper-scissors'.

>>> rule = OutcomeRule()
>>> round(rule.threshold(200), 2)
23.09
>>> rule.outcome(10.0, 200), rule.outcome(-30.0, 200)
(0, -1)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

GROUP_SIZE = 2
FORFEIT = "forfeit"
#: the default multiplier: a win needs a net beyond this many standard deviations of chance
DEFAULT_MARGIN_SD = 2.0
#: one round of rock-paper-scissors between uniform players: +1, 0, -1 w.p. 1/3 each
RPS_ROUND_VARIANCE = 2.0 / 3.0

Record = Mapping[str, Any]


def round_variance(payoff: Any) -> float:
    """Variance of one round's payoff to the row player when both pick uniformly at
    random: the mean of the squared cells minus the squared mean of the cells."""
    cells = [float(x) for row in payoff for x in row]
    if not cells:
        raise ValueError("the payoff matrix is empty")
    mean = sum(cells) / len(cells)
    return max(0.0, sum((x - mean) ** 2 for x in cells) / len(cells))


def _check(name: str, value: float) -> float:
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return value


@dataclass(frozen=True)
class OutcomeRule:
    """Who won a contest: the margin must exceed ``margin_sd`` standard deviations of
    the net of two uniform players over the contest's rounds (module docstring)."""

    margin_sd: float = DEFAULT_MARGIN_SD
    round_variance: float = RPS_ROUND_VARIANCE

    def __post_init__(self) -> None:
        object.__setattr__(self, "margin_sd", _check("margin_sd", self.margin_sd))
        object.__setattr__(self, "round_variance",
                           _check("round_variance", self.round_variance))

    def threshold(self, rounds: int) -> float:
        """The margin a contest of ``rounds`` rounds must exceed to be won."""
        return self.margin_sd * math.sqrt(self.round_variance * max(int(rounds), 0))

    def outcome(self, net: float, rounds: int) -> int:
        """+1 when ``net`` exceeds the threshold, -1 when ``-net`` does, else 0 (draw)."""
        limit = self.threshold(rounds)
        return (net > limit) - (net < -limit)


@dataclass(frozen=True)
class Contest:
    """One rated game between two agents.

    ``outcome`` is +1 when ``a`` won, -1 when ``b`` won, 0 for a draw. ``net`` is
    ``a``'s margin (half the difference of the totals) over the ``rounds`` played;
    both are 0 for a contest decided by a forfeit.
    """

    a: str
    b: str
    outcome: int
    forfeited_by: frozenset[str] = field(default_factory=frozenset)
    index: int = 0
    net: float = 0.0
    rounds: int = 0


def record_order(record: Record) -> tuple[int, str]:
    """Schedule order: the record's ``index``, ties broken by ``key``."""
    return (int(record.get("index") or 0), str(record.get("key", "")))


def is_solo(record: Record) -> bool:
    return len(record.get("agents") or ()) == 1


def contest_from(records: list[Record], rule: OutcomeRule | None = None) -> Contest | None:
    """Judge the records of one contest by ``rule`` (default :class:`OutcomeRule`);
    ``None`` when it is void."""
    rule = OutcomeRule() if rule is None else rule
    first = records[0]
    a, b = first["agents"][0], first["agents"][1]
    forfeiters: set[str] = set()
    totals = {a: 0.0, b: 0.0}
    rounds = 0
    for record in records:
        if record.get("status") == FORFEIT:
            culprit = record.get("forfeited_by")
            if culprit not in totals:
                return None
            forfeiters.add(culprit)
        scores = record.get("scores") or {}
        for name in totals:
            totals[name] += float(scores.get(name, 0.0))
        rounds += int(record.get("rounds") or 0)
    index = min(int(r.get("index") or 0) for r in records)
    if forfeiters:
        outcome = -1 if forfeiters == {a} else 1 if forfeiters == {b} else 0
        return Contest(a, b, outcome, frozenset(forfeiters), index)
    net = (totals[a] - totals[b]) / 2
    return Contest(a, b, rule.outcome(net, rounds), frozenset(), index, net, rounds)


class ContestBuilder:
    """Feed records one at a time (any order); get contests as they complete, judged
    by ``rule``.

    Memory is bounded by the number of pending half-pairs, not by the run length.
    """

    def __init__(self, rule: OutcomeRule | None = None) -> None:
        self.rule = OutcomeRule() if rule is None else rule
        self._pending: dict[str, list[Record]] = {}

    def add(self, record: Record) -> Contest | None:
        """The contest ``record`` completes; ``None`` while it is pending or when void."""
        group = record.get("group")
        if group is None:
            return contest_from([record], self.rule)
        halves = self._pending.setdefault(str(group), [])
        halves.append(record)
        if len(halves) < GROUP_SIZE:
            return None
        del self._pending[str(group)]
        return contest_from(sorted(halves, key=record_order), self.rule)


def contests(records: Iterable[Record], rule: OutcomeRule | None = None) -> list[Contest]:
    """All complete, non-void contests of ``records`` in schedule order, judged by
    ``rule`` (default: :class:`OutcomeRule`, margin 2 sd of rock-paper-scissors)."""
    builder = ContestBuilder(rule)
    found = []
    for record in sorted((r for r in records if not is_solo(r)), key=record_order):
        contest = builder.add(record)
        if contest is not None:
            found.append(contest)
    # A pair completes at its later half; rate it at its first, as scheduled.
    return sorted(found, key=lambda c: c.index)
