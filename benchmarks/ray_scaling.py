"""Scale on a Ray cluster on this machine: model replicas, and the Ray path for bots.

    python benchmarks/ray_scaling.py            # --seconds 8 --matches 64 --forward-ms 100

It starts its own head (``ray start --head`` on 127.0.0.1, free ports, 2 CPUs and 8
*logical* GPUs: placement is real, the GPUs are not), then measures two things:

1. **Model replicas.** A simulated model (:class:`SimulatedEngine`: no weights; every
   forward sleeps ``--forward-ms`` whatever its batch, up to ``--max-batch`` decisions)
   runs in the arena's own model actors (:mod:`arena.model_actor`: sticky sessions, one
   logical GPU per replica) with 1, 2, 4 and 8 replicas. ``--matches`` match threads on
   the driver each open a session and ask for one decision at a time, as model matches
   do. It prints decisions per second and the speed-up over one replica.
2. **The Ray path for bots.** The same bot tournament through ``arena run`` locally
   (forkserver worker processes) and with ``--ray`` on that head, in this one run:
   matches per second as each run reports them, and the ratio.

Then it sizes the paper's grid (``configs/paper/llama-3.1-{8b,70b}.yaml``) in GPU-hours
from the decisions per second measured on one H200 (``benchmarks/gpu/README.md``).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


class SimulatedEngine:
    """A model that takes ``forward_s`` per batched forward, whatever the batch (as a
    GPU does for small batches), gathering what waits for up to ``window_s``."""

    def __init__(self, *, forward_s: float = 0.1, max_batch: int = 8,
                 window_s: float = 0.005) -> None:
        self.forward_s, self.max_batch, self.window_s = forward_s, max_batch, window_s
        self.waiting: list[Future] = []
        self.cond = threading.Condition()
        self.batches: list[int] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            with self.cond:
                while not self.waiting:
                    self.cond.wait()
            time.sleep(self.window_s)
            with self.cond:
                batch, self.waiting = (self.waiting[:self.max_batch],
                                       self.waiting[self.max_batch:])
            time.sleep(self.forward_s)
            self.batches.append(len(batch))
            for future in batch:
                future.set_result(np.zeros(3))

    def score(self, pairs: Any) -> np.ndarray:
        future: Future = Future()
        with self.cond:
            self.waiting.append(future)
            self.cond.notify()
        return future.result()

    def session(self) -> SimulatedEngine:
        return self

    def close(self) -> None:
        pass

    def mean_batch(self) -> float:
        return float(np.mean(self.batches)) if self.batches else 0.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
            "RAY_USAGE_STATS_ENABLED": "0"}


def start_head(*, gpus: int, cpus: int) -> tuple[str, subprocess.Popen, str]:
    temp = tempfile.mkdtemp(prefix="rayb-", dir="/tmp")
    port = _free_port()
    ports = [f"{flag}={_free_port()}" for flag in (
        "--ray-client-server-port", "--dashboard-port", "--dashboard-agent-listen-port",
        "--dashboard-agent-grpc-port", "--metrics-export-port", "--runtime-env-agent-port",
        "--node-manager-port", "--object-manager-port")]
    log = Path(temp) / "head.log"
    process = subprocess.Popen(
        [str(BIN / "ray"), "start", "--head", "--block", f"--port={port}",
         "--node-ip-address=127.0.0.1", f"--num-cpus={cpus}", f"--num-gpus={gpus}",
         "--include-dashboard=false", "--object-store-memory=100000000",
         "--disable-usage-stats", f"--temp-dir={temp}", *ports],
        env=_env(), stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    while "Ray runtime started" not in log.read_text():
        if process.poll() is not None:
            raise SystemExit(f"ray start failed:\n{log.read_text()}")
        time.sleep(0.2)
    return f"127.0.0.1:{port}", process, temp


def stop_head(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(40)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def replicas_rate(host: Any, replicas: int, *, matches: int, seconds: float,
                  forward_s: float, max_batch: int) -> tuple[float, float]:
    """Decisions per second of ``matches`` match threads on ``replicas`` replicas, and
    the replicas' mean batch."""
    model = host.model(f"sim-{replicas}", label=f"simulated x{replicas}",
                       factory="benchmarks.ray_scaling:SimulatedEngine",
                       kwargs={"forward_s": forward_s, "max_batch": max_batch}, gpus=1,
                       replicas=replicas)
    sessions = [model.session() for _ in range(matches)]  # replicas start here
    for opened in sessions:  # warm: every replica has served once
        opened.call("score", [])
    counts = [0] * matches
    stop = time.monotonic() + seconds

    def play(i: int) -> None:
        while time.monotonic() < stop:
            sessions[i].call("score", [("ctx", "answer")] * 3)
            counts[i] += 1

    threads = [threading.Thread(target=play, args=(i,)) for i in range(matches)]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rate = sum(counts) / (time.monotonic() - start)
    batches = [model.run(r, "call", "mean_batch") for r in range(replicas)]
    for opened in sessions:
        opened.close()
    model.unload()
    return rate, float(np.mean(batches))


def bots_rate(address: str | None, folder: Path) -> float:
    """Matches per second of the bot tournament, as ``arena run`` reports it."""
    config = folder / "bots.yaml"
    config.write_text(
        "name: ray-bench\nseed: 1\ngame: {id: rps, rounds: 1000}\n"
        "format: {type: round_robin, matches: 2}\nconcurrency: 4\nagents:\n"
        "  - {name: rnd, type: uniform_random}\n  - {name: freq, type: frequency}\n"
        "  - {name: cyc, type: cycle}\n  - {name: markov, type: markov}\n")
    out = folder / f"run-{'ray' if address else 'local'}"
    command = [str(BIN / "arena"), "run", str(config), "--out", str(out), "--no-live"]
    done = subprocess.run(command + (["--ray", address] if address else []), env=_env(),
                          capture_output=True, text=True, cwd=REPO, timeout=1800)
    if done.returncode:
        raise SystemExit(done.stderr)
    played, seconds = re.search(r"\((\d+) played in ([\d.]+) s", done.stdout).groups()
    return int(played) / float(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--matches", type=int, default=64)
    parser.add_argument("--forward-ms", type=float, default=100.0)
    parser.add_argument("--max-batch", type=int, default=8)
    parser.add_argument("--skip-bots", action="store_true")
    args = parser.parse_args()
    os.environ.update(_env())
    address, head, _ = start_head(gpus=8, cpus=2)
    try:
        import ray

        from arena.model_actor import ModelHost

        ray.init(address=address, logging_level="ERROR", log_to_driver=False)
        host = ModelHost(ray, cluster_gpus=ray.cluster_resources().get("GPU", 0))
        print(f"simulated forward {args.forward_ms:g} ms per batch of up to "
              f"{args.max_batch}; {args.matches} matches, {args.seconds:g} s each")
        print("| replicas | decisions/s | vs 1 replica | mean batch |")
        print("|---:|---:|---:|---:|")
        one = None
        for replicas in (1, 2, 4, 8):
            rate, batch = replicas_rate(host, replicas, matches=args.matches,
                                        seconds=args.seconds,
                                        forward_s=args.forward_ms / 1000,
                                        max_batch=args.max_batch)
            one = one or rate
            print(f"| {replicas} | {rate:.1f} | {rate / one:.2f}x | {batch:.1f} |", flush=True)
        ray.shutdown()
        if not args.skip_bots:
            with tempfile.TemporaryDirectory(prefix="ray-bench-") as folder:
                local = bots_rate(None, Path(folder))
                remote = bots_rate(address, Path(folder))
            print(f"bots, 24 matches of 1000 rounds: local {local:.2f} matches/s, Ray "
                  f"{remote:.2f} matches/s, Ray/local {remote / local:.2f}")
    finally:
        stop_head(head)
    from benchmarks.ray_sizing import print_sizing

    print_sizing()


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main()
