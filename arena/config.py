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

Every problem raises :class:`~arena.errors.ConfigError` with one line naming the file,
the key path (``agents[2].type``) and what is wrong.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from arena.errors import ConfigError

FORMAT_TYPES = ("round_robin", "gauntlet", "solo")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RoundRobin(_Strict):
    """Every pair plays ``matches`` times in each seat order (hide-and-seek: ``matches`` pairs)."""

    type: Literal["round_robin"]
    matches: int = Field(default=1, ge=1)


class Gauntlet(_Strict):
    """Every agent not in ``opponents`` plays each opponent, in both seats."""

    type: Literal["gauntlet"]
    opponents: list[str] = Field(min_length=1)
    matches: int = Field(default=1, ge=1)


class Solo(_Strict):
    """Single-agent tasks: each agent plays ``episodes`` seeded episodes, same seeds for all."""

    type: Literal["solo"]
    episodes: int = Field(default=10, ge=1)


Format = Annotated[RoundRobin | Gauntlet | Solo, Field(discriminator="type")]


def _split_extras(data: Any, fixed: set[str], into: str) -> Any:
    """Move every key not in ``fixed`` into the ``into`` mapping (game args, agent options)."""
    if not isinstance(data, dict) or into in data:
        return data
    extras = {k: v for k, v in data.items() if k not in fixed}
    return {**{k: v for k, v in data.items() if k in fixed}, into: extras}


class GameConfig(_Strict):
    """One game block: the env id, its constructor arguments and an optional format."""

    id: str
    args: dict[str, Any] = Field(default_factory=dict)
    format: Format | None = None

    @model_validator(mode="before")
    @classmethod
    def _collect_args(cls, data: Any) -> Any:
        if isinstance(data, str):  # `game: rps` is short for `game: {id: rps}`
            return {"id": data}
        return _split_extras(data, {"id", "format"}, "args")


class AgentConfig(_Strict):
    """One player: a unique name, a registered type (or ``module:Class``) and its options."""

    name: str = Field(min_length=1)
    type: str = Field(min_length=1)
    games: list[str] | None = None
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _collect_options(cls, data: Any) -> Any:
        return _split_extras(data, {"name", "type", "games"}, "options")


class Rating(_Strict):
    draw_probability: float = Field(default=0.1, ge=0.0, lt=1.0)


class Config(_Strict):
    """A validated tournament. ``games`` is always the list form (``game:`` becomes one entry),
    and every game carries its effective ``format``."""

    name: str = Field(min_length=1)
    seed: int = 0
    game: GameConfig | None = Field(default=None, exclude=True)
    games: list[GameConfig] = Field(default_factory=list)
    format: Format | None = None
    agents: list[AgentConfig] = Field(min_length=1)
    rating: Rating = Field(default_factory=Rating)
    concurrency: int = Field(default=4, ge=1)
    # "auto": each agent class's `match_timeout` (60 s for bots, none for language models)
    timeout: float | Literal["auto"] | None = Field(default="auto")

    @field_validator("timeout", mode="before")
    @classmethod
    def _check_timeout(cls, value: Any) -> Any:  # the union's errors say "timeout.float"
        if value is None or value == "auto":
            return value
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise ValueError(f"must be a number of seconds > 0, 'auto' or null, not {value!r}")
        return float(value)

    def agent(self, name: str) -> AgentConfig:
        return next(a for a in self.agents if a.name == name)

    # whether the YAML said `games:` (a list), which keys the leaderboard JSON by game id
    _games_list: bool = PrivateAttr(default=False)

    def snapshot(self) -> dict[str, Any]:
        """The validated config as plain data (what the store keeps)."""
        return {**self.model_dump(mode="json"), "games_list": self._games_list}


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
            close = difflib.get_close_matches(str(error["loc"][0]), list(Config.model_fields), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
        return path, f"unknown key{hint}"
    if kind == "union_tag_invalid":
        return (f"{path}.type", f"unknown format type {error['input'].get('type')!r} "
                f"(expected one of: {', '.join(FORMAT_TYPES)})")
    if kind == "union_tag_not_found":
        return f"{path}.type", "missing required key"
    if kind == "value_error":  # our own validators: the message says it all
        return path, str(error["msg"]).removeprefix("Value error, ")
    return path, f"{error['msg']} (got {error['input']!r})"


def _parse_path(path: str) -> list[str | int]:
    parts: list[str | int] = []
    for token in path.replace("[", ".").replace("]", "").split("."):
        if not token:
            raise ValueError(f"bad key path {path!r}")
        parts.append(int(token) if token.isdigit() else token)
    return parts


def apply_override(data: dict[str, Any], override: str) -> None:
    """Apply one ``key.path=value`` (value parsed as YAML) to raw config data."""
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
        raise ConfigError(f"--set {override!r}: this config has '{other}:', not '{parts[0]}:'{hint}")
    try:
        value = yaml.safe_load(raw) if raw.strip() else raw
    except yaml.YAMLError:
        value = raw
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
    """Read, override (``key.path=value``), validate and check a config file."""
    data = read_yaml(path)
    for override in overrides:
        try:
            apply_override(data, override)
        except ConfigError as exc:
            raise ConfigError(exc.problem, file=str(path)) from None
    return parse_config(data, source=str(path))


def parse_config(data: dict[str, Any], *, source: str = "<config>") -> Config:
    """Validate raw config data; ``source`` names it in errors."""
    games_list = None
    if isinstance(data, dict) and "games_list" in data:  # a stored snapshot, read back
        data = dict(data)
        games_list = bool(data.pop("games_list"))
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        path, problem = _describe(errors[0])
        more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
        raise ConfigError(problem + more, file=source, path=path) from None
    from arena.config_checks import check_config  # needs the registry and the envs

    check_config(config, data, source=source)
    if games_list is not None:
        config._games_list = games_list
    return config


__all__ = ["AgentConfig", "Config", "GameConfig", "Gauntlet", "RoundRobin", "Solo",
           "apply_override", "load_config", "parse_config", "read_yaml"]
