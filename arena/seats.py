"""How the engine calls an agent: its seat, its one decision per round, and forfeits.

A :class:`Seat` is built once per match and fixes how each decision is asked for:
``agent.decide`` when the agent has it (every :class:`~arena.agent.BaseAgent`), else
``policy`` (if present) then ``act``, as a bare outside class expects. Then the action
is checked against the agent's space. An exception or an action outside the space
raises :class:`Forfeit` naming the agent; :class:`~arena.agent.RoundForfeit` gives up
that decision only, and the decision returns :data:`FORFEITED`.

Each decision is timed: :attr:`Seat.latency_ms` holds how long the agent's one call took
(``time.perf_counter`` around it, milliseconds; a round given up included), which the
match loop logs with the round.

Nothing an agent returns can stop a run: every value is checked here before the store,
the live view or an opponent sees it, and a bad one forfeits that agent's match with the
reason recorded. An action must be in the space (a text must be valid Unicode: no lone
surrogates); a policy (:func:`as_probabilities`) must be a 1-D array with one entry per
action, finite, non-negative and summing to 1 within :data:`POLICY_TOLERANCE`; a stat
(:func:`collect_stats`) is a finite number or a list of texts, and anything else is left
out. The checks run on plain Python floats, so a round costs well under a microsecond more.
"""

from __future__ import annotations

import math
import re
import reprlib
import time
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np

from arena.agent import RoundForfeit, ServiceUnavailable
from arena.registry import accepted_options

FORFEITED = object()  # the "action" of a decision given up with RoundForfeit
#: how far from 1 a policy's sum may be (a softmax in float32 is within 1e-7)
POLICY_TOLERANCE = 1e-6
_FLOAT = np.dtype(float)
_clock = time.perf_counter
_SURROGATES = re.compile("[\ud800-\udfff]")
_brief = reprlib.Repr()
_brief.maxstring = _brief.maxother = 60
_brief.maxlist = _brief.maxtuple = 6


def brief(value: Any) -> str:
    """A short ``repr`` of something an agent returned (never the whole of a huge value)."""
    return _brief.repr(value)


def clean_text(text: str) -> str:
    """``text`` with lone surrogates (which UTF-8 cannot encode) replaced by U+FFFD."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATES.sub("\ufffd", text)
    return text


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
            raise Forfeit(name, f"{name}: returned {brief(action)}, not an action in {space}")

        return check_discrete
    if isinstance(space, Text):
        def check_text(action: Any) -> str:
            if isinstance(action, str):
                text = str.__str__(action)  # a str subclass as the plain text it holds
                try:
                    text.encode("utf-8")
                except UnicodeEncodeError as exc:  # a lone surrogate: no store can keep it
                    raise Forfeit(name, f"{name}: returned text that is not valid Unicode "
                                  f"({exc.reason} at index {exc.start}): {brief(text)}") \
                        from None
                return text
            raise Forfeit(name, f"{name}: returned {brief(action)}, not text")

        return check_text

    def check_any(action: Any) -> Any:
        try:
            if space.contains(action):
                return action
        except BaseException:  # noqa: BLE001, S110 -- a value the space cannot even test
            pass
        raise Forfeit(name, f"{name}: returned {brief(action)}, not an action in {space}")

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

    __slots__ = ("agent", "name", "role", "space", "call", "check", "n_actions", "latency_ms")

    def __init__(self, agent: Any, name: str, role: str, space: Any) -> None:
        self.agent, self.name, self.role, self.space = agent, name, role, space
        self.call = decision_call(agent)
        self.check = checker(space, name)
        self.n_actions = action_count(space)
        #: milliseconds the agent's last decision call took (``None`` before the first)
        self.latency_ms: float | None = None

    def decision(self, observation: Any, state: MatchState) -> tuple[Any, list[float] | None]:
        """``(action, policy)``, both checked, the policy as the list of floats that is
        logged (a copy: what the agent does to its array later changes nothing), or
        ``None``; ``(FORFEITED, None)`` when the agent gave up this round."""
        action, probs = self._ask(observation, state)
        if probs is None:
            return action, None
        # the usual case inline (a float64 vector that passes); anything else, and every
        # failure, through as_probabilities, which says what is wrong
        if type(probs) is np.ndarray and probs.dtype is _FLOAT and probs.ndim == 1:
            values = probs.tolist()
            if len(values) == self.n_actions and -POLICY_TOLERANCE <= sum(values) - 1.0 \
                    <= POLICY_TOLERANCE and min(values) >= 0.0:
                return action, values
        return action, as_probabilities(probs, self.name, self.n_actions)

    def _ask(self, observation: Any, state: MatchState) -> tuple[Any, Any]:
        """The agent's call, its action checked, its policy as it came."""
        state.current = self.name
        start = _clock()
        try:
            action, probs = self.call(observation, self.space)
        except RoundForfeit:
            self.latency_ms = (_clock() - start) * 1000.0
            state.current = None
            return FORFEITED, None
        except (Forfeit, ServiceUnavailable):
            raise
        # anything an agent raises, KeyboardInterrupt, SystemExit and GeneratorExit too
        except BaseException:  # noqa: BLE001 -- forfeits for it
            raise Forfeit(self.name, f"{self.name}: {traceback.format_exc(limit=4).strip()}") \
                from None
        self.latency_ms = (_clock() - start) * 1000.0
        state.current = None
        return self.check(action), probs


def action_count(space: Any) -> int | None:
    """The number of actions of a discrete space; 0 for text (no policy can cover it);
    ``None`` for any other space (a policy's length is then not checked)."""
    from gymnasium.spaces import Discrete, Text

    if isinstance(space, Discrete):
        return int(space.n)
    return 0 if isinstance(space, Text) else None


def reset_agent(agent: Any, name: str, state: MatchState, **context: Any) -> None:
    """``agent.reset(seed=..., **context)`` (optional for agents without state)."""
    reset = getattr(agent, "reset", None)
    if reset is None:
        return
    state.current = name
    try:
        reset(**accepted_context(reset, context))
    except BaseException as exc:  # noqa: BLE001 -- a failing reset forfeits for its agent
        raise Forfeit(name, f"{name}: reset failed: {exc!r}") from None
    state.current = None


def accepted_context(fn: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments ``fn`` takes: all with ``**context``, else only those it names
    (a bare ``reset(self, seed=None)`` that ignores the context is a valid agent too)."""
    try:
        named = accepted_options(fn)
    except (TypeError, ValueError):
        return kwargs
    return kwargs if named is None else {k: v for k, v in kwargs.items() if k in named}


def as_probabilities(probs: Any, name: str, n_actions: int | None = None) -> list[float]:
    """A policy as the list of floats that is logged; anything but a probability vector
    over the ``n_actions`` actions forfeits for ``name``.

    A policy must be one-dimensional, one entry per action, finite, non-negative and sum
    to 1 within :data:`POLICY_TOLERANCE`. The usual case (a float64 vector) costs one
    ``tolist`` and a sum and a min over a few Python floats.
    """
    if type(probs) is np.ndarray and probs.dtype == _FLOAT and probs.ndim == 1:
        values = probs.tolist()
    else:
        try:
            array = np.asarray(probs)
            if array.dtype.kind not in "biuf":  # text, objects, complex numbers
                raise TypeError(array.dtype)
            array = array.astype(float)
        except BaseException:  # noqa: BLE001 -- text, mappings, ragged lists, objects that raise
            raise Forfeit(name, f"{name}: policy returned {brief(probs)}, not probabilities") \
                from None
        if array.ndim != 1:
            raise Forfeit(name, f"{name}: policy has shape {array.shape}, not one entry per "
                          "action")
        values = array.tolist()
    if n_actions is not None and len(values) != n_actions:
        if n_actions == 0:
            raise Forfeit(name, f"{name}: returned a policy for a text action; a policy is "
                          "only defined over a finite set of actions")
        raise Forfeit(name, f"{name}: policy has {len(values)} entries for {n_actions} "
                      "actions")
    total = sum(values)  # NaN or an infinity anywhere makes it NaN or infinite
    if not abs(total - 1.0) <= POLICY_TOLERANCE or min(values) < 0.0:
        if not all(math.isfinite(p) for p in values):
            problem = "holds a value that is not finite (NaN or infinity)"
        elif min(values) < 0.0:
            problem = f"holds a negative probability ({min(values):g})"
        else:
            problem = f"sums to {total:.9g}, not 1"
        raise Forfeit(name, f"{name}: policy {problem}: {brief(probs)}")
    return values


def _stat(value: Any) -> float | list[str]:
    """A counter as a finite float; a list of texts (raw answers an agent could not use)
    with any lone surrogate replaced. Anything else raises (and is left out)."""
    if isinstance(value, (list, tuple)):
        if not all(isinstance(v, str) for v in value):
            raise TypeError(f"a stats list must hold texts, got {brief(value)}")
        return [clean_text(str(v)) for v in value]
    number = float(value)
    if not math.isfinite(number):  # NaN would make the export invalid JSON
        raise ValueError(f"a stat must be finite, got {number!r}")
    return number


def _stats_of(agent: Any) -> dict[str, float | list[str]]:
    """An agent's ``stats()`` as stored: text keys, and only the values that are valid."""
    out: dict[str, float | list[str]] = {}
    for key, value in dict(agent.stats()).items():
        try:
            out[clean_text(str(key))] = _stat(value)
        except Exception:  # noqa: BLE001, S112 -- one bad counter loses only itself
            continue
    return out


def collect_stats(state: MatchState) -> None:
    """Every built agent's ``stats()``, plus the engine's count of rounds given up."""
    stats = {}
    for name, agent in state.agents.items():
        fn = getattr(agent, "stats", None)
        if callable(fn):
            state.current = name  # a stats() that never returns is this agent's timeout
            try:
                stats[name] = _stats_of(agent)
            except BaseException:  # noqa: BLE001 -- counters are optional; never fail a match on them
                continue
    state.current = None
    for name, count in state.round_forfeits.items():
        stats.setdefault(name, {})["round_forfeits"] = float(count)
    state.stats = stats
