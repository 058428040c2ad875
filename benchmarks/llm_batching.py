"""Decisions per second of 16 concurrent RPS matches on one language model, batched
against one at a time, on the CPU.

Usage: ``python benchmarks/llm_batching.py [--matches 16] [--rounds 6] [--repeats 2]
[--batch 64] [--threads 2]``.

SmolLM2-135M-Instruct in float32 (the safetensors copy that ``llm_speed.py`` uses) plays
``--matches`` rock-paper-scissors matches at once, each against ``frequency`` through the
engine's own match loop, :func:`arena.match.play_match`, one thread a match, as the
runner plays the matches of a model that every match shares. Each match's ``hf`` agent
renders its chat prompt and scores its three answers through its own prompt cache; all
the agents share one engine, so their decisions meet in the engine's request queue.

The two modes differ in one number, the queue's ``max_batch``: with ``--batch`` (64) its
worker runs everything waiting as one padded forward; with 1 it runs each decision alone,
which is the reference. Everything else is the same code. Each repeat plays both modes
in turn with the same seeds, so each pair of matches sees the same prompts (and, up to
float rounding, draws the same actions). Figures are the best repeat of each mode, the
least disturbed by other work on the machine: decisions per second of the process's CPU
time (the steadier figure on a shared machine) and of wall time. Forwards are per repeat
and the mean batch is the queue's rows per forward, over all repeats.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any

from agent_speed import cpu_model  # sibling scripts: benchmarks/ is on sys.path
from llm_speed import smollm2_dir

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.llm.agent import HFAgent  # noqa: E402
from agents.llm.batcher import Batcher  # noqa: E402
from arena.match import play_match  # noqa: E402
from arena.registry import make_agent  # noqa: E402
from envs import make_game  # noqa: E402

GAME = "rps"
OPPONENT = "frequency"


def play_all(model_dir: Path, *, matches: int, rounds: int, max_batch: int) -> dict[str, Any]:
    """``matches`` matches at once, one thread each; wall and CPU seconds, the queue's
    counters and each match's actions."""
    agents = [HFAgent(name=f"lm{i}", model=str(model_dir), dtype="float32",
                      prompt_format="chat", mode="distribution") for i in range(matches)]
    engine = agents[0].engine
    if any(a.engine is not engine for a in agents):
        raise RuntimeError("the agents do not share one engine")
    _ = engine.model  # loaded here, not inside the timed matches
    # a fresh queue per mode: its own max_batch and its own counters
    import torch

    engine.batcher = Batcher(engine, max_batch=max_batch, threads=torch.get_num_threads())
    results: list[Any] = [None] * matches
    errors: list[BaseException] = []
    go = threading.Barrier(matches + 1)

    def match(i: int) -> None:
        try:
            env = make_game(GAME, rounds=rounds)
            opponent = make_agent(OPPONENT, name="opponent")
            go.wait()
            results[i] = play_match(env, [agents[i], opponent], game=GAME, seed=i)
        except BaseException as exc:  # noqa: BLE001 -- re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=match, args=(i,), daemon=True) for i in range(matches)]
    for t in threads:
        t.start()
    go.wait()
    wall, cpu = time.perf_counter(), time.process_time()
    for t in threads:
        t.join()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if errors:
        raise RuntimeError("a match failed") from errors[0]
    for r in results:
        if r.status != "finished" or r.rounds != rounds:
            raise RuntimeError(f"match {r.key} ended {r.status} after {r.rounds} rounds: {r.error}")
    batcher = engine.batcher
    return {"wall": wall, "cpu": cpu, "decisions": matches * rounds,
            "batches": batcher.batches, "rows": batcher.rows,
            "actions": [[row["actions"] for row in r.round_log] for r in results]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--matches", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=6, help="rounds a match (default 6)")
    parser.add_argument("--repeats", type=int, default=2, help="best of this many (default 2)")
    parser.add_argument("--batch", type=int, default=64, help="max_batch of the batched mode")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    args = parser.parse_args(argv)

    import torch
    import transformers

    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    transformers.logging.set_verbosity_error()
    before = os.getloadavg()
    begun = time.perf_counter()
    model_dir = smollm2_dir()
    print(f"# {platform.machine()}, {cpu_model()}, {os.cpu_count()} cores, torch "
          f"{torch.__version__} ({args.threads} threads), transformers "
          f"{transformers.__version__}, Python {platform.python_version()}", flush=True)
    print(f"# SmolLM2-135M-Instruct float32, {args.matches} concurrent {GAME} matches x "
          f"{args.rounds} rounds against {OPPONENT}, chat prompt, distribution mode; best of "
          f"{args.repeats}; load average before: " + " ".join(f"{x:.1f}" for x in before),
          flush=True)

    modes = {"batched": args.batch, "one at a time": 1}
    runs: dict[str, list[dict[str, Any]]] = {m: [] for m in modes}
    # the first forwards in a process pay one-off set-up (seconds): not part of either mode
    for max_batch in modes.values():
        play_all(model_dir, matches=2, rounds=2, max_batch=max_batch)
    print(f"warmed up after {time.perf_counter() - begun:.0f} s", flush=True)
    for repeat in range(args.repeats):
        for mode, max_batch in modes.items():
            run = play_all(model_dir, matches=args.matches, rounds=args.rounds,
                           max_batch=max_batch)
            runs[mode].append(run)
            print(f"repeat {repeat + 1}, {mode}: {run['wall']:.1f} s wall, {run['cpu']:.1f} s "
                  f"CPU, {run['rows'] / run['batches']:.1f} per forward, "
                  f"load {os.getloadavg()[0]:.1f}", flush=True)

    # each figure is its own best: the least disturbed repeat for wall and for CPU time
    best = {m: {"wall": min(r["wall"] for r in rs), "cpu": min(r["cpu"] for r in rs),
                "decisions": rs[0]["decisions"], "batches": sum(r["batches"] for r in rs),
                "rows": sum(r["rows"] for r in rs)} for m, rs in runs.items()}
    print()
    print("| mode | max_batch | decisions | wall s | decisions/s | CPU s | decisions/CPU-s "
          "| forwards | mean batch |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for mode, r in best.items():
        print(f"| {mode} | {modes[mode]} | {r['decisions']} | {r['wall']:.1f} "
              f"| {r['decisions'] / r['wall']:.2f} | {r['cpu']:.1f} "
              f"| {r['decisions'] / r['cpu']:.2f} | {r['batches'] / args.repeats:.1f} "
              f"| {r['rows'] / r['batches']:.1f} |")
    batched, alone = best["batched"], best["one at a time"]
    print()
    print(f"ratio batched / one at a time: {alone['cpu'] / batched['cpu']:.2f}x decisions per "
          f"CPU-second, {alone['wall'] / batched['wall']:.2f}x per second of wall time")
    pairs = [(x, y) for b, a in zip(runs["batched"], runs["one at a time"], strict=True)
             for x, y in zip(b["actions"], a["actions"], strict=True)]
    same = sum(p == q for x, y in pairs for p, q in zip(x, y, strict=True))
    print(f"same actions in both modes: {same} of {args.repeats * batched['decisions']} rounds")
    print("load average after: " + " ".join(f"{x:.1f}" for x in os.getloadavg())
          + f"; wall time {time.perf_counter() - begun:.0f} s")


if __name__ == "__main__":
    main()
