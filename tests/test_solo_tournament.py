"""Solo tasks through the CLI: a random-number tournament ranks agents by unpredictability."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def arena(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "arena.cli", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_random_number_leaderboard_ranks_random_above_humanlike_above_constant(tmp_path):
    run = tmp_path / "run"
    done = arena("run", ROOT / "configs/examples/random_numbers.yaml", "--out", run,
                 "--no-live", "--set", "format.episodes=40")
    assert done.returncode == 0, done.stderr
    board = json.loads(arena("leaderboard", run, "--format", "json").stdout)
    assert [row["agent"] for row in board] == ["random", "humanlike", "seven"]
    assert [row["episodes"] for row in board] == [40, 40, 40]
    means = [row["reward_mean"] for row in board]
    assert means[0] > 0.9 > means[1] > 0.5 > means[2]
    for row in board:
        assert row["ci_low"] <= row["reward_mean"] <= row["ci_high"]
    # TrueSkill from per-episode rankings agrees with the mean rewards
    assert board[0]["score"] > board[1]["score"] > board[2]["score"]

    rows = [json.loads(line) for line in
            arena("export", run, "--format", "jsonl", "--rounds").stdout.splitlines()]
    assert {r["agents"][0] for r in rows} == {"random", "humanlike", "seven"}
    for row in rows:
        assert row["episodes"] == 40 and len(row["round_log"]) == 40 * 10
        steps = [(e["episode"], e["step"]) for e in row["round_log"]]
        assert steps == [(e, s) for e in range(40) for s in range(10)]
        numbers = [e["actions"][row["agents"][0]] for e in row["round_log"]]
        assert all(isinstance(n, int) and 0 <= n <= 10 for n in numbers)
