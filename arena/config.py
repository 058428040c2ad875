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
import reprlib
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

_brief = reprlib.Repr()  # a value quoted in an error: its start, never all of it
_brief.maxstring = _brief.maxother = 80
_brief.maxlist = _brief.maxdict = 4

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
    if kind == "number_not_bool":  # config_model's check of every numeric setting
        key = str(error["ctx"]["key"])
        return (f"{path}.{key}" if path else key), str(error["msg"])
    if kind == "value_error":  # our own validators: the message says it all
        return path, str(error["msg"]).removeprefix("Value error, ")
    msg = str(error["msg"])
    shown = _SHOWN_AS.get(str(error.get("ctx", {}).get("class_name")))
    if shown is not None:  # "... instance of ParsedGame": say the public name
        msg = msg.replace(str(error["ctx"]["class_name"]), shown)
    return path, f"{msg} (got {_brief.repr(error['input'])})"


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
        hint = f" (write games[0]{shown_path(key.strip()[4:])})" if other == "games" else ""
        raise ConfigError(f"--set {override!r}: this config has '{other}:', "
                          f"not '{parts[0]}:'{hint}")
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"--set {key.strip()!r}: value too large")
    try:
        value = load_yaml_text(raw) if raw.strip() else raw
    except ValueError as exc:
        if str(exc).startswith("config too large"):
            raise ConfigError(f"--set {key.strip()!r}: {exc}") from None
        value = raw  # not YAML: the text as written
    data = copy.deepcopy(data)
    node: Any = data
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            if not isinstance(part, int) or not -len(node) <= part < len(node):
                raise ConfigError(f"--set {override!r}: {key.strip()!r} has no index {part!r}")
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


# Size limits of the YAML itself (README, "Writing a config"); see also MAX_* in config_model.
#: bytes in a config file
MAX_CONFIG_BYTES = 1 << 20
#: YAML nodes (mappings, lists, scalars), counting an alias as a copy of what it names
MAX_YAML_NODES = 50_000
#: characters of text, counting an alias as a copy of what it names
MAX_YAML_CHARS = 10_000_000
#: levels of nesting
MAX_YAML_DEPTH = 50


class _UniqueKeyLoader(yaml.SafeLoader):
    """A SafeLoader that refuses duplicate keys (YAML would keep the last of two) and stops
    composing at :data:`MAX_YAML_NODES` nodes or :data:`MAX_YAML_DEPTH` levels, so a huge
    or deeply nested document fails fast instead of being built."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._nodes = 0
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._nodes += 1
        if self._nodes > MAX_YAML_NODES:
            raise _TooBig(f"more than {MAX_YAML_NODES:,} YAML nodes")
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise _TooBig(f"nested more than {MAX_YAML_DEPTH} levels deep")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:  # `<<: *base` merges may be overridden: not counted
            if key_node.tag != "tag:yaml.org,2002:merge":
                key = self.construct_object(key_node, deep=deep)
                try:
                    duplicate = key in seen
                    seen.add(key)
                except TypeError:  # an unhashable key: the constructor says so below
                    continue
                if duplicate:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r}", key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


class _TooBig(Exception):
    """A YAML document past one of the size limits."""


def load_yaml_text(text: str) -> Any:
    """Parse YAML text with the config loader's limits; a ValueError says what is wrong
    (``invalid YAML at line L, column C: ...`` or the limit that was passed)."""
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 -- a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ValueError(f"invalid YAML{where}: {problem}") from None
    except _TooBig as exc:
        raise ValueError(f"config too large: {exc} (see the limits in the README)") from None
    except RecursionError:
        raise ValueError(f"config too large: nested more than {MAX_YAML_DEPTH} levels "
                         "deep") from None
    except (ValueError, OverflowError, TypeError) as exc:  # an int of 5000 digits, a bad date
        problem = " ".join(str(exc).split())
        if "integer string conversion" in problem:
            problem = "a number with more than 4300 digits"
        raise ValueError(f"invalid YAML value: {problem}") from None
    check_size(data)
    return data


def check_size(data: Any) -> None:
    """Refuse data past :data:`MAX_YAML_NODES`, :data:`MAX_YAML_CHARS` or
    :data:`MAX_YAML_DEPTH` once every alias is expanded (a "billion laughs" document is a
    few hundred bytes of anchors that name each other), or that contains itself.

    Shared values are counted once per reference but measured once, so the check costs
    one pass over the distinct values.
    """
    memo: dict[int, tuple[int, int]] = {}
    open_: set[int] = set()

    def measure(value: Any, depth: int) -> tuple[int, int]:
        if isinstance(value, str):
            return 1, len(value)
        if not isinstance(value, (dict, list, tuple)):
            return 1, 0
        key = id(value)
        if key in memo:
            return memo[key]
        if key in open_:
            raise ValueError("config too large: a YAML alias names a node that contains it")
        if depth > MAX_YAML_DEPTH:
            raise ValueError(f"config too large: nested more than {MAX_YAML_DEPTH} levels deep")
        open_.add(key)
        nodes, chars = 1, 0
        children = [*value.keys(), *value.values()] if isinstance(value, dict) else value
        for child in children:
            n, c = measure(child, depth + 1)
            nodes, chars = nodes + n, chars + c
            if nodes > MAX_YAML_NODES:
                raise ValueError(f"config too large: more than {MAX_YAML_NODES:,} YAML nodes "
                                 "once aliases are expanded (see the limits in the README)")
            if chars > MAX_YAML_CHARS:
                raise ValueError(f"config too large: more than {MAX_YAML_CHARS:,} characters "
                                 "of text once aliases are expanded (see the limits in the "
                                 "README)")
        open_.discard(key)
        memo[key] = nodes, chars
        return nodes, chars

    measure(data, 0)


def shown_path(path: str | Path) -> str:
    """A config path as errors quote it: control and invisible characters as escapes."""
    from leaderboards.table import visible

    return visible(str(path))


def read_yaml(path: str | Path) -> dict[str, Any]:
    """The raw mapping in a YAML file, or a one-line ConfigError."""
    source = shown_path(path)
    too_big = ConfigError(f"config too large: more than {MAX_CONFIG_BYTES:,} bytes", file=source)
    try:
        file = Path(path)
        if file.is_file():
            if file.stat().st_size > MAX_CONFIG_BYTES:
                raise too_big
            text = file.read_text(encoding="utf-8")
        else:  # a pipe (`<(...)`) or a device: read at most the limit (/dev/zero never ends)
            with open(path, "rb") as handle:
                raw = handle.read(MAX_CONFIG_BYTES + 1)
            text = raw.decode("utf-8")
        if len(text) > MAX_CONFIG_BYTES:
            raise too_big
    except FileNotFoundError:
        raise ConfigError("no such file", file=source) from None
    except (OSError, UnicodeDecodeError) as exc:  # a directory, no permission, not text
        raise ConfigError(f"cannot read: {exc}", file=source) from None
    try:
        data = load_yaml_text(text)
    except ValueError as exc:
        raise ConfigError(str(exc), file=source) from None
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
            raise ConfigError(exc.problem, file=shown_path(path)) from None
    return parse_config(data, source=shown_path(path))


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
    try:
        check_size(data)  # also what --set added, and data handed in from Python
    except ValueError as exc:
        raise ConfigError(str(exc), file=source) from None
    games_list = None
    if isinstance(data, dict) and "games_list" in data:  # a stored snapshot, read back
        games_list = bool(data["games_list"])
        data = {k: v for k, v in data.items() if k != "games_list"}
    return resolve_config(parse_shape(data, source=source), source=source, games_list=games_list)


__all__ = ["AgentConfig", "Config", "GameConfig", "Gauntlet", "ParsedConfig", "RoundRobin",
           "Solo", "apply_override", "load_config", "parse_config", "parse_shape", "read_yaml"]
