"""Mean time per decision of each agent over a 1000-round RPS match against uniform_random.

Usage: ``python benchmarks/agent_speed.py [agent ...] [--rounds N]``. The reference is
uniform_random's own time per decision, measured in the same run; the table gives each
agent's time and its ratio to that reference. Only the agent's own ``policy`` + ``act``
calls are timed (the env step and the opponent are not).
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from arena.registry import make_agent  # noqa: E402
from envs import make_game  # noqa: E402

DEFAULT = ["uniform_random", "frequency", "markov", "history_match", "iocaine", "hedge",
           "best_response"]


def time_per_decision(type_name: str, *, rounds: int = 1000, seed: int = 0) -> float:
    """Seconds per decision of ``type_name`` (seat 0) against uniform_random."""
    env = make_game("rps", rounds=rounds)
    obs, _ = env.reset(seed=seed)
    ids = list(env.possible_agents)
    me = make_agent(type_name, name="me")
    opp = make_agent("uniform_random", name="opp")
    pending: list[Any] = [None]
    for i, (agent, role) in enumerate(((me, ids[0]), (opp, ids[1]))):
        context = {"game": "rps", "role": role, "rounds": rounds, **env.unwrapped.context(role)}
        if getattr(agent, "white_box", False):
            context["opponent_policy"] = lambda: pending[0]
        agent.reset(seed=seed + i, **context)
    spent = 0.0
    while env.agents:
        pending[0] = opp.policy(obs[ids[1]], env.action_space(ids[1]))
        b = opp.act(obs[ids[1]], env.action_space(ids[1]))
        start = time.perf_counter()
        me.policy(obs[ids[0]], env.action_space(ids[0]))
        a = me.act(obs[ids[0]], env.action_space(ids[0]))
        spent += time.perf_counter() - start
        obs, *_ = env.step({ids[0]: a, ids[1]: b})
    return spent / rounds


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("agents", nargs="*", default=DEFAULT)
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    agents = ["uniform_random"] + [a for a in args.agents if a != "uniform_random"]
    times = {a: float(np.median([time_per_decision(a, rounds=args.rounds, seed=s)
                                 for s in range(args.repeats)])) for a in agents}
    ref = times["uniform_random"]
    print(f"# {platform.machine()}, {cpu_model()}, Python "
          f"{platform.python_version()}, {args.rounds} rounds, median of {args.repeats}")
    print("| agent | µs / decision | × uniform_random |")
    print("|---|---:|---:|")
    for a, t in times.items():
        print(f"| {a} | {t * 1e6:.1f} | {t / ref:.1f} |")


if __name__ == "__main__":
    main()
