"""Agents tried before a run starts: each built once and reset in every game it plays, so
a bad option is one config error now, not a forfeit in every match (``arena run``)."""

from __future__ import annotations

import re
import threading
from typing import Any

from arena.config import Config
from arena.errors import ConfigError
from arena.registry import declared_timeout, get_agent_class, make_agent


def probe_agents(config: Config, source: str) -> dict[str, Any]:
    """Try each agent in every game it plays, so a bad option fails now, not as a forfeit
    in every match; returns the identity of each agent that has an ``identity()`` (a
    language model: its hub id or path, revision or file hash, dtype, engine, package
    versions), by agent name, which the run records once (``runs.models``).

    Each agent is built, then, per game and seat, a fresh one is reset with that game's
    real reset context (the engine's :func:`~arena.match.seat_context` or
    :func:`~arena.match.start_episode`). An agent checks there what depends on the game:
    ``constant action: 99`` in a three-action game or ``biased weights`` longer than the
    game's actions fail here, naming ``agents[i].<option>`` when the message names one.
    No decision is asked for: that may load a model, or wait on something outside.

    A bad value (``ValueError``, ``TypeError``) when building, or when resetting an agent
    given options, and a missing file or module are config problems. Anything else is
    the agent's own failure and forfeits its matches as it would mid-run.
    """
    from arena.config import shown_path

    source = shown_path(source)
    seats = _GameSeats(config)
    identities: dict[str, Any] = {}
    for i, spec in enumerate(config.agents):
        limit = config.timeout
        if limit == "auto":
            limit = declared_timeout(get_agent_class(spec.type))
        progress = [f"building agent {spec.name!r}"]
        try:
            _within(lambda spec=spec, progress=progress: _probe(config, spec, seats, progress,
                                                                identities),
                    limit, progress)
        except _AgentFailure:
            continue
        except _OptionProblem as exc:
            option = _named_option(str(exc.problem), spec.options)
            path = f"agents[{i}]" + (f".{option}" if option else "")
            raise ConfigError(f"in {exc.game}: {' '.join(str(exc.problem).split())}",
                              file=source, path=path) from None
        except (ValueError, TypeError, OSError, ImportError, TimeoutError) as exc:
            raise ConfigError(" ".join(str(exc).split()), file=source,
                              path=f"agents[{i}]") from None
        except Exception:  # noqa: BLE001, S112 -- recorded per match as a forfeit instead
            continue
    return identities


def _identity(agent: Any) -> dict[str, Any] | None:
    """``agent.identity()`` as plain JSON data, if the agent has one; never raises."""
    import json

    identity = getattr(agent, "identity", None)
    if not callable(identity):
        return None
    try:
        found = identity()
        return json.loads(json.dumps(found if isinstance(found, dict) else {"identity": found},
                                     default=str))
    except Exception as exc:  # noqa: BLE001 -- a record left incomplete never stops a run
        return {"error": " ".join(f"{type(exc).__name__}: {exc}".split())[:500]}


class _OptionProblem(Exception):
    """An agent refused the reset context or the first decision of ``game``."""

    def __init__(self, game: str, problem: BaseException) -> None:
        super().__init__(str(problem))
        self.game, self.problem = game, problem


class _GameSeats:
    """Per game, each seat's role and reset context, built once (and only for the games
    some agent is tried in)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._seats: dict[str, list[tuple[str, dict[str, Any]]]] = {}

    def of(self, game_id: str) -> list[tuple[str, dict[str, Any]]]:
        if game_id not in self._seats:
            from arena.match import seat_context, start_episode
            from envs import get_game

            spec = get_game(game_id)
            args = next(g.args for g in self.config.games if g.id == game_id)
            env = spec.make(**args)
            if spec.solo:
                seats = [("solo", start_episode(env, game_id, spec.kind, 0, 0)[1])]
            else:
                env.reset(seed=0)
                seats = [(role, seat_context(game_id, env, role)) for role in env.possible_agents]
            self._seats[game_id] = seats
        return self._seats[game_id]


def _probe(config: Config, spec: Any, seats: _GameSeats, progress: list[str],
           identities: dict[str, Any] | None = None) -> None:
    from arena.config_checks import agent_plays
    from arena.seats import accepted_context

    built = make_agent(spec.type, name=spec.name, **spec.options)  # the options alone
    identity = _identity(built)
    if identity is not None and identities is not None:
        identities[spec.name] = identity
    for game in config.games:
        if not agent_plays(config, spec.name, game.id):
            continue
        for role, context in seats.of(game.id):
            where = game.id if role in ("solo", *_SYMMETRIC) else f"{game.id}, as {role}"
            progress[0] = f"trying agent {spec.name!r} in {where}"
            agent = make_agent(spec.type, name=spec.name, **spec.options)
            if getattr(agent, "white_box", False):
                context = {**context, "opponent_policy": lambda: None}
            reset = getattr(agent, "reset", None)
            if reset is None:
                continue
            try:
                reset(**accepted_context(reset, {"seed": 0, **context}))
            except (ValueError, TypeError) as exc:
                if not spec.options:  # nothing in the config to blame: a forfeit, in play
                    raise _AgentFailure from None
                raise _OptionProblem(where, exc) from None
            except Exception:  # noqa: BLE001 -- the agent's own failure: a forfeit, in play
                raise _AgentFailure from None


class _AgentFailure(Exception):
    """An agent failed in a way no option explains: its matches will record it."""


#: seat names of symmetric games, not worth naming in a message
_SYMMETRIC = ("player_0", "player_1")


def _named_option(problem: str, options: dict[str, Any]) -> str | None:
    """The option a problem names (as a word), when exactly one does."""
    named = [key for key in options if re.search(rf"(?<![\w.]){re.escape(key)}(?!\w)", problem)]
    return named[0] if len(named) == 1 else None


def _within(work: Any, limit: float | None, what: list[str]) -> None:
    """Run ``work`` in a daemon thread: an agent that never returns must not hold
    ``arena run`` before its first match (a match would time out on it just the same)."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            work()
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 -- re-raised in the calling thread
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True, name="arena-probe")
    worker.start()
    worker.join(limit)
    if not outcome:
        raise TimeoutError(f"{what[0]} did not finish within {limit:g} s (the match timeout)")
    if outcome[0] is not None:
        raise outcome[0]
