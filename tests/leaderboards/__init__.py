"""Tests of the leaderboards package, with a factory for hand-made match records."""

from __future__ import annotations

from typing import Any


def match(index: int, a: str, b: str, score_a: float, *, rounds: int = 10,
          score_b: float | None = None, group: str | None = None,
          forfeited_by: str | None = None, stats: dict[str, dict[str, float]] | None = None,
          game: str = "rps") -> dict[str, Any]:
    """A two-player record as ``MatchResult.to_dict()`` gives it (zero-sum by default)."""
    return {
        "key": f"{game}/{index:04d}", "game": game, "index": index, "seed": index,
        "agents": [a, b], "roles": ["player_0", "player_1"],
        "status": "forfeit" if forfeited_by else "finished",
        "scores": {a: float(score_a), b: float(-score_a if score_b is None else score_b)},
        "rounds": rounds, "error": "boom" if forfeited_by else None,
        "forfeited_by": forfeited_by, "group": group, "episodes": None,
        "round_log": [], "stats": stats or {}, "started_at": 0.0, "finished_at": 0.0,
    }


def solo(index: int, agent: str, episode_rewards: list[list[float]], *,
         game: str = "random_number") -> dict[str, Any]:
    """A solo series record with a round log: one list of step rewards per episode."""
    log = [{"episode": e, "step": s, "actions": {agent: 0}, "probabilities": {},
            "rewards": {agent: r}}
           for e, rewards in enumerate(episode_rewards) for s, r in enumerate(rewards)]
    steps = [r for rewards in episode_rewards for r in rewards]
    return {
        "key": f"{game}/{agent}", "game": game, "index": index, "seed": 0,
        "agents": [agent], "roles": ["solo"], "status": "finished",
        "scores": {agent: sum(steps) / max(len(steps), 1)}, "rounds": len(steps),
        "error": None, "forfeited_by": None, "group": None,
        "episodes": len(episode_rewards), "round_log": log, "stats": {},
        "started_at": 0.0, "finished_at": 0.0,
    }
