"""TrueSkill leaderboards for two-player games, in schedule order or live.

TrueSkill's result depends on the order of updates. :func:`build_leaderboard` rates
contests (see :mod:`leaderboards.contests`) in schedule order (``index``), so a run
gives the same table at any concurrency; :class:`leaderboards.live.LiveRatings` feeds
the same :class:`Standings` as matches finish, for the live view. Both judge each
contest by the same margin rule (:class:`leaderboards.contests.OutcomeRule`): a win
only when the net is beyond ``margin_sd`` standard deviations of chance's net over
those rounds, otherwise a draw.

>>> recs = [{"key": "m0", "index": 0, "agents": ["b", "a"], "status": "finished",
...          "scores": {"b": 30.0, "a": -30.0}, "rounds": 100}]
>>> build_leaderboard(recs).agents()   # 30 > 2 * sqrt(2/3 * 100) = 16.3: a win
['b', 'a']
>>> build_leaderboard(recs, margin_sd=4).row("b")["draws"]   # 30 < 32.7: a draw
1

Columns: ``agent``, ``mu``, ``sigma``, ``score`` (mu - 3 sigma, the sort key),
``wins``, ``losses``, ``draws`` (by the margin rule), ``matches`` (contests: a
hide-and-seek pair counts once), ``net_per_round`` (the agent's total reward over its finished matches divided
by the rounds of those matches; with +1/0/-1 rounds this is net wins per round) and
``forfeits`` (contests lost by forfeit). When agents report ``stats`` the table adds
``invalid_rate`` (sum ``invalid`` / sum ``decisions``) and ``off_mass`` (sum
``off_mass`` / sum ``decisions``: the mean probability mass a language model put
outside the legal answers).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import trueskill

from leaderboards.contests import (
    DEFAULT_MARGIN_SD,
    FORFEIT,
    RPS_ROUND_VARIANCE,
    Contest,
    OutcomeRule,
    Record,
    contests,
    is_solo,
    record_order,
)
from leaderboards.table import Leaderboard

BASE_COLUMNS = ["agent", "mu", "sigma", "score", "wins", "losses", "draws", "matches",
                "net_per_round", "forfeits"]
# stat key in MatchResult.stats -> column of its rate; the denominator is ``decisions``.
RATE_STATS = {"invalid": "invalid_rate", "off_mass": "off_mass"}


def add_stats(totals: dict[str, float], record: Record, agent: str) -> None:
    """Add ``agent``'s numeric stats in ``record`` to ``totals`` (texts are not summed)."""
    for key, value in ((record.get("stats") or {}).get(agent) or {}).items():
        if isinstance(value, (int, float)):
            totals[key] = totals.get(key, 0.0) + float(value)


def make_env(draw_probability: float) -> trueskill.TrueSkill:
    """A private TrueSkill environment (never the module-global one)."""
    return trueskill.TrueSkill(draw_probability=draw_probability)


@dataclass
class _Tally:
    rating: trueskill.Rating
    wins: int = 0
    losses: int = 0
    draws: int = 0
    forfeits: int = 0
    net: float = 0.0
    rounds: int = 0
    stats: dict[str, float] = field(default_factory=dict)


class Standings:
    """Running TrueSkill ratings and counters; O(1) per contest or record."""

    def __init__(self, *, draw_probability: float = 0.1) -> None:
        self.env = make_env(draw_probability)
        self._agents: dict[str, _Tally] = {}

    def _tally(self, agent: str) -> _Tally:
        tally = self._agents.get(agent)
        if tally is None:
            tally = self._agents[agent] = _Tally(self.env.create_rating())
        return tally

    def count_record(self, record: Record) -> None:
        """Reward, rounds and reported stats of one match (rated or not)."""
        for name in record["agents"]:
            tally = self._tally(name)
            if record.get("status") != FORFEIT:
                tally.net += float((record.get("scores") or {}).get(name, 0.0))
                tally.rounds += int(record.get("rounds") or 0)
            add_stats(tally.stats, record, name)

    def rate(self, contest: Contest) -> None:
        ta, tb = self._tally(contest.a), self._tally(contest.b)
        for name in contest.forfeited_by:
            self._tally(name).forfeits += 1
        if contest.a == contest.b:
            return  # self-play says nothing about relative skill
        if contest.outcome == 0:
            ta.draws += 1
            tb.draws += 1
            ta.rating, tb.rating = trueskill.rate_1vs1(ta.rating, tb.rating, drawn=True,
                                                       env=self.env)
            return
        winner, loser = (ta, tb) if contest.outcome > 0 else (tb, ta)
        winner.wins += 1
        loser.losses += 1
        winner.rating, loser.rating = trueskill.rate_1vs1(winner.rating, loser.rating,
                                                             env=self.env)

    def __bool__(self) -> bool:
        return bool(self._agents)

    def leaderboard(self, *, title: str | None = None) -> Leaderboard:
        extras = [col for stat, col in RATE_STATS.items()
                  if any(stat in t.stats for t in self._agents.values())]
        rows = []
        for agent, t in self._agents.items():
            row: dict[str, Any] = {
                "agent": agent, "mu": t.rating.mu, "sigma": t.rating.sigma,
                "score": self.env.expose(t.rating), "wins": t.wins, "losses": t.losses,
                "draws": t.draws, "matches": t.wins + t.losses + t.draws,
                "net_per_round": t.net / t.rounds if t.rounds else 0.0,
                "forfeits": t.forfeits,
            }
            decisions = t.stats.get("decisions", 0.0)
            for stat, col in RATE_STATS.items():
                if col in extras:
                    row[col] = (t.stats[stat] / decisions
                                if stat in t.stats and decisions else None)
            rows.append(row)
        rows.sort(key=lambda r: (-r["score"], -r["mu"], r["agent"]))
        return Leaderboard(rows, columns=BASE_COLUMNS + extras, title=title)


def build_leaderboard(records: Iterable[Record], *, draw_probability: float = 0.1,
                      title: str | None = None, margin_sd: float = DEFAULT_MARGIN_SD,
                      round_variance: float = RPS_ROUND_VARIANCE) -> Leaderboard:
    """Rate two-player records in schedule order; see the module docstring.

    ``margin_sd`` and ``round_variance`` (one round's variance of the net between
    uniform players, in the game of ``records``) make the outcome rule.
    """
    records = list(records)
    rule = OutcomeRule(margin_sd, round_variance)
    standings = Standings(draw_probability=draw_probability)
    for record in sorted(records, key=record_order):
        if not is_solo(record):
            standings.count_record(record)
    for contest in contests(records, rule):
        standings.rate(contest)
    return standings.leaderboard(title=title)
