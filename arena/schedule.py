"""The match list: who plays whom, in which seat, with which seed, in which order.

Keys are stable and readable, and each seed is a hash of the config seed and the key,
so a match's outcome does not depend on when, or next to what, it is played:

* round robin / gauntlet in RPS-like games: ``rps/random-vs-freq/0`` (seat order as
  written; every pairing appears in both seat orders);
* hide-and-seek (role-swapped pairs): ``hide_and_seek/a-vs-b/0/a-hides`` and
  ``.../b-hides``; both halves share the pair's seed and ``group`` (the pair key);
* solo tasks: ``random_number/uniform`` -- one series of episodes per agent, and the
  series seed is the same for every agent, so all see the same episode seeds.

``index`` is the position in the schedule; ratings are computed in that order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from arena.config import Config, GameConfig, Gauntlet, Solo
from arena.errors import ConfigError
from arena.records import Fixture
from arena.seeds import derive_seed, series_seed


@dataclass
class Schedule:
    fixtures: list[Fixture]
    notices: list[str]


def _pairings(names: list[str], game: GameConfig) -> Iterator[tuple[str, str]]:
    """Unordered pairings, each once, in config order."""
    fmt = game.format
    if isinstance(fmt, Gauntlet):
        opponents = [n for n in fmt.opponents if n in names]
        for challenger in (n for n in names if n not in fmt.opponents):
            for opp in opponents:
                yield challenger, opp
        return
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            yield a, b


__all__ = ["Fixture", "Schedule", "build_schedule", "derive_seed", "series_seed"]


def _two_player(config: Config, game: GameConfig, names: list[str]) -> Iterator[dict]:
    matches = game.format.matches  # type: ignore[union-attr]
    from envs import get_game

    verb = get_game(game.id).role_swap
    for a, b in _pairings(names, game):
        for m in range(matches):
            if verb is None:
                for first, second in ((a, b), (b, a)):
                    key = f"{game.id}/{first}-vs-{second}/{m}"
                    yield {"key": key, "agents": (first, second),
                           "seed": derive_seed(config.seed, key)}
                continue
            group = f"{game.id}/{a}-vs-{b}/{m}"
            seed = derive_seed(config.seed, group)
            for first, second in ((a, b), (b, a)):
                yield {"key": f"{group}/{first}-{verb}", "agents": (first, second),
                       "seed": seed, "group": group}


def build_schedule(config: Config) -> Schedule:
    """Every match of the tournament, in schedule order, plus notices about skipped agents."""
    from arena.config_checks import agent_plays

    fixtures: list[Fixture] = []
    notices: list[str] = []
    for game in config.games:
        names = []
        for agent in config.agents:
            if agent_plays(config, agent.name, game.id):
                names.append(agent.name)
            else:
                notices.append(f"agent {agent.name!r} does not play {game.id!r}; skipped there")
        if isinstance(game.format, Solo):
            seed = series_seed(config.seed, game.id)
            specs = [{"key": f"{game.id}/{n}", "agents": (n,), "seed": seed,
                      "episodes": game.format.episodes} for n in names]
        else:
            specs = list(_two_player(config, game, names))
        for spec in specs:
            fixtures.append(Fixture(index=len(fixtures), game=game.id, **spec))
    keys = [f.key for f in fixtures]
    if len(set(keys)) != len(keys):
        dup = next(k for i, k in enumerate(keys) if k in keys[:i])
        raise ConfigError(f"two matches get the key {dup!r}; rename an agent", path="agents")
    return Schedule(fixtures=fixtures, notices=notices)
