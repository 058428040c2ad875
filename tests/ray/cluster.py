"""Helpers for the Ray tests: run ``arena`` against the test head, read results back, and
look at what is left on the cluster."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.ray.conftest import BIN, REPO, ray_env

#: process titles of the run's work on the cluster: bots' match tasks and model actors
RUN_TITLES = ("ray::arena_match", "ray::ModelActor")


def arena(*args: str, timeout: float = 300, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "arena"), *args], cwd=cwd, env=ray_env(),
                          capture_output=True, text=True, timeout=timeout)


def spawn(*args: str) -> subprocess.Popen:
    return subprocess.Popen([str(BIN / "arena"), *args], cwd=REPO, env=ray_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def records(run: Path) -> list[dict[str, Any]]:
    """The run's matches with their rounds, without timing, by key."""
    out = arena("export", str(run), "--rounds")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    for row in rows:
        row.pop("started_at", None)
        row.pop("finished_at", None)
        for entry in row.get("round_log") or []:
            entry.pop("latency_ms", None)
    return sorted(rows, key=lambda r: r["key"])


def run_processes(head: Any) -> list[tuple[int, str]]:
    """(pid, title) of the run's tasks and actors still alive under the head."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            title = (proc / "cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
            if not title.startswith(RUN_TITLES):
                continue
            # workers have process groups of their own, in the head's session
            session = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[3])
        except (OSError, IndexError, ValueError):
            continue
        if session == head.process.pid:
            found.append((int(proc.name), title))
    return found


def cluster_leftovers(head: Any) -> dict[str, Any]:
    """What a finished run left on the cluster, asked of the cluster itself: actors not
    dead, and CPUs or GPUs still reserved."""
    script = (
        "import json, ray, ray._private.state as state\n"
        f"ray.init(address={head.address!r}, logging_level='ERROR', log_to_driver=False)\n"
        "alive = [a for a in state.actors().values() if a['State'] != 'DEAD']\n"
        "total, free = ray.cluster_resources(), ray.available_resources()\n"
        "held = {k: total[k] - free.get(k, 0) for k in ('CPU', 'GPU') if k in total}\n"
        "print(json.dumps({'actors': len(alive), 'held': held}))\n")
    out = subprocess.run([sys.executable, "-c", script], env=ray_env(), capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])
