"""Resolving a parsed config into a :class:`Config`, with the checks that need more than shape.

:func:`resolve_config` takes the :class:`ParsedConfig` pydantic has validated and builds a
new, frozen :class:`Config`: ``game:`` becomes a one-game tuple and each game gets its
effective format. On the way it checks everything that needs the registry or the envs:
agent types and options, game ids, constructor arguments (each game is built once),
gauntlet opponents, name clashes. The first problem raises a one-line ConfigError.
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from arena.config_model import (
    AgentConfig,
    Config,
    Format,
    GameConfig,
    Gauntlet,
    ParsedConfig,
    ParsedGame,
    RoundRobin,
    Solo,
)
from arena.config_names import check_names, name_problem, normalised
from arena.errors import ConfigError
from arena.option_types import option_type_problem
from arena.registry import (
    RegistryError,
    accepted_options,
    can_play,
    get_agent_class,
    is_file_path,
    load_file,
    option_problem,
)

#: builds the ConfigError for a key path and a problem (the source file is bound in)
Err = Callable[[str, str], ConfigError]

# Size limits of a game (README, "Writing a config"), checked before the game is built once:
#: rounds of a match (``rounds``)
MAX_ROUNDS = 100_000
#: steps of a solo episode (``length``)
MAX_EPISODE_STEPS = 10_000
#: actions of a game: ``n_actions``, the nodes of a hide-and-seek ``graph``, the numbers
#: ``low``..``high``
MAX_ACTIONS = 1_000
#: characters of a written answer (``max_chars``)
MAX_TEXT_CHARS = 100_000
#: matches a whole run schedules
MAX_SCHEDULED = 100_000

_SIZED_ARGS = (("rounds", MAX_ROUNDS, "rounds"), ("length", MAX_EPISODE_STEPS, "steps"),
               ("n_actions", MAX_ACTIONS, "actions"), ("max_chars", MAX_TEXT_CHARS,
                                                       "characters"))


def game_parameters(entry: Any) -> set[str] | None:
    """Keyword names a game constructor accepts, or ``None`` when it takes anything.

    PettingZoo's ``parallel_wrapper_fn`` hides the real signature behind ``**kwargs``;
    the module's ``raw_env`` then has it.
    """
    candidates = [entry]
    module = importlib.import_module(entry.__module__) if hasattr(entry, "__module__") else None
    if module is not None and hasattr(module, "raw_env"):
        candidates.append(module.raw_env)
    for fn in candidates:
        try:
            accepted = accepted_options(fn)
        except (TypeError, ValueError):
            continue
        if accepted is not None:
            return accepted
    return None


def agent_plays(config: Config, name: str, game_id: str) -> bool:
    """Whether agent ``name`` may play ``game_id`` (its class's and its config's ``games``)."""
    return _plays(config.agent(name), game_id)


def _plays(spec: AgentConfig, game_id: str) -> bool:
    if not can_play(get_agent_class(spec.type), game_id):
        return False
    return spec.games is None or game_id in spec.games


def _effective_format(parsed: ParsedConfig, games: tuple[ParsedGame, ...], game: ParsedGame,
                      solo: bool, where: str, err: Err) -> Format:
    """The game's own format, else the top-level one if it suits the game, else the default."""
    want = "solo" if solo else "round_robin or gauntlet"
    if game.format is not None:
        if solo != isinstance(game.format, Solo):
            raise err(f"{where}.format.type", f"game {game.id!r} needs format type {want}, "
                      f"not {game.format.type!r}")
        return game.format
    top = parsed.format
    if top is not None and solo == isinstance(top, Solo):
        return top
    if top is not None and len(games) == 1:  # the top format can only have meant this game
        raise err("format.type", f"game {game.id!r} needs format type {want}, not {top.type!r}")
    # a game of the other kind in a `games:` list, or no format at all
    return Solo(type="solo") if solo else RoundRobin(type="round_robin")


def _defaults(entry: Any) -> dict[str, Any]:
    """The keyword defaults of a game constructor (or of its module's ``raw_env``)."""
    candidates = [entry]
    module = importlib.import_module(entry.__module__) if hasattr(entry, "__module__") else None
    if module is not None and hasattr(module, "raw_env"):
        candidates.append(module.raw_env)
    found: dict[str, Any] = {}
    for fn in reversed(candidates):
        try:
            parameters = inspect.signature(fn).parameters.values()
        except (TypeError, ValueError):
            continue
        found.update({p.name: p.default for p in parameters if p.default is not p.empty})
    return found


def _whole(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def board_nodes(spec: str) -> int | None:
    """The nodes of a named hide-and-seek board (``line-N``, ``cycle-N``, ``complete-N``,
    ``grid-RxC``) without building it; ``None`` for any other name."""
    if match := re.fullmatch(r"(?:line|cycle|complete)-(\d+)", spec):
        sizes = [match[1]]
    elif match := re.fullmatch(r"grid-(\d+)x(\d+)", spec):
        sizes = [match[1], match[2]]
    else:
        return None
    nodes = 1
    for digits in sizes:  # a 5000-digit size must not reach int()
        nodes *= int(digits) if len(digits.lstrip("0")) <= 12 else 10 ** 12
    return nodes


def _check_sizes(entry: Any, game: ParsedGame, where: str, err: Err) -> None:
    """The size arguments any game may take, against the limits above, before the game is
    built (``grid-3000x3000`` or ``rounds: 10**12`` would take gigabytes to find out)."""
    args = {**_defaults(entry), **game.args}
    for key, limit, what in _SIZED_ARGS:
        value = _whole(args.get(key))
        if value is not None and value > limit:
            raise err(f"{where}.{key}", f"{value:,} {what} is more than the limit of "
                      f"{limit:,} (see the limits in the README)")
    low, high = _whole(args.get("low")), _whole(args.get("high"))
    if low is not None and high is not None and high - low + 1 > MAX_ACTIONS:
        key = "high" if "high" in game.args else "low"
        raise err(f"{where}.{key}", f"low..high holds {high - low + 1:,} numbers, more than "
                  f"the limit of {MAX_ACTIONS:,} actions (see the limits in the README)")
    graph = args.get("graph")
    nodes = board_nodes(graph) if isinstance(graph, str) else None
    if nodes is not None and nodes > MAX_ACTIONS:
        shown = f"{nodes:,}" if nodes < 10 ** 12 else "too many"
        raise err(f"{where}.graph", f"{graph[:40]!r} has {shown} nodes, more than the limit "
                  f"of {MAX_ACTIONS:,} (see the limits in the README)")


def _check_arguments(entry: Any, game: ParsedGame, where: str, err: Err) -> None:
    """Names first (a clear message), then sizes, then one real construction (the env's
    own checks)."""
    accepted = game_parameters(entry)
    if accepted is not None:
        for arg in game.args:
            if arg not in accepted:
                raise err(f"{where}.{arg}", f"unknown argument of game {game.id!r} "
                          f"(arguments: {', '.join(sorted(accepted - {'render_mode'}))})")
    nan = _nan_at(game.args, where)
    if nan is not None:
        raise err(nan, "NaN is not a valid value here")
    _check_sizes(entry, game, where, err)
    try:
        env = entry(**game.args)
    except (TypeError, ValueError) as exc:
        raise err(where, f"invalid arguments for game {game.id!r}: {exc}") from None
    close = getattr(env, "close", None)
    if callable(close):
        close()


def _resolve_game(parsed: ParsedConfig, games: tuple[ParsedGame, ...], game: ParsedGame,
                  where: str, err: Err) -> GameConfig:
    from envs import get_game  # imports gymnasium; only needed once a config is checked

    try:
        spec = get_game(game.id)
    except ValueError as exc:
        raise err(f"{where}.id", str(exc)) from None
    solo = spec.solo
    fmt = _effective_format(parsed, games, game, solo, where, err)
    _check_arguments(spec.load(), game, where, err)
    players = [a.name for a in parsed.agents if _plays(a, game.id)]
    needed = 1 if solo else 2
    if len(players) < needed:
        raise err(where, f"game {game.id!r} needs at least {needed} agents that can play it, "
                  f"found {len(players)}")
    if isinstance(fmt, Gauntlet):
        # an inherited format is reported where the user wrote it: at the top level
        fmt_path = "format" if fmt is parsed.format else f"{where}.format"
        _check_opponents(parsed, game.id, fmt, players, f"{fmt_path}.opponents", err)
    return GameConfig(id=game.id, args=game.args, format=fmt)


def _check_opponents(parsed: ParsedConfig, game_id: str, fmt: Gauntlet, players: list[str],
                     path: str, err: Err) -> None:
    """A gauntlet needs real, distinct opponents and someone left to challenge them."""
    opponents = fmt.opponents
    names = {a.name for a in parsed.agents}
    for i, opp in enumerate(opponents):
        if opp not in names:
            raise err(f"{path}[{i}]", f"no agent named {opp!r}")
        if opp in opponents[:i]:
            raise err(f"{path}[{i}]", f"{opp!r} is listed twice")
    if not any(p in opponents for p in players):
        raise err(path, f"none of the opponents plays {game_id!r}: the gauntlet has no matches")
    if all(p in opponents for p in players):
        raise err(path, f"every agent that plays {game_id!r} is an opponent: nobody is left "
                  "to challenge them")


def scheduled_matches(parsed: ParsedConfig, games: tuple[GameConfig, ...]) -> int:
    """How many matches the schedule of ``games`` will hold, counted without building it."""
    total = 0
    for game in games:
        players = [a.name for a in parsed.agents if _plays(a, game.id)]
        fmt = game.format
        if isinstance(fmt, Solo):
            total += len(players)
        elif isinstance(fmt, Gauntlet):
            opponents = sum(p in fmt.opponents for p in players)
            total += (len(players) - opponents) * opponents * fmt.matches * 2
        else:
            total += len(players) * (len(players) - 1) // 2 * fmt.matches * 2
    return total


def _check_schedule_size(parsed: ParsedConfig, games: tuple[GameConfig, ...],
                         source: str) -> None:
    total = scheduled_matches(parsed, games)
    if total > MAX_SCHEDULED:
        raise ConfigError(f"the schedule would hold {total:,} matches, more than the limit of "
                          f"{MAX_SCHEDULED:,}: fewer agents or matches (see the limits in the "
                          "README)", file=source)



# -- names ---------------------------------------------------------------------------
# Every name a config gives (agents, the run, gauntlet opponents) is NFC-normalised, so
# "café" typed in NFC or NFD is one name. A name may not hold characters that are invisible
# or change how text around them is shown, and no two agent names may look alike.

def _nan_at(value: Any, path: str) -> str | None:
    """The key path of the first NaN in ``value`` (YAML ``.nan``), or ``None``: no option
    or game argument means anything by it, and every comparison with it is false."""
    if isinstance(value, float) and value != value:
        return path
    if isinstance(value, dict):
        items: Any = ((f"{path}.{k}", v) for k, v in value.items())
    elif isinstance(value, (list, tuple)):
        items = ((f"{path}[{i}]", v) for i, v in enumerate(value))
    else:
        return None
    for where, item in items:
        found = _nan_at(item, where)
        if found is not None:
            return found
    return None


def _check_agents(parsed: ParsedConfig, err: Err) -> None:
    from envs import GAMES

    check_names(parsed, err)
    for i, agent in enumerate(parsed.agents):
        nan = _nan_at(agent.options, f"agents[{i}]")
        if nan is not None:
            raise err(nan, "NaN is not a valid value here")
        try:
            cls = get_agent_class(agent.type)
        except RegistryError as exc:
            raise err(f"agents[{i}].type", str(exc)) from None
        problem = (option_problem(agent.type, cls, agent.options)
                   or option_type_problem(cls, agent.options))
        if problem is not None:
            raise err(f"agents[{i}].{problem[0]}", problem[1])
        for j, game_id in enumerate(agent.games or ()):
            if game_id not in GAMES:
                raise err(f"agents[{i}].games[{j}]", f"unknown game {game_id!r}")


def resolve_config(parsed: ParsedConfig, *, source: str,
                   games_list: bool | None = None) -> Config:
    """Check ``parsed`` and build the tournament it describes; ``parsed`` is left as it was.

    ``games_list`` is a stored snapshot's value; by default, whether the file said ``games:``.
    """

    def err(path: str, problem: str) -> ConfigError:
        return ConfigError(problem, file=source, path=path)

    parsed = normalised(parsed)
    problem = name_problem(parsed.name, what="a run name")
    if problem is not None:
        raise err("name", problem)
    # the name becomes the run directory runs/<name>-<time>: one plain path component
    if any(c in parsed.name for c in "/\\") or parsed.name != parsed.name.strip():
        raise err("name", f"{parsed.name!r}: a run name may not contain '/' or '\\' or "
                  "start or end with spaces")
    if (parsed.game is None) == (not parsed.games):
        raise err("game", "give exactly one of 'game' (one game) or 'games' (a list)")
    single = parsed.game is not None
    games = (parsed.game,) if parsed.game is not None else tuple(parsed.games)
    ids = [g.id for g in games]
    for i, game_id in enumerate(ids):
        if game_id in ids[:i]:
            raise err(f"games[{i}].id", f"game {game_id!r} is listed twice")
    plugins = _load_plugins(parsed, source, err)
    parsed = _files_from_config_folder(parsed, source)
    _check_agents(parsed, err)
    resolved = tuple(_resolve_game(parsed, games, game, "game" if single else f"games[{i}]", err)
                     for i, game in enumerate(games))
    _check_schedule_size(parsed, resolved, source)
    return Config(name=parsed.name, seed=parsed.seed, games=resolved, format=parsed.format,
                  agents=tuple(parsed.agents), rating=parsed.rating,
                  concurrency=parsed.concurrency, timeout=parsed.timeout,
                  games_list=not single if games_list is None else games_list,
                  plugins=plugins, memory=parsed.memory)


def _in_config_folder(path: str, source: str) -> str:
    """``path`` made absolute, read from the config file's folder when relative."""
    base = Path(source).parent if Path(source).is_file() else Path.cwd()
    return str((base / Path(path).expanduser()).resolve())


def _load_plugins(parsed: ParsedConfig, source: str, err: Err) -> tuple[str, ...]:
    """Load each plugin file (it registers agent types, maybe games); their full paths."""
    paths = []
    for i, plugin in enumerate(parsed.plugins):
        path = _in_config_folder(plugin, source)
        try:
            load_file(path)
        except RegistryError as exc:
            raise err(f"plugins[{i}]", str(exc)) from None
        paths.append(path)
    return tuple(paths)


def _files_from_config_folder(parsed: ParsedConfig, source: str) -> ParsedConfig:
    """Agent types naming a file (``bots/mine.py:MyBot``) get its full path, so every
    process of the run (and a resume from another folder) finds the same file."""
    agents = []
    for agent in parsed.agents:
        module, sep, attr = agent.type.rpartition(":")
        if sep and is_file_path(module):
            agent = agent.model_copy(update={"type": f"{_in_config_folder(module, source)}:{attr}"})
        agents.append(agent)
    return parsed.model_copy(update={"agents": agents})
