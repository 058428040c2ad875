"""The config's types, in two layers: what the YAML says, and what a run uses.

* :class:`ParsedConfig` is the file's shape as the user wrote it: ``game:`` or ``games:``,
  a top-level ``format`` that games without one inherit. Pydantic checks it.
* :class:`Config` is the resolved tournament (built by
  :func:`arena.config_checks.resolve_config`): ``games`` is always a tuple, each game has
  its effective ``format``, and ``games_list`` records whether the user wrote ``games:``.

Every model is frozen, so resolving builds a new object instead of editing the parsed one.
Collections inside (``args``, ``options``, lists of names) are plain ones: frozen stops
reassignment, and nothing here edits them.

This module imports only pydantic, so the checks and the YAML layer can both sit on it.
"""

from __future__ import annotations

from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic_core import PydanticCustomError

FORMAT_TYPES = ("round_robin", "gauntlet", "solo")


def takes_number_not_bool(annotation: Any) -> bool:
    """Whether a type (``int``, ``float | None``, ``Annotated[int, ...]``) takes an int
    or a float but not a bool (``bool`` is an ``int`` to Python, never to a config)."""
    seen: set[Any] = set()

    def flatten(kind: Any) -> None:
        args = get_args(kind)
        if get_origin(kind) is Annotated:
            flatten(args[0])
        elif args and get_origin(kind) in (Union, UnionType):
            for arg in args:
                flatten(arg)
        else:
            seen.add(kind)

    flatten(annotation)
    return bool(seen & {int, float}) and bool not in seen and Any not in seen

# Size limits (README, "Writing a config"): a config that asks for more is refused when it
# loads, in one line, before anything big is built.
#: matches per pairing and seat order
MAX_MATCHES = 10_000
#: episodes of a solo task
MAX_EPISODES = 100_000
#: agents in one config
MAX_AGENTS = 1_000
#: characters in an agent or run name
MAX_NAME_CHARS = 100


class _Frozen(BaseModel):
    # protected_namespaces: settings such as ``model_restarts`` are ours, not pydantic's
    # (pydantic before 2.10 warns about every field named ``model_...``)
    model_config = ConfigDict(frozen=True, extra="forbid", protected_namespaces=())

    @model_validator(mode="before")
    @classmethod
    def _no_bool_for_numbers(cls, data: Any) -> Any:
        """YAML's ``true`` is not the number 1: every setting declared as a number (and
        not as a boolean) refuses it."""
        if isinstance(data, dict):
            for key, value in data.items():
                field = cls.model_fields.get(key) if isinstance(key, str) else None
                if isinstance(value, bool) and field is not None \
                        and takes_number_not_bool(field.annotation):
                    raise PydanticCustomError(
                        "number_not_bool", "must be a number, not {value}",
                        {"value": str(value).lower(), "key": key})
        return data


class RoundRobin(_Frozen):
    """Every pair plays ``matches`` times in each seat order (hide-and-seek: ``matches`` pairs)."""

    type: Literal["round_robin"]
    matches: int = Field(default=1, ge=1, le=MAX_MATCHES)


class Gauntlet(_Frozen):
    """Every agent not in ``opponents`` plays each opponent, in both seats."""

    type: Literal["gauntlet"]
    opponents: list[str] = Field(min_length=1)
    matches: int = Field(default=1, ge=1, le=MAX_MATCHES)


class Solo(_Frozen):
    """Single-agent tasks: each agent plays ``episodes`` seeded episodes, same seeds for all."""

    type: Literal["solo"]
    episodes: int = Field(default=10, ge=1, le=MAX_EPISODES)


Format = Annotated[RoundRobin | Gauntlet | Solo, Field(discriminator="type")]


def _split_extras(data: Any, fixed: set[str], into: str) -> Any:
    """Move every key not in ``fixed`` into the ``into`` mapping (game args, agent options)."""
    if not isinstance(data, dict) or into in data:
        return data
    extras = {k: v for k, v in data.items() if k not in fixed}
    return {**{k: v for k, v in data.items() if k in fixed}, into: extras}


#: tags on an agent entry: read by the arena (the report groups by them), never passed to
#: the agent class; ``family`` names a model family, ``aligned`` says base (false) or aligned,
#: ``stage`` counts the stages of alignment (0 base, then e.g. SFT 1, DPO 2, final 3) and
#: ``benchmarks`` maps a benchmark's name to the model's published score
AGENT_TAGS = ("family", "aligned", "stage", "benchmarks")


class AgentConfig(_Frozen):
    """One player: a unique name, a registered type (or ``module:Class``), its options and
    the tags ``family``, ``aligned``, ``stage`` and ``benchmarks`` (left out of the snapshot
    when not given, so a config without tags stores exactly what it stored before tags
    existed)."""

    name: str = Field(min_length=1, max_length=MAX_NAME_CHARS)
    type: str = Field(min_length=1)
    games: list[str] | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    family: str | None = Field(default=None, min_length=1)
    aligned: StrictBool | None = None
    stage: StrictInt | None = Field(default=None, ge=0, le=100)
    benchmarks: dict[Annotated[str, Field(min_length=1, max_length=MAX_NAME_CHARS)],
                     Annotated[float, Field(allow_inf_nan=False)]] | None = None

    @field_validator("benchmarks", mode="before")
    @classmethod
    def _scores_are_numbers(cls, value: Any) -> Any:
        # YAML's `yes` or "66.7" is a slip, not a score: only real numbers pass
        if isinstance(value, dict):
            for key, score in value.items():
                if isinstance(score, bool) or not isinstance(score, int | float):
                    raise ValueError(f"the score of {key!r} must be a number, not "
                                     f"{type(score).__name__} {score!r}")
        return value

    @model_validator(mode="before")
    @classmethod
    def _collect_options(cls, data: Any) -> Any:
        return _split_extras(data, {"name", "type", "games", *AGENT_TAGS}, "options")

    @model_serializer(mode="wrap")
    def _drop_unset_tags(self, handler: Any) -> Any:
        data = handler(self)
        if isinstance(data, dict):
            for tag in AGENT_TAGS:
                if data.get(tag) is None:
                    data.pop(tag, None)
        return data


#: the default ``rating.margin_sd`` (mirrors ``leaderboards.contests.DEFAULT_MARGIN_SD``)
DEFAULT_MARGIN_SD = 2.0


class Rating(_Frozen):
    """``draw_probability`` of TrueSkill, and ``margin_sd``: a match (a hide-and-seek pair)
    is rated a win only when its net exceeds this many standard deviations of the net of
    two uniform players over its rounds, else a draw (README, "How outcomes are rated").
    The default is left out of the snapshot, so a config that does not set it stores
    exactly what it stored before the setting existed (and ``--resume`` of such a run
    still matches)."""

    draw_probability: float = Field(default=0.1, ge=0.0, lt=1.0)
    margin_sd: float = Field(default=DEFAULT_MARGIN_SD, ge=0.0, le=100.0, allow_inf_nan=False)

    @model_serializer(mode="wrap")
    def _drop_default_margin(self, handler: Any) -> Any:
        data = handler(self)
        if isinstance(data, dict) and data.get("margin_sd") == DEFAULT_MARGIN_SD:
            data.pop("margin_sd")
        return data


Timeout = float | Literal["auto"] | None


class Memory(_Frozen):
    """How many language models a run keeps loaded at once (``max_models``) and, as a
    second bound, how many GB their weights may take (``max_gb``). When a model is to
    load and the budget is reached, the least recently used one not in a match is
    unloaded; the runner orders the matches so each model loads as few times as possible.
    Unset: no bound (every model stays loaded)."""

    max_models: int | None = Field(default=None, ge=1)
    max_gb: float | None = Field(default=None, gt=0, allow_inf_nan=False)


class Executor(_Frozen):
    """Where the matches run: ``local`` (this machine's threads and worker processes) or
    ``ray`` (a Ray cluster at ``address``: ``auto``, ``local``, ``HOST:PORT`` or
    ``ray://HOST:PORT``; ``arena run --ray ADDRESS`` wins over it). How a run is played,
    never what it produces: left out of the snapshot, so ``--resume`` may change it."""

    type: Literal["local", "ray"] = "local"
    address: str = "auto"
    # seconds the cluster may take to accept the run before it counts as unreachable
    connect_timeout: float = Field(default=30.0, gt=0, allow_inf_nan=False)
    # CPUs a bot match's task reserves on the cluster
    cpus_per_match: float = Field(default=1.0, ge=0, allow_inf_nan=False)
    # how often a model's actor that died is restarted before the run stops (exit 3)
    model_restarts: int = Field(default=3, ge=0)


class ParsedGame(_Frozen):
    """One game block as written: the env id, its constructor arguments, maybe a format."""

    id: str
    args: dict[str, Any] = Field(default_factory=dict)
    format: Format | None = None

    @model_validator(mode="before")
    @classmethod
    def _collect_args(cls, data: Any) -> Any:
        if isinstance(data, str):  # `game: rps` is short for `game: {id: rps}`
            return {"id": data}
        return _split_extras(data, {"id", "format"}, "args")


class ParsedConfig(_Frozen):
    """The config file's shape; :func:`arena.config_checks.resolve_config` makes a Config."""

    name: str = Field(min_length=1, max_length=MAX_NAME_CHARS)
    seed: int = 0
    game: ParsedGame | None = None
    games: list[ParsedGame] = Field(default_factory=list)
    format: Format | None = None
    agents: list[AgentConfig] = Field(min_length=1, max_length=MAX_AGENTS)
    rating: Rating = Field(default_factory=Rating)
    concurrency: int = Field(default=4, ge=1)
    # "auto": what each agent class's `match_timeout` asks for (arena.agent)
    timeout: Timeout = Field(default="auto")
    # Python files whose @register_agent (and register_game) names the config uses
    plugins: list[str] = Field(default_factory=list)
    memory: Memory = Field(default_factory=Memory)
    executor: Executor = Field(default_factory=Executor)

    @field_validator("timeout", mode="before")
    @classmethod
    def _check_timeout(cls, value: Any) -> Any:  # the union's errors say "timeout.float"
        if value is None or value == "auto":
            return value
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise ValueError(f"must be a number of seconds > 0, 'auto' or null, not {value!r}")
        return float(value)


class GameConfig(_Frozen):
    """One game of a resolved config: the env id, its constructor arguments, its format."""

    id: str
    args: dict[str, Any]
    format: Format


class Config(_Frozen):
    """A resolved tournament. ``format`` is the top-level one as written (the snapshot keeps
    it); the games carry the format each one actually plays."""

    name: str
    seed: int
    games: tuple[GameConfig, ...]
    format: Format | None
    agents: tuple[AgentConfig, ...]
    rating: Rating
    concurrency: int
    timeout: Timeout
    # whether the user wrote `games:` (a list): the leaderboard JSON is then keyed by game
    # id, even for one game. Declared last: the snapshot's keys keep their stored order.
    games_list: bool
    # plugin files, as absolute paths (left out of the snapshot when there are none)
    plugins: tuple[str, ...] = ()
    # the model memory budget (left out of the snapshot when unbounded)
    memory: Memory = Field(default_factory=Memory)
    # where the matches run (never in the snapshot: it does not change results)
    executor: Executor = Field(default_factory=Executor)

    def agent(self, name: str) -> AgentConfig:
        return next(a for a in self.agents if a.name == name)

    def game(self, game_id: str) -> GameConfig:
        """The game with id ``game_id`` (``KeyError`` if the config plays none); its facts
        (moves, roles, payoffs) are ``arena.game_facts.game_facts(config.game(id))``."""
        for game in self.games:
            if game.id == game_id:
                return game
        raise KeyError(game_id)

    def snapshot(self) -> dict[str, Any]:
        """The resolved config as plain data (what the store keeps; ``--resume`` compares).
        Settings added later are left out at their defaults, so older runs still match."""
        exclude = {"executor"} if self.plugins else {"plugins", "executor"}
        if self.memory == Memory():
            exclude.add("memory")
        return self.model_dump(mode="json", exclude=exclude or None)
