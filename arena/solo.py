"""One agent's series of episodes in a single-agent task (random numbers, creative writing).

Each series gets a fresh env, so every agent faces a fresh predictor or archive and
agents are judged alike. Episode ``i`` is seeded from the series seed, which is the same
for every agent, so all agents see the same prompts. The agent is built once per series
and ``reset`` before every episode with ``game``, ``episode``, ``role: "solo"`` and the
task keys from ``env.context()``.

The series is one :class:`~arena.records.MatchResult`: ``rounds`` counts steps,
``scores`` holds the mean reward per step, and ``round_log`` keeps every step with its
``episode`` and ``step`` (0-based) so each episode can be rated on its own.

A step the agent gives up with :class:`~arena.agent.RoundForfeit` plays the move worth
the least reward (:func:`forfeit_action`), is logged with ``forfeited`` and counted in
the agent's ``round_forfeits``.
"""

from __future__ import annotations

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
    reset_agent,
)
from arena.config import AgentConfig, GameConfig
from arena.match import build_agents, collect_stats
from arena.schedule import Fixture, derive_seed

_SHOWN_CHARS = 40


def _shown(action: Any) -> str:
    text = str(action).replace("\n", " ")
    return text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS - 1] + "…"


def start_episode(env: Any, game_id: str, series_seed: int,
                  episode: int) -> tuple[Any, dict[str, Any]]:
    """Reset ``env`` for one episode of a series: its first observation and the agent's
    reset context."""
    obs, _ = env.reset(seed=derive_seed(series_seed, f"episode{episode}"))
    return obs, {"game": game_id, "episode": episode, "role": "solo", **env.context()}


def forfeit_action(env: Any, game_id: str, obs: Any, name: str) -> Any:
    """The move a given-up step plays: in random numbers the number the env's predictor
    now finds most likely (the lowest among ties), so it earns the least surprisal; in
    creative writing the empty text, which scores 0."""
    if game_id == "creative_writing":
        return ""
    if game_id == "random_number":
        raw = env.unwrapped
        # the observation is the episode so far, then the low - 1 sentinel
        prefix = [int(v) - raw.low for v in obs if v >= raw.low]
        forecast = raw.predictor.predict(prefix)[0]
        return raw.low + int(np.argmax(forecast))
    raise Forfeit(name, f"{name}: gave up a step of {game_id}, which has no forfeit move")


async def play_series(fixture: Fixture, game: GameConfig, spec: AgentConfig, *,
                      observer: Any, state: MatchState, offload: Offload | None) -> None:
    from envs import make_game

    env = make_game(game.id, **game.args)
    name = spec.name
    state.roles = ["solo"]
    state.totals = {name: 0.0}
    (agent,) = build_agents([spec], state)
    episodes = int(fixture.episodes or 1)
    observer.match_started(key=fixture.key, game=fixture.game, agents=[name], rounds=episodes)
    seat: Seat | None = None
    total = 0.0
    log = state.round_log
    for episode in range(episodes):
        if state.cancelled:
            return
        try:
            obs, context = start_episode(env, game.id, fixture.seed, episode)
        except Exception as exc:  # noqa: BLE001 -- a broken env voids the series
            raise Forfeit(None, f"env error: {exc!r}") from None
        await reset_agent(agent, name, offload, state,
                          seed=derive_seed(fixture.seed, f"agent/episode{episode}"), **context)
        space = env.action_space
        if seat is None:
            seat = Seat(agent, name, "solo", space, offload)
        step = 0
        done = False
        action = None
        while not done:
            action, probs = await decide(seat, obs, space, state, offload)
            gave_up = action is FORFEITED
            if gave_up:
                state.round_forfeits[name] = state.round_forfeits.get(name, 0) + 1
                action = forfeit_action(env, game.id, obs, name)
            try:
                obs, reward, terminated, truncated, _ = env.step(action)
            except Exception as exc:  # noqa: BLE001 -- the env rejected what passed the check
                raise Forfeit(name, f"{name}: action {_shown(action)!r} rejected: {exc}") from None
            reward = float(reward)
            total += reward
            entry = {"episode": episode, "step": step, "actions": {name: action},
                     "probabilities": {} if probs is None else {name: as_probabilities(probs, name)},
                     "rewards": {name: reward}}
            if gave_up:
                entry["forfeited"] = [name]
            log.append(entry)
            step += 1
            state.rounds += 1
            state.totals = {name: total / state.rounds}
            done = terminated or truncated
        observer.round_played(key=fixture.key, round=episode + 1,
                              moves={name: _shown(action)}, scores=state.totals)
    env.close()
    collect_stats([agent], [name], state)
