"""The match loop: reset the agents, ask each for its decision, step the env, record.

:func:`play_match` plays one match of a matrix game, or one agent's series of episodes
in a solo task, and returns its :class:`~arena.records.MatchResult`. The runner, the
tests and the benchmarks all play through it.

Per round each agent makes one decision (:class:`~arena.seats.Seat`): an action, checked
against its space, and the exact policy it was drawn from, which is logged with the
round, with how long each agent's decision call took (``latency_ms``, measured by the
seat). White-box agents decide after the others and read their opponent's policy for
the round through ``opponent_policy()``: the value already computed, never a second
call. An agent that raises :class:`~arena.agent.RoundForfeit` gives up that round only:
in a matrix game it plays its worst reply to the opponent's move (the lowest row among
the minima of its payoff column; no RNG, so runs stay reproducible), or action 0 for
both when both gave up; in a solo task the env's ``forfeit_action``. The round lists it
under ``forfeited`` and its match stats count ``round_forfeits``.

Solo series: the agent is built once per series and reset before every episode, and
episode ``i`` is seeded from the series seed, which is the same for every agent, so all
agents see the same prompts. ``rounds`` counts steps, ``scores`` holds the mean reward
per step, and ``round_log`` keeps every step with its ``episode`` and ``step``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from arena.records import (
    FINISHED,
    FORFEIT,
    FORFEIT_AGENT,
    FORFEIT_DIED,
    FORFEIT_ERROR,
    FORFEIT_TIMEOUT,
    RETRYABLE_DIED,
    RETRYABLE_TIMEOUT,
    Fixture,
    MatchResult,
)
from arena.seats import (
    FORFEITED,
    Forfeit,
    MatchState,
    Seat,
    clean_text,
    collect_stats,
    reset_agent,
)
from arena.seeds import derive_seed

_SHOWN_CHARS = 40
#: the longest error text a match record keeps (its start and its end)
ERROR_CHARS = 20_000


class NoObserver:
    """What a match reports as it goes, to nobody (the runner passes the live view)."""

    def match_started(self, **kwargs: Any) -> None: ...

    def round_played(self, **kwargs: Any) -> None: ...


def play_match(env: Any, agents: Sequence[Any], *, game: str, seed: int,
               fixture: Fixture | None = None, observer: Any = None,
               state: MatchState | None = None) -> MatchResult:
    """Play ``agents`` (in seat order) on ``env``, a fresh env of game ``game``.

    ``fixture`` names the match in the record (and gives a solo series its number of
    episodes); without one the match is keyed by the game id. Never raises
    :class:`~arena.seats.Forfeit`: a forfeit is a record like any other.
    """
    from envs import get_game

    spec = get_game(game)
    names = list(fixture.agents) if fixture else [str(a.name) for a in agents]
    fixture = fixture or Fixture(key=game, index=0, game=game, agents=tuple(names), seed=seed)
    state = state or MatchState()
    for name, agent in zip(names, agents, strict=True):
        state.agents.setdefault(name, agent)
    observer = observer or NoObserver()
    try:
        return _play(env, agents, names, spec, fixture, observer, state)
    finally:
        for agent in agents:  # free what an agent holds for its match (a prompt cache)
            close = getattr(agent, "close", None)
            if callable(close):
                try:
                    close()
                except Exception:  # noqa: BLE001, S110 -- the record is made; nothing to lose
                    pass


def _play(env: Any, agents: Sequence[Any], names: list[str], spec: Any, fixture: Fixture,
          observer: Any, state: MatchState) -> MatchResult:
    try:
        if spec.solo:
            _play_series(env, agents[0], names[0], spec.id, spec.kind, fixture, observer, state)
        else:
            _play_rounds(env, agents, names, spec.id, fixture, observer, state)
    except Forfeit as exc:
        # counters up to the forfeit still count (an LLM that forfeits on an invalid
        # answer must show it in its invalid rate)
        if not state.stats:
            collect_stats(state)
        return result_from(fixture, state, status=FORFEIT, error=str(exc), by=exc.agent,
                           kind=forfeit_kind(exc))
    return result_from(fixture, state, status=FINISHED)


def forfeit_kind(exc: Forfeit) -> str:
    """An agent's forfeit is its own doing; one blamed on nobody is the env's error."""
    return FORFEIT_AGENT if exc.agent is not None else FORFEIT_ERROR


def result_from(fixture: Fixture, state: MatchState, *, status: str, error: str | None = None,
                by: str | None = None, kind: str | None = None) -> MatchResult:
    """The record of a match as far as ``state`` got. The error text (often an agent's own
    message) is stored as valid Unicode, cut to :data:`ERROR_CHARS` around the middle.
    ``kind``: why a forfeit happened (:data:`arena.records.FORFEIT_KINDS`)."""
    if status == FORFEIT and kind is None:
        kind = _stopped_kind(error)
    if error is not None:
        error = _bounded(clean_text(str(error)))
    return MatchResult(
        key=fixture.key, game=fixture.game, index=fixture.index, seed=fixture.seed,
        agents=list(fixture.agents), roles=list(state.roles), status=status,
        scores=dict(state.totals), rounds=state.rounds, error=error, forfeited_by=by,
        group=fixture.group, episodes=fixture.episodes, round_log=list(state.round_log),
        stats=dict(state.stats), started_at=state.started_at, finished_at=time.time(),
        forfeit_kind=kind if status == FORFEIT else None)


def _stopped_kind(error: str | None) -> str | None:
    # Every forfeit from inside a match passes its kind; one without a kind is a match the
    # runner stopped, whose error text the runner itself wrote (never an agent's words).
    if error is None:
        return None
    if error.startswith(RETRYABLE_TIMEOUT):
        return FORFEIT_TIMEOUT
    if error.startswith(RETRYABLE_DIED):
        return FORFEIT_DIED
    return None


def _bounded(text: str) -> str:
    if len(text) <= ERROR_CHARS:
        return text
    half = ERROR_CHARS // 2
    return f"{text[:half]}\n[... {len(text) - 2 * half} characters left out ...]\n{text[-half:]}"


def seat_context(game_id: str, env: Any, role: str) -> dict[str, Any]:
    """The reset context of the agent seated as ``role`` in a matrix game."""
    raw = env.unwrapped
    rounds = int(getattr(raw, "rounds", 0) or env.observation_space(role).shape[0])
    return {"game": game_id, "kind": "matrix", "role": role, "rounds": rounds,
            **raw.context(role)}


def start_episode(env: Any, game_id: str, kind: str, series_seed: int,
                  episode: int) -> tuple[Any, dict[str, Any]]:
    """Reset ``env`` for one episode of a solo series: its first observation and the
    agent's reset context."""
    obs, _ = env.reset(seed=derive_seed(series_seed, f"episode{episode}"))
    return obs, {"game": game_id, "kind": kind, "episode": episode, "role": "solo",
                 **env.context()}


def worst_replies(payoff: Any) -> list[int]:
    """Per opponent action, the own action (row) paying least; the lowest among ties."""
    return np.argmin(np.asarray(payoff, dtype=float), axis=0).tolist()


def _peek(current: list[Any], seat: int) -> Any:
    """``opponent_policy`` for a white-box agent: the opponent's policy this round, if any.

    Each call hands out a new array built from the checked, logged list of floats, so a
    white-box agent that writes into it changes neither the stored policy nor what it
    (or anyone) reads next.
    """
    def opponent_policy() -> np.ndarray | None:
        policy = current[seat]
        return None if policy is None else np.array(policy, dtype=float)

    return opponent_policy


def _play_rounds(env: Any, agents: Sequence[Any], names: list[str], game: str,
                 fixture: Fixture, observer: Any, state: MatchState) -> None:
    roles = list(env.possible_agents)
    state.roles = roles
    state.totals = dict.fromkeys(names, 0.0)
    obs, _ = env.reset(seed=fixture.seed)
    contexts = [seat_context(game, env, role) for role in roles]
    seats = [Seat(a, n, r, env.action_space(r))
             for a, n, r in zip(agents, names, roles, strict=True)]
    worst = [worst_replies(c["payoff"]) for c in contexts]
    current: list[Any] = [None, None]  # this round's policies, read by white-box agents
    for i, (agent, context) in enumerate(zip(agents, contexts, strict=True)):
        if getattr(agent, "white_box", False):
            context["opponent_policy"] = _peek(current, 1 - i)
        reset_agent(agent, names[i], state, seed=derive_seed(fixture.seed, f"seat{i}"),
                    **context)
    observer.match_started(key=fixture.key, game=fixture.game, agents=names,
                           rounds=contexts[0]["rounds"])
    action_names = env.unwrapped.action_names
    order = sorted(range(2), key=lambda i: bool(getattr(agents[i], "white_box", False)))
    (n0, n1), (r0, r1) = names, roles
    totals = [0.0, 0.0]
    actions: list[Any] = [0, 0]
    while env.agents:
        if state.cancelled:
            return
        current[0] = current[1] = None
        for i in order:
            actions[i], current[i] = seats[i].decision(obs[roles[i]], state)
        a0, a1 = actions
        gave_up = [name for name, a in zip(names, actions, strict=True) if a is FORFEITED]
        if gave_up:
            for name in gave_up:
                state.gave_up(name)
            if len(gave_up) == 2:
                a0 = a1 = 0
            elif a0 is FORFEITED:
                a0 = worst[0][a1]
            else:
                a1 = worst[1][a0]
        try:
            obs, rewards, _, _, _ = env.step({r0: a0, r1: a1})
        except Exception as exc:  # noqa: BLE001 -- a broken env voids the match, nobody's fault
            raise Forfeit(None, f"env error: {exc!r}") from None
        w0, w1 = rewards[r0], rewards[r1]
        totals[0] += w0
        totals[1] += w1
        p0, p1 = current  # checked by the seats: lists of floats, one per action
        probs = {}
        if p0 is not None:
            probs[n0] = p0
        if p1 is not None:
            probs[n1] = p1
        entry = {"actions": {n0: a0, n1: a1}, "probabilities": probs,
                 "rewards": {n0: w0, n1: w1},
                 "latency_ms": {n0: seats[0].latency_ms, n1: seats[1].latency_ms}}
        if gave_up:
            entry["forfeited"] = gave_up
        state.round_log.append(entry)
        state.rounds += 1
        state.totals = {n0: totals[0], n1: totals[1]}
        observer.round_played(key=fixture.key, round=state.rounds,
                              moves={n0: action_names[a0], n1: action_names[a1]},
                              scores=state.totals)
    collect_stats(state)


def _shown(action: Any) -> str:
    text = str(action).replace("\n", " ")
    return text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS - 1] + "…"


def _play_series(env: Any, agent: Any, name: str, game: str, kind: str, fixture: Fixture,
                 observer: Any, state: MatchState) -> None:
    state.roles = ["solo"]
    state.totals = {name: 0.0}
    episodes = int(fixture.episodes or 1)
    observer.match_started(key=fixture.key, game=fixture.game, agents=[name], rounds=episodes)
    seat: Seat | None = None
    total = 0.0
    for episode in range(episodes):
        if state.cancelled:
            return
        try:
            obs, context = start_episode(env, game, kind, fixture.seed, episode)
        except Exception as exc:  # noqa: BLE001 -- a broken env voids the series
            raise Forfeit(None, f"env error: {exc!r}") from None
        reset_agent(agent, name, state, seed=derive_seed(fixture.seed, f"agent/episode{episode}"),
                    **context)
        seat = seat or Seat(agent, name, "solo", env.action_space)
        step = 0
        done = False
        action = None
        while not done:
            action, probs = seat.decision(obs, state)
            gave_up = action is FORFEITED
            if gave_up:
                state.gave_up(name)
                action = env.unwrapped.forfeit_action(obs)
            try:
                obs, reward, terminated, truncated, _ = env.step(action)
            except Exception as exc:  # noqa: BLE001 -- the env rejected what passed the check
                raise Forfeit(name, f"{name}: action {_shown(action)!r} rejected: {exc}") from None
            reward = float(reward)
            total += reward
            entry = {"episode": episode, "step": step, "actions": {name: action},
                     "probabilities": {} if probs is None else {name: probs},
                     "rewards": {name: reward}, "latency_ms": {name: seat.latency_ms}}
            if gave_up:
                entry["forfeited"] = [name]
            state.round_log.append(entry)
            step += 1
            state.rounds += 1
            state.totals = {name: total / state.rounds}
            done = terminated or truncated
        observer.round_played(key=fixture.key, round=episode + 1,
                              moves={name: _shown(action)}, scores=state.totals)
    env.close()
    collect_stats(state)
