"""Gauntlet: our exploiters against the 43 programs of the International RoShamBo contests.

The real competition programs come from OpenSpiel's compiled RoShamBo bots, which are
not a project dependency; install them next to the project first::

    pip install --no-deps open_spiel
    python benchmarks/irpsc_gauntlet.py [agent ...] [--seeds 3] [--procs 2] [--bots a,b]

Each of our agents (default: every exploiter) plays a 1000-throw RPS match against each
of the 43 bots per seed, built with ``arena.registry.make_agent`` and played by the
engine's own loop, :func:`arena.match.play_match`, over our ``envs.rps`` env, in seat 0
unless ``--seat 1``. The bot is wrapped as a small agent (:class:`OpenSpielBot`), so
play_match drives both sides and seeds our agent as a run would (from the match seed,
:func:`arena.seeds.derive_seed`). The bots' C ``random()`` is seeded with
``srandom(seed)`` per match, so a run is reproducible. The reference row is OpenSpiel's
``greenberg`` (the 2000 winner) against the same 43 bots with the same seeds, played by
OpenSpiel alone (its self-match included, as in the published figures). Printed:
per bot, each agent's mean net per round over the seeds and its worst seed; then each
agent's overall mean and worst match, with the difference to greenberg.
"""

from __future__ import annotations

import argparse
import ctypes
import sys
import time
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROUNDS = 1000
DEFAULT = ["frequency", "markov", "history_match", "iocaine", "hedge"]
REFERENCE = "greenberg"
GAME = f"repeated_game(stage_game=matrix_rps(),num_repetitions={ROUNDS})"


def _pyspiel() -> Any:
    try:
        import pyspiel
    except ImportError:
        sys.exit("irpsc_gauntlet: needs OpenSpiel's RoShamBo bots: "
                 "pip install --no-deps open_spiel")
    return pyspiel


class OpenSpielBot:
    """A compiled RoShamBo bot as an arena agent (``name``, ``reset``, ``act``).

    OpenSpiel's bots read the match from a ``repeated_game`` state, so the wrapper keeps
    one and applies each finished round to it from the engine's observation (row ``t``:
    own move, opponent's move) before asking the bot for its next throw. ``player`` is
    the bot's seat (0 or 1). With ``seed`` given, ``reset`` reseeds the C ``random()``
    the bots share with ``srandom(seed)`` before building the bot, as the reference does.
    """

    def __init__(self, bot_name: str, *, player: int, seed: int | None = None,
                 name: str | None = None) -> None:
        self.bot_name = bot_name
        self.name = name or bot_name  # the engine wants two names in a match: a bot's twin
        self.player = player
        self.seed = seed

    def reset(self, *, rounds: int = ROUNDS, **context: Any) -> None:
        pyspiel = _pyspiel()
        if self.seed is not None:
            ctypes.CDLL(None).srandom(self.seed)
        game = f"repeated_game(stage_game=matrix_rps(),num_repetitions={rounds})"
        self.state = pyspiel.load_game(game).new_initial_state()
        self.bot = pyspiel.make_roshambo_bot(self.player, self.bot_name, rounds)
        self.turn = 0

    def act(self, observation: Any, action_space: Any) -> int:
        if self.turn:  # the previous round, as played (a forfeited move included)
            own, theirs = (int(v) for v in observation[self.turn - 1])
            self.state.apply_actions([own, theirs] if self.player == 0 else [theirs, own])
        self.turn += 1
        return int(self.bot.step(self.state))


def play_ours(agent_type: str, bot_name: str, seed: int, options: dict, seat: int = 0) -> float:
    """Net per round of our agent (``seat`` 0 or 1) against one compiled bot, one seeded match."""
    from arena.match import play_match
    from arena.registry import make_agent
    from envs import make_game

    me = make_agent(agent_type, name="me", **options)
    bot = OpenSpielBot(bot_name, player=1 - seat, seed=seed)
    agents = [me, bot] if seat == 0 else [bot, me]
    result = play_match(make_game("rps", rounds=ROUNDS), agents, game="rps", seed=seed)
    if result.status != "finished":
        raise RuntimeError(f"{agent_type} vs {bot_name}, seed {seed}: {result.error}")
    return result.scores["me"] / ROUNDS


def play_reference(bot_name: str, seed: int) -> float:
    """Net per round of OpenSpiel's greenberg (seat 0) against one bot, one seeded match."""
    pyspiel = _pyspiel()
    ctypes.CDLL(None).srandom(seed)
    state = pyspiel.load_game(GAME).new_initial_state()
    bots = [pyspiel.make_roshambo_bot(0, REFERENCE, ROUNDS),
            pyspiel.make_roshambo_bot(1, bot_name, ROUNDS)]
    while not state.is_terminal():
        state.apply_actions([int(b.step(state)) for b in bots])
    return state.returns()[0] / ROUNDS


def _job(job: tuple) -> tuple[str, str, int, float]:
    agent, bot, seed, options, seat = job
    net = (play_reference(bot, seed) if agent == REFERENCE
           else play_ours(agent, bot, seed, options, seat))
    return agent, bot, seed, net


def parse_options(pairs: list[str]) -> dict:
    """``key=value`` options for our agents; values are read as Python literals if possible."""
    import ast

    out = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("agents", nargs="*", default=DEFAULT)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--procs", type=int, default=2, help="worker processes (at most 2)")
    parser.add_argument("--bots", default="", help="comma-separated subset of the 43 bots")
    parser.add_argument("--option", action="append", default=[],
                        help="key=value option passed to every agent of ours")
    parser.add_argument("--seat", type=int, choices=(0, 1), default=0,
                        help="our agent's seat (the bot takes the other)")
    parser.add_argument("--quiet", action="store_true", help="print only the summary")
    args = parser.parse_args()
    pyspiel = _pyspiel()
    bots = list(pyspiel.roshambo_bot_names())
    if args.bots:
        wanted = args.bots.split(",")
        if unknown := [b for b in wanted if b not in bots]:
            sys.exit(f"irpsc_gauntlet: unknown bots: {', '.join(unknown)}")
        bots = wanted
    options = parse_options(args.option)
    agents = [REFERENCE] + [a for a in args.agents if a != REFERENCE]
    jobs = [(a, b, 1 + s, options, args.seat)
            for a in agents for b in bots for s in range(args.seeds)]
    start = time.perf_counter()
    with Pool(max(1, min(args.procs, 2))) as pool:
        results = pool.map(_job, jobs, chunksize=4)
    nets = {a: {b: [] for b in bots} for a in agents}
    for a, b, _, net in results:
        nets[a][b].append(net)
    mean = {a: {b: float(np.mean(nets[a][b])) for b in bots} for a in agents}
    worst = {a: {b: float(np.min(nets[a][b])) for b in bots} for a in agents}
    print(f"# {len(bots)} bots x {args.seeds} seeds x {ROUNDS} throws, "
          f"{time.perf_counter() - start:.0f} s; cells: mean net per round (worst seed)")
    if not args.quiet:
        print("| bot | " + " | ".join(agents) + " |")
        print("|---|" + "---:|" * len(agents))
        for b in bots:
            print(f"| {b} | " + " | ".join(f"{mean[a][b]:+.3f} ({worst[a][b]:+.3f})"
                                           for a in agents) + " |")
    ref_mean = np.mean(list(mean[REFERENCE].values()))
    ref_worst = min(worst[REFERENCE].values())
    print("| agent | mean | worst match | worst bot (mean) | mean - greenberg |")
    print("|---|---:|---:|---:|---:|")
    for a in agents:
        m, w = np.mean(list(mean[a].values())), min(worst[a].values())
        low = min(mean[a], key=mean[a].get)
        print(f"| {a} | {m:+.3f} | {w:+.3f} | {low} {mean[a][low]:+.3f} | {m - ref_mean:+.3f} |")
    print(f"# bar: mean >= +0.22, worst >= -0.08; greenberg here: mean {ref_mean:+.3f}, "
          f"worst {ref_worst:+.3f}")


if __name__ == "__main__":
    main()
