"""A bare synchronous match loop for agent tests (the engine's loop is async and stores).

Agents get the engine's own reset context (:func:`arena.match.seat_context`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from arena.match import seat_context
from envs import make_game


def play(a: Any, b: Any, *, game: str = "rps", rounds: int = 1000, seed: int = 0,
         **game_kwargs: Any) -> dict[str, float]:
    """Play one match, seat a first; return mean reward per round by agent name."""
    env = make_game(game, rounds=rounds, **game_kwargs)
    observations, _ = env.reset(seed=seed)
    ids = list(env.possible_agents)
    seeds = np.random.SeedSequence(seed).spawn(2)
    agents = dict(zip(ids, (a, b), strict=True))
    for i, agent_id in enumerate(ids):
        agents[agent_id].reset(seed=int(seeds[i].generate_state(1)[0]),
                               **seat_context(game, env, agent_id))
    totals = dict.fromkeys(ids, 0.0)
    while env.agents:
        actions = {}
        for agent_id, agent in agents.items():
            space = env.action_space(agent_id)
            if hasattr(agent, "policy"):
                agent.policy(observations[agent_id], space)
            actions[agent_id] = agent.act(observations[agent_id], space)
        observations, rewards, _, _, _ = env.step(actions)
        for agent_id, r in rewards.items():
            totals[agent_id] += r
    return {agents[i].name: totals[i] / rounds for i in ids}
