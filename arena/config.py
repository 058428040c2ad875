"""Tournament configs: YAML validated into :class:`Config`, with errors that say where.

A config names the games, the format, the agents and a seed::

    name: quickstart
    seed: 7
    game: {id: rps, rounds: 100}          # or games: [{id: ..., format: ...}, ...]
    format: {type: round_robin, matches: 2}
    agents:
      - {name: random, type: uniform_random}
      - {name: freq, type: frequency, window: 20}
    rating: {draw_probability: 0.1}
    concurrency: 8
    timeout: 60                           # seconds per match; null for none; default auto

In a game block every key but ``id`` and ``format`` is an argument of the env
constructor; in an agent entry every key but ``name``, ``type`` and ``games`` is an
option of the agent class. Both are checked against the real signatures, and each game
is built once, so a bad argument fails here rather than in the middle of a run.

Loading is two steps: :func:`parse_shape` validates what the file says (a
:class:`~arena.config_model.ParsedConfig`), then :func:`~arena.config_checks.resolve_config`
checks it against the registry and the envs and builds a new, frozen :class:`Config`.
The types live in :mod:`arena.config_model` and are re-exported here.

Every problem raises :class:`~arena.errors.ConfigError` with one line naming the file,
the key path (``agents[2].type``) and what is wrong.
"""

from __future__ import annotations

import copy
import difflib
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from arena.config_checks import resolve_config
from arena.config_model import (
    FORMAT_TYPES,
    AgentConfig,
    Config,
    GameConfig,
    Gauntlet,
    ParsedConfig,
    RoundRobin,
    Solo,
)
from arena.errors import ConfigError

# pydantic's messages name the model class; users have always seen these names
_SHOWN_AS = {"ParsedConfig": "Config", "ParsedGame": "GameConfig"}


def _key_path(loc: tuple[Any, ...]) -> str:
    path = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in FORMAT_TYPES and i > 0 and loc[i - 1] == "format":
            continue  # pydantic puts the union tag in the location; users never wrote it
        elif part in ("args", "options") and i > 0:
            continue  # collected extras: the user wrote them at the block's top level
        else:
            path += f".{part}" if path else str(part)
    return path


def _describe(error: dict[str, Any]) -> tuple[str, str]:
    path = _key_path(tuple(error["loc"]))
    kind = error["type"]
    if kind == "missing":
        return path, "missing required key"
    if kind == "extra_forbidden":
        hint = ""
        if len(error["loc"]) == 1:
            keys = list(ParsedConfig.model_fields)
            close = difflib.get_close_matches(str(error["loc"][0]), keys, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
        return path, f"unknown key{hint}"
    if kind == "union_tag_invalid":
        return (f"{path}.type", f"unknown format type {error['input'].get('type')!r} "
                f"(expected one of: {', '.join(FORMAT_TYPES)})")
    if kind == "union_tag_not_found":
        return f"{path}.type", "missing required key"
    if kind == "value_error":  # our own validators: the message says it all
        return path, str(error["msg"]).removeprefix("Value error, ")
    msg = str(error["msg"])
    shown = _SHOWN_AS.get(str(error.get("ctx", {}).get("class_name")))
    if shown is not None:  # "... instance of ParsedGame": say the public name
        msg = msg.replace(str(error["ctx"]["class_name"]), shown)
    return path, f"{msg} (got {error['input']!r})"


def _parse_path(path: str) -> list[str | int]:
    parts: list[str | int] = []
    for token in path.replace("[", ".").replace("]", "").split("."):
        if not token:
            raise ValueError(f"bad key path {path!r}")
        parts.append(int(token) if token.isdigit() else token)
    return parts


def apply_override(data: dict[str, Any], override: str) -> dict[str, Any]:
    """Raw config data with one ``key.path=value`` applied (value parsed as YAML).

    Returns a new mapping; ``data`` is left as it was.
    """
    key, sep, raw = override.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {override!r}: expected key.path=value")
    try:
        parts = _parse_path(key.strip())
    except ValueError as exc:
        raise ConfigError(f"--set {override!r}: {exc}") from None
    other = {"game": "games", "games": "game"}.get(str(parts[0]))
    if other and data.get(parts[0]) is None and data.get(other) is not None:
        hint = f" (write games[0]{key.strip()[4:]})" if other == "games" else ""
        raise ConfigError(f"--set {override!r}: this config has '{other}:', "
                          f"not '{parts[0]}:'{hint}")
    try:
        value = yaml.safe_load(raw) if raw.strip() else raw
    except yaml.YAMLError:
        value = raw
    data = copy.deepcopy(data)
    node: Any = data
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            if not isinstance(part, int) or not -len(node) <= part < len(node):
                raise ConfigError(f"--set {override!r}: {key.strip()} has no index {part!r}")
        elif isinstance(node, dict):
            if isinstance(part, int):
                part = str(part)
            if not last and not isinstance(node.get(part), dict | list):
                node[part] = {}
        else:
            raise ConfigError(f"--set {override!r}: cannot set a key inside a "
                              f"{type(node).__name__}")
        if last:
            node[part] = value
        else:
            node = node[part]
    return data


class _UniqueKeyLoader(yaml.SafeLoader):  # YAML would keep the last of two equal keys
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: list[Any] = []
        for key_node, _ in node.value:  # `<<: *base` merges may be overridden: not counted
            if key_node.tag != "tag:yaml.org,2002:merge":
                key = self.construct_object(key_node, deep=deep)
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r}", key_node.start_mark)
                seen.append(key)
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: str | Path) -> dict[str, Any]:
    """The raw mapping in a YAML file, or a one-line ConfigError."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("no such file", file=source) from None
    except (OSError, UnicodeDecodeError) as exc:  # a directory, no permission, not text
        raise ConfigError(f"cannot read: {exc}", file=source) from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 -- a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"invalid YAML{where}: {problem}", file=source) from None
    if not isinstance(data, dict):
        raise ConfigError(f"expected a mapping of keys, got {type(data).__name__}", file=source)
    return data


def load_config(path: str | Path, *, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Read, override (``key.path=value``), validate and resolve a config file."""
    data = read_yaml(path)
    for override in overrides:
        try:
            data = apply_override(data, override)
        except ConfigError as exc:
            raise ConfigError(exc.problem, file=str(path)) from None
    return parse_config(data, source=str(path))


def parse_shape(data: Any, *, source: str = "<config>") -> ParsedConfig:
    """Validate the shape of raw config data: what the user wrote, nothing resolved yet."""
    try:
        return ParsedConfig.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        path, problem = _describe(errors[0])
        more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
        raise ConfigError(problem + more, file=source, path=path) from None


def parse_config(data: dict[str, Any], *, source: str = "<config>") -> Config:
    """Validate and resolve raw config data (or a stored snapshot); ``source`` names it
    in errors."""
    games_list = None
    if isinstance(data, dict) and "games_list" in data:  # a stored snapshot, read back
        games_list = bool(data["games_list"])
        data = {k: v for k, v in data.items() if k != "games_list"}
    return resolve_config(parse_shape(data, source=source), source=source, games_list=games_list)


__all__ = ["AgentConfig", "Config", "GameConfig", "Gauntlet", "ParsedConfig", "RoundRobin",
           "Solo", "apply_override", "load_config", "parse_config", "parse_shape", "read_yaml"]
