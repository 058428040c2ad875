"""Helpers for tests that drive the ``arena`` CLI with language-model agents."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from arena.seeds import derive_seed

SEPARATOR = "\n--- later round ---\n"


def rps_config(path: Path, agent: str, *, name: str, seed: int, rounds: int,
               opponent: str = "{name: dice, type: uniform_random}") -> Path:
    """Write a config of one rock-paper-scissors match (each seat order) between
    ``agent`` and ``opponent``, each a YAML flow mapping, and return its path."""
    path.write_text(f"""name: {name}
seed: {seed}
games:
  - {{id: rps, rounds: {rounds}}}
format: {{type: round_robin, matches: 1}}
agents:
  - {agent}
  - {opponent}
""")
    return path


def arena(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "arena.cli", *args], capture_output=True,
                          text=True, timeout=600)


def export(run: Path) -> list[dict[str, Any]]:
    done = arena("export", str(run), "--format", "jsonl", "--rounds")
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def replay_draws(row: dict[str, Any], name: str) -> None:
    """Re-draw every action from the stored distribution with the agent's own seed."""
    seat = row["agents"].index(name)
    rng = None
    for i, entry in enumerate(row["round_log"]):
        if row["game"] == "random_number":
            if entry["step"] == 0:
                rng = np.random.default_rng(
                    derive_seed(row["seed"], f"agent/episode{entry['episode']}"))
        elif i == 0:
            rng = np.random.default_rng(derive_seed(row["seed"], f"seat{seat}"))
        probs = np.asarray(entry["probabilities"][name])
        assert probs.sum() == pytest.approx(1.0)
        assert entry["actions"][name] == int(rng.choice(len(probs), p=probs))


def printed_prompt(config: Path, agent: str, game: str) -> str:
    """The round-1 prompt as ``arena prompt`` prints it."""
    done = arena("prompt", str(config), agent, "--game", game)
    assert done.returncode == 0, done.stderr
    return done.stdout.split(SEPARATOR)[0]
