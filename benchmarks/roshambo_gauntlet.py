"""Gauntlet: each exploiter against re-implemented classic RoShamBo bots (1000-throw matches).

Usage: ``python benchmarks/roshambo_gauntlet.py [agent ...] [--seeds N]``. Prints, per bot,
the exploiter's mean net per round over the seeds, then the mean and the worst bot.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from arena.registry import make_agent  # noqa: E402
from tests.agents.roshambo_bots import BOTS  # noqa: E402
from tests.helpers import play  # noqa: E402


def gauntlet(agent_type: str, seeds: int, **options) -> dict[str, float]:
    out = {}
    for bot, factory in BOTS.items():
        nets = [play(make_agent(agent_type, name="me", **options), factory(), rounds=1000,
                     seed=1000 + s)["me"] for s in range(seeds)]
        out[bot] = float(np.mean(nets))
    return out


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
