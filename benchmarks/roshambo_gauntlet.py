"""Gauntlet: each exploiter against re-implemented classic RoShamBo bots (1000-throw matches).

Usage: ``python benchmarks/roshambo_gauntlet.py [agent ...] [--seeds N]``. Every match is
played by the engine's own loop, :func:`arena.match.play_match` (seeds 1000, 1001, ...;
the agents' seeds derive from them as in a run). Prints, per bot, the exploiter's mean
net per round over the seeds, then the mean and the worst bot.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from arena.match import play_match  # noqa: E402
from arena.registry import make_agent  # noqa: E402
from envs import make_game  # noqa: E402
from tests.agents.roshambo_bots import BOTS  # noqa: E402

ROUNDS = 1000


def net(agent_type: str, bot: Any, seed: int, options: dict[str, Any]) -> float:
    """Mean net per round of ``agent_type`` (seat 0, named "me") against ``bot``."""
    me = make_agent(agent_type, name="me", **options)
    result = play_match(make_game("rps", rounds=ROUNDS), [me, bot], game="rps", seed=seed)
    if result.status != "finished":
        raise RuntimeError(f"{agent_type} vs {bot.name}, seed {seed}: {result.error}")
    return result.scores["me"] / ROUNDS


def gauntlet(agent_type: str, seeds: int, **options: Any) -> dict[str, float]:
    return {bot: float(np.mean([net(agent_type, factory(), 1000 + s, options)
                                for s in range(seeds)]))
            for bot, factory in BOTS.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("agents", nargs="*", default=["iocaine", "hedge"])
    parser.add_argument("--seeds", type=int, default=2)
    args = parser.parse_args()
    tables = {}
    for agent in args.agents:
        start = time.perf_counter()
        tables[agent] = gauntlet(agent, args.seeds)
        print(f"# {agent}: {time.perf_counter() - start:.1f} s", file=sys.stderr)
    print("| bot | " + " | ".join(args.agents) + " |")
    print("|---|" + "---:|" * len(args.agents))
    for bot in BOTS:
        print(f"| {bot} | " + " | ".join(f"{tables[a][bot]:+.3f}" for a in args.agents) + " |")
    print("| **mean** | " + " | ".join(f"{np.mean(list(tables[a].values())):+.3f}"
                                       for a in args.agents) + " |")
    print("| **worst** | " + " | ".join(f"{min(tables[a].values()):+.3f}"
                                        for a in args.agents) + " |")


if __name__ == "__main__":
    main()
