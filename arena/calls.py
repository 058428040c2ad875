"""How the engine calls an agent: seats, call modes, the action check, forfeits.

Each agent method is called in one of three ways (:func:`call_mode`): directly (every
agent in the match is synchronous, and the whole match runs in its own thread), awaited
(``async def`` methods, on the runner's loop, where language-model calls can meet in a
batcher), or offloaded to the match's daemon thread (:class:`Offload`: a synchronous
agent playing an async one). A decision is at most one ``policy`` call, then ``act``,
then the space check; an exception or an action outside the space raises
:class:`Forfeit` naming the agent. :class:`~arena.agent.RoundForfeit` gives up that
decision only: the decision returns :data:`FORFEITED` and the caller picks the move.
"""

from __future__ import annotations

import asyncio
import inspect
import queue
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np

from arena.agent import RoundForfeit
from arena.registry import accepted_options

DIRECT, AWAIT, OFFLOAD = 0, 1, 2
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
        self.stats: dict[str, dict[str, float]] = {}
        self.round_forfeits: dict[str, int] = {}  # by agent name, only those that gave up
        self.agents: dict[str, Any] = {}  # built so far, by name: stats() after a forfeit
        self.started_at = time.time()


class Offload:
    """A daemon thread that runs one match's synchronous agent calls for the event loop.

    Daemon, not the default executor: an agent stuck in ``while True`` must not keep
    the process alive at exit.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._work, daemon=True, name="arena-agent").start()

    def _work(self) -> None:
        while True:
            job = self.jobs.get()
            if job is None:
                return
            fn, args, kwargs, fut = job
            try:
                value, error = fn(*args, **kwargs), None
            except BaseException as exc:  # noqa: BLE001 -- delivered to the awaiting match
                value, error = None, exc
            self.loop.call_soon_threadsafe(settle, fut, value, error)

    async def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        fut = self.loop.create_future()
        self.jobs.put((fn, args, kwargs, fut))
        return await fut

    def close(self) -> None:
        self.jobs.put(None)


def settle(fut: asyncio.Future, value: Any, error: BaseException | None) -> None:
    """Resolve ``fut`` from a worker thread's outcome, unless it was already cancelled."""
    if fut.done():
        return
    if error is not None:
        fut.set_exception(error)
    else:
        fut.set_result(value)


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


class Seat:
    """One agent's call plan: which methods exist and how each is invoked."""

    __slots__ = ("agent", "name", "policy", "act", "pmode", "amode", "check", "role", "sync")

    def __init__(self, agent: Any, name: str, role: str, space: Any,
                 offload: Offload | None) -> None:
        self.agent, self.name, self.role = agent, name, role
        self.policy = getattr(agent, "policy", None)
        self.act = agent.act
        self.pmode = call_mode(self.policy, offload)
        self.amode = call_mode(self.act, offload)
        self.check = checker(space, name)
        self.sync = self.pmode == DIRECT and self.amode == DIRECT


async def reset_agent(agent: Any, name: str, offload: Offload | None, state: MatchState,
                      **context: Any) -> None:
    """``agent.reset(seed=..., **context)`` (optional for agents without state)."""
    reset = getattr(agent, "reset", None)
    if reset is None:
        return
    state.current = name
    try:
        await invoke(call_mode(reset, offload), reset, offload, **_accepted(reset, context))
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


def call_mode(fn: Any, offload: Offload | None) -> int:
    if inspect.iscoroutinefunction(fn):
        return AWAIT
    return DIRECT if offload is None else OFFLOAD


async def invoke(mode: int, fn: Callable[..., Any], offload: Offload | None, *args: Any,
                 **kwargs: Any) -> Any:
    if mode == AWAIT:
        return await fn(*args, **kwargs)
    if mode == OFFLOAD:
        return await offload.call(fn, *args, **kwargs)  # type: ignore[union-attr]
    return fn(*args, **kwargs)


def as_probabilities(probs: Any, name: str) -> list[float]:
    """A policy as the list of floats that is logged; a malformed one forfeits."""
    try:
        return probs.tolist() if hasattr(probs, "tolist") else [float(p) for p in probs]
    except (TypeError, ValueError):
        raise Forfeit(name, f"{name}: policy returned {probs!r:.80}, not probabilities") from None


def decide_now(seat: Seat, obs: Any, space: Any, state: MatchState) -> tuple[Any, Any]:
    """:func:`decide` for a seat whose calls are all direct: no coroutine per decision."""
    state.current = seat.name
    try:
        probs = None if seat.policy is None else seat.policy(obs, space)
        action = seat.act(obs, space)
    except RoundForfeit:
        state.current = None
        return FORFEITED, None
    except Forfeit:
        raise
    except (Exception, SystemExit):  # noqa: BLE001 -- any agent error forfeits for it
        raise Forfeit(seat.name, f"{seat.name}: {traceback.format_exc(limit=4).strip()}") from None
    state.current = None
    return seat.check(action), probs


async def decide(seat: Seat, obs: Any, space: Any, state: MatchState,
                 offload: Offload | None) -> tuple[Any, Any]:
    """One decision: policy (at most once), then act, then the space check.

    Returns ``(action, policy)``; ``(FORFEITED, None)`` when the agent raised RoundForfeit.
    """
    if seat.sync:
        return decide_now(seat, obs, space, state)
    state.current = seat.name
    probs = None
    try:
        if seat.policy is not None:
            probs = (seat.policy(obs, space) if seat.pmode == DIRECT
                     else await invoke(seat.pmode, seat.policy, offload, obs, space))
        action = (seat.act(obs, space) if seat.amode == DIRECT
                  else await invoke(seat.amode, seat.act, offload, obs, space))
    except RoundForfeit:
        state.current = None
        return FORFEITED, None
    except (Forfeit, asyncio.CancelledError):
        raise
    except (Exception, SystemExit):  # noqa: BLE001 -- any agent error forfeits for it
        raise Forfeit(seat.name, f"{seat.name}: {traceback.format_exc(limit=4).strip()}") from None
    state.current = None
    return seat.check(action), probs
