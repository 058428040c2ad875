"""CPU time of a language-model run alone and next to a CPU hog.

Usage: ``python benchmarks/cpu_share.py [--tree DIR] [--hogs N] [--rounds R]``.

A small tournament (SmolLM2-135M-Instruct from ``offline:``, float32: one match in
distribution mode and one in sample mode against a bot, both at once) is run with
``arena run`` from the checkout ``--tree`` (default: this one), twice: alone, and next to
``--hogs`` processes that spin (``while True: pass``; default one per core). The figure
is the run's CPU time (user + system, all its threads and children) from the kernel's
accounting, and its wall time. A run whose torch threads oversubscribe the cores burns
CPU spinning while it waits: its CPU time grows next to a hog, where a well-behaved run
needs about the same CPU either way and only waits longer. Pass an older checkout as
``--tree`` (``git worktree add /tmp/old COMMIT``) to compare before and after.

``--forwards`` measures the cause alone instead: 20 forward passes of the same model
(8 tokens each) in a fresh process, with 1 and 2 torch threads, with OpenMP's default
wait policy (threads spin while they wait for each other) and with
``OMP_WAIT_POLICY=PASSIVE`` (they sleep), which the arena now sets.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CONFIG = """name: cpu-share
seed: 3
games:
  - {{id: rps, rounds: {rounds}}}
format: {{type: gauntlet, opponents: [freq], matches: 1}}
agents:
  - {{name: smol-a, type: hf, model: "offline:smollm2-135m-instruct", dtype: float32}}
  - {{name: smol-s, type: hf, model: "offline:smollm2-135m-instruct", dtype: float32,
     mode: sample, max_new_tokens: 8}}
  - {{name: freq, type: frequency}}
concurrency: 2
"""


def run(tree: Path, config: Path, out: Path) -> tuple[float, float]:
    """One ``arena run`` from ``tree``: its (CPU seconds, wall seconds)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "arena.cli", "run", str(config), "--out",
                              str(out), "--no-live"], cwd=tree, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"arena run failed: {child.stderr.read().decode()[-2000:]}")
    return usage.ru_utime + usage.ru_stime, wall


FORWARDS = """
import os, sys, time
import torch
from transformers import AutoModelForCausalLM
torch.set_num_threads(int(sys.argv[2]))
model = AutoModelForCausalLM.from_pretrained(sys.argv[1], dtype=torch.float32)
ids = torch.randint(0, 1000, (1, 8))
with torch.inference_mode():
    model(ids)
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(20):
        model(ids)
    print(time.process_time() - cpu, time.perf_counter() - wall)
"""


def forwards() -> None:
    """CPU and wall seconds of 20 forwards, by wait policy and thread count."""
    sys.path.insert(0, str(ROOT))
    from agents.llm.offline_models import resolve_model

    model = resolve_model("offline:smollm2-135m-instruct")
    print(f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    print("| OMP_WAIT_POLICY | threads | CPU s | wall s |")
    print("|---|---:|---:|---:|")
    for policy in ("", "PASSIVE"):
        for threads in (1, 2):
            env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
            if policy:
                env["OMP_WAIT_POLICY"] = policy
            done = subprocess.run([sys.executable, "-c", FORWARDS, model, str(threads)],
                                  capture_output=True, text=True, env=env, check=True)
            cpu, wall = (float(x) for x in done.stdout.split())
            print(f"| {policy or '(default)'} | {threads} | {cpu:.2f} | {wall:.2f} |")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tree", type=Path, default=ROOT, help="the checkout to run")
    parser.add_argument("--hogs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--forwards", action="store_true",
                        help="time bare forwards by OpenMP wait policy instead")
    args = parser.parse_args(argv)
    if args.forwards:
        forwards()
        return
    tree = args.tree.resolve()
    with tempfile.TemporaryDirectory(prefix="arena-cpu-share-") as scratch:
        config = Path(scratch) / "cpu-share.yaml"
        config.write_text(CONFIG.format(rounds=args.rounds))
        run(tree, config, Path(scratch) / "warm-up")  # converts the model once, warms caches
        load = os.getloadavg()[0]
        alone = run(tree, config, Path(scratch) / "alone")
        hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                for _ in range(args.hogs)]
        try:
            busy = run(tree, config, Path(scratch) / "busy")
        finally:
            for hog in hogs:
                hog.kill()
                hog.wait()
    print(f"tree {tree}; {platform.machine()}, {os.cpu_count()} cores, load {load:.1f} "
          f"before the runs; {args.hogs} hog(s)")
    print("| run | CPU s | wall s |")
    print("|---|---:|---:|")
    print(f"| alone | {alone[0]:.1f} | {alone[1]:.1f} |")
    print(f"| next to the hog(s) | {busy[0]:.1f} | {busy[1]:.1f} |")
    print(f"CPU time next to the hog(s) / alone: {busy[0] / alone[0]:.2f}x")


if __name__ == "__main__":
    main()
