"""The checks a config needs beyond its shape: real agent types, real game arguments.

Called by :func:`arena.config.parse_config` after pydantic has validated the shape. It
normalises ``game:`` into ``games:``, gives each game its effective format, and checks
everything that needs the registry or the envs: agent types and options, game ids,
constructor arguments (each game is built once), gauntlet opponents, name clashes.
"""

from __future__ import annotations

import importlib
from typing import Any

from arena.config import Config, GameConfig, RoundRobin, Solo
from arena.errors import ConfigError
from arena.registry import RegistryError, accepted_options, get_agent_class, option_problem


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
    spec = config.agent(name)
    allowed = getattr(get_agent_class(spec.type), "games", None)
    if allowed is not None and game_id not in allowed:
        return False
    return spec.games is None or game_id in spec.games


def _check_game(config: Config, game: GameConfig, where: str, err: Any) -> None:
    from envs import get_game  # imports gymnasium; only needed once a config is checked

    try:
        spec = get_game(game.id)
    except ValueError as exc:
        raise err(f"{where}.id", str(exc)) from None
    solo = spec.kind == "solo"
    want = "solo" if solo else "round_robin or gauntlet"
    if game.format is not None and solo != isinstance(game.format, Solo):
        raise err(f"{where}.format.type", f"game {game.id!r} needs format type {want}, "
                  f"not {game.format.type!r}")
    if game.format is None:
        top = config.format
        if top is not None and solo == isinstance(top, Solo):
            game.format = top
        elif top is not None and len(config.games) == 1:
            raise err("format.type", f"game {game.id!r} needs format type {want}, "
                      f"not {top.type!r}")
        else:  # a game of the other kind in a `games:` list, or no format at all
            game.format = Solo(type="solo") if solo else RoundRobin(type="round_robin")
    fmt_path = "format" if game.format is config.format else f"{where}.format"
    entry = spec.load()
    accepted = game_parameters(entry)
    if accepted is not None:
        for arg in game.args:
            if arg not in accepted:
                raise err(f"{where}.{arg}", f"unknown argument of game {game.id!r} "
                          f"(arguments: {', '.join(sorted(accepted - {'render_mode'}))})")
    try:
        env = entry(**game.args)
    except (TypeError, ValueError) as exc:
        raise err(where, f"invalid arguments for game {game.id!r}: {exc}") from None
    close = getattr(env, "close", None)
    if callable(close):
        close()
    players = [a.name for a in config.agents if agent_plays(config, a.name, game.id)]
    needed = 1 if spec.kind == "solo" else 2
    if len(players) < needed:
        raise err(where, f"game {game.id!r} needs at least {needed} agents that can play it, "
                  f"found {len(players)}")
    if hasattr(game.format, "opponents"):
        _check_opponents(config, game, players, f"{fmt_path}.opponents", err)


def _check_opponents(config: Config, game: GameConfig, players: list[str], path: str,
                     err: Any) -> None:
    """A gauntlet needs real, distinct opponents and someone left to challenge them."""
    opponents = game.format.opponents  # type: ignore[union-attr]
    names = {a.name for a in config.agents}
    for i, opp in enumerate(opponents):
        if opp not in names:
            raise err(f"{path}[{i}]", f"no agent named {opp!r}")
        if opp in opponents[:i]:
            raise err(f"{path}[{i}]", f"{opp!r} is listed twice")
    if not any(p in opponents for p in players):
        raise err(path, f"none of the opponents plays {game.id!r}: the gauntlet has no matches")
    if all(p in opponents for p in players):
        raise err(path, f"every agent that plays {game.id!r} is an opponent: nobody is left "
                  "to challenge them")


def _check_agents(config: Config, err: Any) -> None:
    from envs import GAMES

    seen: set[str] = set()
    for i, agent in enumerate(config.agents):
        if agent.name in seen:
            raise err(f"agents[{i}].name", f"duplicate agent name {agent.name!r}")
        if "/" in agent.name or agent.name != agent.name.strip():
            raise err(f"agents[{i}].name", f"{agent.name!r}: names may not contain '/' or "
                      "start or end with spaces")
        seen.add(agent.name)
        try:
            cls = get_agent_class(agent.type)
        except RegistryError as exc:
            raise err(f"agents[{i}].type", str(exc)) from None
        problem = option_problem(agent.type, cls, agent.options)
        if problem is not None:
            raise err(f"agents[{i}].{problem[0]}", problem[1])
        for j, game_id in enumerate(agent.games or ()):
            if game_id not in GAMES:
                raise err(f"agents[{i}].games[{j}]", f"unknown game {game_id!r}")


def check_config(config: Config, raw: dict[str, Any], *, source: str) -> None:
    """Normalise and check ``config`` in place; raise a one-line ConfigError on a problem."""

    def err(path: str, problem: str) -> ConfigError:
        return ConfigError(problem, file=source, path=path)

    # the name becomes the run directory runs/<name>-<time>: one plain path component
    if any(c in config.name for c in "/\\\0") or config.name != config.name.strip():
        raise err("name", f"{config.name!r}: a run name may not contain '/' or '\\' or "
                  "start or end with spaces")
    if (config.game is None) == (not config.games):
        raise err("game", "give exactly one of 'game' (one game) or 'games' (a list)")
    single = config.game is not None
    if single:
        config.games = [config.game]
        config.game = None
    config._games_list = not single
    ids = [g.id for g in config.games]
    for i, game_id in enumerate(ids):
        if game_id in ids[:i]:
            raise err(f"games[{i}].id", f"game {game_id!r} is listed twice")
    _check_agents(config, err)
    for i, game in enumerate(config.games):
        _check_game(config, game, "game" if single else f"games[{i}]", err)
