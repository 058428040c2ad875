"""How fast the arena plays: rounds per second, against a bare PettingZoo loop.

    python benchmarks/speed.py [--rounds 5000] [--matches 3] [--repeats 3]

Two simple bots (``uniform_random`` and ``cycle``) play a round robin (``matches``
per seat order, ``rounds`` each):

* **arena**: ``arena run CONFIG --no-live`` as a subprocess, storage included; its
  runner plays every match through :func:`arena.match.play_match`. The fixed costs
  (interpreter start-up, imports, creating the run, per-match set-up, the final
  leaderboard) are measured by the same round robin with one round per match and
  reported separately, so the steady rate is ``rounds / (time - fixed)``.
* **bare loop**: the external reference. The same bot classes driven by a plain
  ``while env.agents`` loop over PettingZoo's classic ``rps_v2`` (which imports
  ``pygame``: ``pip install pygame``; it is not a project dependency), with one
  ``decide`` call per bot and round, as the engine makes.

It prints both rates and their ratio (above 1 means the arena, storage and all, plays
faster than the bare reference loop), then the cost of one round split into parts,
each timed in-process on its own: env, agents, ``play_match``'s own work, storage;
"runner" is what remains of the arena's cost. The live view's own per-round work (not
part of ``--no-live``) is shown on its own line. The best of ``repeats`` runs is kept
for every figure, as the least disturbed by other work on the machine.
"""

from __future__ import annotations

import argparse
import ctypes
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
            bot.reset(seed=1000 * m + k, game="rps", kind="matrix", role=role, rounds=rounds,
                      action_names=names)
        # The reference: no checks, no round log, no scores; only the bots and rps_v2.
        while env.agents:
            actions = {}
            for role, bot in players.items():
                actions[role] = bot.decide(observations[role], env.action_space(role)).action
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
        reap_orphans()
    return clock.timing


# A process's CPU time reaches our RUSAGE_CHILDREN only once its parent has waited for
# it. The arena may play its matches in worker processes of a multiprocessing forkserver
# that nobody waits for once `arena` has exited; as a subreaper we inherit such orphans
# and wait for them, so every process the run started is counted.
PR_SET_CHILD_SUBREAPER = 36
REAP_SECONDS = 30.0


def become_subreaper() -> bool:
    """Adopt this process's orphaned descendants (Linux); False where that is not possible."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def reap_orphans() -> None:
    """Wait for every adopted descendant to exit (``REAP_SECONDS`` at most, as a safeguard)."""
    deadline = time.monotonic() + REAP_SECONDS
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return  # none left
        if pid == 0:
            time.sleep(0.01)
    print("warning: processes left by `arena run` still running; their CPU time is not "
          "counted", file=sys.stderr)


# -- components of one round, in-process ---------------------------------------------

def env_seconds(*, rounds: int) -> Timing:
    """Our ``rps`` env alone, stepping fixed actions for one match."""
    from envs import make_game

    env = make_game("rps", rounds=rounds)
    env.reset(seed=0)
    roles = list(env.possible_agents)
    fixed = [{role: (t + k) % 3 for k, role in enumerate(roles)} for t in range(rounds)]
    with Clock() as clock:
        for actions in fixed:
            env.step(actions)
    return clock.timing


class Scripted:
    """A stand-in that replays precomputed decisions: the cheapest agent there can be.

    Each decision is the same ``Decision`` object, with a policy array like the bots'
    (so the engine logs a policy every round, as it does for them). ``play_match`` with
    two of these costs the env plus the loop's own work; the bots cost that plus theirs.
    """

    def __init__(self, name: str, decision: Any) -> None:
        self.name = name
        self._decision = decision

    def reset(self, *, seed: int | None = None, **context: Any) -> None:
        pass

    def decide(self, observation: Any, action_space: Any) -> Any:
        return self._decision


def scripted_pair() -> list[Any]:
    import numpy as np

    from arena.agent import Decision, one_hot

    return [Scripted("random", Decision(0, np.full(3, 1 / 3))),
            Scripted("cycle", Decision(1, one_hot(1, 3)))]


def match_seconds(*, rounds: int, scripted: bool = False) -> Timing:
    """One match through ``play_match`` in-process (no store): the bots, or stand-ins."""
    from arena.match import play_match
    from envs import make_game

    env = make_game("rps", rounds=rounds)
    agents = scripted_pair() if scripted else make_bots()
    with Clock() as clock:
        result = play_match(env, agents, game="rps", seed=0)
    assert result.status == "finished" and result.rounds == rounds, result.error
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
    if not become_subreaper():
        print("warning: cannot adopt orphaned processes; CPU time of arena workers that "
              "outlive `arena run` is missed", file=sys.stderr)
    print(f"machine: {machine()}")
    print(f"round robin: uniform_random vs cycle, {2 * args.matches} matches x "
          f"{args.rounds} rounds = {total} rounds\n")

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        r, m, n = args.rounds, args.matches, args.repeats
        bare = best(n, lambda: bare_loop_seconds(rounds=r, matches=m))
        fixed = best(n, lambda: arena_seconds(rounds=1, matches=m, workdir=work))
        whole = best(n, lambda: arena_seconds(rounds=r, matches=m, workdir=work))
        env_only = best(n, lambda: env_seconds(rounds=r))
        stand_ins = best(n, lambda: match_seconds(rounds=r, scripted=True))
        with_bots = best(n, lambda: match_seconds(rounds=r))
        store = best(n, lambda: storage_seconds(rounds=r, workdir=work))
        live = best(n, lambda: live_view_seconds(rounds=r))

    # CPU time is the headline: this machine is shared, and wall time counts the waits.
    arena_cpu, bare_cpu = total / (whole[1] - fixed[1]), total / bare[1]
    loop_cpu = r / with_bots[1]
    print(f"{'CPU time, fixed costs excluded':30}{'rounds/s':>10}{'us/round':>10}")
    print(f"{'  arena run --no-live':30}{arena_cpu:>10,.0f}{1e6 / arena_cpu:>10.1f}")
    print(f"{'  bare loop over rps_v2':30}{bare_cpu:>10,.0f}{1e6 / bare_cpu:>10.1f}")
    print(f"{'  ratio arena / bare':30}{arena_cpu / bare_cpu:>10.2f}")
    print(f"{'  play_match alone, no store':30}{loop_cpu:>10,.0f}{1e6 / loop_cpu:>10.1f}")
    print(f"fixed costs of the arena run (start-up, imports, set-up, final table): "
          f"{fixed[1]:.2f} s CPU; counting them the ratio is {total / whole[1] / bare_cpu:.2f}")
    print(f"wall clock, everything included: arena {total / whole[0]:,.0f} rounds/s, bare "
          f"{total / bare[0]:,.0f} rounds/s, ratio {bare[0] / whole[0]:.2f}\n")

    # Each part is a difference of in-process timings; the runner's share is what is left
    # of the arena's own per-round cost, so it also carries their noise.
    per_round = 1e6 / arena_cpu
    costs = {"env (envs.rps step)": 1e6 * env_only[1] / r,
             "agents (decide, both)": 1e6 * (with_bots[1] - stand_ins[1]) / r,
             "play_match (checks, log, scores)": 1e6 * (stand_ins[1] - env_only[1]) / r,
             "storage (one commit per match)": 1e6 * store[1] / r}
    costs["runner (the rest)"] = per_round - sum(costs.values())
    print(f"{'CPU cost of one round in the arena':36}{'us':>8}{'share':>8}")
    for label, us in costs.items():
        print(f"  {label:34}{us:>8.1f}{us / per_round:>8.0%}")
    print(f"  {'total':34}{per_round:>8.1f}")
    print(f"  {'+ live view, when shown':34}{1e6 * live[1] / r:>8.1f}")


if __name__ == "__main__":
    main()
