"""One match: reset the env, build fresh agents, play every round, return a MatchResult.

Per round each agent gets at most one ``policy`` call (its exact mixed strategy, logged
with the round) and then one ``act``; the action is checked against the agent's space,
and anything outside it forfeits the match for that agent, as does an exception.
An agent that raises :class:`~arena.agent.RoundForfeit` gives up that round only: once
both have decided it plays its worst reply to the opponent's move (the lowest row index
among the minima of its payoff column; no RNG, so runs stay reproducible), or action 0
for both when both gave up. That round logs no policy for it and lists it under
``forfeited``; its match stats count ``round_forfeits``.
White-box agents are called after the others and read the opponent's policy for the
round through ``opponent_policy()``: the value already computed, never a second call.

:func:`play` is one coroutine for both kinds of agent. When every agent is synchronous
the runner drives it to completion in a daemon thread without an event loop (nothing
ever suspends), so a round costs plain function calls. When an agent is ``async`` the
coroutine runs on the runner's loop, where language-model calls meet in a batcher, and
the synchronous agents' calls go to a per-match daemon thread (see :mod:`arena.calls`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from arena.calls import (
    FORFEITED,
    Forfeit,
    MatchState,
    Offload,
    Seat,
    as_probabilities,
    decide,
    decide_now,
    reset_agent,
)
from arena.config import AgentConfig, GameConfig
from arena.records import FINISHED, FORFEIT, MatchResult
from arena.registry import make_agent
from arena.schedule import Fixture, derive_seed


def build_agents(specs: list[AgentConfig], state: MatchState) -> list[Any]:
    """Fresh agent instances for one match, in seat order.

    ``state.current`` names the agent being built, so a constructor that never returns
    is blamed for the timeout like any other stuck call.
    """
    agents = []
    for spec in specs:
        state.current = spec.name
        try:
            agents.append(make_agent(spec.type, name=spec.name, **spec.options))
        except Exception as exc:  # noqa: BLE001 -- a broken constructor forfeits for its agent
            raise Forfeit(spec.name, f"{spec.name}: cannot build agent: {exc}") from None
        state.agents[spec.name] = agents[-1]
    state.current = None
    return agents


def seat_context(game_id: str, env: Any, role: str) -> dict[str, Any]:
    """The reset context of the agent seated as ``role`` (``opponent_policy`` aside)."""
    raw = env.unwrapped
    rounds = int(getattr(raw, "rounds", 0) or env.observation_space(role).shape[0])
    return {"game": game_id, "role": role, "rounds": rounds, **raw.context(role)}


def _peek(current: list[Any], seat: int) -> Callable[[], Any]:
    """``opponent_policy`` for a white-box agent: the opponent's policy this round, if any."""

    def opponent_policy() -> Any:
        return current[seat]

    return opponent_policy


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
        # counters up to the forfeit still count (an LLM that forfeits on an invalid
        # answer must show it in its invalid rate); a timeout never gets here
        if state.agents and not state.stats:
            collect_stats(list(state.agents.values()), list(state.agents), state)
        return result_from(fixture, state, status=FORFEIT, error=str(exc), by=exc.agent)
    return result_from(fixture, state, status=FINISHED)


def result_from(fixture: Fixture, state: MatchState, *, status: str, error: str | None = None,
                by: str | None = None) -> MatchResult:
    """The record of a match as far as ``state`` got."""
    return MatchResult(
        key=fixture.key, game=fixture.game, index=fixture.index, seed=fixture.seed,
        agents=list(fixture.agents), roles=list(state.roles), status=status,
        scores=dict(state.totals), rounds=state.rounds, error=error, forfeited_by=by,
        group=fixture.group, episodes=fixture.episodes, round_log=list(state.round_log),
        stats=dict(state.stats), started_at=state.started_at,
        finished_at=time.time())


def _stat(value: Any) -> float | list[str]:
    """A counter as a float; a list of texts (raw answers an agent could not use) as is."""
    if isinstance(value, (list, tuple)):
        if not all(isinstance(v, str) for v in value):
            raise TypeError(f"a stats list must hold texts, got {value!r:.60}")
        return list(value)
    return float(value)


def collect_stats(agents: list[Any], names: list[str], state: MatchState) -> None:
    stats = {}
    for agent, name in zip(agents, names, strict=True):
        fn = getattr(agent, "stats", None)
        if callable(fn):
            state.current = name  # a stats() that never returns is this agent's timeout
            try:
                stats[name] = {k: _stat(v) for k, v in dict(fn()).items()}
            except Exception:  # noqa: BLE001 -- counters are optional; never fail a match on them
                continue
    state.current = None
    for name, count in state.round_forfeits.items():  # the engine's count, beside the agent's
        stats.setdefault(name, {})["round_forfeits"] = float(count)
    state.stats = stats


def worst_replies(payoff: Any) -> list[int]:
    """Per opponent action, the own action (row) paying least; the lowest among ties."""
    return np.argmin(np.asarray(payoff, dtype=float), axis=0).tolist()


def forfeit_moves(a0: Any, a1: Any, worst: list[list[int]], names: list[str],
                  state: MatchState) -> tuple[int, int, list[str]]:
    """The actions played in a round one or both seats gave up, and who gave it up."""
    gave_up = [name for name, a in zip(names, (a0, a1), strict=True) if a is FORFEITED]
    for name in gave_up:
        state.round_forfeits[name] = state.round_forfeits.get(name, 0) + 1
    if len(gave_up) == 2:
        return 0, 0, gave_up
    if a0 is FORFEITED:
        return worst[0][a1], a1, gave_up
    return a0, worst[1][a0], gave_up


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
    contexts = [seat_context(game.id, env, role) for role in roles]
    rounds = contexts[0]["rounds"]
    agents = build_agents(specs, state)
    spaces = [env.action_space(r) for r in roles]
    seats = [Seat(a, n, r, s, offload)
             for a, n, r, s in zip(agents, names, roles, spaces, strict=True)]
    worst = [worst_replies(c["payoff"]) for c in contexts]
    current: list[Any] = [None, None]
    for i, (agent, context) in enumerate(zip(agents, contexts, strict=True)):
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
        gave_up = None
        if a0 is FORFEITED or a1 is FORFEITED:
            a0, a1, gave_up = forfeit_moves(a0, a1, worst, names, state)
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
            probs[n0] = as_probabilities(p0, n0)
        if p1 is not None:
            probs[n1] = as_probabilities(p1, n1)
        entry = {"actions": {n0: a0, n1: a1}, "probabilities": probs,
                 "rewards": {n0: w0, n1: w1}}
        if gave_up:
            entry["forfeited"] = gave_up
        log.append(entry)
        state.rounds += 1
        state.totals = {n0: totals[0], n1: totals[1]}
        round_played(key=key, round=state.rounds,
                     moves={n0: names_of[a0], n1: names_of[a1]}, scores=state.totals)
    collect_stats(agents, names, state)
