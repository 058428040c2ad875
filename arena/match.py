"""One match: reset the env, build fresh agents, play every round, return a MatchResult.

Per round each agent gets at most one ``policy`` call (its exact mixed strategy, logged
with the round) and then one ``act``; the action is checked against the agent's space,
and anything outside it forfeits the match for that agent, as does an exception.
White-box agents are called after the others and read the opponent's policy for the
round through ``opponent_policy()``: the value already computed, never a second call.

:func:`play` is one coroutine for both kinds of agent. When every agent is synchronous
the runner drives it to completion in a daemon thread without an event loop (nothing
ever suspends), so a round costs plain function calls. When an agent is ``async`` the
coroutine runs on the runner's loop, where language-model calls meet in a batcher, and
the synchronous agents' calls go to a per-match daemon thread (:class:`Offload`).
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np

from arena.config import AgentConfig, GameConfig
from arena.records import FINISHED, FORFEIT, MatchResult
from arena.registry import make_agent
from arena.schedule import Fixture, derive_seed

DIRECT, AWAIT, OFFLOAD = 0, 1, 2


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
        self.started_at = time.time()


class Offload:
    """A daemon thread that runs one match's synchronous agent calls for the event loop.

    Daemon, not the default executor: an agent stuck in ``while True`` must not keep
    the process alive at exit.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        import queue

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
            self.loop.call_soon_threadsafe(_settle, fut, value, error)

    async def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        fut = self.loop.create_future()
        self.jobs.put((fn, args, kwargs, fut))
        return await fut

    def close(self) -> None:
        self.jobs.put(None)


def _settle(fut: asyncio.Future, value: Any, error: BaseException | None) -> None:
    if fut.done():
        return
    if error is not None:
        fut.set_exception(error)
    else:
        fut.set_result(value)


def build_agents(specs: list[AgentConfig]) -> list[Any]:
    """Fresh agent instances for one match, in seat order."""
    agents = []
    for spec in specs:
        try:
            agents.append(make_agent(spec.type, name=spec.name, **spec.options))
        except Exception as exc:  # noqa: BLE001 -- a broken constructor forfeits for its agent
            raise Forfeit(spec.name, f"{spec.name}: cannot build agent: {exc}") from None
    return agents


def is_async(agents: list[Any]) -> bool:
    """Whether any agent's ``act`` or ``policy`` is a coroutine function."""
    return any(inspect.iscoroutinefunction(getattr(a, m, None))
               for a in agents for m in ("act", "policy"))


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


def _probs(p: Any) -> list[float]:
    return p.tolist() if hasattr(p, "tolist") else [float(x) for x in p]


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
        await invoke(call_mode(reset, offload), reset, offload, **context)
    except Exception as exc:  # noqa: BLE001 -- a failing reset forfeits for its agent
        raise Forfeit(name, f"{name}: reset failed: {exc!r}") from None
    state.current = None


def _peek(current: list[Any], seat: int) -> Callable[[], Any]:
    """``opponent_policy`` for a white-box agent: the opponent's policy this round, if any."""

    def opponent_policy() -> Any:
        return current[seat]

    return opponent_policy


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


def decide_now(seat: Seat, obs: Any, space: Any, state: MatchState) -> tuple[Any, Any]:
    """:func:`decide` for a seat whose calls are all direct: no coroutine per decision."""
    state.current = seat.name
    try:
        probs = None if seat.policy is None else seat.policy(obs, space)
        action = seat.act(obs, space)
    except Forfeit:
        raise
    except Exception:  # noqa: BLE001 -- any agent error forfeits for that agent
        raise Forfeit(seat.name, f"{seat.name}: {traceback.format_exc(limit=4).strip()}") from None
    state.current = None
    return seat.check(action), probs


async def decide(seat: Seat, obs: Any, space: Any, state: MatchState,
                 offload: Offload | None) -> tuple[Any, Any]:
    """One decision: policy (at most once), then act, then the space check."""
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
    except (Forfeit, asyncio.CancelledError):
        raise
    except Exception:  # noqa: BLE001 -- any agent error forfeits for that agent
        raise Forfeit(seat.name, f"{seat.name}: {traceback.format_exc(limit=4).strip()}") from None
    state.current = None
    return seat.check(action), probs


async def play(fixture: Fixture, game: GameConfig, specs: list[AgentConfig], *,
               observer: Any, state: MatchState, offload: Offload | None = None) -> MatchResult:
    """Play one scheduled match (or solo series) and return its record; never raises Forfeit."""
    from arena.solo import play_series
    from envs import get_game

    spec = get_game(game.id)
    try:
        if spec.kind == "solo":
            await play_series(fixture, game, specs[0], observer=observer, state=state,
                              offload=offload)
        else:
            await _play_two(fixture, game, specs, observer=observer, state=state,
                            offload=offload)
    except Forfeit as exc:
        return result_from(fixture, state, status=FORFEIT, error=str(exc), by=exc.agent)
    return result_from(fixture, state, status=FINISHED)


def result_from(fixture: Fixture, state: MatchState, *, status: str, error: str | None = None,
                by: str | None = None, stats: dict | None = None) -> MatchResult:
    """The record of a match as far as ``state`` got."""
    return MatchResult(
        key=fixture.key, game=fixture.game, index=fixture.index, seed=fixture.seed,
        agents=list(fixture.agents), roles=list(state.roles), status=status,
        scores=dict(state.totals), rounds=state.rounds, error=error, forfeited_by=by,
        group=fixture.group, episodes=fixture.episodes, round_log=list(state.round_log),
        stats=dict(state.stats), started_at=state.started_at,
        finished_at=time.time())


def collect_stats(agents: list[Any], names: list[str], state: MatchState) -> None:
    stats = {}
    for agent, name in zip(agents, names, strict=True):
        fn = getattr(agent, "stats", None)
        if callable(fn):
            try:
                stats[name] = {k: float(v) for k, v in dict(fn()).items()}
            except Exception:  # noqa: BLE001 -- counters are optional; never fail a match on them
                continue
    state.stats = stats


async def _play_two(fixture: Fixture, game: GameConfig, specs: list[AgentConfig], *,
                    observer: Any, state: MatchState, offload: Offload | None) -> None:
    from envs import make_game

    env = make_game(game.id, **game.args)
    raw = env.unwrapped
    roles = list(env.possible_agents)
    state.roles = roles
    names = [s.name for s in specs]
    state.totals = dict.fromkeys(names, 0.0)
    obs, _ = env.reset(seed=fixture.seed)
    rounds = int(getattr(raw, "rounds", 0) or env.observation_space(roles[0]).shape[0])
    agents = build_agents(specs)
    spaces = [env.action_space(r) for r in roles]
    seats = [Seat(a, n, r, s, offload)
             for a, n, r, s in zip(agents, names, roles, spaces, strict=True)]
    current: list[Any] = [None, None]
    for i, (agent, role) in enumerate(zip(agents, roles, strict=True)):
        context = {"game": game.id, "role": role, "rounds": rounds, **raw.context(role)}
        if getattr(agent, "white_box", False):
            context["opponent_policy"] = _peek(current, 1 - i)
        await reset_agent(agent, names[i], offload, state,
                          seed=derive_seed(fixture.seed, f"seat{i}"), **context)
    state.current = None
    observer.match_started(key=fixture.key, game=fixture.game, agents=names, rounds=rounds)
    names_of = raw.action_names
    order = sorted(range(2), key=lambda i: bool(getattr(agents[i], "white_box", False)))
    totals = [0.0, 0.0]
    log = state.round_log
    round_played = observer.round_played
    key = fixture.key
    n0, n1 = names
    r0, r1 = roles
    actions = [0, 0]
    while env.agents:
        if state.cancelled:
            return
        current[0] = current[1] = None
        for i in order:
            seat = seats[i]
            if seat.sync:
                actions[i], current[i] = decide_now(seat, obs[roles[i]], spaces[i], state)
            else:
                actions[i], current[i] = await decide(seat, obs[roles[i]], spaces[i], state,
                                                      offload)
        a0, a1 = actions
        try:
            obs, rewards, _, _, _ = env.step({r0: a0, r1: a1})
        except Exception as exc:  # noqa: BLE001 -- a broken env voids the match, nobody's fault
            raise Forfeit(None, f"env error: {exc!r}") from None
        w0, w1 = rewards[r0], rewards[r1]
        totals[0] += w0
        totals[1] += w1
        probs = {}
        p0, p1 = current
        if p0 is not None:
            probs[n0] = _probs(p0)
        if p1 is not None:
            probs[n1] = _probs(p1)
        log.append({"actions": {n0: a0, n1: a1}, "probabilities": probs,
                    "rewards": {n0: w0, n1: w1}})
        state.rounds += 1
        state.totals = {n0: totals[0], n1: totals[1]}
        round_played(key=key, round=state.rounds,
                     moves={n0: names_of[a0], n1: names_of[a1]}, scores=state.totals)
    collect_stats(agents, names, state)
