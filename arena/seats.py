"""How the engine calls an agent: its seat, its one decision per round, and forfeits.

A :class:`Seat` is built once per match and fixes how each decision is asked for:
``agent.decide`` when the agent has it (every :class:`~arena.agent.BaseAgent`), else
``policy`` (if present) then ``act``, as a bare outside class expects. Then the action
is checked against the agent's space. An exception or an action outside the space
raises :class:`Forfeit` naming the agent; :class:`~arena.agent.RoundForfeit` gives up
that decision only, and the decision returns :data:`FORFEITED`.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np

from arena.agent import RoundForfeit
from arena.registry import accepted_options

FORFEITED = object()  # the "action" of a decision given up with RoundForfeit


class Forfeit(Exception):
    """Raised inside the loop: ``agent`` (or ``None`` for the env) loses the match."""

    def __init__(self, agent: str | None, message: str) -> None:
        super().__init__(message)
        self.agent = agent


class MatchState:
    """What a match has done so far; the runner reads it when a match times out."""

    def __init__(self) -> None:
        self.current: str | None = None  # the agent being called right now
        self.cancelled = False
        self.rounds = 0
        self.totals: dict[str, float] = {}
        self.round_log: list[dict[str, Any]] = []
        self.roles: list[str] = []
        self.stats: dict[str, dict[str, Any]] = {}
        self.round_forfeits: dict[str, int] = {}  # by agent name, only those that gave up
        self.agents: dict[str, Any] = {}  # built so far, by name: stats() after a forfeit
        self.started_at = time.time()

    def gave_up(self, name: str) -> None:
        self.round_forfeits[name] = self.round_forfeits.get(name, 0) + 1


def checker(space: Any, name: str) -> Callable[[Any], Any]:
    """A fast membership test for ``space`` that returns the action as stored."""
    from gymnasium.spaces import Discrete, Text

    if isinstance(space, Discrete):
        low, high = int(space.start), int(space.start) + int(space.n)

        def check_discrete(action: Any) -> int:
            # ints and numpy integers (0-d arrays too); never bools, floats or strings
            if type(action) is int or isinstance(action, np.integer) or (
                    isinstance(action, np.ndarray) and action.shape == ()
                    and action.dtype.kind in "iu"):
                value = int(action)
                if low <= value < high:
                    return value
            raise Forfeit(name, f"{name}: returned {action!r}, not an action in {space}")

        return check_discrete
    if isinstance(space, Text):
        def check_text(action: Any) -> str:
            if isinstance(action, str):
                return action
            raise Forfeit(name, f"{name}: returned {action!r}, not text")

        return check_text

    def check_any(action: Any) -> Any:
        if space.contains(action):
            return action
        raise Forfeit(name, f"{name}: returned {action!r}, not an action in {space}")

    return check_any


def decision_call(agent: Any) -> Callable[[Any, Any], tuple[Any, Any]]:
    """The agent's one call per decision, returning ``(action, policy or None)``."""
    decide = getattr(agent, "decide", None)
    if callable(decide):
        return decide
    act = agent.act
    policy = getattr(agent, "policy", None)
    if not callable(policy):
        return lambda observation, space: (act(observation, space), None)

    def policy_then_act(observation: Any, space: Any) -> tuple[Any, Any]:
        probs = policy(observation, space)
        return act(observation, space), probs

    return policy_then_act


class Seat:
    """One agent in one match: its name, role, space, decision call and action check."""

    __slots__ = ("agent", "name", "role", "space", "call", "check")

    def __init__(self, agent: Any, name: str, role: str, space: Any) -> None:
        self.agent, self.name, self.role, self.space = agent, name, role, space
        self.call = decision_call(agent)
        self.check = checker(space, name)

    def decide(self, observation: Any, state: MatchState) -> tuple[Any, Any]:
        """``(action, policy)``; ``(FORFEITED, None)`` when the agent gave up this round."""
        state.current = self.name
        try:
            action, probs = self.call(observation, self.space)
        except RoundForfeit:
            state.current = None
            return FORFEITED, None
        except Forfeit:
            raise
        except (Exception, SystemExit):  # noqa: BLE001 -- any agent error forfeits for it
            raise Forfeit(self.name, f"{self.name}: {traceback.format_exc(limit=4).strip()}") \
                from None
        state.current = None
        return self.check(action), probs


def reset_agent(agent: Any, name: str, state: MatchState, **context: Any) -> None:
    """``agent.reset(seed=..., **context)`` (optional for agents without state)."""
    reset = getattr(agent, "reset", None)
    if reset is None:
        return
    state.current = name
    try:
        reset(**_accepted(reset, context))
    except Exception as exc:  # noqa: BLE001 -- a failing reset forfeits for its agent
        raise Forfeit(name, f"{name}: reset failed: {exc!r}") from None
    state.current = None


def _accepted(fn: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments ``fn`` takes: all with ``**context``, else only those it names
    (a bare ``reset(self, seed=None)`` that ignores the context is a valid agent too)."""
    try:
        named = accepted_options(fn)
    except (TypeError, ValueError):
        return kwargs
    return kwargs if named is None else {k: v for k, v in kwargs.items() if k in named}


def as_probabilities(probs: Any, name: str) -> list[float]:
    """A policy as the list of floats that is logged; a malformed one forfeits."""
    try:
        return probs.tolist() if hasattr(probs, "tolist") else [float(p) for p in probs]
    except (TypeError, ValueError):
        raise Forfeit(name, f"{name}: policy returned {probs!r:.80}, not probabilities") from None


def _stat(value: Any) -> float | list[str]:
    """A counter as a float; a list of texts (raw answers an agent could not use) as is."""
    if isinstance(value, (list, tuple)):
        if not all(isinstance(v, str) for v in value):
            raise TypeError(f"a stats list must hold texts, got {value!r:.60}")
        return list(value)
    return float(value)


def collect_stats(state: MatchState) -> None:
    """Every built agent's ``stats()``, plus the engine's count of rounds given up."""
    stats = {}
    for name, agent in state.agents.items():
        fn = getattr(agent, "stats", None)
        if callable(fn):
            state.current = name  # a stats() that never returns is this agent's timeout
            try:
                stats[name] = {k: _stat(v) for k, v in dict(fn()).items()}
            except Exception:  # noqa: BLE001 -- counters are optional; never fail a match on them
                continue
    state.current = None
    for name, count in state.round_forfeits.items():
        stats.setdefault(name, {})["round_forfeits"] = float(count)
    state.stats = stats
