"""A full tournament with language-model agents through the ``arena`` CLI: run, export, resume.

The stored round-1 distribution must equal an independent forward pass on the prompt that
``arena prompt`` prints, and every sampled action must be the draw the agent's seeded RNG
makes from the stored distribution (replayed here exactly).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.agents.llm import reference
from tests.agents.llm.runs import arena, export, printed_prompt, replay_draws
from tests.arena.test_runner import timeless

pytestmark = pytest.mark.slow
NAMES = {"rps": ["rock", "paper", "scissors"], "random_number": [str(v) for v in range(11)]}


def write_config(path: Path, model_dir: Path, gate: Path) -> Path:
    # `gate` plays rps only and blocks in its first match until the file `gate` exists,
    # so the kill-and-resume test can stop the run at a known point, not after a sleep
    path.write_text(f"""name: llm-tournament
seed: 11
games:
  - {{id: rps, rounds: 4}}
  - {{id: random_number, length: 3, format: {{type: solo, episodes: 2}}}}
format: {{type: round_robin, matches: 1}}
concurrency: 2
timeout: 300
agents:
  - {{name: chat, type: hf, model: "{model_dir}", temperature: 1.5}}
  - {{name: base, type: hf, model: "{model_dir}", prompt_format: completion, mode: sample,
      max_new_tokens: 4, retries: 1}}
  - {{name: dice, type: uniform_random}}
  - {{name: gate, type: "tests.arena.pacing_agents:WaitForFile", path: "{gate}", wait_at: 1,
      games: [rps]}}
""")
    return path


@pytest.fixture(scope="module")
def finished(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("tournament")
    gate = base / "gate"
    gate.touch()
    config = write_config(base / "llm.yaml", tiny_model_dir, gate)
    done = arena("run", str(config), "--out", str(base / "run"), "--no-live")
    assert done.returncode == 0, done.stderr
    return {"config": config, "base": base, "gate": gate, "rows": export(base / "run")}


def test_every_match_is_stored_with_probabilities(finished: dict[str, Any]) -> None:
    rows = finished["rows"]
    assert len(rows) == 12 + 3  # rps round robin of 4, solo series of 3
    assert all(r["status"] == "finished" for r in rows), [r["error"] for r in rows]
    for row in rows:
        if "chat" in row["agents"]:
            replay_draws(row, "chat")
            assert row["stats"]["chat"]["decisions"] == len(row["round_log"])
            assert 0 < row["stats"]["chat"]["off_mass"] <= len(row["round_log"])
        if "base" in row["agents"]:
            assert all("base" not in e["probabilities"] for e in row["round_log"])
            assert 0 <= row["stats"]["base"]["invalid"] <= row["stats"]["base"]["decisions"]


def test_round_one_matches_a_forward_pass_on_the_printed_prompt(
        finished: dict[str, Any], tiny_model_dir: Path) -> None:
    for game in ("rps", "random_number"):
        row = next(r for r in finished["rows"] if r["game"] == game and r["agents"][0] == "chat")
        prompt = printed_prompt(finished["config"], "chat", game)
        want, _ = reference.distribution(tiny_model_dir, prompt, NAMES[game], chat=True,
                                         temperature=1.5)
        stored = row["round_log"][0]["probabilities"]["chat"]
        np.testing.assert_allclose(stored, want, rtol=0, atol=1e-5)


def _finished_matches(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return conn.execute("SELECT count(*) FROM matches").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_a_killed_run_resumes_to_the_same_results(finished: dict[str, Any]) -> None:
    run = finished["base"] / "killed"
    gate = finished["gate"]
    gate.unlink()
    proc = subprocess.Popen([sys.executable, "-m", "arena.cli", "run", str(finished["config"]),
                             "--out", str(run), "--no-live", "--concurrency", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    waiting = Path(f"{gate}.waiting")
    while not waiting.exists():  # the run reached the gate's first match and holds there
        assert proc.poll() is None and time.time() < deadline
        time.sleep(0.02)
    committed = _finished_matches(run / "arena.db")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    gate.touch()
    assert 0 < committed < 15  # killed mid-run, with matches to keep and matches to play
    done = arena("run", str(finished["config"]), "--out", str(run), "--resume", "--no-live")
    assert done.returncode == 0, done.stderr
    resumed = export(run)

    # the same matches, scores and actions; probabilities and the off-mass stat only to
    # float rounding, as the resumed run batches its decisions with other company
    assert [(r["key"], r["scores"]) for r in resumed] == \
        [(r["key"], r["scores"]) for r in finished["rows"]]
    for got, want in zip(timeless(resumed), timeless(finished["rows"]), strict=True):
        assert _rounded(got["stats"]) == _rounded(want["stats"])
        assert [e["actions"] for e in got["round_log"]] == \
            [e["actions"] for e in want["round_log"]]
        for a, b in zip(got["round_log"], want["round_log"], strict=True):
            for name, probs in (a.get("probabilities") or {}).items():
                if probs is not None:
                    assert np.abs(np.asarray(probs) - b["probabilities"][name]).max() < 1e-5


def _rounded(value: Any) -> Any:
    """Stats with floats rounded to 6 significant digits (a sum of off-mass varies in its
    last bits with the batches that carried each decision)."""
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return float(f"{value:.6g}") if isinstance(value, float) else value
