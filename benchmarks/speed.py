"""How fast the arena plays: rounds per second, against a bare PettingZoo loop.

    python benchmarks/speed.py [--rounds 5000] [--matches 3] [--repeats 3]

Two simple bots (``uniform_random`` and ``cycle``) play a round robin (``matches``
per seat order, ``rounds`` each):

* **arena**: ``arena run CONFIG --no-live`` as a subprocess, storage included. The
  fixed costs (interpreter start-up, imports, creating the run, per-match set-up, the
  final leaderboard) are measured by the same round robin with one round per match and
  reported separately, so the steady rate is ``rounds / (wall - fixed)``.
* **bare loop**: the same bot classes driven by a plain ``while env.agents`` loop over
  PettingZoo's classic ``rps_v2`` (which imports ``pygame``: ``pip install pygame``; it
  is not a project dependency).

It prints both rates and their ratio (above 1 means the arena, storage and all, plays
faster than the bare reference loop), then the cost of one round split into env,
agents and storage, each timed in-process on its own; "engine" is what remains. The
live view's own per-round work (not part of ``--no-live``) is shown on its own line.
The best of ``repeats`` runs is kept for every figure, as the least disturbed by
other work on the machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

AGENTS = [("random", "uniform_random"), ("cycle", "cycle")]
ROOT = Path(__file__).resolve().parents[1]


def make_bots() -> list[Any]:
    from arena.registry import make_agent

    return [make_agent(kind, name=name) for name, kind in AGENTS]


def schedule(matches: int) -> list[tuple[int, int]]:
    """Seat orders of a two-agent round robin: each order ``matches`` times."""
    return [(0, 1), (1, 0)] * matches


Timing = tuple[float, float]  # (wall seconds, CPU seconds)


def best(repeats: int, measure: Callable[[], Timing]) -> Timing:
    """The least wall time and the least CPU time over ``repeats`` runs."""
    runs = [measure() for _ in range(repeats)]
    return min(r[0] for r in runs), min(r[1] for r in runs)


class Clock:
    """Wall and CPU time of a block: this process's, plus waited-for children's."""

    def __enter__(self) -> Clock:
        self.wall, self.cpu = time.perf_counter(), _cpu()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, _cpu() - self.cpu

    @property
    def timing(self) -> Timing:
        return self.wall, self.cpu


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


# -- the bare PettingZoo loop --------------------------------------------------------

def bare_loop_seconds(*, rounds: int, matches: int) -> Timing:
    """The round robin as a plain loop over PettingZoo's ``rps_v2``."""
    from pettingzoo.classic import rps_v2

    names = ["rock", "paper", "scissors"]
    with Clock() as clock:
        _bare_loop(rps_v2, names, rounds=rounds, matches=matches)
    return clock.timing


def _bare_loop(rps_v2: Any, names: list[str], *, rounds: int, matches: int) -> None:
    for m, seats in enumerate(schedule(matches)):
        env = rps_v2.parallel_env(num_actions=3, max_cycles=rounds)
        observations, _ = env.reset(seed=m)
        bots = make_bots()
        players = dict(zip(env.possible_agents, (bots[i] for i in seats), strict=True))
        for k, (role, bot) in enumerate(players.items()):
            bot.reset(seed=1000 * m + k, game="rps", role=role, rounds=rounds,
                      action_names=names)
        while env.agents:
            actions = {}
            for role, bot in players.items():
                space = env.action_space(role)
                bot.policy(observations[role], space)
                actions[role] = bot.act(observations[role], space)
            observations, _, _, _, _ = env.step(actions)


# -- the arena, through its CLI ------------------------------------------------------

CONFIG = """\
name: speed
seed: 1
game: {{id: rps, rounds: {rounds}}}
format: {{type: round_robin, matches: {matches}}}
agents:
  - {{name: random, type: uniform_random}}
  - {{name: cycle, type: cycle}}
concurrency: 1
"""


def arena_seconds(*, rounds: int, matches: int, workdir: Path) -> Timing:
    """``arena run --no-live`` on the round robin, start-up included."""
    config = workdir / f"speed-{rounds}-{matches}.yaml"
    config.write_text(CONFIG.format(rounds=rounds, matches=matches))
    out = Path(tempfile.mkdtemp(dir=workdir))
    shutil.rmtree(out)  # `arena run` refuses to reuse a directory
    arena = shutil.which("arena", path=str(Path(sys.executable).parent)) or "arena"
    with Clock() as clock:
        subprocess.run([arena, "run", str(config), "--out", str(out), "--no-live"], check=True,
                       stdout=subprocess.DEVNULL, cwd=ROOT)
    return clock.timing


# -- components of one round, in-process ---------------------------------------------

def match_seconds(*, rounds: int, with_agents: bool) -> Timing:
    """One match on our ``rps`` env: the bots deciding, or fixed actions (env alone)."""
    from envs import make_game

    env = make_game("rps", rounds=rounds)
    observations, _ = env.reset(seed=0)
    bots = dict(zip(env.possible_agents, make_bots(), strict=True))
    for role, bot in bots.items():
        bot.reset(seed=0, game="rps", role=role, rounds=rounds, **env.unwrapped.context(role))
    fixed = [{role: (t + k) % 3 for k, role in enumerate(bots)} for t in range(rounds)]
    with Clock() as clock:
        if with_agents:
            while env.agents:
                actions = {}
                for role, bot in bots.items():
                    space = env.action_space(role)
                    bot.policy(observations[role], space)
                    actions[role] = bot.act(observations[role], space)
                observations, _, _, _, _ = env.step(actions)
        else:
            for actions in fixed:
                observations, _, _, _, _ = env.step(actions)
    return clock.timing


def storage_seconds(*, rounds: int, workdir: Path) -> Timing:
    """Time committing one finished match of ``rounds`` rounds to a fresh run store."""
    from arena.records import MatchResult
    from arena.store import Store

    names = ["rock", "paper", "scissors"]
    log = [{"actions": {"random": names[t % 3], "cycle": names[(t + 1) % 3]},
            "probabilities": {"random": [1 / 3] * 3, "cycle": [0.0, 1.0, 0.0]},
            "rewards": {"random": -1.0, "cycle": 1.0}} for t in range(rounds)]
    result = MatchResult(key="rps:random-cycle:0", game="rps", index=0, seed=0,
                         agents=["random", "cycle"], roles=["player_0", "player_1"],
                         scores={"random": -rounds, "cycle": rounds}, rounds=rounds,
                         round_log=log)
    store = Store.create(Path(tempfile.mkdtemp(dir=workdir)) / "run", config={}, versions={})
    with Clock() as clock:
        store.save(result)
    store.close()
    return clock.timing


def live_view_seconds(*, rounds: int) -> Timing:
    """Time the live view's per-round work (``round_played``) while it refreshes."""
    import io

    from rich.console import Console

    from arena.live import LiveObserver

    live = LiveObserver(console=Console(file=io.StringIO(), width=80, force_terminal=True))
    live.run_started(name="speed", total=1, done=0)
    live.match_started(key="k", game="rps", agents=["random", "cycle"], rounds=rounds)
    events = [({"random": "rock", "cycle": "paper"}, {"random": -t, "cycle": t})
              for t in range(rounds)]
    with Clock() as clock:
        for t, (moves, scores) in enumerate(events, 1):
            live.round_played(key="k", round=t, moves=moves, scores=scores)
    live.run_finished(interrupted=False)
    return clock.timing


def machine() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5000, help="rounds per match")
    parser.add_argument("--matches", type=int, default=3, help="matches per seat order")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs")
    args = parser.parse_args()
    total = 2 * args.matches * args.rounds
    print(f"machine: {machine()}")
    print(f"round robin: uniform_random vs cycle, {2 * args.matches} matches x "
          f"{args.rounds} rounds = {total} rounds\n")

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        r, m, n = args.rounds, args.matches, args.repeats
        bare = best(n, lambda: bare_loop_seconds(rounds=r, matches=m))
        fixed = best(n, lambda: arena_seconds(rounds=1, matches=m, workdir=work))
        whole = best(n, lambda: arena_seconds(rounds=r, matches=m, workdir=work))
        env_only = best(n, lambda: match_seconds(rounds=r, with_agents=False))
        with_agents = best(n, lambda: match_seconds(rounds=r, with_agents=True))
        store = best(n, lambda: storage_seconds(rounds=r, workdir=work))
        live = best(n, lambda: live_view_seconds(rounds=r))

    # CPU time is the headline: this machine is shared, and wall time counts the waits.
    arena_cpu, bare_cpu = total / (whole[1] - fixed[1]), total / bare[1]
    print(f"{'CPU time, fixed costs excluded':30}{'rounds/s':>10}{'us/round':>10}")
    print(f"{'  arena run --no-live':30}{arena_cpu:>10,.0f}{1e6 / arena_cpu:>10.1f}")
    print(f"{'  bare loop over rps_v2':30}{bare_cpu:>10,.0f}{1e6 / bare_cpu:>10.1f}")
    print(f"{'  ratio arena / bare':30}{arena_cpu / bare_cpu:>10.2f}")
    print(f"fixed costs of the arena run (start-up, imports, set-up, final table): "
          f"{fixed[1]:.2f} s CPU; counting them the ratio is {total / whole[1] / bare_cpu:.2f}")
    print(f"wall clock, everything included: arena {total / whole[0]:,.0f} rounds/s, bare "
          f"{total / bare[0]:,.0f} rounds/s, ratio {bare[0] / whole[0]:.2f}\n")

    per_round = 1e6 / arena_cpu
    costs = {"env (envs.rps step)": 1e6 * env_only[1] / r,
             "agents (policy + act, both)": 1e6 * (with_agents[1] - env_only[1]) / r,
             "storage (one commit per match)": 1e6 * store[1] / r}
    costs["engine (the rest)"] = per_round - sum(costs.values())
    print(f"{'CPU cost of one round in the arena':36}{'us':>8}{'share':>8}")
    for label, us in costs.items():
        print(f"  {label:34}{us:>8.1f}{us / per_round:>8.0%}")
    print(f"  {'total':34}{per_round:>8.1f}")
    print(f"  {'+ live view, when shown':34}{1e6 * live[1] / r:>8.1f}")

if __name__ == "__main__":
    main()
