"""Leaderboards for solo tasks (random numbers, creative writing).

Each agent plays its own series of seeded episodes, the same seeds for every agent.
Records are one per agent series, and the table needs per-episode rewards, so pass
records **with** ``round_log`` (``store.results(game=..., rounds=True)``): each entry
carries ``episode`` and ``rewards`` (``{agent: reward}``). A record may instead carry
``episode_means`` (a list, one mean reward per episode, in episode order), which is
what :func:`compact_solo_record` keeps.

Columns:

``reward_mean``           mean over episodes of the episode's mean reward per step
``ci_low``, ``ci_high``   95% Student-t interval of that mean over episodes (None for
                          fewer than 2 episodes)
``mu``, ``sigma``, ``score``
                          TrueSkill from a free-for-all per episode in episode order:
                          every agent that played episode *i* is ranked by its mean
                          reward in it, equal means tie (``TrueSkill.rate(groups, ranks)``)
``episodes``              episodes played

An agent that forfeits its series is ranked last, tied with any other quitter, in
every episode it did not play. The table adds ``forfeits`` when any series was
forfeited, and ``invalid_rate`` / ``off_mass`` when agents report them in ``stats``.
Rows are sorted by ``score``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import numpy as np

from leaderboards.contests import FORFEIT, Record, record_order
from leaderboards.table import Leaderboard
from leaderboards.trueskill_ratings import RATE_STATS, add_stats, make_env

SOLO_COLUMNS = ["agent", "reward_mean", "ci_low", "ci_high", "mu", "sigma", "score",
                "episodes"]


def episode_means(record: Record) -> dict[int, float]:
    """Episode number -> mean reward per step for the record's single agent."""
    if record.get("episode_means") is not None:
        return {i: float(m) for i, m in enumerate(record["episode_means"])}
    agent = record["agents"][0]
    log = record.get("round_log") or []
    if not log:
        if int(record.get("rounds") or 0) == 0:
            return {}
        raise ValueError(
            f"solo record {record.get('key')!r} has no round_log: per-episode rankings need "
            "records loaded with rounds (store.results(rounds=True))")
    sums: dict[int, float] = defaultdict(float)
    counts: dict[int, int] = defaultdict(int)
    for entry in log:
        episode = int(entry.get("episode", 0))
        sums[episode] += float((entry.get("rewards") or {}).get(agent, 0.0))
        counts[episode] += 1
    return {e: sums[e] / counts[e] for e in sorted(sums)}


def compact_solo_record(record: Record) -> dict[str, Any]:
    """The record without its round log, keeping only per-episode means."""
    means = episode_means(record)
    keep = {k: v for k, v in record.items() if k != "round_log"}
    keep["episode_means"] = [means[e] for e in sorted(means)]
    return keep


def mean_ci(values: list[float], *, level: float = 0.95) -> tuple[float, float | None,
                                                                  float | None]:
    """Mean and Student-t interval; the interval is None below two values."""
    n = len(values)
    if n == 0:
        return math.nan, None, None
    arr = np.asarray(values, dtype=float)
    mean = float(arr.mean())
    if n < 2:
        return mean, None, None
    from scipy import stats as scipy_stats  # 0.6 s to import: only when a table is built

    half = float(scipy_stats.t.ppf(0.5 + level / 2, n - 1) * arr.std(ddof=1) / math.sqrt(n))
    return mean, mean - half, mean + half


def _ranks(values: list[float]) -> list[int]:
    """Competition ranks, 0 best (highest value), ties equal."""
    return [sum(other > v for other in values) for v in values]


def build_solo_leaderboard(records: Iterable[Record], *, draw_probability: float = 0.1,
                           title: str | None = None) -> Leaderboard:
    """Rate solo-task records; see the module docstring."""
    per_agent: dict[str, dict[int, float]] = {}
    forfeits: dict[str, int] = defaultdict(int)
    quit_at: dict[str, int] = {}
    stats: dict[str, dict[str, float]] = defaultdict(dict)
    for record in sorted(records, key=record_order):
        agent = record["agents"][0]
        episodes = per_agent.setdefault(agent, {})
        means = episode_means(record)
        # Several records of one agent whose numbering collides continue the series.
        shift = max(episodes) + 1 if episodes and any(e in episodes for e in means) else 0
        for e, mean in means.items():
            episodes[e + shift] = mean
        if record.get("status") == FORFEIT:
            forfeits[agent] += 1
            if record.get("forfeited_by") == agent:
                quit_at[agent] = max(episodes) + 1 if episodes else 0
        add_stats(stats[agent], record, agent)

    env = make_env(draw_probability)
    ratings = {agent: env.create_rating() for agent in per_agent}
    for episode in sorted({e for eps in per_agent.values() for e in eps}):
        players = [a for a in per_agent if episode in per_agent[a]]
        quitters = [a for a, at in quit_at.items() if at <= episode and a not in players]
        if len(players) + len(quitters) < 2:
            continue
        ranks = _ranks([per_agent[a][episode] for a in players]) + [len(players)] * len(quitters)
        players += quitters
        rated = env.rate([(ratings[a],) for a in players], ranks=ranks)
        for agent, (rating,) in zip(players, rated, strict=True):
            ratings[agent] = rating

    extras = [col for stat, col in RATE_STATS.items() if any(stat in s for s in stats.values())]
    if forfeits:
        extras.insert(0, "forfeits")
    rows = []
    for agent, episodes in per_agent.items():
        mean, low, high = mean_ci([episodes[e] for e in sorted(episodes)])
        rating = ratings[agent]
        row: dict[str, Any] = {
            "agent": agent, "reward_mean": mean, "ci_low": low, "ci_high": high,
            "mu": rating.mu, "sigma": rating.sigma, "score": env.expose(rating),
            "episodes": len(episodes), "forfeits": forfeits.get(agent, 0),
        }
        decisions = stats[agent].get("decisions", 0.0)
        for stat, col in RATE_STATS.items():
            row[col] = (stats[agent][stat] / decisions
                        if stat in stats[agent] and decisions else None)
        rows.append({k: row[k] for k in SOLO_COLUMNS + extras})
    rows.sort(key=lambda r: (-r["score"], r["agent"]))
    return Leaderboard(rows, columns=SOLO_COLUMNS + extras, title=title)
