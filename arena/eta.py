"""How long a run has left, from what its matches have measured.

Each agent's time per round (per episode in a solo series) in each game is measured
from the decision times its matches report round by round: the median of the recent
ones, so a language model's first decision, which loads it, does not count for every
later one. Each game also has a cost per match beyond the decisions (building the env
and the agents, saving), measured from the matches that finished.

A match's time left is its rounds left times the sum of its seats' times per round,
plus the game's cost per match if it has not begun; the run's is the sum over every
match left, shared among the matches that run at once, and never less than the longest
match left. Language models are measured apart from bots and from each other. While a
match left seats a model that has not been measured in its game, the answer is
``None`` ("estimating…"), never a guess that the model costs nothing; a bot not yet
measured in a game counts as the other bots measured there.
"""

from __future__ import annotations

import statistics
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from arena.config import Config
from arena.game_facts import game_facts
from arena.places import model_agents
from arena.records import FINISHED, Fixture, MatchResult

#: measurements kept per agent and game, and per game's cost per match
_KEPT = 50


@dataclass
class _Running:
    game: str
    agents: tuple[str, ...]
    rounds: int
    done: int = 0
    began: float = 0.0


class Eta:
    """The estimate of a run's time left (see the module docstring)."""

    def __init__(self, fixtures: Iterable[Fixture], *, config: Config, lanes: int) -> None:
        """``fixtures``: the matches left to play; ``lanes``: how many run at once."""
        self.config, self.models, self.lanes = config, model_agents(config), max(1, lanes)
        self._waiting: dict[tuple[str, tuple[str, ...]], list[int]] = {}  # -> [count, rounds]
        for fixture in fixtures:
            entry = self._waiting.setdefault((fixture.game, fixture.agents), [0, 0])
            entry[0] += 1
            entry[1] += self._rounds(fixture)
        self._running: dict[str, _Running] = {}
        self._per_round: dict[tuple[str, str], deque[float]] = {}  # (agent, game) -> seconds
        self._per_match: dict[str, deque[float]] = {}  # game -> seconds beyond decisions

    def _rounds(self, fixture: Fixture) -> int:
        return fixture.episodes or game_facts(self.config.game(fixture.game)).rounds or 1

    def began(self, fixture: Fixture, now: float) -> None:
        entry = self._waiting.get((fixture.game, fixture.agents))
        rounds = self._rounds(fixture)
        if entry is not None:
            entry[0] -= 1
            entry[1] -= rounds
            if entry[0] <= 0:
                del self._waiting[(fixture.game, fixture.agents)]
        self._running[fixture.key] = _Running(fixture.game, fixture.agents, rounds, began=now)

    def progress(self, key: str, round_: int, seconds: dict[str, float]) -> None:
        running = self._running.get(key)
        if running is None:
            return
        running.done = max(running.done, round_)
        for agent, spent in seconds.items():
            self._per_round.setdefault((agent, running.game),
                                       deque(maxlen=_KEPT)).append(float(spent))

    def ended(self, key: str, now: float, result: MatchResult | None = None) -> None:
        """The match ``key`` is over; ``result``, when it finished, measures its game's
        cost per match."""
        running = self._running.pop(key, None)
        if running is None or result is None or result.status != FINISHED:
            return
        decided = sum(ms for entry in result.round_log
                      for ms in entry.get("latency_ms", {}).values()) / 1000
        self._per_match.setdefault(running.game, deque(maxlen=_KEPT)).append(
            max(0.0, now - running.began - decided))

    def _per_round_of(self, agent: str, game: str) -> float | None:
        measured = self._per_round.get((agent, game))
        if measured:
            return statistics.median(measured)
        if agent in self.models:
            return None
        bots = [s for (other, g), found in self._per_round.items()
                if g == game and other not in self.models for s in found]
        return statistics.median(bots) if bots else None

    def _round_cost(self, game: str, agents: tuple[str, ...]) -> float | None:
        total = 0.0
        for agent in agents:
            cost = self._per_round_of(agent, game)
            if cost is None:
                return None
            total += cost
        return total

    def seconds_left(self) -> float | None:
        """The run's time left, or ``None`` while a match left cannot be estimated."""
        work = longest = 0.0
        matches = len(self._running)
        for running in self._running.values():
            cost = self._round_cost(running.game, running.agents)
            if cost is None:
                return None
            left = max(0, running.rounds - running.done) * cost
            work, longest = work + left, max(longest, left)
        for (game, agents), (count, rounds) in self._waiting.items():
            cost = self._round_cost(game, agents)
            overhead = self._per_match.get(game) or [
                s for found in self._per_match.values() for s in found]
            if cost is None or not overhead:
                return None
            extra = statistics.median(overhead)
            work += rounds * cost + count * extra
            longest = max(longest, rounds / count * cost + extra)
            matches += count
        if matches == 0:
            return 0.0
        return max(work / min(self.lanes, matches), longest)
