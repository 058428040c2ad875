"""Ctrl-C and SIGTERM while a language model plays in the run's own process.

Model matches are in flight in two ways when the signal comes: one computing forward
passes, one held by an agent that waits for a file (a thread that cannot be stopped).
Neither may abort the process ("terminate called without an active exception") or cost
a committed match, and ``--resume`` plays the rest.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.agents.llm.runs import export

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[3]


def _rows(db: Path) -> dict[str, tuple]:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return {key: rest for key, *rest in conn.execute(
                "SELECT key, status, scores, rounds FROM matches")}
    except sqlite3.Error:
        return {}


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)],
                         ids=["ctrl-c", "sigterm"])
def test_a_signal_with_a_model_in_process_exits_cleanly(tiny_model_dir: Path, tmp_path: Path,
                                                        sig: int, code: int) -> None:
    gate = tmp_path / "gate"
    config = tmp_path / "stop.yaml"
    # every rps match seats a model; dice's series of numbers is saved at once
    config.write_text(f"""name: stop
seed: 5
games:
  - {{id: rps, rounds: 24, format: {{type: gauntlet, opponents: [dice, gate], matches: 1}}}}
  - {{id: random_number, length: 3, format: {{type: solo, episodes: 1}}}}
concurrency: 8
agents:
  - {{name: chat, type: hf, model: "{tiny_model_dir}", games: [rps]}}
  - {{name: base, type: hf, model: "{tiny_model_dir}", prompt_format: completion,
      mode: sample, max_new_tokens: 4, retries: 1, games: [rps]}}
  - {{name: dice, type: uniform_random}}
  - {{name: gate, type: "tests.arena.pacing_agents:WaitForFile", path: "{gate}", wait_at: 12,
      games: [rps]}}
""")
    run = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "arena.cli", "run", str(config), "--out",
                             str(run), "--no-live"], cwd=REPO, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 300
        # dice's series is saved, and the gate holds its matches with the models at round
        # 12 (the models' matches with dice are about as far: long prompts, each forward
        # takes a while)
        while len(_rows(run / "arena.db")) < 1 or not Path(f"{gate}.waiting").exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the run never reached the gate"
            time.sleep(0.05)
        saved = _rows(run / "arena.db")
        start = time.monotonic()
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert time.monotonic() - start < 10
    assert proc.returncode == code, stderr
    assert "terminate called" not in stderr and "Traceback" not in stderr, stderr
    assert "--resume" in stdout
    after = _rows(run / "arena.db")
    assert {k: after[k] for k in saved} == saved  # nothing committed was lost
    assert all(status == "finished" for status, _, _ in after.values())
    if sig == signal.SIGTERM:
        return  # resuming is the same after either signal
    gate.touch()
    done = subprocess.run([sys.executable, "-m", "arena.cli", "run", str(config), "--out",
                           str(run), "--no-live", "--resume"], cwd=REPO, env=env, text=True,
                          capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr
    rows = export(run)
    assert len(rows) == 9 and len({r["key"] for r in rows}) == 9
    assert all(r["status"] == "finished" for r in rows), [r["error"] for r in rows]
