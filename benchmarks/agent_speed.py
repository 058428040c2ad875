"""CPU time per decision of each agent over a 1000-round RPS match against uniform_random.

Usage: ``python benchmarks/agent_speed.py [agent ...] [--rounds N] [--repeats N]``.

Each agent (seat 0) plays a match against ``uniform_random`` through the engine's own
loop, :func:`arena.match.play_match`, so it is reset, seeded and asked exactly as in a
run (white-box agents included: they decide second and read the opponent's policy).
The same match is played with a stand-in in seat 0 (:class:`StandIn`: it returns one
precomputed decision, policy included, so the engine's work per round is the same).
The difference in the process's CPU time between the two, per round, is the agent's
own cost of one decision: its policy and its draw. Everything else (env, opponent,
checks, round log) is in both and cancels out.

CPU time rather than wall time, and whole matches rather than a clock around each call:
on a shared machine a cheap decision's wall time is dominated by the odd preemption,
and a per-call CPU clock costs more than a cheap decision. Each figure is the least of
``repeats`` matches (seeds 0, 1, ...), the least disturbed by other work; each repeat
goes round all the agents, so a change in the load falls on them alike. The reference
is ``uniform_random``'s own cost, measured the same way in the same run; the table
gives each agent's cost and its ratio to that reference.
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

from arena.agent import Decision  # noqa: E402
from arena.match import play_match  # noqa: E402
from arena.registry import make_agent  # noqa: E402
from envs import make_game  # noqa: E402

DEFAULT = ["uniform_random", "frequency", "markov", "history_match", "iocaine", "hedge",
           "best_response"]
BASELINE = "(stand-in)"


class StandIn:
    """The cheapest agent there can be: the same decision, with a uniform policy, each round."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._decision = Decision(0, np.full(3, 1 / 3))

    def reset(self, *, seed: int | None = None, **context: Any) -> None:
        pass

    def decide(self, observation: Any, action_space: Any) -> Decision:
        return self._decision


def match_cpu(type_name: str, *, rounds: int, seed: int) -> float:
    """CPU seconds of one ``play_match`` of ``type_name`` (seat 0) against uniform_random."""
    me = StandIn("me") if type_name == BASELINE else make_agent(type_name, name="me")
    agents = [me, make_agent("uniform_random", name="opp")]
    env = make_game("rps", rounds=rounds)
    start = time.process_time()
    result = play_match(env, agents, game="rps", seed=seed)
    spent = time.process_time() - start
    if result.status != "finished":
        raise RuntimeError(f"{type_name}: match {result.status}: {result.error}")
    return spent


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("agents", nargs="*", default=DEFAULT)
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    agents = ["uniform_random"] + [a for a in args.agents if a != "uniform_random"]
    runs: dict[str, list[float]] = {a: [] for a in [BASELINE, *agents]}
    for seed in range(args.repeats):
        for a in runs:
            runs[a].append(match_cpu(a, rounds=args.rounds, seed=seed))
    base = min(runs[BASELINE])
    times = {a: (min(runs[a]) - base) / args.rounds for a in agents}
    ref = times["uniform_random"]
    print(f"# {platform.machine()}, {cpu_model()}, Python "
          f"{platform.python_version()}, {args.rounds} rounds, best of {args.repeats}; "
          f"CPU time, the stand-in's match ({base * 1e3:.1f} ms) subtracted")
    print("| agent | µs / decision | × uniform_random |")
    print("|---|---:|---:|")
    for a, t in times.items():
        print(f"| {a} | {t * 1e6:.1f} | {t / ref:.1f} |")


if __name__ == "__main__":
    main()
