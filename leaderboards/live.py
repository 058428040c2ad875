"""Ratings updated as matches finish, for the live view of a run.

The stored leaderboard is computed in schedule order (:func:`build_leaderboard`); the
live one follows finish order, so its TrueSkill values may differ slightly while its
counts (W/L/D, matches, net per round) agree once the same matches are in. Both judge
a contest by the same margin rule (:class:`leaderboards.contests.OutcomeRule`), built
per game from ``margin_sd`` and that game's ``round_variance``.

>>> live = LiveRatings()
>>> live.add({"key": "m0", "game": "rps", "index": 0, "agents": ["a", "b"],
...           "status": "finished", "scores": {"a": 5.0, "b": -5.0}, "rounds": 5})
>>> live.leaderboard().agents(), live.leaderboard().row("a")["wins"]
(['a', 'b'], 1)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from leaderboards.contests import (
    DEFAULT_MARGIN_SD,
    RPS_ROUND_VARIANCE,
    ContestBuilder,
    OutcomeRule,
    Record,
    is_solo,
)
from leaderboards.solo import build_solo_leaderboard, compact_solo_record
from leaderboards.table import Leaderboard
from leaderboards.trueskill_ratings import Standings

#: one round's variance of the net between uniform players: one number for every game,
#: a mapping by game id, or a function of the game id (None or a missing id: the default)
RoundVariance = float | Mapping[str, float] | Callable[[str], float | None] | None


class _Game:
    def __init__(self, draw_probability: float, rule: OutcomeRule) -> None:
        self.standings = Standings(draw_probability=draw_probability)
        self.builder = ContestBuilder(rule)
        self.solo: list[Record] = []
        self.solo_board: Leaderboard | None = None


class LiveRatings:
    """Per-game ratings fed one finished match at a time (any order).

    ``add`` is O(1) for two-player records; a hide-and-seek pair is rated when its
    second half arrives. Solo-task series are kept as per-episode means (the round log
    is dropped) and the free-for-all is recomputed only when :meth:`leaderboard` is
    asked for after a new series came in.

    ``margin_sd`` and ``round_variance`` (see :data:`RoundVariance`) make each game's
    outcome rule, as :func:`leaderboards.build_leaderboard` takes them.
    """

    def __init__(self, *, draw_probability: float = 0.1, margin_sd: float = DEFAULT_MARGIN_SD,
                 round_variance: RoundVariance = None) -> None:
        self.draw_probability = draw_probability
        self.margin_sd = margin_sd
        self._variance = round_variance
        OutcomeRule(margin_sd)  # refuse a bad multiplier now, not at the first match
        self._games: dict[str, _Game] = {}
        self._latest: str | None = None

    def rule(self, game: str) -> OutcomeRule:
        """The outcome rule of ``game``."""
        source = self._variance
        if callable(source):
            variance = source(game)
        elif isinstance(source, Mapping):
            variance = source.get(game)
        else:
            variance = source
        return OutcomeRule(self.margin_sd,
                           RPS_ROUND_VARIANCE if variance is None else float(variance))

    def games(self) -> list[str]:
        """Game ids seen so far, in the order they first appeared."""
        return list(self._games)

    def add(self, record: Record | Any) -> None:
        """Add one finished match: a record mapping or a ``MatchResult``."""
        if not isinstance(record, dict) and hasattr(record, "to_dict"):
            record = record.to_dict()
        game_id = str(record.get("game") or "")
        game = self._games.get(game_id)
        if game is None:
            game = self._games[game_id] = _Game(self.draw_probability, self.rule(game_id))
        self._latest = game_id
        if is_solo(record):
            game.solo.append(compact_solo_record(record))
            game.solo_board = None
            return
        game.standings.count_record(record)
        contest = game.builder.add(record)
        if contest is not None:
            game.standings.rate(contest)

    def leaderboard(self, *, game: str | None = None, title: str | None = None) -> Leaderboard:
        """The table of ``game`` (default: the game of the latest added match)."""
        game_id = self._latest if game is None else game
        state = self._games.get(game_id) if game_id is not None else None
        if state is None:
            return Standings(draw_probability=self.draw_probability).leaderboard(title=title)
        if state.solo and not state.standings:
            if state.solo_board is None:
                state.solo_board = build_solo_leaderboard(
                    state.solo, draw_probability=self.draw_probability)
            board = state.solo_board
            return Leaderboard(board.rows, columns=board.columns, title=title)
        return state.standings.leaderboard(title=title)
