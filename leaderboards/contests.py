"""Turn two-player match records into rated contests.

A *contest* is what a rating system sees as one game: a single match, or, for
hide-and-seek, a role-swapped pair of matches sharing a ``group``. A single
hide-and-seek match mostly says which role an agent drew, so the pair is judged as
a whole: whoever scored more over both halves wins it.

Rules, applied identically by every rating system in this package:

* a group is a contest once :data:`GROUP_SIZE` records with that ``group`` are in;
  until then it is pending (an interrupted run leaves it out rather than rating half);
* an agent that forfeits any match of the contest loses it (if both forfeit, it is a
  draw); a forfeit without ``forfeited_by`` (no culprit known) voids the contest;
* otherwise the contest is won by the higher total score, drawn on equal totals.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

GROUP_SIZE = 2
FORFEIT = "forfeit"

Record = Mapping[str, Any]


@dataclass(frozen=True)
class Contest:
    """One rated game between two agents.

    ``outcome`` is +1 when ``a`` won, -1 when ``b`` won, 0 for a draw.
    """

    a: str
    b: str
    outcome: int
    forfeited_by: frozenset[str] = field(default_factory=frozenset)
    index: int = 0

    def result_for(self, agent: str) -> int:
        """+1 win, 0 draw, -1 loss from ``agent``'s side."""
        return self.outcome if agent == self.a else -self.outcome


def record_order(record: Record) -> tuple[int, str]:
    """Schedule order: the record's ``index``, ties broken by ``key``."""
    return (int(record.get("index") or 0), str(record.get("key", "")))


def is_solo(record: Record) -> bool:
    return len(record.get("agents") or ()) == 1


def contest_from(records: list[Record]) -> Contest | None:
    """Judge the records of one contest; ``None`` when it is void."""
    first = records[0]
    a, b = first["agents"][0], first["agents"][1]
    forfeiters: set[str] = set()
    totals = {a: 0.0, b: 0.0}
    for record in records:
        if record.get("status") == FORFEIT:
            culprit = record.get("forfeited_by")
            if culprit not in totals:
                return None
            forfeiters.add(culprit)
        scores = record.get("scores") or {}
        for name in totals:
            totals[name] += float(scores.get(name, 0.0))
    if forfeiters == {a}:
        outcome = -1
    elif forfeiters == {b}:
        outcome = 1
    elif forfeiters:
        outcome = 0
    else:
        outcome = (totals[a] > totals[b]) - (totals[a] < totals[b])
    index = min(int(r.get("index") or 0) for r in records)
    return Contest(a, b, outcome, frozenset(forfeiters), index)


class ContestBuilder:
    """Feed records one at a time (any order); get contests as they complete.

    Memory is bounded by the number of pending half-pairs, not by the run length.
    """

    def __init__(self) -> None:
        self._pending: dict[str, list[Record]] = {}

    def add(self, record: Record) -> Contest | None:
        """The contest ``record`` completes; ``None`` while it is pending or when void."""
        group = record.get("group")
        if group is None:
            return contest_from([record])
        halves = self._pending.setdefault(str(group), [])
        halves.append(record)
        if len(halves) < GROUP_SIZE:
            return None
        del self._pending[str(group)]
        return contest_from(sorted(halves, key=record_order))


def contests(records: Iterable[Record]) -> list[Contest]:
    """All complete, non-void contests of ``records`` in schedule order."""
    builder = ContestBuilder()
    found = []
    for record in sorted((r for r in records if not is_solo(r)), key=record_order):
        contest = builder.add(record)
        if contest is not None:
            found.append(contest)
    # A pair completes at its later half; rate it at its first, as scheduled.
    return sorted(found, key=lambda c: c.index)
